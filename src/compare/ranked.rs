//! Timing and counter rows judged by a test other than throughput's Welch on logarithms: the
//! rank test of the repetitions (or of per-process figures Welch's test on logarithms cannot
//! take) — a two-sided Mann-Whitney U test and a percentile-bootstrap interval of the ratio
//! of the medians — and the `signed` metrics, judged by their difference.
//!
//! Why a difference for `signed` metrics (the catalogue's flag, `metrics::Info::signed`):
//! such a figure is itself a difference of two times (`net_loop_ns_per_op`, an allocator's
//! loop minus `null`'s in the same round) and is ≤ 0 whenever the allocator's cost lies within
//! the harness's noise. A ratio of two such figures has no direction: −0.12 → −0.24 ns is a
//! ratio of 2, which compare read "+100 %, regressed" (exit 1) though the allocator got
//! faster, and −0.12 → +0.12 a ratio of −1, "improved" though it got slower (review,
//! 2026-12-07). The difference current − baseline points the right way at any sign, so a
//! signed metric is never judged by a ratio, even where both sides happen to be positive: a
//! rule that changed with the sign of the figures would change a row's test from run to run.

use super::verdict::{direction, p_text, per_process_reason, per_process_verdict};
use super::{PerProcess, Row, Settings, Verdict};
use crate::metrics::Id;
use crate::report::digits::threshold_pct;
use crate::stats::{self, UTest};

/// Whether metric `name` in `unit` is a signed figure judged by its difference: a metric the
/// catalogue calls `signed`, unless its figures are ratios to a reference (`--relative-to`,
/// unit `ratio`), which are positive.
pub(super) fn by_difference(name: &str, unit: &str) -> bool {
    unit != "ratio" && Id::from_name(name).is_some_and(|id| id.info().signed)
}

/// Which way a difference `d` points: +1 worse, −1 better, 0 within `band` either side.
pub(super) fn difference_direction(d: f64, band: f64, higher_is_better: bool) -> i8 {
    let up = if d > band {
        1
    } else if d < -band {
        -1
    } else {
        0
    };
    if higher_is_better {
        -up
    } else {
        up
    }
}

/// The band of a signed row: threshold `t` of the baseline's median, in the metric's unit
/// (no band at all around a baseline of 0: any significant move is beyond it).
pub(super) fn difference_band(row: &Row, t: f64) -> f64 {
    t * row.baseline_median.abs()
}

/// Timing and counters by ratio: significant (U test) and the whole bootstrap interval of
/// the ratio of medians beyond `t`.
pub(super) fn judge_by_ratio(row: &mut Row, t: f64, s: &Settings, seed: u64) {
    let Some(test) = run_test(row) else { return };
    let (b, c) = (&row.baseline, &row.current);
    row.interval = stats::bootstrap_ratio_ci(b, c, s.resamples, 1.0 - s.alpha, seed);
    let hib = row.higher_is_better;
    let ends = row
        .interval
        .map(|(lo, hi)| (direction(lo, t, hib), direction(hi, t, hib)));
    let significant = test.is_some_and(|u| u.p < s.alpha);
    let unbounded = unbounded_direction(row, test);
    settle(row, ends, (significant, unbounded), t, "the ratio");
}

/// A signed metric by difference, beyond ±`t` of the baseline's median. With per-process
/// figures (`per_process`: each the median of at least that many samples) as throughput's
/// per-process test without the logarithms: Welch's t-test on the figures, a change when
/// significant and the difference of their means lies beyond the band (it keeps the power of
/// three processes a side, which a rank test lacks: its smallest p is then 0.1). Otherwise
/// the U test and the bootstrap interval of median(current) − median(baseline): a change
/// when significant and the whole interval lies beyond the band.
pub(super) fn judge_by_difference(
    row: &mut Row,
    t: f64,
    s: &Settings,
    seed: u64,
    per_process: Option<usize>,
) {
    row.ratio = None;
    row.difference = Some(row.current_median - row.baseline_median);
    let (band, hib) = (difference_band(row, t), row.higher_is_better);
    let ends_of = |(lo, hi): (f64, f64)| {
        (
            difference_direction(lo, band, hib),
            difference_direction(hi, band, hib),
        )
    };
    let level = 1.0 - s.alpha;
    if let Some(samples) = per_process {
        if let Some(w) = stats::welch_difference(&row.baseline, &row.current, level) {
            let d = w.difference;
            row.difference = Some(d.point);
            (row.interval, row.p_value) = (Some((d.lo, d.hi)), Some(w.p));
            row.per_process = Some(PerProcess { samples, df: w.df });
            let significant = w.p < s.alpha;
            let dir = difference_direction(d.point, band, hib);
            let within = ends_of((d.lo, d.hi)) == (0, 0);
            row.verdict = per_process_verdict(significant, dir, within);
            per_process_reason(row, (w.p, significant), samples, t);
            return;
        }
    }
    let Some(test) = run_test(row) else { return };
    let (b, c) = (&row.baseline, &row.current);
    row.interval = stats::bootstrap_difference_ci(b, c, s.resamples, level, seed);
    let ends = row.interval.map(ends_of);
    let significant = test.is_some_and(|u| u.p < s.alpha);
    let unbounded = unbounded_direction(row, test);
    settle(row, ends, (significant, unbounded), t, "the difference");
}

