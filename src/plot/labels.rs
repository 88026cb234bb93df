//! How values are written on the charts' axes and in their bars' tooltips: counts ("250k"),
//! bytes ("50 KiB"), ratios ("1.20") and durations ("1.5 µs").

use crate::report::summary::human;

/// Bytes for tick labels: "50 KiB", "1.5 MiB".
pub fn fmt_bytes(v: f64) -> String {
    human(v, true).replace(".0 ", " ")
}

/// Counts for tick labels: "250k", "1.5M", "40".
pub fn fmt_count(v: f64) -> String {
    let (x, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    format!("{}{suffix}", trim(x))
}

pub fn fmt_ratio(v: f64) -> String {
    format!("{v:.2}")
}

/// Nanoseconds in the unit that reads best: 10 ns, 1.5 µs, 20 ms.
pub fn fmt_ns(v: f64) -> String {
    let (x, unit) = match v {
        v if v >= 1e9 => (v / 1e9, "s"),
        v if v >= 1e6 => (v / 1e6, "ms"),
        v if v >= 1e3 => (v / 1e3, "µs"),
        v => (v, "ns"),
    };
    let digits = if x >= 10.0 || x.fract() == 0.0 { 0 } else { 1 };
    format!("{x:.digits$} {unit}")
}

/// 99.9000000001 → "99.9", 2.50 → "2.5", 100 → "100".
pub fn trim(p: f64) -> String {
    let s = format!("{p:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
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
        assert_eq!(fmt_bytes(50.0 * 1024.0), "50 KiB");
        assert_eq!(trim(100.0 * (1.0 - 1e-3)), "99.9");
    }
}
