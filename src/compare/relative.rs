//! `compare --relative-to REF`: throughput judged as each allocator's ratio to a reference
//! allocator that took turns with it in the same processes, instead of as absolute speed.
//!
//! Why: two identical default runs a few minutes apart on a shared 2-core VM moved every
//! allocator's throughput the same way by 2 – 7 % (README "Comparing runs (CI)"), enough for a
//! 5 % gate to fail on the host alone. A throughput process measures every allocator round by
//! round, so the i-th samples of two allocators were taken back to back; their ratio cancels
//! whatever the host did to both. A CI job that changes one allocator (the engine, say) and
//! judges it relative to one it did not change (`system`) is then gated on the change, not on
//! the runner's mood. The reference's own throughput is not judged (its ratio to itself is 1);
//! what changes the reference moves every other allocator's ratio alike, which the report's
//! shared-shift note names.
//!
//! What is relative: every figure the per-pass samples give (`ops_per_sec`, `loop_ns_per_op`,
//! their net forms, `harness_ns_per_op`: `null` ÷ the reference) and the cold pass. Latency and
//! counters are measured in one process per allocator, with nothing to pair: they stay
//! absolute.

use super::groups::Group;
use super::verdict::MIN_SAMPLES_PER_PROCESS;
use super::CompareError;
use crate::alloc::AllocatorSpec;
use crate::metrics::Id;
use crate::report::model::ThroughputSamples;
use crate::report::per_process::round_ratios;
use crate::report::verdict::names_allocator;
use crate::stats::ratio_median;

/// How one metric of one (workload, allocator) is judged in relative mode.
#[derive(Debug, PartialEq)]
pub(super) enum Judged {
    /// Not a throughput figure: judged as usual, absolute.
    Absolute,
    /// The reference's own speed (its ratio to itself is 1), or `null`'s (the harness's
    /// cost, judged on every allocator's `harness_ns_per_op` row): not judged.
    Skip,
    /// No process pairs this allocator's samples with the reference's on one side.
    Unpaired,
    /// Per-process ratios to the reference on each side, and the fewest rounds behind one.
    Ratios {
        baseline: Vec<f64>,
        current: Vec<f64>,
        samples: usize,
    },
}

/// The reference of one workload on both sides (`None` where that run lacks it there).
pub(super) struct Reference<'a> {
    pub workload: String,
    /// The reference's name as the runs spell it (`pymalloc` resolved to the engine preset).
    pub name: String,
    pub baseline: Option<&'a Group>,
    pub current: Option<&'a Group>,
}

