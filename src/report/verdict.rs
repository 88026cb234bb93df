//! The answer of a run, with its uncertainty (issue 12 item 3): per workload, each allocator's
//! net throughput with a 95 % interval, its speed relative to a reference allocator, the
//! winner, sentences a person can quote, and an overall ranking across workloads (geometric
//! mean with its interval).
//!
//! Every interval has the throughput *process* as its unit ([`super::per_process`]): inside a
//! process the allocators take turns round by round and a ratio is paired round by round
//! (its median over the rounds is the process's figure); the 95 % interval is Student's t
//! over the processes' figures, on logarithms, so it is as wide as processes disagree (their
//! address layout and page placement decide some allocators' speed). Allocators measured in
//! different processes are compared by Welch's t on their processes' medians. Where the
//! interval of a ratio contains 1, the two cannot be told apart and the verdict says
//! "indistinguishable" instead of a ratio. `null` has no net figure (it *is* the harness), so
//! comparisons involving it use gross ones.

use super::digits::{estimate_decimals, ratio_decimals};
use super::model::{CellResult, RunResults};
use super::per_process::{by_process, ns_per_event, ratio};
use crate::metrics::Id;
use crate::stats::{beyond_band, median, Estimate, LogMean};

mod ranking;
mod reference;
pub use ranking::{ranking, ranking_reference, Standing};
pub use reference::{check_reference, has_allocator, names_allocator, pick_reference};

/// How two allocators' throughputs relate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relation {
    /// `speed` > 1 with its whole interval above 1 (or below 1 for `Slower`).
    Faster,
    Slower,
    /// The interval contains 1.
    Indistinguishable,
}

/// One allocator's speed relative to another: throughput(a) / throughput(b), 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub ratio: Estimate,
    /// Whether the ratio was paired round by round inside each process both allocators took
    /// turns in, or compared unpaired over their processes (Welch).
    pub paired: bool,
    /// Throughput processes the interval runs over (the fewest of either side, unpaired); 1
    /// means the interval covers one process's rounds only, not the (larger) spread between
    /// processes.
    pub processes: usize,
}

/// The harness's resolution: `null` against itself, taking turns in one process, comes out
/// a little apart with a tight interval, a systematic effect of position and placement that
/// no interval shows. `examples/null_twin.rs`, 20 trials of 30 rounds (2026-11-30): 0.987 –
/// 1.008 at load 1.3, 0.979 – 1.015 with both cores busy; CI's machine once saw 1.025 (95 %
/// interval 1.005 – 1.046). Differences smaller than this are reported as indistinguishable
/// even when their interval excludes 1.
pub const RESOLUTION: f64 = 0.02;

impl Speed {
    pub fn relation(&self) -> Relation {
        // On the log scale, so that b against a and a against b agree ([`beyond_band`]).
        let within = beyond_band(self.ratio.point, RESOLUTION) == 0;
        if self.ratio.lo > 1.0 && !within {
            Relation::Faster
        } else if self.ratio.hi < 1.0 && !within {
            Relation::Slower
        } else {
            Relation::Indistinguishable
        }
    }

    /// Half the interval's width relative to the point: "± x %".
    pub fn rel_half_width(&self) -> f64 {
        self.ratio.rel_half_width()
    }
}

/// One allocator on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub allocator: String,
    pub ok_reps: usize,
    pub failed_reps: usize,
    /// Net throughput (events/s of the allocator's own cost), median with interval.
    pub net_ops: Option<Estimate>,
    /// Throughput processes with samples of this allocator: the units of `net_ops`'s
    /// interval (1: it covers that process's rounds only).
    pub processes: usize,
    /// Gross throughput (harness included).
    pub gross_ops: Option<Estimate>,
    /// Medians over repetitions of the memory and latency figures.
    pub peak_rss: Option<f64>,
    pub p99_net: Option<f64>,
    pub detail: Vec<(Id, Option<f64>)>,
    /// Relative to the reference (`None` for the reference itself or without samples).
    pub speed: Option<Speed>,
    /// The fastest on its workload, or not distinguishably slower than the fastest (the
    /// table's ★; several rows share it when the measurement cannot separate them).
    pub winner: bool,
}

