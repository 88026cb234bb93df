//! What `compare` says about the two runs as a whole before any row: warnings (the machines
//! and builds, from [`super::machine`]; the same run twice; how pymalloc's arenas and the
//! streams were measured), and parameters that differ (notes, or an error when they make the
//! runs incomparable).

use super::machine::{
    build_warning, clock_warning, cpu_warning, governor_warning, reporting_warning, thp_warning,
};
use super::streams::{cold_prime_warnings, replay_mode_warnings, stream_warnings};
use super::{CompareError, Row, Settings};
use crate::alloc::AllocatorSpec;
use crate::harness::mutator::MutatorParams;
use crate::metrics::Id;
use crate::report::digits::signed;
use crate::report::model::RunResults;
use crate::stats::beyond_band;

/// A one-line warning when one run let pymalloc release the arenas its cleanup between
/// throughput passes emptied and the other held them (`run --release-between-passes`, and
/// every run recorded before 2026-12-04): pymalloc's warm passes then faulted its heap in
/// again in one run only (800 – 2,400 faults a pass on the built-ins, 17 – 25 % of the
/// engine's warm time on dicts), so its speed, `cpython:3.X`'s and every ratio to them differ
/// for a reason of measurement. Silent when either run measured no throughput passes (no
/// calibration, no per-pass samples) or neither has a pymalloc-like allocator.
pub fn arena_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    // A run with per-pass samples but no calibration is from before 2026-11-30: released.
    let released = |r| how_measured(r, |c| c.release_between_passes, true);
    let (b, c) = (released(baseline)?, released(current)?);
    let said = |released: bool| if released { "released" } else { "held" };
    (b != c && (has_pymalloc_like(baseline) || has_pymalloc_like(current))).then(|| {
        format!(
            "warning: pymalloc's emptied arenas were {} between throughput passes in the \
             baseline and {} in the current run (--release-between-passes; runs before \
             2026-12-04 released them): its warm passes re-faulted its heap in one run only, \
             so pymalloc's and cpython:3.X's speed, and ratios to them, differ for that reason",
            said(b),
            said(c)
        )
    })
}

/// A one-line warning when the two runs placed pymalloc's arenas differently: side by side
/// in a span of their own or wherever `mmap` found room (every run before 2026-12-05:
/// scattered among other contenders' memory the engine ran up to 10 % slower by process on
/// webapp, and the real obmalloc at one of two speeds), and in the span one page past a pool
/// boundary or not (before 2026-12-06: with 16 KiB pools every arena then kept all its pools,
/// so arena and pool counts differ too; README "Arenas side by side"). Silent when either
/// run measured no throughput passes or neither has a pymalloc-like allocator.
pub fn span_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let placed = |r| {
        let side_by_side = how_measured(r, |c| c.arenas_side_by_side, false)?;
        let past = how_measured(r, |c| c.arenas_past_pool_boundary, false)?;
        Some(match (side_by_side, past) {
            (false, _) => "wherever mmap found room",
            (true, false) => "side by side in a span of their own",
            (true, true) => "side by side in a span of their own, one page past a pool boundary",
        })
    };
    let (b, c) = (placed(baseline)?, placed(current)?);
    (b != c && (has_pymalloc_like(baseline) || has_pymalloc_like(current))).then(|| {
        format!(
            "warning: pymalloc's arenas were mapped {b} in the baseline and {c} in the current \
             run (runs before 2026-12-05 mapped them wherever mmap found room, before \
             2026-12-06 where the span put them): pymalloc's and cpython:3.X's speed, ratios \
             to them, and the engine's arena and pool counts differ for that reason too"
        )
    })
}

/// One fact of how a run measured throughput, from its calibration (`field`), or `before`
/// for a run with per-pass samples but no calibration (written before 2026-11-30); `None`
/// when it measured no throughput passes.
fn how_measured(
    r: &RunResults,
    field: impl Fn(&crate::harness::throughput::Calibration) -> bool,
    before: bool,
) -> Option<bool> {
    match &r.parameters.calibration {
        Some(c) => Some(field(c)),
        None => r
            .cells
            .iter()
            .any(|c| c.throughput.is_some())
            .then_some(before),
    }
}

