//! `pybench merge DIR… -o DIR`: joins the results folders of a sharded run (`run --shard K/N`,
//! [`crate::harness::shard`]) into one run folder that `compare`, `plot`, the CSV and the
//! summary read like any other.
//!
//! Shards are joined only when they are parts of one run measured the same way: the same
//! pybench build, run parameters, allocator versions, throughput calibration and split, and
//! the same **machine kind** — everything the manifest records about the machine except the
//! load average (CPU model, core count, kernel release, transparent-hugepage mode, CPU
//! governor, libc). A repetition measured on another kind of machine would be pooled with the
//! others as if it were a repeat of the same experiment, which it is not. Each shard must
//! appear once; a missing or interrupted shard is refused unless the caller accepts a partial
//! run. Every check runs before anything is written; the output folder is created with
//! `mkdir` (an existing one is refused) and each file through `sys::fs::AtomicFile`.

use super::model::{CellResult, RunResults};
use super::store::{write_atomically, ResultsStore};
use crate::harness::shard::ShardManifest;
use anyhow::Context as _;
pub use refusals::shard_list;
use refusals::{check_complete, check_coverage, same_replay_modes, same_run, same_streams};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[path = "merge_refusals.rs"]
mod refusals;

/// Subfolder of the merged run holding each shard's manifest.
pub const SHARDS_DIR: &str = "shards";

/// What `merge` is asked to do.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    /// The shards' results folders.
    pub inputs: Vec<PathBuf>,
    /// The merged run's folder, which must not exist yet.
    pub out: PathBuf,
    /// Merge even when shards are missing or were interrupted.
    pub partial: bool,
    /// Also write plots/*.svg and index.html, as `run` does.
    pub plots: bool,
    /// Recorded as the merged run's command line.
    pub command_line: Vec<String>,
}

/// What `merge` wrote.
#[derive(Debug)]
pub struct Merged {
    pub dir: PathBuf,
    pub results: RunResults,
    pub count: u32,
    /// Shards of the run absent from the merge (only with `partial`).
    pub missing: Vec<u32>,
    /// Shards merged with the cells they finished before they were interrupted (only with
    /// `partial`).
    pub interrupted: Vec<u32>,
    /// Charts left out of the plots, one line each ([`crate::plot::Plots::skipped`]).
    pub skipped_plots: Vec<String>,
}

/// What the merged folder keeps of one shard: `shards/shard-K-of-N.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// The folder it was merged from, as given.
    pub folder: String,
    /// Its `shard.json`.
    pub shard: ShardManifest,
    /// Its `results.json` without the cells (machine, load, start time, command line, …).
    pub manifest: RunResults,
    /// The cells it contributed: (workload, allocator, repetition).
    pub cells: Vec<(String, String, u32)>,
}

/// One input: a shard's folder, read.
struct Part {
    dir: PathBuf,
    results: RunResults,
    shard: ShardManifest,
}

impl Part {
    fn load(given: &Path) -> anyhow::Result<Part> {
        if !given.is_dir() {
            anyhow::bail!("{}: not a results folder", given.display());
        }
        // A shard's `--out` folder stands for its only run folder, as for `compare` and `plot`.
        // One holding several (every shard run with one `--out`) is not told to "name one of
        // them", as compare's error says: merge wants all of them, each named.
        let file = match crate::compare::results_file(given) {
            Err(crate::compare::CompareError::SeveralRuns { path, runs }) => anyhow::bail!(
                "{} holds {} run folders, not one shard's: name each shard's folder (e.g. {}/*)",
                path.display(),
                runs.len(),
                path.display()
            ),
            other => other?,
        };
        let dir = file.parent().unwrap_or(given);
        let shard = ShardManifest::load(dir)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: not a shard (no shard.json): only folders of `run --shard K/N` can be merged",
                dir.display()
            )
        })?;
        if shard.shards.len() != 1 {
            anyhow::bail!(
                "{}: already a merge of {} shards; merge the shards' own folders instead",
                dir.display(),
                shard.shards.len()
            );
        }
        let results = crate::compare::load(dir)?;
        Ok(Part {
            dir: dir.to_path_buf(),
            results,
            shard,
        })
    }

    fn index(&self) -> u32 {
        self.shard.shards[0]
    }

    fn name(&self) -> String {
        format!(
            "{} (shard {}/{})",
            self.dir.display(),
            self.index(),
            self.shard.count
        )
    }
}

