//! How many digits a figure of precision gets when printed: a relative half-width as a
//! percentage ("±2.5 %"), a threshold as typed ("±2.5 %", "±5 %") and a ratio with its
//! interval ("1.42 ± 0.03×"). A fixed `{:.1}` or
//! `{:.2}` printed a precision asked or reached below its last digit as nothing ("--precision
//! ±0.0 %", "1.00 ± 0.00×"): a nonzero figure shown as zero.

/// Past this many decimals (below 0.00001 %), and from [`PCT_LARGE`] up, a half-width is
/// written in scientific notation: its plain form would be a string of zeros (or of digits)
/// no one reads.
const MOST_DECIMALS: usize = 6;
const PCT_LARGE: f64 = 1e6;

use crate::stats::Estimate;

/// The relative half-width `rel` (0.025 for ±2.5 %) as the digits of a percentage, without
/// the sign or the `%`: at least one decimal and two significant digits, trailing zeros past
/// the first decimal dropped ("2.5", "33.7", "0.5", "0.0001", "0.025"), scientific below
/// 0.00001 % and from 1,000,000 % ("1.0e-6"). Zero is "0.0"; NaN and infinities as Rust writes them.
pub fn half_width_pct(rel: f64) -> String {
    let pct = rel * 100.0;
    let size = pct.abs();
    if !pct.is_finite() || size == 0.0 {
        return format!("{pct:.1}");
    }
    // Two significant digits: one decimal from 1 % up, more below.
    let decimals = (1 - size.log10().floor() as i32).max(1) as usize;
    if decimals > MOST_DECIMALS || size >= PCT_LARGE {
        return format!("{pct:.1e}");
    }
    let text = format!("{pct:.decimals$}");
    let kept = text.trim_end_matches('0');
    if kept.ends_with('.') {
        format!("{kept}0")
    } else {
        kept.to_string()
    }
}

/// A threshold given as a fraction (0.025 for `--threshold 2.5`) as the digits of the
/// percentage the user typed, without the sign or the `%`: "2.5", "5", "0.1". A fixed `{:.0}`
/// printed 2.5 as "2" and 0.1 as "0", a threshold other than the one applied. Up to six
/// decimals (past them the float's own noise); smaller thresholds as [`half_width_pct`].
pub fn threshold_pct(fraction: f64) -> String {
    let pct = fraction * 100.0;
    let kept = trimmed(pct, 6);
    if !pct.is_finite() || (kept == "0" && pct != 0.0) {
        return half_width_pct(fraction);
    }
    kept
}

/// `value` with at most `decimals` decimals and none of their trailing zeros: 99.9000000001
/// → "99.9", 2.50 → "2.5", 100 → "100"; a value that rounds to zero is "0", not "-0".
pub fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let kept = text.trim_end_matches('0').trim_end_matches('.');
    if kept == "-0" { "0" } else { kept }.to_string()
}

/// A count averaged over passes or processes (a warm pass's page faults): two significant
/// digits below 100, trailing zeros dropped ("0.0033", "0.5", "3.2", "12"), whole numbers
/// from 100 ("2390"), zero as "0", scientific below a millionth. The table's general format
/// gave a whole median as "0" or "3" and any other with two decimals, so one column mixed
/// "0" with "0.00" — a figure that was not zero, printed as one.
pub fn mean_count(value: f64) -> String {
    let size = value.abs();
    if !value.is_finite() || size == 0.0 {
        return format!("{}", if size == 0.0 { 0.0 } else { value });
    }
    let decimals = (1 - size.log10().floor() as i32).max(0) as usize;
    match decimals {
        0 => crate::report::summary::fixed(value, 0, false),
        d if d > MOST_DECIMALS => format!("{value:.1e}"),
        d => trimmed(value, d),
    }
}

/// `value` with `decimals` decimals and its sign ("+1.4", "-2.0"), but a value that rounds
/// to zero is "0.0", unsigned: `{:+.1}` wrote an interval's end just below zero as "-0.0"
/// (and one just above as "+0.0"), a direction the figure does not have at that precision.
pub fn signed(value: f64, decimals: usize) -> String {
    let text = format!("{value:+.decimals$}");
    match text.strip_prefix(['+', '-']) {
        Some(digits) if digits.bytes().all(|b| b == b'0' || b == b'.') => digits.to_string(),
        _ => text,
    }
}

/// Decimals for a ratio `point` whose interval reaches `spread` from it (the larger side):
/// two, as the tables print ratios, or as many as show that spread as a nonzero digit, at
/// most nine. A spread below a billionth of the point is rounding dust of an interval of
/// identical figures, not a width: two decimals.
pub fn ratio_decimals(point: f64, spread: f64) -> usize {
    let s = spread.abs();
    if !s.is_finite() || s >= 0.005 || s <= point.abs() * 1e-9 {
        return 2;
    }
    // With d decimals a spread of at least 10^-d shows as a nonzero digit.
    let d = (-s.log10()).ceil() as i64;
    d.clamp(2, 9) as usize
}