/// Whether a run measured the engine or the real obmalloc.
fn has_pymalloc_like(r: &RunResults) -> bool {
    (r.allocators.iter()).any(|a| AllocatorSpec::named_pymalloc_like(&a.name))
}

/// A note when both runs measured the harness alone (`run -a null`): nothing shared their
/// processes, so nothing pairs with `null` to cancel the host. Its cost then carries the
/// host's speed in the sitting: two null-only runs an hour apart with the same build gave
/// 2.81 and 1.66 ns/event on one 2-core VM (2026-12-04), which the per-process test called
/// "improved, p < 0.001". The test is right about the two sittings; the note says what it
/// cannot tell apart.
pub fn harness_only_note(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let null = AllocatorSpec::Null.to_string();
    let alone = |r: &RunResults| !r.cells.is_empty() && r.cells.iter().all(|c| c.allocator == null);
    (alone(baseline) && alone(current)).then(|| {
        "both runs measured the harness alone (-a null): with no allocator in its processes to \
         pair with, a change of the host's speed between the two sittings is judged as a change \
         of the harness; to attribute a difference to the code, alternate the two builds (A B \
         A B) in one sitting"
            .to_string()
    })
}

/// A warning when the two runs are one: the same folder given twice, or a copy of it (same
/// name, start and cells). Every row then reads "unchanged", which is true and says nothing:
/// a slip such as `compare results/A results/A` looked like a clean bill of health.
pub fn same_run_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let same = baseline.run == current.run
        && baseline.started_utc == current.started_utc
        && baseline.cells == current.cells;
    same.then(|| {
        format!(
            "warning: the baseline and the current run are the same run (`{}`): every row \
             compares it with itself",
            baseline.run
        )
    })
}

/// Every warning about two runs that may not measure the same thing (CPU model and clock, pybench
/// build, reporting, arena placement, the streams replayed and how), in the order `compare`
/// prints them on stderr before its report.
pub fn mismatch_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    let single = [
        same_run_warning(baseline, current),
        cpu_warning(baseline, current),
        thp_warning(baseline, current),
        governor_warning(baseline, current),
        clock_warning(baseline, current),
        build_warning(baseline, current),
        reporting_warning(baseline, current),
        arena_warning(baseline, current),
        span_warning(baseline, current),
    ];
    single
        .into_iter()
        .flatten()
        .chain(stream_warnings(baseline, current))
        .chain(replay_mode_warnings(baseline, current))
        .chain(cold_prime_warnings(baseline, current))
        .collect()
}

/// Fewest allocators (besides `null`) whose throughput must move beyond the threshold, all
/// the others moving the same way, before a shift is called shared: with two, both moving
/// alike is common chance.
const SHARED_SHIFT_MIN: usize = 3;

/// One note per workload on which every allocator's throughput moved the same way and at
/// least [`SHARED_SHIFT_MIN`] of them by more than `threshold` ([`shared_shift`]). With
/// `relative_to`, the rows are ratios to that reference, and a move they all share is most
/// likely the reference's own.
pub(super) fn shared_shift_notes(
    rows: &[Row],
    threshold: f64,
    relative_to: Option<&str>,
) -> Vec<String> {
    // The headline throughput rows, by workload in the order they came.
    let mut by_workload: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.metric == Id::OpsPerSec.name() && r.op.is_none())
    {
        match by_workload.iter_mut().find(|(w, _)| *w == r.workload) {
            Some((_, of_w)) => of_w.push(r),
            None => by_workload.push((&r.workload, vec![r])),
        }
    }
    let null = AllocatorSpec::Null.to_string();
    by_workload
        .into_iter()
        .filter_map(|(w, of_w)| {
            let (harness, allocators): (Vec<&Row>, Vec<&Row>) =
                of_w.into_iter().partition(|r| r.allocator == null);
            let moves: Vec<f64> = allocators.iter().filter_map(|r| r.ratio).collect();
            let harness = harness
                .first()
                .and_then(|r| r.ratio)
                .or_else(|| harness_speed(rows, w));
            let (near, far) = shared_shift(&moves, threshold)?;
            Some(shift_note(w, (near, far), harness, relative_to))
        })
        .collect()
}