/// Checks the shards, joins them and writes the merged run.
pub fn merge(req: &MergeRequest) -> anyhow::Result<Merged> {
    let parts = req
        .inputs
        .iter()
        .map(|d| Part::load(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let first = parts.first().context("no shard folders given")?;
    for p in &parts[1..] {
        same_run(first, p).context("cannot merge")?;
    }
    same_streams(&parts).context("cannot merge")?;
    same_replay_modes(&parts).context("cannot merge")?;
    let count = first.shard.count;
    let missing = check_coverage(&parts, req.partial).context("cannot merge")?;
    let interrupted = check_complete(&parts, req.partial).context("cannot merge")?;
    let incomplete = !missing.is_empty() || !interrupted.is_empty();
    let results = join(&parts, req, incomplete).context("cannot merge")?;
    let skipped_plots = write(&parts, &results, req, &missing)?;
    Ok(Merged {
        dir: req.out.clone(),
        results,
        count,
        missing,
        interrupted,
        skipped_plots,
    })
}
/// Every part's cells in the run's order (the units' order, each group's cells as they came),
/// refusing a cell outside its part's share of the run or held by two parts.
fn ordered_cells(parts: &[Part]) -> anyhow::Result<Vec<CellResult>> {
    let units = &parts[0].shard.units;
    let unit_index: HashMap<(&str, u32), usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| ((u.workload.as_str(), u.repetition), i))
        .collect();
    let mut cells = Vec::new();
    let mut owner: HashMap<(&str, &str, u32), &Path> = HashMap::new();
    for p in parts {
        for c in &p.results.cells {
            let what = format!("{} × {} rep {}", c.workload, c.allocator, c.repetition);
            let unit = unit_index
                .get(&(c.workload.as_str(), c.repetition))
                .filter(|&&i| units[i].shard == p.index())
                .with_context(|| {
                    format!(
                        "{} holds cell {what}, which is not its part of the run",
                        p.name()
                    )
                })?;
            let key = (c.workload.as_str(), c.allocator.as_str(), c.repetition);
            if let Some(other) = owner.insert(key, &p.dir) {
                anyhow::bail!(
                    "cell {what} appears twice: in {} and {}",
                    other.display(),
                    p.dir.display()
                );
            }
            cells.push((*unit, c.clone()));
        }
    }
    // Stable: within a group, cells keep their order (null, then the allocators).
    cells.sort_by_key(|(unit, _)| *unit);
    Ok(cells.into_iter().map(|(_, c)| c).collect())
}

/// The merged results: the first shard's manifest, every shard's cells in the unsharded
/// run's order, each cell checked to belong to the shard that holds it and to appear once.
fn join(parts: &[Part], req: &MergeRequest, incomplete: bool) -> anyhow::Result<RunResults> {
    let cells = ordered_cells(parts)?;
    let mut merged = parts[0].results.clone();
    merged.run = req
        .out
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // Each part is one shard (a merged folder is refused as a part): its start. The merged
    // run started with the first.
    merged.shard_starts_utc = parts
        .iter()
        .map(|p| p.results.started_utc.clone())
        .collect();
    merged.shard_starts_utc.sort_unstable();
    merged.started_utc = merged.shard_starts_utc[0].clone();
    merged.command_line = req.command_line.clone();
    // The busiest shard's load: the noise warning errs on the side of caution.
    merged.machine.load_average = parts
        .iter()
        .filter_map(|p| p.results.machine.load_average)
        .max_by(f64::total_cmp);
    // Likewise the shard whose start found the shared cache most contended.
    let contention = |p: &&Part| {
        let share = p.results.machine.cache_share.as_ref();
        share.and_then(|c| c.miss_summary()).map_or(-1.0, |m| m.0)
    };
    merged.machine.cache_share = (parts.iter())
        .max_by(|a, b| contention(a).total_cmp(&contention(b)))
        .and_then(|p| p.results.machine.cache_share.clone());
    // The clock of the shard in the middle: what the run's core typically started at, which
    // `compare` holds against another run's (one sitting's shards start up to 1.23x apart,
    // so the slowest one would say more about the spread than about the run).
    let mut clocked: Vec<(f64, &crate::sys::clock_probe::ClockSpeed)> = (parts.iter())
        .filter_map(|p| p.results.machine.clock.as_ref())
        .filter_map(|c| Some((c.median_ghz()?, c)))
        .collect();
    clocked.sort_by(|a, b| a.0.total_cmp(&b.0));
    merged.machine.clock = clocked.get(clocked.len() / 2).map(|(_, c)| (*c).clone());
    merged.cells = cells;
    merged.interrupted = incomplete || parts.iter().any(|p| p.results.interrupted);
    merged.validation = None;
    Ok(merged)
}

/// Writes the merged folder ([`write_into`]) into a directory made for it, and removes that
/// directory if any file cannot be written: a merge onto a full disk left the folder with
/// only `shard.json` and `shards/`, no run, and a retry was refused as "already exists"
/// (fuzzing, 2026-12-07).
fn write(
    parts: &[Part],
    results: &RunResults,
    req: &MergeRequest,
    missing: &[u32],
) -> anyhow::Result<Vec<String>> {
    let store = ResultsStore::create_new(&req.out)?;
    let written = write_into(&store, parts, results, req, missing);
    if written.is_err() {
        store.discard();
    }
    written.with_context(|| {
        format!(
            "cannot merge into {} (nothing was left there)",
            req.out.display()
        )
    })
}

/// Writes the merged folder: each shard's record, the merged `shard.json`, then the results
/// files (`results.json` among them, so a folder that stops short is no loadable run), then
/// the plots; returns the lines of the charts left out.
fn write_into(
    store: &ResultsStore,
    parts: &[Part],
    results: &RunResults,
    req: &MergeRequest,
    missing: &[u32],
) -> anyhow::Result<Vec<String>> {
    let shards_dir = store.dir().join(SHARDS_DIR);
    std::fs::create_dir(&shards_dir)
        .with_context(|| format!("cannot create {}", shards_dir.display()))?;
    let count = parts[0].shard.count;
    for p in parts {
        let record = ShardRecord {
            folder: p.dir.display().to_string(),
            shard: p.shard.clone(),
            manifest: RunResults {
                cells: Vec::new(),
                ..p.results.clone()
            },
            cells: p
                .results
                .cells
                .iter()
                .map(|c| (c.workload.clone(), c.allocator.clone(), c.repetition))
                .collect(),
        };
        let file = shards_dir.join(format!("shard-{}-of-{count}.json", p.index()));
        write_atomically(&file, |out| {
            serde_json::to_writer_pretty(&mut *out, &record)?;
            writeln!(out)
        })?;
    }
    let mut held: Vec<u32> = parts.iter().map(Part::index).collect();
    held.sort_unstable();
    debug_assert!(held.iter().all(|k| !missing.contains(k)));
    ShardManifest {
        shards: held,
        ..parts[0].shard.clone()
    }
    .save(store.dir())?;
    store.save(results)?;
    if !req.plots {
        return Ok(Vec::new());
    }
    let plots = crate::plot::write_plots(results, store.dir()).context("cannot write the plots")?;
    Ok(plots.skipped)
}
