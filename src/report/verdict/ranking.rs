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
    /// 1-based place: one more than the allocators the run told faster than this one (see
    /// `tied`), so allocators share a place only when the run could not tell them apart: a
    /// ranking must not order what the run did not resolve.
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
    let estimates: Vec<Estimate> = out.iter().map(|s| s.geomean).collect();
    for (s, place) in out.iter_mut().zip(places(&estimates)) {
        s.rank = place;
    }
    out
}

/// Each estimate's place: one more than the number of others the run told faster.
/// "Cannot tell apart" is not transitive (a wide interval may overlap two that do not overlap
/// each other), so sharing the place of the neighbour above — as places were given until
/// 2026-12-07 — chained allocators the run had told apart into one place. Told apart *is*
/// transitive (no overlap, and points beyond the band, both ordered), so two the run resolved
/// never share a place, and the faster of them always has the better one.
pub(super) fn places(estimates: &[Estimate]) -> Vec<usize> {
    let faster = |a: &Estimate, b: &Estimate| a.point > b.point && !tied(a, b);
    (estimates.iter())
        .map(|e| 1 + estimates.iter().filter(|o| faster(o, e)).count())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn est(point: f64, lo: f64, hi: f64) -> Estimate {
        Estimate { point, lo, hi }
    }

    /// A review's case: system 1.060 (1.058 – 1.062) and pymalloc 1.00 exactly are told
    /// apart, and a wide 1.03 (0.99 – 1.08) overlaps both. All three shared first place;
    /// now only the two the run cannot tell apart do.
    #[test]
    fn a_wide_interval_does_not_chain_two_resolved_allocators_into_one_place() {
        let e = [
            est(1.06, 1.058, 1.062),
            est(1.03, 0.99, 1.08),
            est(1.0, 1.0, 1.0),
        ];
        assert_eq!(places(&e), vec![1, 1, 2]);
        let apart = [est(1.5, 1.4, 1.6), est(1.2, 1.1, 1.3), est(1.0, 1.0, 1.0)];
        assert_eq!(places(&apart), vec![1, 2, 3]);
    }

    proptest! {
        /// Over any set: two estimates share a place only when they are tied, and one told
        /// faster than another always has the better (smaller) place.
        #[test]
        fn places_order_exactly_what_the_run_resolved(
            raw in proptest::collection::vec((0.5f64..2.0, 0.0f64..0.3, 0.0f64..0.3), 1..8)
        ) {
            let e: Vec<Estimate> = raw.iter().map(|&(p, d, u)| est(p, p - d, p + u)).collect();
            let pl = places(&e);
            for i in 0..e.len() {
                for j in 0..e.len() {
                    if i != j && pl[i] == pl[j] {
                        prop_assert!(tied(&e[i], &e[j]), "{:?} {:?} share {}", e[i], e[j], pl[i]);
                    }
                    if e[i].point > e[j].point && !tied(&e[i], &e[j]) {
                        prop_assert!(pl[i] < pl[j]);
                    }
                }
            }
        }
    }
}