/// Runs the U test of `row` (current against baseline) and records it; `None`, with the
/// verdict given, when a side holds one figure (no test of one figure).
fn run_test(row: &mut Row) -> Option<Option<UTest>> {
    let test = stats::mann_whitney_u(&row.current, &row.baseline);
    row.p_value = test.map(|x| x.p);
    row.test = test.map(|x| x.method);
    if row.baseline.len() < 2 || row.current.len() < 2 {
        row.verdict = Verdict::NotSignificant;
        row.reason = Some("1 repetition".to_string());
        return None;
    }
    Some(test)
}

/// Which way the figures moved where no interval bounds the move (a ratio from a baseline
/// median of 0): the medians' order, or where they are equal (both 0, a counter that fired in
/// a few processes of one side) the U statistic's side of its null mean n·m/2.
fn unbounded_direction(row: &Row, test: Option<UTest>) -> i8 {
    let (bm, cm) = (row.baseline_median, row.current_median);
    let up = if cm != bm {
        if cm > bm {
            1
        } else {
            -1
        }
    } else {
        let centre = (row.baseline.len() * row.current.len()) as f64 / 2.0;
        match test {
            Some(u) if u.u > centre => 1,
            Some(u) if u.u < centre => -1,
            _ => 0,
        }
    };
    if row.higher_is_better {
        -up
    } else {
        up
    }
}