/// `null`'s change of speed on workload `w` (current ÷ baseline) from its
/// `harness_ns_per_op` row, where that row stands for its throughput rows
/// (`rows::repeats_harness`): the inverse of the change of its time per event.
fn harness_speed(rows: &[Row], w: &str) -> Option<f64> {
    let null = AllocatorSpec::Null.to_string();
    rows.iter()
        .find(|r| {
            r.workload == w
                && r.allocator == null
                && r.metric == Id::HarnessNsPerOp.name()
                && r.relative_to.is_none()
        })
        .and_then(|r| r.ratio)
        .filter(|x| *x > 0.0)
        .map(|x| 1.0 / x)
}

/// The note on workload `w`'s shared shift from `near` to `far` (current ÷ baseline), with
/// `null`'s own move when judged absolutely.
fn shift_note(
    w: &str,
    (near, far): (f64, f64),
    harness: Option<f64>,
    relative_to: Option<&str>,
) -> String {
    let pct = |x: f64| format!("{} %", signed((x - 1.0) * 100.0, 1));
    let (near, far) = (pct(near), pct(far));
    if let Some(reference) = relative_to {
        return format!(
            "{w}: every allocator's throughput relative to `{reference}` moved the same way \
             ({near} to {far}): a move they all share is most likely `{reference}`'s own (its \
             throughput is not judged with --relative-to)"
        );
    }
    let null = AllocatorSpec::Null.to_string();
    let harness = harness.map_or(String::new(), |x| format!("; `{null}` {}", pct(x)));
    format!(
        "{w}: every allocator's throughput moved the same way ({near} to {far}{harness}): a \
         shift all of them share comes from what they share — the machine's speed or the \
         harness — rather than from each allocator; the ratios between allocators (each run's \
         × column, or compare --relative-to) are what it leaves alone"
    )
}

/// Whether the allocators' throughput ratios (current ÷ baseline, `null` left out) make a
/// shift they share: all the same way, at least [`SHARED_SHIFT_MIN`] beyond `threshold`.
/// Returns the smallest and the largest move, in that order. Two identical runs two minutes
/// apart on a shared 2-core VM differed so: a shift every allocator shares comes from what
/// they share — the machine's speed or the harness — not from each allocator, and the ratios
/// between allocators, which it leaves alone, are the figures to read. A note, not a
/// verdict: a change to the shared harness moves every row alike too.
fn shared_shift(moves: &[f64], threshold: f64) -> Option<(f64, f64)> {
    let moves: Vec<f64> = moves
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let (lo, hi) = moves
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let beyond = |far: fn(f64, f64) -> bool| {
        moves.iter().filter(|&&x| far(x, threshold)).count() >= SHARED_SHIFT_MIN
    };
    if lo > 1.0 && beyond(|x, t| beyond_band(x, t) > 0) {
        Some((lo, hi))
    } else if hi < 1.0 && beyond(|x, t| beyond_band(x, t) < 0) {
        Some((hi, lo))
    } else {
        None
    }
}

/// Parameters that change what is measured; runs that differ in them are not comparable.
fn parameter_differences(b: &RunResults, c: &RunResults) -> Vec<String> {
    let (pb, pc) = (&b.parameters, &c.parameters);
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".to_string());
    let mut diffs = Vec::new();
    if pb.scale != pc.scale {
        let s = |v: Option<u64>| v.map_or("default".to_string(), |v| v.to_string());
        diffs.push(format!("scale ({} vs {})", s(pb.scale), s(pc.scale)));
    }
    if pb.seed != pc.seed {
        let s = |v: Option<u64>| v.map_or("default".to_string(), |v| v.to_string());
        diffs.push(format!("seed ({} vs {})", s(pb.seed), s(pc.seed)));
    }
    if pb.python != pc.python {
        diffs.push(format!(
            "python ({} vs {})",
            show(&pb.python),
            show(&pc.python)
        ));
    }
    if pb.touch != pc.touch {
        diffs.push(format!("touch ({} vs {})", pb.touch, pc.touch));
    }
    let (mb, mc) = (MutatorMode::of(b), MutatorMode::of(c));
    if mb.differs_from(&mc) {
        diffs.push(format!("mutator ({mb} vs {mc})"));
    }
    diffs
}

