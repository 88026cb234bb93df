//! The rows of one matched (workload, allocator) pair: every metric either side measured,
//! each judged by its kind — or, with `--relative-to`, the throughput figures as ratios to
//! the reference ([`super::relative`]).

use super::groups::{both_sides, per_process, Group};
use super::relative::{Judged, Reference};
use super::skipped::Skipped;
use super::verdict::Series;
use super::verdict::{find, judge, largest_median, smallest_median, tail_samples, RowInput};
use super::{classify, metric_label, Class, CompareError, Row, Settings};
use crate::alloc::AllocatorSpec;
use crate::metrics::{percentile_of, Id};

/// Whether the pair `b` of `pairs` is the one whose row judges `harness_ns_per_op` of its
/// workload in absolute mode: `null`'s when `null` was compared on that workload, else the
/// first allocator's. Every allocator of a process carries the same `null` rounds, so each
/// allocator's harness row repeated one fact: a slower harness alone was "7 regressed" in a
/// run of three allocators, three of them the same harness row (review, 2026-12-07; with
/// `--relative-to` it is judged once in the reference's row, `relative`).
pub(super) fn judges_harness(pairs: &[(&Group, &Group)], b: &Group) -> bool {
    let null = AllocatorSpec::Null.to_string();
    let of_workload = || {
        pairs
            .iter()
            .map(|p| p.0)
            .filter(|g| g.workload == b.workload)
    };
    let owner = of_workload()
        .find(|g| g.allocator == null)
        .or_else(|| of_workload().next());
    owner.is_some_and(|g| g.allocator == b.allocator)
}

