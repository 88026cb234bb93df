//! What a `run` measures, decided once from validated options: the sources (resolved), the
//! allocators (selected and checked), and every cell in order — before anything is measured,
//! so a bad name stops the run with exit 2 and nothing half-written.
//!
//! `null` leads every (workload, repetition) group: it does no allocation work, so its cost is
//! the harness's own. Its throughput is measured in the same process as the group's
//! allocators, round by round ([`super::paired`]), and subtracted pair by pair
//! (`net_loop_ns_per_op`, design.md §3); it needs no memory cell of its own.

mod allocators;

use super::cell::{CellOptions, CellSpec};
use super::long_run;
use super::runner::{self, Outcome};
use super::shard::{self, Shard, ShardManifest};
use super::throughput::Calibration;
use crate::alloc::{AllocOptions, AllocatorSpec};
use crate::report::first_seen;
use crate::report::model::{AllocatorInfo, RunParameters, RunResults};
use crate::report::precision::Precision;
use crate::report::store::ResultsStore;
use crate::trace::Source;
use crate::workload::PyVersion;
use allocators::{allocator_infos, null_named, resolve_allocators};
use std::collections::BTreeMap;
use std::time::Duration;

/// The options of a run, as the command line gives them.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Workload names, spec files, `trace:NAME`s and trace files, in order.
    pub workloads: Vec<String>,
    /// Named allocators; empty for the default set.
    pub allocators: Vec<AllocatorSpec>,
    pub repetitions: u32,
    /// Memory and latency are measured in this many of the first repetitions
    /// (`--memory-repetitions`; [`runner::MEMORY_REPETITIONS`] by default); the rest are
    /// throughput processes only.
    pub memory_repetitions: u32,
    pub cell: CellOptions,
    pub alloc: AllocOptions,
    pub timeout: Duration,
    /// How long and how often the throughput processes measure.
    pub throughput: Calibration,
    /// Measure only this shard's (workload, repetition) groups ([`super::shard`]).
    pub shard: Option<Shard>,
    /// `--precision`: more throughput processes after the first `repetitions`, until the
    /// answer is this narrow ([`super::precision`]).
    pub precision: Option<Precision>,
}

/// A run, planned: every cell it will measure, and what the manifest says about it.
pub struct Plan {
    pub sources: Vec<Source>,
    /// The allocators as selected (`pymalloc` still per workload).
    pub allocators: Vec<AllocatorSpec>,
    /// One line each for default allocators left out, with the reason.
    pub skipped: Vec<String>,
    /// One line each for what the user should know before the results (a malformed trace
    /// replayed anyway).
    pub warnings: Vec<String>,
    pub cells: Vec<CellSpec>,
    pub parameters: RunParameters,
    pub infos: Vec<AllocatorInfo>,
    pub timeout: Duration,
    pub throughput: Calibration,
    /// As [`RunRequest::memory_repetitions`].
    pub memory_repetitions: u32,
    /// For `--shard K/N`: how the whole run was split; `cells` then holds shard K's only.
    pub shard: Option<ShardManifest>,
    /// What every cell is made with, kept for the cells `--precision` adds.
    pub cell: CellOptions,
    pub precision: Option<Precision>,
}

/// Loads and verifies every source of the run, refusing what its flags cannot replay: a
/// corrupt or truncated trace is refused here (exit 2), not by every cell.
fn load_sources(req: &RunRequest, warnings: &mut Vec<String>) -> anyhow::Result<Vec<Source>> {
    if req.cell.mutator.is_some() && req.cell.overrides.allow_malformed {
        // A repaired trace loses events, and with them the pace's alignment.
        anyhow::bail!("--mutator cannot replay a repaired trace (--allow-malformed)");
    }
    if req.cell.mutator.is_some() && req.cell.stream.mode == super::feed::StreamMode::Always {
        // The mutator's steps are laid out over the whole stream held in memory.
        anyhow::bail!("--mutator replays a trace held in memory; it cannot --stream always");
    }
    req.workloads
        .iter()
        .map(|w| {
            let source = Source::load(w)?;
            if req.cell.overrides.python.is_none() {
                if let Some(w) = source.check_python()? {
                    let nearest = source.python();
                    warnings.push(format!(
                        "{w}: replayed as {nearest}, the nearest (--python 3.X chooses another)"
                    ));
                }
            }
            warnings.extend(source.verify(req.cell.overrides)?);
            // A spec whose cells would hold more events than memory takes is refused here, in
            // one line, rather than in every cell that tries. Only `--stream never` needs it:
            // `auto` holds a stream only after the same bound passed a stricter check
            // (`StreamPolicy::decide`), and `always` holds none.
            let never = req.cell.stream.mode == super::stream_policy::StreamMode::Never;
            if never && !source.is_trace() {
                source.check_holdable(req.cell.overrides)?;
            }
            if req.cell.mutator.is_some() {
                super::mutator::check_source(&source)?;
            }
            Ok(source)
        })
        .collect()
}