/// Whether a run's throughput replayed the mutator, and with which parameters where its
/// results say. A mutator run and a plain one time different loops.
enum MutatorMode {
    Off,
    /// A run saved before 2026-12-07, known to be a mutator run only by its cells' notes.
    Unrecorded,
    On(MutatorParams),
}

impl MutatorMode {
    fn of(r: &RunResults) -> Self {
        match r.parameters.mutator {
            Some(p) => MutatorMode::On(p),
            None if r
                .cells
                .iter()
                .any(crate::harness::mutator_fit::is_mutator_cell) =>
            {
                MutatorMode::Unrecorded
            }
            None => MutatorMode::Off,
        }
    }

    /// Different modes, or different parameters where both runs recorded theirs.
    fn differs_from(&self, other: &Self) -> bool {
        use MutatorMode::*;
        match (self, other) {
            (Off, Off) => false,
            (On(a), On(b)) => a != b,
            (Off, _) | (_, Off) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for MutatorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MutatorMode::Off => f.write_str("off"),
            MutatorMode::Unrecorded => f.write_str("on, parameters not recorded"),
            MutatorMode::On(p) => write!(f, "{p}"),
        }
    }
}

/// `--min-time`, `--rounds`, warm-up passes, `--fixed-layout`,
/// `--release-between-passes` and the arenas' placement in a few words.
fn calibration_summary(c: &crate::harness::throughput::Calibration) -> String {
    format!(
        "min-time {} s, {} rounds, {} warm-up pass(es){}{}{}",
        c.min_time_ns as f64 / 1e9,
        c.rounds,
        c.warmup_passes,
        if c.fixed_layout { ", fixed layout" } else { "" },
        if c.release_between_passes {
            ", arenas released between passes"
        } else {
            ""
        },
        match (c.arenas_side_by_side, c.arenas_past_pool_boundary) {
            (false, _) => ", arenas wherever mmap found room",
            (true, false) => ", arenas where the span put them",
            (true, true) => "",
        }
    )
}

/// Notes on parameters that differ; an error when they make the runs incomparable.
pub(super) fn parameter_notes(
    baseline: &RunResults,
    current: &RunResults,
    settings: &Settings,
) -> Result<Vec<String>, CompareError> {
    let mut notes = Vec::new();
    let diffs = parameter_differences(baseline, current);
    if !diffs.is_empty() {
        if !settings.allow_mismatch {
            return Err(CompareError::Parameters(diffs.join(", ")));
        }
        notes.push(format!(
            "compared despite different parameters (--allow-mismatch): {}",
            diffs.join(", ")
        ));
    }
    if let (Some(b), Some(c)) = (
        &baseline.parameters.calibration,
        &current.parameters.calibration,
    ) {
        // Whether cold passes were primed changes no sample: `cold_prime_warnings` names the
        // workloads whose cold figures it changed.
        let sampling = |c: &crate::harness::throughput::Calibration| {
            let mut c = *c;
            c.prime_cold_passes = false;
            c
        };
        if sampling(b) != sampling(c) {
            notes.push(format!(
                "throughput was measured differently ({} vs {}); speed rows compare samples of \
                 different lengths or counts",
                calibration_summary(b),
                calibration_summary(c)
            ));
        }
    }
    for (r, side) in [(baseline, "baseline"), (current, "current run")] {
        if r.interrupted {
            // The header's "N rep." is what the run asked for, not what it measured.
            notes.push(format!(
                "the {side} was interrupted (or merged without all its shards): some of its \
                 cells have fewer than the {} repetitions it asked for",
                r.parameters.repetitions
            ));
        }
    }
    if baseline.parameters.sample_every != current.parameters.sample_every {
        notes.push(format!(
            "latency sampling differs (one op in {} vs {} timed); latency rows include \
             different timer overhead",
            baseline.parameters.sample_every, current.parameters.sample_every
        ));
    }
    Ok(notes)
}

#[cfg(test)]
#[path = "caveats_tests.rs"]
mod tests;