/// [`ratio_decimals`] for an estimate's point and the farther end of its interval.
pub fn estimate_decimals(e: &Estimate) -> usize {
    ratio_decimals(e.point, (e.point - e.lo).max(e.hi - e.point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_usual_figures_keep_their_one_decimal() {
        assert_eq!(half_width_pct(0.025), "2.5");
        assert_eq!(half_width_pct(0.337), "33.7");
        assert_eq!(half_width_pct(0.05), "5.0");
        assert_eq!(half_width_pct(0.5), "50.0");
        assert_eq!(half_width_pct(0.0), "0.0");
    }

    #[test]
    fn small_figures_get_the_digits_that_show_them() {
        // `--precision 0.0001` printed as "±0.0 %".
        assert_eq!(half_width_pct(0.0001 / 100.0), "0.0001");
        assert_eq!(half_width_pct(0.001 / 100.0), "0.001");
        assert_eq!(half_width_pct(0.0025), "0.25");
        assert_eq!(half_width_pct(0.005), "0.5");
        assert_eq!(half_width_pct(0.000_123), "0.012");
        assert_eq!(half_width_pct(1.2e-6), "0.00012");
        assert_eq!(half_width_pct(9.9e-7), "0.000099");
        assert_eq!(half_width_pct(1e-8), "1.0e-6");
        assert_eq!(half_width_pct(1e300), "1.0e302");
        assert_eq!(half_width_pct(f64::NAN), "NaN");
        assert_eq!(half_width_pct(f64::INFINITY), "inf");
    }

    #[test]
    fn a_threshold_is_printed_as_it_was_typed() {
        assert_eq!(threshold_pct(0.025), "2.5");
        assert_eq!(threshold_pct(0.05), "5");
        assert_eq!(threshold_pct(0.001), "0.1");
        assert_eq!(threshold_pct(0.07), "7");
        assert_eq!(threshold_pct(0.10), "10");
        assert_eq!(threshold_pct(0.0), "0");
        assert_eq!(threshold_pct(1e-10), "1.0e-8");
    }

    #[test]
    fn a_mean_count_keeps_two_significant_digits_and_never_reads_as_zero_unless_it_is() {
        assert_eq!(mean_count(0.0), "0");
        assert_eq!(mean_count(0.0033), "0.0033");
        assert_eq!(mean_count(0.5), "0.5");
        assert_eq!(mean_count(3.0), "3");
        assert_eq!(mean_count(3.1667), "3.2");
        assert_eq!(mean_count(12.4), "12");
        assert_eq!(mean_count(2390.0), "2390");
        assert_eq!(mean_count(123_456.7), "123457");
        assert_eq!(mean_count(2e-8), "2.0e-8");
        assert_eq!(mean_count(1e300), "1.00e300");
        assert_eq!(mean_count(f64::NAN), "NaN");
    }

    #[test]
    fn a_signed_figure_that_rounds_to_zero_has_no_sign() {
        assert_eq!(signed(-0.0004, 1), "0.0");
        assert_eq!(signed(0.04, 1), "0.0");
        assert_eq!(signed(-0.0, 1), "0.0");
        assert_eq!(signed(-0.001, 2), "0.00");
        assert_eq!(signed(-0.05001, 1), "-0.1");
        assert_eq!(signed(1.44, 1), "+1.4");
        assert_eq!(signed(-12.0, 0), "-12");
        assert_eq!(signed(f64::NAN, 1), "NaN");
        assert_eq!(signed(f64::NEG_INFINITY, 1), "-inf");
    }

    #[test]
    fn a_ratio_gets_more_decimals_only_when_its_spread_needs_them() {
        assert_eq!(ratio_decimals(1.0, 0.71), 2);
        assert_eq!(ratio_decimals(1.0, 0.005), 2);
        assert_eq!(ratio_decimals(1.0, 0.003), 3);
        assert_eq!(ratio_decimals(1.0, 0.0001), 4);
        assert_eq!(ratio_decimals(1.0, 0.0), 2);
        assert_eq!(ratio_decimals(0.0, 1e-30), 9);
        assert_eq!(ratio_decimals(1.0, f64::NAN), 2);
        // Identical figures: an interval of rounding dust.
        assert_eq!(ratio_decimals(0.5, 1e-17), 2);
    }

    /// An interval narrower than a hundredth keeps its width on the page: it printed as
    /// "1.05 ± 0.00×" and "(1.00–1.00)".
    #[test]
    fn a_narrow_interval_gets_the_decimals_that_show_it() {
        use crate::report::verdict::{sentence, Speed};
        let speed = |point, lo, hi| Speed {
            ratio: Estimate { point, lo, hi },
            paired: true,
            processes: 200,
        };
        let narrow = sentence("a", "b", &speed(1.0512, 1.0509, 1.0515));
        assert_eq!(narrow, "a is 1.0512 ± 0.0003× faster than b");
        let lopsided = sentence("a", "b", &speed(1.05, 1.049, 1.054));
        assert_eq!(
            lopsided,
            "a is 1.050× (95 % interval 1.049–1.054) faster than b"
        );
        let same = sentence("a", "b", &speed(1.0002, 0.9999, 1.0005));
        assert!(
            same.ends_with("(1.0002×, 95 % interval 0.9999–1.0005; resolution ±2 %)"),
            "{same}"
        );
    }

    proptest! {
        /// A nonzero half-width never prints as zero, reads back within a quarter of itself
        /// (two significant digits), and stays short.
        #[test]
        fn a_half_width_prints_nonzero_close_and_short(rel in 1e-300f64..1e300) {
            let text = half_width_pct(rel);
            let back: f64 = text.parse().unwrap();
            prop_assert!(back > 0.0, "{rel} → {text}");
            let pct = rel * 100.0;
            prop_assert!((back - pct).abs() <= 0.1 * pct + 0.05, "{rel} → {text}");
            prop_assert!(text.len() <= 10, "{rel} → {text}");
        }

        /// A ratio's spread printed with its decimals shows as a nonzero digit down to a
        /// billionth (of the ratio, and absolutely).
        #[test]
        fn a_spread_prints_nonzero(point in 0.0f64..1.0, spread in 1e-9f64..10.0) {
            let d = ratio_decimals(point, spread);
            let text = format!("{spread:.d$}");
            prop_assert!(text.parse::<f64>().unwrap() > 0.0, "{spread} → {text}");
        }
    }
}
