//! `pybench sweep`: the engine's accounting over a grid of geometries, for one or more
//! workloads or traces.
//!
//! Every cell replays a stream into a fresh engine and reads its accounting; nothing is
//! timed, so the cells of one stream run in parallel on rayon's threads (a timed figure would
//! have to stay in a serial cell: parallel cells share cores and caches). Each stream is read
//! into memory once, traces with the parallel block decoder, and shared by its cells.
//!
//! - [`grid`]: the geometries (arena × pool × spare policy, presets), impossible points named;
//! - [`cell`]: one cell, the same replay a `pybench run` cell makes;
//! - [`pareto`]: which geometries no other beats on both mean heap RSS and arena churn;
//! - [`report`]: the table and the CSV; [`heatmap`]: one SVG per figure.

pub mod cell;
pub mod grid;
pub mod heatmap;
pub mod pareto;
pub mod report;

use crate::harness::timer::Timer;
use crate::pymalloc::ArenaPlacement;
use crate::trace::source::{self, Source};
use crate::workload::Overrides;
use anyhow::Context as _;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use cell::{account, Accounting};
pub use grid::{Grid, GridPoint, GridSpec};

/// What to sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepRequest {
    /// Workloads as the command line names them (built-in names, spec files, `trace:NAME`,
    /// trace files); empty means every shipped trace.
    pub sources: Vec<String>,
    pub overrides: Overrides,
    pub grid: GridSpec,
    pub placement: ArenaPlacement,
    /// Worker threads; `None`: one per core.
    pub jobs: Option<usize>,
}

/// One cell's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepCell {
    pub workload: String,
    /// Events in the stream.
    pub events: usize,
    pub point: GridPoint,
    pub accounting: Accounting,
    /// No other geometry of this workload has both lower-or-equal mean heap RSS and
    /// lower-or-equal churn, one of them strictly lower.
    pub pareto: bool,
}

/// Every cell, in workload then grid order (whatever the number of threads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepResult {
    pub cells: Vec<SweepCell>,
    /// One line per impossible grid point.
    pub skipped: Vec<String>,
    /// One line per cell left out because its engine could not map an arena
    /// ([`cell::ArenaUnmappable`]).
    pub unmappable: Vec<String>,
    /// What a reader must know about a stream swept (a cut one), each line naming its
    /// workload: the warnings `stats` prints for the same stream.
    pub notes: Vec<String>,
    pub placement: ArenaPlacement,
    pub jobs: usize,
}

/// Cells done so far, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub workload: &'a str,
    pub done: usize,
    pub total: usize,
}

/// The sources a request names, resolved (a bad name fails here, before any cell runs), each
/// with the label the results show for it ([`Source::label`]).
pub fn resolve_sources(names: &[String]) -> anyhow::Result<Vec<(String, Source)>> {
    let names: Vec<String> = if names.is_empty() {
        let shipped = source::shipped();
        if shipped.is_empty() {
            anyhow::bail!("no workload given and no shipped trace found; name one with -w");
        }
        shipped
            .into_iter()
            .map(|(n, _)| format!("{}{n}", source::PREFIX))
            .collect()
    } else {
        names.to_vec()
    };
    names
        .iter()
        .map(|n| Source::load(n).map(|s| (s.label(n), s)))
        .collect()
}

/// Refuses two sources under one label (`-w dicts,dicts`: every cell twice, the CSV's rows
/// indistinguishable). Two whose heatmaps would share file names (`a/x.pbt` and `b/x.pbt`)
/// are not refused: [`heatmap::file_stems`] gives each its own.
fn refuse_name_clashes(sources: &[(String, Source)]) -> anyhow::Result<()> {
    for (i, (label, _)) in sources.iter().enumerate() {
        if sources[..i].iter().any(|(l, _)| l == label) {
            anyhow::bail!(
                "two workloads are named `{label}`: their rows could not be told apart; name \
                 each workload once (or give one spec another `name`)"
            );
        }
    }
    Ok(())
}