/// The verdict of a tested row from its significance and the directions of its interval's
/// ends (`ends`; `None` when there is no interval, the move then pointing `unbounded`): a
/// change when significant and the whole interval lies beyond the band; unchanged when it
/// lies wholly within it (identical sides are unchanged before any test:
/// `verdict::judge_timing`); not significant otherwise. Medians of 0 on both sides are no
/// reason for "unchanged": a counter at 0 in all 20 processes of one run and at 50 in 9 of
/// the other's (p = 0.0012) was called unchanged until 2026-12-07 (review).
fn settle(
    row: &mut Row,
    ends: Option<(i8, i8)>,
    (significant, unbounded): (bool, i8),
    t: f64,
    what: &str,
) {
    let beyond = match ends {
        Some((dl, dh)) if dl == dh => dl,
        Some(_) => 0,
        // No interval (a zero baseline median): a significant move is beyond any threshold.
        None => unbounded,
    };
    let within = ends == Some((0, 0));
    if significant && beyond != 0 && ends.is_none() {
        // The change column has no interval to show ("from 0"): the reason gives the test.
        row.reason = row.p_value.map(p_text);
    }
    row.verdict = per_process_verdict(significant, beyond, within);
    if row.verdict == Verdict::NotSignificant {
        let p = row.p_value.unwrap_or(1.0);
        let band = threshold_pct(t);
        row.reason = Some(match (significant, ends) {
            (true, _) => format!("p = {p:.3}, but the interval reaches within ±{band} %"),
            (false, Some(_)) => format!("p = {p:.3}, the interval reaches beyond ±{band} %"),
            (false, None) => format!("p = {p:.3}, no interval of {what} from a median of 0"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::verdict::{changed, judge, RowInput};
    use crate::compare::Class;

    /// A row of `metric` (lower is better) judged by `compare`'s own entry point.
    fn judged(metric: &str, class: Class, b: &[f64], c: &[f64], per_process: bool) -> Row {
        let input = RowInput {
            workload: "dicts",
            allocator: "system",
            metric,
            op: None,
            unit: if class == Class::Timing {
                "ns"
            } else {
                "count"
            },
            class,
            higher_is_better: false,
            baseline: b.to_vec(),
            current: c.to_vec(),
            tail_samples: None,
            resolution: None,
            peak_live: None,
            per_process: per_process.then_some(20),
        };
        judge(input, &Settings::default(), 0)
    }

    fn net(b: &[f64], c: &[f64]) -> Row {
        judged("net_loop_ns_per_op", Class::Timing, b, c, true)
    }

    /// Review, 2026-12-07 (`t2b_sign.py`, `t2_sign.py`): net times just below zero judged by
    /// the ratio of their medians, −0.12 → −0.24 ns "+100 %, regressed" and −0.12 → +0.12
    /// "−200 %, improved", both the wrong way round.
    #[test]
    fn a_net_time_is_judged_by_its_difference_at_any_sign() {
        let b: Vec<f64> = (0..5).map(|i| -0.10 - 0.01 * f64::from(i)).collect();
        let faster: Vec<f64> = b.iter().map(|x| x * 2.0).collect();
        let r = net(&b, &faster);
        assert_eq!(r.verdict, Verdict::Improved, "{r:?}");
        assert_eq!(r.ratio, None, "no ratio of figures that can be ≤ 0");
        assert!((r.difference.unwrap() + 0.12).abs() < 1e-12, "{r:?}");
        let (lo, hi) = r.interval.unwrap();
        assert!(lo <= -0.12 && hi < 0.0, "{r:?}");
        let slower: Vec<f64> = b.iter().map(|x| -x).collect();
        assert_eq!(net(&b, &slower).verdict, Verdict::Regressed);
        assert_eq!(net(&slower, &b).verdict, Verdict::Improved);
        // Positive on both sides too: never a ratio, whatever this run's signs.
        let pos = [4.0, 4.1, 3.9, 4.05, 3.95];
        let r = net(&pos, &pos.map(|x| x * 1.2));
        assert_eq!((r.verdict, r.ratio), (Verdict::Regressed, None), "{r:?}");
        assert_eq!(r.test_name(), Some("welch_difference_per_process"));
        // Three processes a side are enough (a rank test's smallest p would be 0.1)...
        let r = net(&[-0.10, -0.11, -0.12], &[-0.20, -0.22, -0.24]);
        assert_eq!(r.verdict, Verdict::Improved, "{r:?}");
        // ...and without per-process figures, the rank test and the medians' difference.
        let r = judged("net_loop_ns_per_op", Class::Timing, &b, &faster, false);
        assert_eq!(r.verdict, Verdict::Improved, "{r:?}");
        assert_eq!(r.test_name(), Some("mann_whitney_exact"));
        let (lo, hi) = r.interval.unwrap();
        assert!(lo <= -0.12 && hi < 0.0, "{r:?}");
        // The band is the threshold of the baseline's median: +0.1 ns of 4 is within ±5 %.
        let r = net(&[4.0; 5], &[4.1; 5]);
        assert_eq!(r.verdict, Verdict::Unchanged, "{r:?}");
        let r = net(&[4.0; 5], &[4.3; 5]);
        assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
        // Relative to a reference the figures are positive ratios: judged as ratios.
        assert!(!by_difference("net_loop_ns_per_op", "ratio"));
        assert!(!by_difference("loop_ns_per_op", "ns"));
    }

    /// Review, 2026-12-07 (`t7_zero.py`): `context_switches` at 0 in all 20 processes of the
    /// baseline and at 50 in 9 of 20 of the current run (p = 0.0012) was "unchanged", both
    /// medians being 0.
    #[test]
    fn medians_of_zero_on_both_sides_are_left_to_the_test() {
        let zeros = [0.0; 20];
        let some: Vec<f64> = (0..20).map(|i| if i < 9 { 50.0 } else { 0.0 }).collect();
        let counter =
            |b: &[f64], c: &[f64]| judged("context_switches", Class::Counter, b, c, false);
        let r = counter(&zeros, &some);
        assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
        assert!(r.p_value.unwrap() < 0.01, "{r:?}");
        assert_eq!(r.reason.as_deref(), Some("p = 0.001"), "{r:?}");
        // The change column: no ratio of medians, and not "from 0" either, which reads as
        // a baseline of 0 that moved.
        assert!(
            crate::compare::report::change_text(&r).starts_with("0 → 0"),
            "{r:?}"
        );
        assert_eq!(counter(&some, &zeros).verdict, Verdict::Improved);
        // Overlapping: not significant, and not listed (the medians did not move).
        let (b, c) = (
            [0.0, 0.0, 0.0, 0.0, 50.0, 0.0],
            [0.0, 0.0, 50.0, 50.0, 0.0, 0.0],
        );
        let r = counter(&b, &c);
        assert_eq!(r.verdict, Verdict::NotSignificant, "{r:?}");
        assert!(!changed(&r, &Settings::default()), "{r:?}");
    }
}