/// The verdict of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadVerdict {
    pub workload: String,
    /// The stream the workload's memory cells replayed: allocator events a pass and the
    /// fingerprint (`/`-joined if cells disagree; `None` in results from before fingerprints).
    pub stream: Option<(u64, String)>,
    pub reference: String,
    /// `null`'s cost per event (the harness's own): the geometric mean over the throughput
    /// processes of each one's median, with its 95 % interval over the processes, as every
    /// other figure of the table (issue 12 asks for the harness's cost with its interval).
    pub harness_ns: Option<Estimate>,
    /// Throughput processes `harness_ns` runs over.
    pub harness_processes: usize,
    pub samples: usize,
    pub entries: Vec<Entry>,
}

/// Figures kept out of the default table, shown with `--format wide`.
pub const DETAIL: [Id; 8] = [
    Id::OpsPerSec,
    Id::HarnessNsPerOp,
    Id::ColdNsPerOp,
    Id::WarmFaultsPerPass,
    Id::LatP50Net,
    Id::LatP99,
    Id::RetainedRssBytes,
    Id::FragRatio,
];

fn cells_of<'a>(results: &'a RunResults, w: &str, a: &str) -> Vec<&'a CellResult> {
    results
        .cells
        .iter()
        .filter(|c| c.workload == w && c.allocator == a)
        .collect()
}

/// ns/event → events/s, with the interval's ends swapped.
fn to_rate(e: Estimate) -> Option<Estimate> {
    (e.lo > 0.0).then(|| Estimate {
        point: 1e9 / e.point,
        lo: 1e9 / e.hi,
        hi: 1e9 / e.lo,
    })
}

/// The 95 % interval of `m`, as ratios.
fn interval(m: &LogMean) -> Option<Estimate> {
    m.interval(0.95).map(|r| r.ratio)
}

/// throughput(a) / throughput(b) on workload `w` as a log-mean over the throughput processes
/// ([`super::per_process::ratio`]), and whether it was paired.
fn speed_mean(results: &RunResults, w: &str, a: &str, b: &str) -> Option<(LogMean, bool)> {
    let gross = a == "null" || b == "null";
    let sa = by_process(&cells_of(results, w, a), gross);
    let sb = by_process(&cells_of(results, w, b), gross);
    ratio(&sa, &sb)
}

/// throughput(a) / throughput(b) on workload `w`, with a 95 % interval over the throughput
/// processes. `None` without samples on either side.
pub fn speed(results: &RunResults, w: &str, a: &str, b: &str) -> Option<Speed> {
    let (m, paired) = speed_mean(results, w, a, b)?;
    Some(Speed {
        ratio: interval(&m)?,
        paired,
        processes: m.units,
    })
}

/// The verdict of every replay workload of the run, relative to `reference`.
pub fn judge(results: &RunResults, reference: Option<&str>) -> Vec<WorkloadVerdict> {
    let mut workloads: Vec<&str> = Vec::new();
    for c in &results.cells {
        if c.kind == super::model::CellKind::Replay && !workloads.contains(&c.workload.as_str()) {
            workloads.push(&c.workload);
        }
    }
    let streams = results.streams();
    workloads
        .into_iter()
        .map(|w| judge_workload(results, w, reference, streams.get(w).and_then(stream_shown)))
        .collect()
}