/// Runs the sweep: every grid point on every source, the cells of a source in parallel on
/// `jobs` threads. `progress` is called after every cell, from whichever thread ran it.
pub fn sweep(
    req: &SweepRequest,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> anyhow::Result<SweepResult> {
    let grid = req.grid.build()?;
    let sources = resolve_sources(&req.sources)?;
    refuse_name_clashes(&sources)?;
    refuse_spec_flags_on_traces(&sources, req.overrides)?;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = req.jobs {
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .context("cannot start the sweep's threads")?;
    let timer = Timer::calibrate();
    let total = sources.len() * grid.points.len();
    let done = AtomicUsize::new(0);
    let mut cells = Vec::with_capacity(total);
    let mut notes = Vec::new();
    let mut unmappable = Vec::new();
    for (label, s) in &sources {
        let m = materialize_with_allocations(label, s, req.overrides)?;
        notes.extend(m.notes.iter().map(|n| format!("{}: {n}", m.name)));
        let results: Vec<anyhow::Result<Accounting>> = pool.install(|| {
            grid.points
                .par_iter()
                .map(|p| {
                    let r = account(&m, p.geometry, req.placement, &timer);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(Progress {
                        workload: &m.name,
                        done: n,
                        total,
                    });
                    r
                })
                .collect()
        });
        cells.extend(source_cells(&m, &grid.points, results, &mut unmappable)?);
    }
    Ok(SweepResult {
        cells,
        skipped: grid.skipped,
        unmappable,
        notes,
        placement: req.placement,
        jobs: pool.current_num_threads(),
    })
}

/// Spec flags (`--scale`, `--seed`, …) over traces alone would change nothing: refused, so a
/// user does not read a table as the effect of a flag that was ignored.
fn refuse_spec_flags_on_traces(
    sources: &[(String, Source)],
    overrides: Overrides,
) -> anyhow::Result<()> {
    if sources.iter().all(|(_, s)| s.is_trace()) {
        let flags = overrides.spec_flags();
        anyhow::ensure!(
            flags.is_empty(),
            "{} would change nothing: every workload swept is a trace, replayed as recorded (spec flags shape synthetic workloads only)",
            crate::workload::and_list(&flags)
        );
    }
    Ok(())
}

/// The source's events under its sweep label, refused when they allocate nothing: every
/// geometry would account nothing, a table of zeros rather than a result.
fn materialize_with_allocations(
    label: &str,
    s: &Source,
    overrides: Overrides,
) -> anyhow::Result<source::Materialized> {
    let mut m = s.materialize(overrides)?;
    if !m.events.iter().any(crate::workload::Event::allocates) {
        if let Source::Synthetic { workload, .. } = s {
            // Its own words: which spec, and what to change in it.
            workload.clone().with(overrides).refuse_empty()?;
        }
        anyhow::bail!(
            "{label}: the trace has no allocations ({} events): there is nothing to sweep",
            m.events.len()
        );
    }
    m.name = label.to_string();
    Ok(m)
}

/// One source's cells in grid order, its Pareto-best geometries marked (among its own cells
/// only: geometries are compared on one workload, never across workloads).
fn source_cells(
    m: &source::Materialized,
    points: &[GridPoint],
    results: Vec<anyhow::Result<Accounting>>,
    unmappable: &mut Vec<String>,
) -> anyhow::Result<Vec<SweepCell>> {
    let mut mine = Vec::with_capacity(results.len());
    for (p, r) in points.iter().zip(results) {
        let accounting = match r {
            Err(e) if e.is::<cell::ArenaUnmappable>() => {
                unmappable.push(format!("skipped {} on {}: {e}", p.geometry, m.name));
                continue;
            }
            r => r.with_context(|| format!("{} on pymalloc:{}", m.name, p.geometry))?,
        };
        mine.push(SweepCell {
            workload: m.name.clone(),
            events: m.events.len(),
            point: p.clone(),
            accounting,
            pareto: false,
        });
    }
    let front = pareto::front(
        &mine
            .iter()
            .map(|c| (c.accounting.mean_heap_rss, c.accounting.churn()))
            .collect::<Vec<_>>(),
    );
    for (c, best) in mine.iter_mut().zip(front) {
        c.pareto = best;
    }
    Ok(mine)
}
