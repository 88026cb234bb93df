//! The rows of one matched (workload, allocator) pair: every metric either side measured,
//! each judged by its kind — or, with `--relative-to`, the throughput figures as ratios to
//! the reference ([`super::relative`]).

use super::caveats::Skipped;
use super::groups::{both_sides, per_process, Group};
use super::relative::{Judged, Reference};
use super::verdict::Series;
use super::verdict::{find, judge, largest_median, smallest_median, tail_samples, RowInput};
use super::{classify, metric_label, Class, CompareError, Row, Settings};
use crate::metrics::{percentile_of, Id};

/// The rows of one (workload, allocator): every metric of either side, baseline's first.
/// `reference` is the workload's reference in relative mode.
pub(super) fn compare_group(
    b: &Group,
    c: &Group,
    settings: &Settings,
    reference: Option<&Reference>,
    skipped: &mut Skipped,
) -> Result<Vec<Row>, CompareError> {
    let (bm, cm) = (&b.series, &c.series);
    let mut keys: Vec<&Series> = bm.iter().collect();
    keys.extend(cm.iter().filter(|k| !bm.iter().any(|x| x.same_metric(k))));
    let mut rows = Vec::new();
    for key in keys {
        let (name, op) = (key.name.as_str(), key.op.as_deref());
        let (class, higher) = classify(name);
        if class == Class::Informational {
            continue;
        }
        if class == Class::Unknown {
            if !skipped.unknown.iter().any(|u| u == name) {
                skipped.unknown.push(name.to_string());
            }
            continue;
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
            continue;
        };
        let judged = match reference {
            Some(r) if op.is_none() => r.judge(b, c, name),
            _ => Judged::Absolute,
        };
        let relative_to = match judged {
            Judged::Ratios { .. } => reference.map(|r| r.name.clone()),
            _ => None,
        };
        let (bv, cv, per_process, unit) = match judged {
            Judged::Skip => continue,
            Judged::Unpaired => {
                skipped.unpaired(format!("{} × {}", b.workload, b.allocator), name);
                continue;
            }
            Judged::Ratios {
                baseline,
                current,
                samples,
            } => (baseline, current, Some(samples), "ratio"),
            Judged::Absolute => match per_process(b, c, name, op, skipped) {
                Some((bv, cv, n)) => (bv, cv, Some(n), key.unit.as_str()),
                None => (bv, cv, None, key.unit.as_str()),
            },
        };
        let seed_key = format!(
            "{}\u{1f}{}\u{1f}{name}\u{1f}{:?}",
            b.workload, b.allocator, key.op
        );
        let mut row = judge(
            RowInput {
                workload: &b.workload,
                allocator: &b.allocator,
                metric: name,
                op,
                unit,
                class,
                higher_is_better: higher,
                baseline: bv,
                current: cv,
                tail_samples: tail_samples(bm, cm, name, op),
                peak_live: smallest_median(bm, cm, Id::PeakLiveBytes.name(), None),
                resolution: percentile_of(name)
                    .and_then(|_| largest_median(bm, cm, Id::TimerOverheadNs.name())),
                per_process,
            },
            settings,
            crate::stats::seed_for(&seed_key),
        );
        row.relative_to = relative_to;
        rows.push(row);
    }
    Ok(rows)
}

/// Whether any row was judged relative to the reference: a `--relative-to` that judged none
/// (no per-pass samples, or none paired with the reference) must not pass a CI gate on
/// memory alone while the user believes throughput was checked.
pub(super) fn any_relative(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.relative_to.is_some())
}