fn judge_workload(
    results: &RunResults,
    w: &str,
    reference: Option<&str>,
    stream: Option<(u64, String)>,
) -> WorkloadVerdict {
    let allocators: Vec<String> = super::first_seen(
        (results.cells.iter())
            .filter(|c| c.workload == w && c.allocator != "null")
            .map(|c| c.allocator.clone()),
    );
    let names: Vec<&str> = allocators.iter().map(String::as_str).collect();
    let preset = results.parameters.pymalloc_presets.get(w);
    let reference = pick_reference(&names, reference, preset.map(String::as_str))
        .unwrap_or_default()
        .to_string();
    let null_procs = measured_beside_others(results, w, null_by_process(results, w, &allocators));
    let mut entries: Vec<Entry> = allocators
        .iter()
        .map(|a| entry(results, w, a, &reference))
        .collect();
    mark_winners(results, w, &reference, &mut entries);
    WorkloadVerdict {
        workload: w.to_string(),
        stream,
        reference,
        harness_ns: ns_per_event(&null_procs).as_ref().and_then(interval),
        harness_processes: null_procs.len(),
        samples: null_procs.iter().map(|(_, v)| v.len()).sum(),
        entries,
    }
}

/// Allocator `a`'s figures on workload `w`, its speed against `reference` (none for the
/// reference itself); not yet starred ([`mark_winners`]).
fn entry(results: &RunResults, w: &str, a: &str, reference: &str) -> Entry {
    let cells = cells_of(results, w, a);
    let ok: Vec<&CellResult> = cells.iter().copied().filter(|c| c.is_ok()).collect();
    let rate = |gross| {
        ns_per_event(&by_process(&ok, gross))
            .as_ref()
            .and_then(interval)
            .and_then(to_rate)
    };
    let med = |id: Id, op: Option<&str>| {
        let v: Vec<f64> = ok.iter().filter_map(|c| c.metric(id, op)).collect();
        median(&v)
    };
    Entry {
        allocator: a.to_string(),
        ok_reps: ok.len(),
        failed_reps: cells.len() - ok.len(),
        net_ops: rate(false),
        processes: by_process(&ok, false).len(),
        gross_ops: rate(true),
        peak_rss: med(Id::PeakRssBytes, None),
        p99_net: med(Id::LatP99Net, Some("all")),
        detail: DETAIL
            .iter()
            .map(|&id| {
                let op = id.name().starts_with("lat_").then_some("all");
                (id, med(id, op))
            })
            .collect(),
        speed: (a != reference)
            .then(|| speed(results, w, a, reference))
            .flatten(),
        winner: false,
    }
}

