//! Verdicts on memory figures (RSS, `frag_ratio`, the engine's alignment-dependent bytes).
//!
//! RSS is whole pages, and most cells give the very same figure in every process. Some do
//! not: the RSS a heap keeps after pymalloc or jemalloc has given pages back moved between
//! 2,232, 2,296 and 2,360 KiB across the processes of one `run -w dicts` (pymalloc, three
//! modes a 64 KiB step apart; jemalloc 2,792 – 3,432 KiB), so the ratio of two runs' medians
//! jumps from one mode to the next, and judged alone it called identical builds different
//! (three of five `scripts/ab.sh` trials of one build against itself, 2026-12-05). A change
//! therefore has to stand out from the figures' own scatter too: with two or more figures a
//! side, Welch's t-test on their logarithms (`stats::welch_log_ratio`, as for throughput:
//! the processes are the independent units) must call it significant. Sides that hold one
//! figure each keep the old rule, the ratio alone; constant sides need no test (any
//! difference between them is significant, and none is unchanged).
//!
//! A figure of 0 has no logarithm; `bytes_lost_arena_alignment` is 0 whenever an arena lands
//! aligned, and retained RSS can be 0 too. Until 2026-12-07 one such figure switched the test
//! off and the ratio of medians decided alone: retained RSS of {0, 0, 0, 64, 64} KiB against
//! {0, 0, 64, 64, 64} KiB "regressed" (exit 1), while the same figures a page higher were not
//! significant (review). Such rows are now tested on the logarithms of each figure plus one
//! page ([`PAGE`]): below a page a difference is no evidence (the floor is eight), and above
//! a few pages the shift leaves the logarithms, so the test, nearly where they were. Their
//! change column shows the medians' own ratio ("from 0" for a baseline of 0), not the
//! shifted one, and no interval.

use super::verdict::{direction, p_text, welch_verdict};
use super::{Row, Settings, Verdict};
use crate::report::digits::threshold_pct;
use crate::stats;

/// One page (4 KiB), the granule of RSS: what each figure is raised by for the logarithms of
/// a row with a figure of 0.
const PAGE: f64 = 4096.0;

/// Welch's test on the logarithms of `row`'s figures, or, where a figure is 0, of the figures
/// one page up (`bytes_per_unit`: the bytes of one unit; without it there is no page to add).
/// `None` with fewer than two figures a side. The flag says whether the figures were raised.
fn welch_test(
    row: &Row,
    bytes_per_unit: Option<f64>,
    level: f64,
) -> Option<(stats::LogRatio, bool)> {
    if let Some(w) = stats::welch_log_ratio(&row.baseline, &row.current, level) {
        return Some((w, false));
    }
    let shift = PAGE / bytes_per_unit.filter(|k| *k > 0.0 && k.is_finite())?;
    let up = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x + shift).collect() };
    let w = stats::welch_log_ratio(&up(&row.baseline), &up(&row.current), level)?;
    Some((w, true))
}

