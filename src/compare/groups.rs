//! The cells of each run grouped by (workload, allocator), the groups of the two runs
//! matched with each other (the units `compare` makes rows from), and one metric's values
//! taken from both sides of a matched pair.

use super::skipped::Skipped;
use super::verdict::{find, from_samples, per_process_figure, Series, MIN_SAMPLES_PER_PROCESS};
use super::{metric_label, CompareError};
use crate::metrics::Id;
use crate::report::model::{RunResults, ThroughputSamples};

/// One (workload, allocator) of a run: its metrics' values over the successful repetitions.
pub(super) struct Group {
    pub workload: String,
    pub allocator: String,
    pub series: Vec<Series>,
    /// Per successful repetition, in the order of `series` values: its per-pass samples.
    pub samples: Vec<Option<ThroughputSamples>>,
    /// Repetitions that failed.
    pub failed: usize,
}

impl Group {
    pub fn is(&self, other: &Group) -> bool {
        self.workload == other.workload && self.allocator == other.allocator
    }
}

/// Successful cells grouped by (workload, allocator), in order of first appearance, each
/// with its metrics' values over repetitions in order of first appearance.
pub(super) fn group(r: &RunResults) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for c in r.cells.iter().filter(|c| c.is_ok()) {
        let idx = match groups
            .iter()
            .position(|g| g.workload == c.workload && g.allocator == c.allocator)
        {
            Some(i) => i,
            None => {
                groups.push(Group {
                    workload: c.workload.clone(),
                    allocator: c.allocator.clone(),
                    series: Vec::new(),
                    samples: Vec::new(),
                    failed: 0,
                });
                groups.len() - 1
            }
        };
        groups[idx].samples.push(c.throughput.clone());
        let series = &mut groups[idx].series;
        for m in &c.metrics {
            match series.iter_mut().find(|s| s.is(&m.name, m.op.as_deref())) {
                Some(s) => s.values.push(m.value),
                None => series.push(Series {
                    name: m.name.clone(),
                    op: m.op.clone(),
                    unit: m.unit.clone(),
                    values: vec![m.value],
                }),
            }
        }
    }
    for c in r.cells.iter().filter(|c| !c.is_ok()) {
        if let Some(g) = groups
            .iter_mut()
            .find(|g| g.workload == c.workload && g.allocator == c.allocator)
        {
            g.failed += 1;
        }
    }
    groups
}

/// Groups matched across the runs, and the `workload × allocator` names of those on one
/// side only.
pub(super) struct Matched<'a> {
    pub pairs: Vec<(&'a Group, &'a Group)>,
    pub only_baseline: Vec<String>,
    pub only_current: Vec<String>,
}

/// Each baseline group with its current counterpart. Groups without one are listed; unless
/// `shared_only`, they make the runs incomparable (an error naming every one).
pub(super) fn match_groups<'a>(
    gb: &'a [Group],
    gc: &'a [Group],
    shared_only: bool,
) -> Result<Matched<'a>, CompareError> {
    let name = |g: &Group| format!("{} × {}", g.workload, g.allocator);
    let mut m = Matched {
        pairs: Vec::new(),
        only_baseline: Vec::new(),
        only_current: Vec::new(),
    };
    for b in gb {
        match gc.iter().find(|c| c.is(b)) {
            Some(c) => m.pairs.push((b, c)),
            None => m.only_baseline.push(name(b)),
        }
    }
    m.only_current = gc
        .iter()
        .filter(|c| !gb.iter().any(|b| b.is(c)))
        .map(name)
        .collect();
    // Runs without a successful cell too: a report of nothing must not pass a CI gate.
    let none = match (gb.is_empty(), gc.is_empty()) {
        (true, true) => Some("neither run has a"),
        (true, false) => Some("the baseline has no"),
        (false, true) => Some("the current run has no"),
        (false, false) => None,
    };
    if let Some(which) = none {
        return Err(CompareError::NoSuccessfulCell(which));
    }
    if m.pairs.is_empty() {
        return Err(CompareError::NothingShared {
            baseline: m.only_baseline,
            current: m.only_current,
        });
    }
    if shared_only || (m.only_baseline.is_empty() && m.only_current.is_empty()) {
        return Ok(m);
    }
    Err(CompareError::MissingCells {
        only_baseline: m.only_baseline,
        only_current: m.only_current,
    })
}

/// A metric's values over repetitions: (baseline, current).
pub(super) type BothSides = (Vec<f64>, Vec<f64>);

