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

use super::verdict::{direction, p_text, welch_verdict};
use super::{Row, Settings, Verdict};
use crate::report::digits::threshold_pct;
use crate::stats;

/// Judges memory row `row`, whose figures are `bytes_per_unit` bytes each (`None` when they
/// cannot be turned into bytes, and the byte floor does not apply).
pub(super) fn judge_memory(row: &mut Row, bytes_per_unit: Option<f64>, s: &Settings) {
    let (bm, cm) = (row.baseline_median, row.current_median);
    let hib = row.higher_is_better;
    // A change of a few pages is no evidence whatever the test says.
    let within_floor = bytes_per_unit.is_some_and(|k| (cm - bm).abs() * k <= s.memory_floor);
    // Welch's test needs two figures a side and none at zero (its logarithm).
    let Some(w) = stats::welch_log_ratio(&row.baseline, &row.current, 1.0 - s.alpha) else {
        // One figure a side, or a figure of zero: the ratio of medians alone.
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
    fn one_figure_a_side_or_a_zero_keeps_the_ratio_rule() {
        let b = [2000.0 * KIB];
        assert_eq!(judged(&b, &[2200.0 * KIB]).verdict, Verdict::Regressed);
        assert_eq!(judged(&b, &[2040.0 * KIB]).verdict, Verdict::Unchanged);
        // From nothing to something: no ratio, a rise.
        let zero = [0.0; 3];
        let r = judged(&zero, &[64.0 * KIB; 3]);
        assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
        assert_eq!(r.p_value, None);
    }
}
