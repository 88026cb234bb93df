//! The cells of each run grouped by (workload, allocator), and the groups of the two runs
//! matched with each other: the units `compare` makes rows from.

use super::verdict::Series;
use super::CompareError;
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
    if m.pairs.is_empty() && !(gb.is_empty() && gc.is_empty()) {
        return Err(CompareError::NothingShared);
    }
    if shared_only || (m.only_baseline.is_empty() && m.only_current.is_empty()) {
        return Ok(m);
    }
    let missing = (m.only_baseline.iter())
        .map(|n| format!("{n}: no successful cell in the current run"))
        .chain(
            m.only_current
                .iter()
                .map(|n| format!("{n}: no successful cell in the baseline")),
        )
        .collect();
    Err(CompareError::MissingCells(missing))
}