/// The values of metric `key` on both sides, its units checked. Per-class pool counts are
/// emitted only for classes in use, so an absent `class_pools` is zeros; any other metric
/// absent on one side gives `None`.
pub(super) fn both_sides(
    key: &Series,
    b: &[Series],
    c: &[Series],
) -> Result<Option<BothSides>, CompareError> {
    let op = key.op.as_deref();
    let (bs, cs) = (find(b, &key.name, op), find(c, &key.name, op));
    if let (Some(b), Some(c)) = (bs, cs) {
        if b.unit != c.unit {
            return Err(CompareError::Units {
                metric: metric_label(&key.name, op),
                baseline: b.unit.clone(),
                current: c.unit.clone(),
            });
        }
    }
    let zeros = |other: Option<&Series>| {
        (key.name == Id::ClassPools.name()).then(|| vec![0.0; other.map_or(1, |s| s.values.len())])
    };
    let bv = bs.map(|s| s.values.clone()).or_else(|| zeros(cs));
    let cv = cs.map(|s| s.values.clone()).or_else(|| zeros(bs));
    Ok(bv.zip(cv))
}

/// Per-process figures of `metric` on both sides from the per-pass samples, and the fewest
/// samples behind one figure. `None` when the samples do not give this metric, when a
/// repetition of either side lacks enough samples (recorded in `skipped` for the notes), or
/// when a figure is undefined (a net cost at or below zero: the rank test takes those).
pub(super) fn per_process(
    b: &Group,
    c: &Group,
    metric: &str,
    op: Option<&str>,
    skipped: &mut Skipped,
) -> Option<(Vec<f64>, Vec<f64>, usize)> {
    if op.is_some() || !from_samples(metric) {
        return None;
    }
    let enough = |g: &Group| {
        g.samples.iter().all(|t| {
            t.as_ref()
                .is_some_and(|t| t.ns_per_op.len() >= MIN_SAMPLES_PER_PROCESS)
        })
    };
    let (eb, ec) = (enough(b), enough(c));
    skipped.no_samples[0] |= !eb;
    skipped.no_samples[1] |= !ec;
    if !(eb && ec) {
        return None;
    }
    let figures = |g: &Group| -> Option<Vec<f64>> {
        g.samples
            .iter()
            .flatten()
            .map(|t| per_process_figure(metric, t))
            .collect()
    };
    let fewest = (b.samples.iter().chain(&c.samples))
        .flatten()
        .map(|t| t.ns_per_op.len())
        .min()?;
    Some((figures(b)?, figures(c)?, fewest))
}

/// Names listed per side in [`CompareError::MissingCells`]' line before "and N more".
const MISSING_LISTED: usize = 6;

/// The first [`MISSING_LISTED`] of `names`, then how many more: one line however many cells
/// a run has.
fn listed(names: &[String]) -> String {
    let mut shown = names[..names.len().min(MISSING_LISTED)].join(", ");
    if names.len() > MISSING_LISTED {
        shown.push_str(&format!(" and {} more", names.len() - MISSING_LISTED));
    }
    shown
}

pub(super) fn missing_cells_line(only_baseline: &[String], only_current: &[String]) -> String {
    let list = |names: &[String], side: &str| {
        (!names.is_empty()).then(|| format!("{side} has no successful {}", listed(names)))
    };
    let sides: Vec<String> = [
        list(only_baseline, "the current run"),
        list(only_current, "the baseline"),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "{} cell(s) are missing on one side: {} (pass --shared-only to compare the cells both \
         runs have)",
        only_baseline.len() + only_current.len(),
        sides.join("; ")
    )
}

/// [`CompareError::NothingShared`]' line: the cells each run has (a few of each), so that
/// the mismatch — another suite, renamed workloads or allocators — shows without opening
/// either file. `--shared-only` is not suggested: it would leave nothing to compare.
pub(super) fn nothing_shared_line(baseline: &[String], current: &[String]) -> String {
    format!(
        "the runs share no cell (workload × allocator with a successful repetition): the \
         baseline has {}; the current run has {}: nothing to compare",
        listed(baseline),
        listed(current)
    )
}

#[cfg(test)]
mod tests {
    use super::{missing_cells_line, nothing_shared_line};

    #[test]
    fn missing_cells_are_one_line_listing_a_few_of_each_side() {
        let names = |n: usize| (0..n).map(|i| format!("w{i} × a")).collect::<Vec<_>>();
        assert_eq!(
            missing_cells_line(&names(1), &[]),
            "1 cell(s) are missing on one side: the current run has no successful w0 × a \
             (pass --shared-only to compare the cells both runs have)"
        );
        let line = missing_cells_line(&names(9), &names(2));
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("11 cell(s) are missing on one side: the current run has no successful w0 × a, w1 × a, w2 × a, w3 × a, w4 × a, w5 × a and 3 more; the baseline has no successful w0 × a, w1 × a ("), "{line}");
    }

    #[test]
    fn runs_sharing_nothing_name_a_few_cells_of_each() {
        let names = |w: &str, n: usize| (0..n).map(|i| format!("{w}{i} × a")).collect::<Vec<_>>();
        let line = nothing_shared_line(&names("b", 8), &names("c", 1));
        assert_eq!(
            line,
            "the runs share no cell (workload × allocator with a successful repetition): the \
             baseline has b0 × a, b1 × a, b2 × a, b3 × a, b4 × a, b5 × a and 2 more; the current \
             run has c0 × a: nothing to compare"
        );
    }
}