/// The group `asked` names among one run's groups of `workload`. A bare `pymalloc` matching
/// two engine presets of one workload is ambiguous: refused, naming them.
fn find<'a>(
    groups: &'a [Group],
    workload: &str,
    asked: &str,
) -> Result<Option<&'a Group>, CompareError> {
    let of_w: Vec<&Group> = groups
        .iter()
        .filter(|g| g.workload == workload && names_allocator(asked, &g.allocator))
        .collect();
    if let Some(exact) = of_w.iter().find(|g| g.allocator == asked) {
        return Ok(Some(exact));
    }
    match of_w.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(CompareError::RelativeTo(format!(
            "{asked}: names {} on {workload}; give one of them",
            many.iter()
                .map(|g| g.allocator.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// The reference of every workload of `pairs`, refusing a reference that is `null` (the
/// harness's cost, not an allocator) or that neither run measured.
pub(super) fn references<'a>(
    asked: &str,
    baseline: &'a [Group],
    current: &'a [Group],
    workloads: &[&str],
) -> Result<Vec<Reference<'a>>, CompareError> {
    if asked == AllocatorSpec::Null.to_string() {
        return Err(CompareError::RelativeTo(format!(
            "{asked}: `null` is the harness's own cost, not an allocator to judge others by"
        )));
    }
    let mut out = Vec::new();
    for w in workloads {
        let (b, c) = (find(baseline, w, asked)?, find(current, w, asked)?);
        let name = b.or(c).map_or(asked.to_string(), |g| g.allocator.clone());
        out.push(Reference {
            workload: w.to_string(),
            name,
            baseline: b,
            current: c,
        });
    }
    if out
        .iter()
        .all(|r| r.baseline.is_none() && r.current.is_none())
    {
        let mut known: Vec<&str> = (baseline.iter().chain(current))
            .map(|g| g.allocator.as_str())
            .filter(|a| *a != AllocatorSpec::Null.to_string())
            .collect();
        known.sort_unstable();
        known.dedup();
        return Err(CompareError::RelativeTo(format!(
            "{asked}: not an allocator of either run ({})",
            known.join(", ")
        )));
    }
    Ok(out)
}

/// A process's per-round series, taken from its samples.
type Rounds = fn(&ThroughputSamples) -> Vec<f64>;

/// Which per-round series a metric is a ratio of (the allocator's, the reference's), and
/// whether a larger ratio is faster (a rate) rather than slower (a time). The harness's cost
/// is `null`'s time ÷ the reference's gross time: what the harness adds to that allocator.
fn series_of(metric: Id) -> Option<(Rounds, Rounds, bool)> {
    let gross: Rounds = |t| t.ns_per_op.clone();
    let net: Rounds = ThroughputSamples::net_ns_per_op;
    Some(match metric {
        Id::LoopNsPerOp => (gross, gross, false),
        Id::OpsPerSec => (gross, gross, true),
        Id::NetLoopNsPerOp => (net, net, false),
        Id::NetOpsPerSec => (net, net, true),
        Id::HarnessNsPerOp => (|t| t.null_ns_per_op.clone(), gross, false),
        Id::ColdNsPerOp => (
            |t| vec![t.cold_ns_per_op],
            |t| vec![t.cold_ns_per_op],
            false,
        ),
        _ => return None,
    })
}

/// One figure per process of `g` for `metric`: the median over the rounds of its time ÷ the
/// reference's time in the same round (inverted for a rate), and the fewest rounds behind a
/// figure. `None` when a process has no partner in `reference`, too few rounds (a cold pass
/// is one a process), or no positive pair (a net time within the harness's noise).
fn per_process(g: &Group, reference: &Group, metric: Id) -> Option<(Vec<f64>, usize)> {
    let (own, theirs, rate) = series_of(metric)?;
    let least = if metric == Id::ColdNsPerOp {
        1
    } else {
        MIN_SAMPLES_PER_PROCESS
    };
    let mut figures = Vec::new();
    let mut fewest = usize::MAX;
    for t in &g.samples {
        let t = t.as_ref()?;
        let r = reference
            .samples
            .iter()
            .flatten()
            .find(|r| r.group == t.group)?;
        let ratios = round_ratios(&theirs(r), &own(t));
        if ratios.len() < least {
            return None;
        }
        fewest = fewest.min(ratios.len());
        // In log space: 1 / m is then the median of the reciprocal ratios too.
        let m = ratio_median(&ratios)?;
        figures.push(if rate { 1.0 / m } else { m });
    }
    (!figures.is_empty()).then_some((figures, fewest))
}

impl Reference<'_> {
    /// How `metric` of the pair (`b`, `c`) (one workload and allocator, baseline and current)
    /// is judged relative to this reference.
    pub(super) fn judge(&self, b: &Group, c: &Group, metric: &str) -> Judged {
        let Some(id) = Id::from_name(metric).filter(|id| series_of(*id).is_some()) else {
            return Judged::Absolute;
        };
        let null = b.allocator == AllocatorSpec::Null.to_string();
        // The reference's own rows are 1, but for the harness's: `null`'s time ÷ the
        // reference's, judged there once. Every other allocator of a process carries the
        // same `null` rounds, so its harness row repeated that one fact (three regressions
        // for one in a run of four allocators until 2026-12-07, found in review).
        let reference = b.allocator == self.name;
        if null || reference != (id == Id::HarnessNsPerOp) {
            return Judged::Skip;
        }
        let (Some(rb), Some(rc)) = (self.baseline, self.current) else {
            return Judged::Unpaired;
        };
        match (per_process(b, rb, id), per_process(c, rc, id)) {
            (Some((baseline, nb)), Some((current, nc))) => Judged::Ratios {
                baseline,
                current,
                samples: nb.min(nc),
            },
            _ => Judged::Unpaired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(group: &str, ns: &[f64], null: &[f64], cold: f64) -> Option<ThroughputSamples> {
        Some(ThroughputSamples {
            group: group.to_string(),
            min_time_ns: 1,
            passes_per_sample: 1,
            cold_ns_per_op: cold,
            ns_per_op: ns.to_vec(),
            null_ns_per_op: null.to_vec(),
            warm_faults_per_pass: None,
            arenas_outside_span: 0,
            streamed: None,
            cold_primed_bytes: None,
        })
    }

    fn group(allocator: &str, samples: Vec<Option<ThroughputSamples>>) -> Group {
        Group {
            workload: "dicts".to_string(),
            allocator: allocator.to_string(),
            series: Vec::new(),
            samples,
            failed: 0,
        }
    }

    #[test]
    fn a_ratio_is_taken_round_by_round_within_each_process() {
        // Process p0 is twice as slow as p1 in every round, for both allocators: the host.
        // The allocator takes 1.5× the reference's time in p0's rounds and 1.2× in p1's.
        let null = [1.0, 1.0, 1.0];
        let reference = group(
            "system",
            vec![
                samples("p0", &[8.0, 9.0, 10.0], &null, 40.0),
                samples("p1", &[4.0, 4.5, 5.0], &null, 20.0),
            ],
        );
        let a = group(
            "jemalloc",
            vec![
                samples("p1", &[4.8, 5.4, 6.0], &null, 30.0),
                samples("p0", &[12.0, 13.5, 15.0], &null, 80.0),
            ],
        );
        let (f, n) = per_process(&a, &reference, Id::LoopNsPerOp).unwrap();
        assert_eq!(n, 3);
        assert!(
            (f[0] - 1.2).abs() < 1e-12 && (f[1] - 1.5).abs() < 1e-12,
            "{f:?}"
        );
        // A rate is the reciprocal: the allocator's throughput ÷ the reference's.
        let (f, _) = per_process(&a, &reference, Id::OpsPerSec).unwrap();
        assert!((f[1] - 1.0 / 1.5).abs() < 1e-12, "{f:?}");
        // Net of null: (13.5 − 1) ÷ (9 − 1) in p0's middle round, the median of three.
        let (f, _) = per_process(&a, &reference, Id::NetLoopNsPerOp).unwrap();
        assert!((f[1] - 12.5 / 8.0).abs() < 1e-12, "{f:?}");
        // The cold pass: one per process, 1.5 and 2.
        let (f, n) = per_process(&a, &reference, Id::ColdNsPerOp).unwrap();
        assert_eq!((f, n), (vec![1.5, 2.0], 1));
        // The harness: null's time ÷ the reference's gross time, 1 ÷ 9 in p0's middle round.
        let (f, _) = per_process(&a, &reference, Id::HarnessNsPerOp).unwrap();
        assert!((f[1] - 1.0 / 9.0).abs() < 1e-12, "{f:?}");
        // Not a throughput figure: nothing to pair.
        assert!(per_process(&a, &reference, Id::PeakRssBytes).is_none());
    }

    #[test]
    fn a_process_without_a_partner_or_enough_rounds_gives_no_figures() {
        let null = [1.0, 1.0, 1.0];
        let reference = group("system", vec![samples("p0", &[8.0, 9.0, 10.0], &null, 1.0)]);
        let elsewhere = group(
            "cpython:3.12",
            vec![samples("other", &[8.0, 9.0, 10.0], &null, 1.0)],
        );
        assert!(per_process(&elsewhere, &reference, Id::LoopNsPerOp).is_none());
        let short = group("jemalloc", vec![samples("p0", &[8.0, 9.0], &null, 1.0)]);
        assert!(per_process(&short, &reference, Id::LoopNsPerOp).is_none());
        let none = group("jemalloc", vec![None]);
        assert!(per_process(&none, &reference, Id::LoopNsPerOp).is_none());
        // Net times at or below the harness's own: no positive pair.
        let within = group(
            "jemalloc",
            vec![samples("p0", &[1.0, 0.9, 1.0], &null, 1.0)],
        );
        assert!(per_process(&within, &reference, Id::NetLoopNsPerOp).is_none());
    }

    #[test]
    fn the_reference_is_found_by_name_or_as_the_engine_preset() {
        let groups = vec![
            group("pymalloc:cpython-3.11", vec![]),
            group("system", vec![]),
        ];
        let found = |asked: &str| {
            find(&groups, "dicts", asked)
                .unwrap()
                .map(|g| g.allocator.clone())
        };
        assert_eq!(found("pymalloc").as_deref(), Some("pymalloc:cpython-3.11"));
        assert_eq!(found("system").as_deref(), Some("system"));
        assert_eq!(found("jemalloc"), None);
        let two = vec![
            group("pymalloc:cpython-3.8", vec![]),
            group("pymalloc:cpython-3.13", vec![]),
        ];
        let e = find(&two, "dicts", "pymalloc").err().unwrap().to_string();
        assert!(
            e.contains("pymalloc:cpython-3.8 and pymalloc:cpython-3.13"),
            "{e}"
        );
        assert!(find(&two, "dicts", "pymalloc:cpython-3.8")
            .unwrap()
            .is_some());
        let e = references("null", &groups, &groups, &["dicts"])
            .err()
            .unwrap();
        assert!(e.to_string().contains("harness's own cost"), "{e}");
        let e = references("mimalloc", &groups, &groups, &["dicts"])
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("not an allocator of either run (pymalloc:cpython-3.11, system)"),
            "{e}"
        );
    }
}