/// The run's parameters as its results record them; `resolved`: every allocator of the whole
/// run (not a shard's share), `null` first.
fn parameters(
    req: &RunRequest,
    resolved: &[AllocatorSpec],
    pymalloc_presets: BTreeMap<String, String>,
) -> RunParameters {
    RunParameters {
        workloads: req.workloads.clone(),
        allocators: resolved.iter().map(AllocatorSpec::name).collect(),
        repetitions: req.repetitions,
        scale: req.cell.overrides.scale,
        seed: req.cell.overrides.seed,
        python: req.cell.overrides.python.map(|p| p.to_string()),
        touch: req.cell.touch.name().to_string(),
        sample_every: req.cell.sample_every,
        calibration: Some(req.throughput),
        reference: None,
        precision: req.precision,
        stream: Some(req.cell.stream),
        memory_repetitions: Some(req.memory_repetitions),
        mutator: req.cell.mutator,
        pymalloc_presets,
    }
}

/// What a bare `pymalloc` in `allocators` becomes on each source, by the name its cells
/// carry (empty when `-a` does not hold it).
fn pymalloc_presets(
    sources: &[Source],
    allocators: &[AllocatorSpec],
    python_of: &dyn Fn(&Source) -> PyVersion,
) -> BTreeMap<String, String> {
    if !allocators.contains(&AllocatorSpec::Pymalloc) {
        return BTreeMap::new();
    }
    (sources.iter())
        .map(|s| {
            (
                s.name(),
                AllocatorSpec::Pymalloc.resolve(python_of(s)).name(),
            )
        })
        .collect()
}

/// Refuses option pairs that cannot mean anything together, before any source is read.
fn refuse_conflicting_options(req: &RunRequest) -> anyhow::Result<()> {
    if req.shard.is_some() && req.precision.is_some() {
        // Every shard must measure a fixed share of one plan; precision decides the
        // processes as it goes, from the processes of all shards together.
        anyhow::bail!(
            "--precision cannot be split into --shard parts (each shard would stop on its \
             own share's scatter); give the shards a fixed -r instead"
        );
    }
    if let Some(p) = req.precision {
        if p.max_repetitions < req.repetitions {
            anyhow::bail!(
                "--max-repetitions {} is below -r {}: the cap must allow the processes \
                 measured first",
                p.max_repetitions,
                req.repetitions
            );
        }
    }
    Ok(())
}