/// Judges memory row `row`, whose figures are `bytes_per_unit` bytes each (`None` when they
/// cannot be turned into bytes, and the byte floor does not apply).
pub(super) fn judge_memory(row: &mut Row, bytes_per_unit: Option<f64>, s: &Settings) {
    let (bm, cm) = (row.baseline_median, row.current_median);
    let hib = row.higher_is_better;
    // A change of a few pages is no evidence whatever the test says.
    let within_floor = bytes_per_unit.is_some_and(|k| (cm - bm).abs() * k <= s.memory_floor);
    // Welch's test needs two figures a side (and one page added to each where one is 0).
    let Some((w, raised)) = welch_test(row, bytes_per_unit, 1.0 - s.alpha) else {
        // One figure a side (or a 0 in figures that are not bytes): the ratio alone.
        let dir = match row.ratio {
            Some(r) => direction(r, s.memory_threshold, hib),
            None if cm > 0.0 => direction(f64::INFINITY, 0.0, hib),
            None => 0,
        };
        row.verdict = match dir {
            _ if within_floor => Verdict::Unchanged,
            0 => Verdict::Unchanged,
            d if d > 0 => Verdict::Regressed,
            _ => Verdict::Improved,
        };
        return;
    };
    let t = s.memory_threshold;
    let significant = welch_verdict(row, &w, t, s.alpha);
    if raised {
        // The test's ratio is of the raised figures: show the medians' own.
        row.ratio = (bm != 0.0).then(|| cm / bm);
        row.interval = None;
    }
    if within_floor {
        row.verdict = Verdict::Unchanged;
    }
    if row.verdict == Verdict::NotSignificant {
        let why = if significant {
            format!("the change is within ±{} %", threshold_pct(t))
        } else {
            "the figures vary between processes as much as that".to_string()
        };
        row.reason = Some(format!(
            "{} over {} + {} processes: {why}",
            p_text(w.p),
            row.baseline.len(),
            row.current.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::verdict::{judge, RowInput};
    use crate::compare::Class;

    const KIB: f64 = 1024.0;

    /// A `retained_rss_bytes` row judged by `compare`'s own entry point.
    fn judged(baseline: &[f64], current: &[f64]) -> Row {
        let input = RowInput {
            workload: "dicts",
            allocator: "pymalloc",
            metric: "retained_rss_bytes",
            op: None,
            unit: "B",
            class: Class::Memory,
            higher_is_better: false,
            baseline: baseline.to_vec(),
            current: current.to_vec(),
            tail_samples: None,
            resolution: None,
            peak_live: None,
            per_process: None,
        };
        judge(input, &Settings::default(), 0)
    }

    #[test]
    fn figures_that_flip_between_modes_are_not_a_change() {
        // Retained RSS of identical builds: the medians fall on different modes 128 KiB
        // (5.7 %) apart, beyond the threshold and the floor, but the processes overlap.
        let b = [2232.0, 2360.0, 2232.0].map(|k| k * KIB);
        let c = [2360.0, 2232.0, 2360.0].map(|k| k * KIB);
        let r = judged(&b, &c);
        assert!(r.current_median / r.baseline_median > 1.05);
        assert_ne!(r.verdict, Verdict::Regressed, "{r:?}");
        assert!(r.p_value.unwrap() > 0.05, "{r:?}");
    }

    #[test]
    fn a_change_beyond_the_scatter_counts_both_ways() {
        let b = [3092.0, 3396.0, 3332.0].map(|k| k * KIB);
        let up = b.map(|x| x * 1.25);
        assert_eq!(judged(&b, &up).verdict, Verdict::Regressed);
        assert_eq!(judged(&up, &b).verdict, Verdict::Improved);
        // Constant sides: any difference beyond the threshold and floor counts, none is
        // unchanged.
        let c = [12_340.0 * KIB; 3];
        assert_eq!(judged(&c, &c.map(|x| x * 1.06)).verdict, Verdict::Regressed);
        assert_eq!(judged(&c, &c).verdict, Verdict::Unchanged);
    }

    #[test]
    fn small_or_few_page_changes_are_unchanged() {
        // Significant (constant sides) but within ±5 %.
        let c = [12_340.0 * KIB; 3];
        assert_eq!(judged(&c, &c.map(|x| x * 1.03)).verdict, Verdict::Unchanged);
        // 20 % of 40 KiB is two pages: below the 8-page floor.
        let small = [40.0 * KIB; 3];
        assert_eq!(
            judged(&small, &small.map(|x| x * 1.2)).verdict,
            Verdict::Unchanged
        );
    }

    #[test]
    fn a_large_change_the_scatter_hides_is_not_significant_with_its_reason() {
        let b = [1000.0, 2000.0, 3000.0].map(|k| k * KIB);
        let c = [1300.0, 2600.0, 3900.0].map(|k| k * KIB);
        let r = judged(&b, &c);
        assert_eq!(r.verdict, Verdict::NotSignificant, "{r:?}");
        let reason = r.reason.unwrap();
        assert!(reason.contains("3 + 3 processes"), "{reason}");
    }

    #[test]
    fn one_figure_a_side_keeps_the_ratio_rule() {
        let b = [2000.0 * KIB];
        assert_eq!(judged(&b, &[2200.0 * KIB]).verdict, Verdict::Regressed);
        assert_eq!(judged(&b, &[2040.0 * KIB]).verdict, Verdict::Unchanged);
        let r = judged(&[0.0], &[64.0 * KIB]);
        assert_eq!((r.verdict, r.p_value), (Verdict::Regressed, None), "{r:?}");
    }

    /// Review, 2026-12-07: one figure of 0 switched the test off, and these figures, which
    /// overlap as much as the same ones a page higher (not significant), regressed.
    #[test]
    fn a_figure_of_zero_is_still_tested() {
        let b = [0.0, 0.0, 0.0, 64.0, 64.0].map(|k| k * KIB);
        let c = [0.0, 0.0, 64.0, 64.0, 64.0].map(|k| k * KIB);
        let r = judged(&b, &c);
        assert_eq!(r.verdict, Verdict::NotSignificant, "{r:?}");
        assert!(r.p_value.unwrap() > 0.3, "{r:?}");
        assert_eq!(
            (r.ratio, r.interval),
            (None, None),
            "the medians' ratio: from 0"
        );
        let a_page_up = judged(&b.map(|x| x + 4.0 * KIB), &c.map(|x| x + 4.0 * KIB));
        assert_eq!(a_page_up.verdict, Verdict::NotSignificant, "{a_page_up:?}");
        // From nothing to something in every process: a rise, now with its test.
        let r = judged(&[0.0; 3], &[64.0 * KIB; 3]);
        assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
        assert!(r.p_value.unwrap() < 1e-6, "{r:?}");
        assert_eq!(judged(&[0.0; 3], &[0.0; 3]).verdict, Verdict::Unchanged);
        // A baseline median above 0: its ratio shown, the test on the raised figures.
        let r = judged(&[0.0, 512.0, 512.0].map(|k| k * KIB), &[1024.0 * KIB; 3]);
        assert_eq!((r.ratio, r.interval), (Some(2.0), None), "{r:?}");
        assert!(r.p_value.is_some(), "{r:?}");
    }
}