/// Stars the fastest allocator on workload `w` and every other one it is not distinguishably
/// faster than (its paired ratio's interval holds 1, or the gap is under [`RESOLUTION`]): a
/// lone ★ on a point estimate a hair above the runner-up's claimed a winner the measurement
/// could not name. The fastest is the highest speed against `reference` (the ratio column,
/// the reference at 1), the estimator the stars are then judged with: picked by the net
/// ops/s column instead (a mean of per-process medians), the ★ could go to an allocator the
/// ratio column and its sentence called distinguishably slower. Without any ratio (the
/// reference failed) net ops/s decides.
fn mark_winners(results: &RunResults, w: &str, reference: &str, entries: &mut [Entry]) {
    let by_ratio = |e: &Entry| match &e.speed {
        _ if e.allocator == reference => e.net_ops.map(|_| 1.0),
        Some(s) => Some(s.ratio.point),
        None => None,
    };
    let fastest = |key: &dyn Fn(&Entry) -> Option<f64>| {
        (entries.iter().enumerate())
            .filter_map(|(i, e)| key(e).map(|k| (i, k)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(i, _)| i)
    };
    let any_ratio = entries.iter().any(|e| e.speed.is_some());
    let best = if any_ratio {
        fastest(&by_ratio)
    } else {
        fastest(&|e: &Entry| e.net_ops.map(|n| n.point))
    };
    let Some(best) = best else { return };
    let top = entries[best].allocator.clone();
    for e in entries.iter_mut() {
        e.winner = e.allocator == top
            || (e.net_ops.is_some()
                && !matches!(speed(results, w, &top, &e.allocator),
                    Some(s) if s.relation() == Relation::Faster));
    }
}

/// `null`'s samples per throughput process of workload `w`: from its own cells, or, where a
/// run kept none (`validate`'s replays), from the rounds every allocator's cell carries, once
/// per process — `null` took its turns there all the same.
fn null_by_process(
    results: &RunResults,
    w: &str,
    allocators: &[String],
) -> Vec<(String, Vec<f64>)> {
    let own = by_process(&cells_of(results, w, "null"), true);
    if !own.is_empty() {
        return own;
    }
    let mut procs: Vec<(String, Vec<f64>)> = Vec::new();
    for a in allocators {
        for c in cells_of(results, w, a).into_iter().filter(|c| c.is_ok()) {
            let Some(t) = &c.throughput else { continue };
            if !t.null_ns_per_op.is_empty() && !procs.iter().any(|(g, _)| *g == t.group) {
                procs.push((t.group.clone(), t.null_ns_per_op.clone()));
            }
        }
    }
    procs
}

/// `null`'s processes in which some other allocator's throughput cell was saved too, when any
/// was: a run stopped mid-process leaves `null`'s cell of that process without the others',
/// and its rounds counted in the workload line's "samples per allocator" and harness figure
/// (a stopped `-a system -r 3` said "1 throughput process(es), 6 samples per allocator").
/// `-a null` alone keeps every process.
fn measured_beside_others(
    results: &RunResults,
    w: &str,
    null_procs: Vec<(String, Vec<f64>)>,
) -> Vec<(String, Vec<f64>)> {
    let groups: Vec<&str> = (results.cells.iter())
        .filter(|c| c.workload == w && c.allocator != "null" && c.is_ok())
        .filter_map(|c| c.throughput.as_ref().map(|t| t.group.as_str()))
        .collect();
    if groups.is_empty() {
        return null_procs;
    }
    (null_procs.into_iter())
        .filter(|(g, _)| groups.contains(&g.as_str()))
        .collect()
}

/// A workload's stream as its table line names it: allocator events a pass and the
/// fingerprints (`None` when its cells recorded none).
fn stream_shown(s: &super::model::StreamIds<'_>) -> Option<(u64, String)> {
    let events = *s.lengths.first()?;
    let joined = s.fingerprints.iter().copied().collect::<Vec<_>>().join("/");
    (!joined.is_empty()).then_some((events, joined))
}

/// "jemalloc is 1.12 ± 0.03× faster than pymalloc", or "… are indistinguishable (…)".
pub fn sentence(a: &str, reference: &str, s: &Speed) -> String {
    let r = s.ratio;
    match s.relation() {
        Relation::Faster => format!(
            "{a} is {} faster than {reference}",
            magnitude(r.point, r.lo, r.hi)
        ),
        Relation::Slower => format!(
            "{reference} is {} faster than {a}",
            magnitude(1.0 / r.point, 1.0 / r.hi, 1.0 / r.lo)
        ),
        Relation::Indistinguishable => {
            let d = estimate_decimals(&r);
            format!(
                "{a} and {reference} are indistinguishable ({:.d$}×, 95 % interval {:.d$}–{:.d$}; \
                 resolution ±2 %)",
                r.point, r.lo, r.hi
            )
        }
    }
}

/// "1.42 ± 0.03×" where the interval is about symmetric around the point (its two sides
/// within 25 % of each other: the larger is shown, so the ± range never understates it);
/// "3.62× (95 % interval 1.56–8.30)" where it is lopsided, as a ratio's interval over few or
/// scattered processes is (a ± of its half-width would read as 0.20–7.04).
fn magnitude(point: f64, lo: f64, hi: f64) -> String {
    let (below, above) = (point - lo, hi - point);
    let (small, large) = (below.min(above), below.max(above));
    // Enough decimals that the interval shows (two unless it is narrower than a hundredth).
    let d = ratio_decimals(point, large);
    // Below the printed precision the shape of the interval does not show.
    if large <= small * 1.25 || large < 0.5 * 10f64.powi(-(d as i32)) {
        format!("{point:.d$} ± {large:.d$}×")
    } else {
        format!("{point:.d$}× (95 % interval {lo:.d$}–{hi:.d$})")
    }
}

/// A figure of the verdict whose interval is wider than the noise warning allows.
#[derive(Debug, Clone, PartialEq)]
pub struct WideFigure {
    /// "jemalloc vs pymalloc on dicts", "system net ops/s on json".
    pub what: String,
    /// Half the 95 % interval's width relative to the point ("± x %").
    pub half_width: f64,
    /// Throughput processes the interval runs over.
    pub processes: usize,
}

/// Figures whose 95 % interval is wider than ±`limit` (relative). The harness's cost counts
/// where it is the workload's only figure (`-a null` alone); beside allocators the net
/// figures already carry its noise, paired round by round.
pub fn wide_intervals(verdicts: &[WorkloadVerdict], limit: f64) -> Vec<WideFigure> {
    verdicts
        .iter()
        .flat_map(|v| figures(v, false))
        .filter(|f| f.half_width > limit)
        .collect()
}

/// The figures a workload's answer rests on, which `run --precision` narrows: each
/// allocator's ratio to the reference ("by how much"); without ratios (one allocator) its net
/// throughput; without allocators (`-a null` alone) the harness's cost. Absolute throughput
/// next to ratios is left out: it also carries the host's speed from process to process,
/// which the paired ratios cancel, and no number of processes makes a drifting host hold
/// still.
pub fn answer_figures(v: &WorkloadVerdict) -> Vec<WideFigure> {
    figures(v, true)
}

/// Every figure of a workload with an interval, named, with its half-width and the
/// processes behind it; `answer`: only those [`answer_figures`] names.
fn figures(v: &WorkloadVerdict, answer: bool) -> Vec<WideFigure> {
    let figure = |what: String, half_width: f64, processes: usize| WideFigure {
        what,
        half_width,
        processes,
    };
    let mut out = Vec::new();
    if let (true, Some(h)) = (v.entries.is_empty(), v.harness_ns) {
        let what = format!("harness (null) on {}", v.workload);
        out.push(figure(what, h.rel_half_width(), v.harness_processes));
    }
    let ratios = v.entries.iter().any(|e| e.speed.is_some());
    for e in &v.entries {
        if let Some(n) = e.net_ops.filter(|_| !(answer && ratios)) {
            let what = format!("{} net ops/s on {}", e.allocator, v.workload);
            out.push(figure(what, n.rel_half_width(), e.processes));
        }
        if let Some(s) = e.speed {
            let what = format!("{} vs {} on {}", e.allocator, v.reference, v.workload);
            out.push(figure(what, s.rel_half_width(), s.processes));
        }
    }
    out
}

/// Whether some interval of the verdict covers the rounds of a single throughput process only
/// (`-r 1`): it then leaves out the spread between processes, usually the larger one. A net
/// throughput's interval counts as much as a ratio's: a run of the reference alone has no
/// ratio, yet prints an interval over one process's rounds; so does the harness's line of a
/// run of `-a null` alone (which had no warning until 2026-12-05).
pub fn single_process(verdicts: &[WorkloadVerdict]) -> bool {
    let harness_alone = |v: &WorkloadVerdict| {
        v.entries.is_empty() && v.harness_ns.is_some() && v.harness_processes == 1
    };
    verdicts.iter().any(harness_alone)
        || verdicts.iter().flat_map(|v| &v.entries).any(|e| {
            e.speed.is_some_and(|s| s.processes == 1) || (e.net_ops.is_some() && e.processes == 1)
        })
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "verdict_reference_tests.rs"]
mod reference_tests;