impl Plan {
    /// Resolves every source and allocator and lays out the cells: repetitions outermost,
    /// then workloads, then `null` and the allocators.
    pub fn new(req: &RunRequest) -> anyhow::Result<Plan> {
        refuse_conflicting_options(req)?;
        let mut warnings = Vec::new();
        let sources = load_sources(req, &mut warnings)?;
        crate::trace::source::refuse_unused_spec_flags(&req.cell.overrides, &sources)?;
        let python_of = |s: &Source| req.cell.overrides.python.unwrap_or_else(|| s.python());
        let pythons: Vec<PyVersion> = first_seen(sources.iter().map(python_of));
        let (allocators, skipped) = resolve_allocators(req, &pythons, &mut warnings)?;
        warnings.extend(null_named(&allocators)?);
        // Laid out once, as the baseline below, however it was named.
        let allocators: Vec<AllocatorSpec> =
            allocators.into_iter().filter(|a| !a.is_null()).collect();
        refuse_duplicates(&req.workloads, &sources, &allocators, &python_of)?;
        let with_baseline: Vec<AllocatorSpec> = std::iter::once(AllocatorSpec::Null)
            .chain(allocators.iter().cloned())
            .collect();
        // Once for both uses: a trace's event count means reading its block index.
        let (groups, costs) = group_costs(&sources, &with_baseline, req)?;
        warnings.extend(long_run::warning(&costs, req.shard));
        warnings.extend(long_run::precision_ceiling(
            &costs,
            sources.len(),
            req.precision,
            req.repetitions,
        ));
        let (mut cells, unit_of) = lay_out(&sources, &allocators, req);
        let shard = req.shard.map(|k| {
            let cells = with_baseline.len() as u32;
            ShardManifest::split(groups, &costs, k, req.throughput, cells)
        });
        // From every cell of the run, not the shard's: the manifests of all shards must agree.
        let resolved: Vec<AllocatorSpec> = first_seen(cells.iter().map(|c| c.allocator.clone()));
        let presets = pymalloc_presets(&sources, &allocators, &python_of);
        let parameters = parameters(req, &resolved, presets);
        let infos = allocator_infos(&resolved, &req.alloc);
        if let Some(m) = &shard {
            let mut keep = unit_of.iter().map(|&u| m.holds(u));
            cells.retain(|_| keep.next().unwrap_or(false));
        }
        Ok(Plan {
            sources,
            allocators,
            skipped,
            warnings,
            cells,
            parameters,
            infos,
            timeout: req.timeout,
            throughput: req.throughput,
            memory_repetitions: req.memory_repetitions,
            shard,
            cell: req.cell.clone(),
            precision: req.precision,
        })
    }

    /// One line on what this shard measures, for the terminal.
    pub fn shard_line(&self) -> Option<String> {
        let m = self.shard.as_ref()?;
        let k = *m.shards.first()?;
        let mine = m.units.iter().filter(|u| u.shard == k).count();
        let loads = m.loads();
        let total: u64 = loads.iter().sum();
        let share = loads[(k - 1) as usize] as f64 / total.max(1) as f64;
        Some(format!(
            "shard {k}/{}: {mine} of {} (workload, repetition) groups, {} cells, ~{:.0} % of the \
             estimated work",
            m.count,
            m.units.len(),
            self.cells.len(),
            share * 100.0
        ))
    }

    /// Measures every (workload, repetition)'s throughput in one shared process and every
    /// allocator's memory and latency in its own, saving the results before each
    /// measurement; with `--precision`, then more throughput processes where the answer
    /// (relative to `reference`, `--reference`) is still wider than asked.
    pub fn run(
        &self,
        progress: bool,
        reference: Option<&str>,
        store: &ResultsStore,
        results: &mut RunResults,
    ) -> anyhow::Result<Outcome> {
        if let Some(m) = &self.shard {
            // Before any cell: a shard folder without it could not be merged.
            m.save(store.dir())?;
        }
        let outcome = runner::run_and_save(
            &self.runner_plan(self.cells.clone(), progress),
            store,
            results,
        )?;
        match self.precision {
            Some(p) if outcome == Outcome::Completed => super::precision::measure_until_precise(
                self, p, reference, progress, store, results,
            ),
            _ => Ok(outcome),
        }
    }

    /// The runner's plan for `cells`: throughput paired in shared processes, memory and
    /// latency in the first [`Plan::memory_repetitions`] repetitions.
    pub(super) fn runner_plan(&self, cells: Vec<CellSpec>, progress: bool) -> runner::Plan {
        runner::Plan {
            cells,
            timeout: self.timeout,
            progress,
            throughput: Some(self.throughput),
            memory_repetitions: Some(self.memory_repetitions),
        }
    }

    /// The cells of one (workload, repetition) group: `null`, then every allocator as the
    /// `source`'s Python version resolves it.
    pub(super) fn group_cells(&self, source: &Source, rep: u32) -> Vec<CellSpec> {
        group_cells(source, &self.allocators, rep, &self.cell)
    }
}

/// The cells of one (workload, repetition) group: `null` first, then `allocators` (which do
/// not include it), as `source`'s Python version resolves them.
fn group_cells(
    source: &Source,
    allocators: &[AllocatorSpec],
    rep: u32,
    cell: &CellOptions,
) -> Vec<CellSpec> {
    let python = cell.overrides.python.unwrap_or_else(|| source.python());
    std::iter::once(&AllocatorSpec::Null)
        .chain(allocators)
        .map(|a| CellSpec::new(source, a.resolve(python), rep, cell))
        .collect()
}

