//! How values are written on the charts' axes and in their bars' tooltips: counts ("250k"),
//! bytes ("50 KiB"), ratios ("1.20") and durations ("1.5 µs"), each in scientific notation
//! ("1.5e308", "2e-301 ns") past the magnitudes its units cover. A damaged or hand-edited
//! results file can hold 1e308 or 1e-300; written out in full, such a tick was a 300-digit
//! string, and tiny ones all read "0".

use crate::report::summary::human;

/// Counts from this up, and below [`TINY`], are written in scientific notation.
const COUNT_PAST: f64 = 1e12;
/// Ratios from this up are written in scientific notation.
const RATIO_PAST: f64 = 1e4;
/// Seconds from this up (about three hours) are written in scientific notation.
const SECONDS_PAST: f64 = 1e4;
/// Nonzero magnitudes below this are written in scientific notation (four decimals would
/// show them as 0).
const TINY: f64 = 1e-3;

/// `v` with three significant digits in scientific notation, the mantissa's trailing zeros
/// dropped: "1.5e308", "2e-301", "-1.25e20".
pub fn scientific(v: f64) -> String {
    let text = format!("{v:.2e}");
    match text.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            let m = m.trim_end_matches('0').trim_end_matches('.');
            format!("{m}e{e}")
        }
        _ => text,
    }
}

/// Whether `v` is too large (from `past`) or too small (nonzero below [`TINY`]) for plain
/// digits; not finite counts as too large (scientific writes it as Rust does).
fn beyond(v: f64, past: f64) -> bool {
    let a = v.abs();
    !a.is_finite() || a >= past || (a > 0.0 && a < TINY)
}

/// Bytes for tick labels: "50 KiB", "1.5 MiB".
pub fn fmt_bytes(v: f64) -> String {
    if beyond(v, 1e15) {
        return format!("{} B", scientific(v));
    }
    human(v, true).replace(".0 ", " ")
}

/// Counts for tick labels: "250k", "1.5M", "40".
pub fn fmt_count(v: f64) -> String {
    if beyond(v, COUNT_PAST) {
        return scientific(v);
    }
    let (x, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    format!("{}{suffix}", trim(x))
}

/// Ratios (frag_ratio, from 0 to at least 1) for tick labels: "0.20", "1.00".
pub fn fmt_ratio(v: f64) -> String {
    if beyond(v, RATIO_PAST) {
        return scientific(v);
    }
    format!("{v:.2}")
}

/// Nanoseconds in the unit that reads best: 10 ns, 1.5 µs, 20 ms; "0.002 ns" and "5e-4 ns"
/// below one.
pub fn fmt_ns(v: f64) -> String {
    let (x, unit) = match v {
        v if v >= 1e9 => (v / 1e9, "s"),
        v if v >= 1e6 => (v / 1e6, "ms"),
        v if v >= 1e3 => (v / 1e3, "µs"),
        v => (v, "ns"),
    };
    if beyond(x, SECONDS_PAST) {
        return format!("{} {unit}", scientific(x));
    }
    if x.abs() < 1.0 {
        return format!("{} {unit}", trim(x));
    }
    let digits = if x >= 10.0 || x.fract() == 0.0 { 0 } else { 1 };
    format!("{x:.digits$} {unit}")
}

/// 99.9000000001 → "99.9", 2.50 → "2.5", 100 → "100": four decimals at most, trimmed.
pub fn trim(p: f64) -> String {
    crate::report::digits::trimmed(p, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_values_read_well() {
        assert_eq!(fmt_ns(10.0), "10 ns");
        assert_eq!(fmt_ns(1_500.0), "1.5 µs");
        assert_eq!(fmt_ns(20e6), "20 ms");
        assert_eq!(fmt_count(250_000.0), "250k");
        assert_eq!(fmt_count(1_500_000.0), "1.5M");
        assert_eq!(fmt_count(0.0), "0");
        assert_eq!(fmt_bytes(50.0 * 1024.0), "50 KiB");
        assert_eq!(fmt_ratio(1.2), "1.20");
        assert_eq!(trim(100.0 * (1.0 - 1e-3)), "99.9");
    }

    /// Each was a string of hundreds of digits, or "0" for every tiny tick.
    #[test]
    fn extreme_values_are_written_compactly() {
        assert_eq!(fmt_count(1.5e308), "1.5e308");
        assert_eq!(fmt_count(f64::MAX), "1.8e308");
        assert_eq!(fmt_count(2e-301), "2e-301");
        assert_eq!(fmt_ratio(1e300), "1e300");
        assert_eq!(fmt_ratio(2e4), "2e4");
        assert_eq!(fmt_bytes(1e300), "1e300 B");
        assert_eq!(fmt_ns(1e-300), "1e-300 ns");
        assert_eq!(fmt_ns(0.002), "0.002 ns");
        assert_eq!(fmt_ns(1e300), "1e291 s");
        assert_eq!(scientific(-1.25e20), "-1.25e20");
        assert_eq!(scientific(f64::INFINITY), "inf");
    }
}