/// The rows of one (workload, allocator): every metric of either side, baseline's first.
/// `reference` is the workload's reference in relative mode; `harness_here` whether this
/// pair's row judges the harness in absolute mode ([`judges_harness`]).
pub(super) fn compare_group(
    b: &Group,
    c: &Group,
    settings: &Settings,
    (reference, harness_here): (Option<&Reference>, bool),
    skipped: &mut Skipped,
) -> Result<Vec<Row>, CompareError> {
    let (bm, cm) = (&b.series, &c.series);
    let mut keys: Vec<&Series> = bm.iter().collect();
    keys.extend(cm.iter().filter(|k| !bm.iter().any(|x| x.same_metric(k))));
    let mut rows = Vec::new();
    for key in keys {
        let judged = (reference, harness_here);
        if let Some(row) = compare_metric(key, b, c, settings, judged, skipped)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The row of one metric, or None where there is none to judge: an informational metric, one
/// this pybench does not know or one side did not measure (both noted in `skipped`), or one
/// whose figures cannot be set side by side ([`values`]).
fn compare_metric(
    key: &Series,
    b: &Group,
    c: &Group,
    settings: &Settings,
    (reference, harness_here): (Option<&Reference>, bool),
    skipped: &mut Skipped,
) -> Result<Option<Row>, CompareError> {
    let (bm, cm) = (&b.series, &c.series);
    let (name, op) = (key.name.as_str(), key.op.as_deref());
    let (class, higher) = classify(name);
    if class == Class::Informational {
        return Ok(None);
    }
    if class == Class::Unknown {
        if !skipped.unknown.iter().any(|u| u == name) {
            skipped.unknown.push(name.to_string());
        }
        return Ok(None);
    }
    let Some((bv, cv)) = both_sides(key, bm, cm)? else {
        let side = if find(bm, name, op).is_some() {
            "baseline"
        } else {
            "current run"
        };
        let label = format!("{} (only in the {side})", metric_label(name, op));
        if !skipped.one_sided.contains(&label) {
            skipped.one_sided.push(label);
        }
        return Ok(None);
    };
    let Some(v) = values(key, b, c, (bv, cv), (reference, harness_here), skipped) else {
        return Ok(None);
    };
    let seed_key = format!(
        "{}\u{1f}{}\u{1f}{name}\u{1f}{:?}",
        b.workload, b.allocator, key.op
    );
    let input = RowInput {
        workload: &b.workload,
        allocator: &b.allocator,
        metric: name,
        op,
        unit: v.unit,
        class,
        higher_is_better: higher,
        baseline: v.baseline,
        current: v.current,
        tail_samples: tail_samples(bm, cm, name, op),
        peak_live: smallest_median(bm, cm, Id::PeakLiveBytes.name(), None),
        resolution: percentile_of(name)
            .and_then(|_| largest_median(bm, cm, Id::TimerOverheadNs.name())),
        per_process: v.per_process,
    };
    let mut row = judge(input, settings, crate::stats::seed_for(&seed_key));
    row.relative_to = v.relative_to;
    Ok(Some(row))
}

/// What one row is judged on.
struct Values<'k> {
    baseline: Vec<f64>,
    current: Vec<f64>,
    /// `Some(n)`: per-process figures of at least n rounds each.
    per_process: Option<usize>,
    unit: &'k str,
    /// The reference the figures are ratios to, with `--relative-to`.
    relative_to: Option<String>,
}

/// The values metric `key` of the pair (`b`, `c`) is judged on: the ratios to the reference
/// when it has one, else per-process figures where the samples give them, else the
/// repetitions' `values`. `None` when the row is not judged (the reference's own throughput,
/// `null`'s, a figure no process paired with the reference: recorded in `skipped`; or the
/// harness's cost in absolute mode outside the row that judges it, `harness_here`).
fn values<'k>(
    key: &'k Series,
    b: &Group,
    c: &Group,
    (bv, cv): (Vec<f64>, Vec<f64>),
    (reference, harness_here): (Option<&Reference>, bool),
    skipped: &mut Skipped,
) -> Option<Values<'k>> {
    let (name, op) = (key.name.as_str(), key.op.as_deref());
    let judged = match reference {
        Some(r) if op.is_none() => r.judge(b, c, name),
        None if name == Id::HarnessNsPerOp.name() && !harness_here => Judged::Skip,
        None if repeats_harness(b, c, name) => Judged::Skip,
        _ => Judged::Absolute,
    };
    match judged {
        Judged::Skip => None,
        Judged::Unpaired => {
            skipped.unpaired(format!("{} × {}", b.workload, b.allocator), name);
            None
        }
        Judged::Ratios {
            baseline,
            current,
            samples,
        } => Some(Values {
            baseline,
            current,
            per_process: Some(samples),
            unit: "ratio",
            relative_to: reference.map(|r| r.name.clone()),
        }),
        Judged::Absolute => {
            let figures = per_process(b, c, name, op, skipped);
            let per_process = figures.as_ref().map(|f| f.2);
            let (baseline, current) = figures.map_or((bv, cv), |(fb, fc, _)| (fb, fc));
            Some(Values {
                baseline,
                current,
                per_process,
                unit: &key.unit,
                relative_to: None,
            })
        }
    }
}

/// Whether `name` on the pair (`b`, `c`) is `null`'s throughput in another form than its
/// `harness_ns_per_op`, which both sides carry: `null`'s samples are the harness's own
/// rounds, so its gross time and ops/s are that row again (a slower harness was three
/// regressions on `null`'s row alone), and its net figures a difference from itself. Where
/// the harness row is missing (results without per-pass samples) they stay.
fn repeats_harness(b: &Group, c: &Group, name: &str) -> bool {
    let harness = Id::HarnessNsPerOp.name();
    b.allocator == AllocatorSpec::Null.to_string()
        && [
            Id::OpsPerSec,
            Id::LoopNsPerOp,
            Id::NetLoopNsPerOp,
            Id::NetOpsPerSec,
        ]
        .iter()
        .any(|id| id.name() == name)
        && [b, c]
            .iter()
            .all(|g| g.series.iter().any(|s| s.is(harness, None)))
}

/// Whether any row was judged relative to the reference: a `--relative-to` that judged none
/// (no per-pass samples, or none paired with the reference) must not pass a CI gate on
/// memory alone while the user believes throughput was checked.
pub(super) fn any_relative(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.relative_to.is_some())
}
