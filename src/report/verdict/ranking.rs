//! The overall ranking across workloads: each allocator's geometric mean speed relative to
//! the reference, with its interval, and places shared where the run cannot tell two apart.

use super::{interval, speed_mean, WorkloadVerdict, RESOLUTION};
use crate::report::first_seen;
use crate::report::model::RunResults;
use crate::stats::{beyond_band, Estimate, LogMean};

/// One allocator's standing over all workloads: geometric mean of its speed relative to the
/// reference, with a 95 % interval: each workload's ratio is a log-mean over its throughput
/// processes (independent of other workloads' processes), their average is the log of the
/// geometric mean, and its variance the sum of theirs over k² for k workloads, with
/// Welch–Satterthwaite degrees of freedom ([`LogMean::average`]). The processes are the
/// units here too, never the rounds pooled.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub allocator: String,
    pub geomean: Estimate,
    pub workloads: usize,
    /// The fewest throughput processes behind any workload's ratio (1: rounds of one process).
    pub processes: usize,
    /// 1-based place, shared with the allocator above when the run cannot tell the two apart
    /// (see `tied`): a ranking must not order what the run did not resolve.
    pub rank: usize,
}

/// Whether two standings cannot be told apart: their intervals overlap, or their points lie
/// within the harness's [`RESOLUTION`] of each other. Overlap is the conservative test (two
/// allocators measured in the same processes can differ significantly with overlapping
/// intervals), which is the side to err on before printing an order.
fn tied(a: &Estimate, b: &Estimate) -> bool {
    let overlap = a.lo <= b.hi && b.lo <= a.hi;
    overlap || beyond_band(a.point / b.point, RESOLUTION) == 0
}

/// The overall ranking, best first. An allocator enters only if it has a speed on every
/// workload (a geometric mean over different workloads would not compare).
pub fn ranking(results: &RunResults, verdicts: &[WorkloadVerdict]) -> Vec<Standing> {
    let names = first_seen(verdicts.iter().flat_map(|v| {
        (v.entries.iter()).map(move |e| ranked_as(results, &v.workload, &e.allocator))
    }));
    let mut out: Vec<Standing> = names
        .iter()
        .filter_map(|a| standing(results, verdicts, a))
        .collect();
    out.sort_by(|x, y| y.geomean.point.total_cmp(&x.geomean.point));
    for i in 0..out.len() {
        out[i].rank = match i {
            0 => 1,
            _ if tied(&out[i - 1].geomean, &out[i].geomean) => out[i - 1].rank,
            _ => i + 1,
        };
    }
    out
}

/// The name an allocator of workload `w` ranks under: the row a bare `pymalloc` became there
/// ranks as `pymalloc` when workloads of different Pythons gave it different presets (one
/// contender: each workload's own preset, as `--help` promises); any other under its name.
fn ranked_as<'a>(results: &RunResults, w: &str, allocator: &'a str) -> &'a str {
    let presets = &results.parameters.pymalloc_presets;
    let mut distinct = presets.values();
    let first = distinct.next();
    let differ = distinct.any(|p| Some(p) != first);
    match presets.get(w) {
        Some(p) if differ && p == allocator => "pymalloc",
        _ => allocator,
    }
}

/// What the overall ranking is relative to: the workloads' common reference; `pymalloc`
/// with a word when it stands for each workload's own preset; else each reference named
/// (a reference missing on a workload gave way to another row there, [`super::pick_reference`]).
pub fn ranking_reference(results: &RunResults, verdicts: &[WorkloadVerdict]) -> String {
    let named: Vec<&str> =
        first_seen((verdicts.iter()).map(|v| ranked_as(results, &v.workload, &v.reference)));
    match named.as_slice() {
        [one] if verdicts.iter().all(|v| v.reference == *one) => one.to_string(),
        [one] => format!("{one} (each workload's Python version's engine preset)"),
        several => format!(
            "{} (each workload's own: see its table)",
            several.join(", ")
        ),
    }
}

fn standing(results: &RunResults, verdicts: &[WorkloadVerdict], a: &str) -> Option<Standing> {
    let per_workload = verdicts
        .iter()
        .map(|v| {
            let e =
                (v.entries.iter()).find(|e| ranked_as(results, &v.workload, &e.allocator) == a)?;
            if e.allocator == v.reference {
                LogMean::exact(1.0)
            } else {
                speed_mean(results, &v.workload, &e.allocator, &v.reference).map(|(m, _)| m)
            }
        })
        .collect::<Option<Vec<LogMean>>>()?;
    let g = LogMean::average(&per_workload)?;
    Some(Standing {
        allocator: a.to_string(),
        geomean: interval(&g)?,
        workloads: per_workload.len(),
        processes: g.units,
        rank: 0,
    })
}