/// Every cell of the run, repetitions outermost, then workloads, then `null` and the
/// allocators; and for each cell its (workload, repetition) group, the unit of sharding.
fn lay_out(
    sources: &[Source],
    allocators: &[AllocatorSpec],
    req: &RunRequest,
) -> (Vec<CellSpec>, Vec<usize>) {
    let mut cells = Vec::new();
    let mut unit_of = Vec::new();
    for rep in 0..req.repetitions {
        for (si, s) in sources.iter().enumerate() {
            let group = group_cells(s, allocators, rep, &req.cell);
            unit_of.extend(std::iter::repeat(rep as usize * sources.len() + si).take(group.len()));
            cells.extend(group);
        }
    }
    (cells, unit_of)
}

/// (workload, repetition) groups, and each one's estimated cost in nanoseconds.
type GroupCosts = (Vec<(String, u32)>, Vec<u64>);

/// The run's (workload, repetition) groups in cell order, with each one's estimated cost in
/// nanoseconds ([`shard::estimate_cost`]): what shards are balanced by, and what the
/// long-run warning sums.
fn group_costs(
    sources: &[Source],
    with_baseline: &[AllocatorSpec],
    req: &RunRequest,
) -> anyhow::Result<GroupCosts> {
    let names: Vec<String> = with_baseline.iter().map(AllocatorSpec::name).collect();
    // Contenders of the throughput processes: `null` again for each extra interpreter.
    let contenders = super::paired::plan_groups(&names)
        .iter()
        .map(Vec::len)
        .sum::<usize>() as u64;
    let events = sources
        .iter()
        .map(|s| shard::estimated_events(s, req.cell.overrides))
        .collect::<anyhow::Result<Vec<u64>>>()?;
    let mut groups = Vec::new();
    let mut costs = Vec::new();
    for rep in 0..req.repetitions {
        // Memory and latency cells are made in the first repetitions only.
        let memory = rep < req.memory_repetitions;
        for (s, &n) in sources.iter().zip(&events) {
            groups.push((s.name(), rep));
            costs.push(shard::estimate_cost(n, contenders, &req.throughput, memory));
        }
    }
    Ok((groups, costs))
}

/// Refuses a workload or an allocator named twice, before anything is measured. A second
/// copy would be laid out as more cells of the same (workload, allocator, repetition), and
/// every table, interval and `compare` would count them as more processes than ran: falsely
/// narrow intervals. Allocators are compared as each workload resolves them (`pymalloc` is
/// `pymalloc:cpython-3.11` on a 3.11 workload); workloads by the name their cells carry (a
/// spec file's `name`, a trace file's stem).
fn refuse_duplicates(
    asked: &[String],
    sources: &[Source],
    allocators: &[AllocatorSpec],
    python_of: &dyn Fn(&Source) -> PyVersion,
) -> anyhow::Result<()> {
    for (i, s) in sources.iter().enumerate() {
        if let Some(j) = sources[..i].iter().position(|o| o.name() == s.name()) {
            if asked[j] == asked[i] {
                anyhow::bail!(
                    "workload `{}` is named twice: name each workload once",
                    asked[i]
                );
            }
            // A trace is named by its file's stem, a spec by its `name` key.
            let rename = match s {
                Source::Trace { .. } => "copy or link one trace under another file name",
                Source::Synthetic { .. } => "give one spec another `name`",
            };
            anyhow::bail!(
                "two workloads are named `{}` ({} and {}): their cells would be pooled as one \
                 workload's; {rename}",
                s.name(),
                asked[j],
                asked[i]
            );
        }
        let python = python_of(s);
        for (k, a) in allocators.iter().enumerate() {
            let name = a.resolve(python).name();
            if let Some(o) = allocators[..k]
                .iter()
                .find(|o| o.resolve(python).name() == name)
            {
                let (first, second) = (o.to_string(), a.to_string());
                let same = if first == second {
                    format!("`{first}` is named twice")
                } else {
                    format!("`{first}` and `{second}` are the same allocator ({name})")
                };
                anyhow::bail!("{same} in -a: name each allocator once");
            }
        }
    }
    Ok(())
}
