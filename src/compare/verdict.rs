//! Verdicts on one metric: the class of each metric name and the rules of each class
//! (see the module documentation of `compare`).

use super::stats;
use super::{Row, Settings, Verdict};
use crate::report::summary::median;
use serde::Serialize;

/// Values of one metric over repetitions: ((name, op), unit, values).
pub(super) type Series = ((String, Option<String>), String, Vec<f64>);

/// How a metric is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Timing,
    Counter,
    Memory,
    Deterministic,
    Informational,
    Unknown,
}

/// The class of a metric by its name (design.md §4), and whether higher values are better.
pub fn classify(name: &str) -> (Class, bool) {
    let class = match name {
        "ops_per_sec" | "loop_ns_per_op" | "ns_per_op" | "task_clock_ns" => Class::Timing,
        n if n.starts_with("lat_") => Class::Timing,
        "peak_rss_bytes"
        | "final_rss_bytes"
        | "retained_rss_bytes"
        | "retained_pre_trim_rss_bytes"
        | "frag_ratio" => Class::Memory,
        // Engine figures that depend on where mmap puts each arena (a pool-aligned address
        // loses no pool to alignment): they vary between repetitions like RSS does.
        "bytes_lost_arena_alignment" | "bytes_in_unused_pools" => Class::Memory,
        "minor_faults" | "major_faults" | "context_switches" | "cycles" | "instructions" => {
            Class::Counter
        }
        n if n.ends_with("_misses") => Class::Counter,
        "peak_live_bytes" | "pools_used" | "bytes_in_allocated_blocks" | "class_pools" => {
            Class::Deterministic
        }
        n if n.starts_with("arenas_") || n.starts_with("bytes_lost_") => Class::Deterministic,
        "timer_overhead_ns" | "timed_ops" => Class::Informational,
        _ => Class::Unknown,
    };
    (class, name == "ops_per_sec")
}

/// Default `memory_floor`: 8 pages. Two runs of the same binary were seen 3 pages apart in
/// peak RSS on every repetition, so a few pages are not evidence of anything.
pub const DEFAULT_MEMORY_FLOOR: f64 = 8.0 * 4096.0;

/// A latency percentile is judged only when at least this many timed ops lie above it;
/// `lat_max` (one observation) never is. Fewer samples make a percentile one outlier.
pub const MIN_TAIL_SAMPLES: f64 = 10.0;

/// The percentile a latency metric names: `lat_p999` → 99.9, `lat_max` → 100.
pub(super) fn percentile_of(metric: &str) -> Option<f64> {
    if metric == "lat_max" {
        return Some(100.0);
    }
    let digits = metric.strip_prefix("lat_p")?;
    let v: f64 = digits.parse().ok()?;
    // p50 → 50, p999 → 99.9, p9999 → 99.99: digits after the first two are decimals.
    Some(v / 10f64.powi(digits.len().saturating_sub(2) as i32))
}

/// The smaller of the two sides' medians of metric `name`/`op`.
pub(super) fn smallest_median(
    b: &[Series],
    c: &[Series],
    name: &str,
    op: Option<&str>,
) -> Option<f64> {
    let of = |side: &[Series]| {
        side.iter()
            .find(|(k, _, _)| k.0 == name && k.1.as_deref() == op)
            .and_then(|(_, _, v)| median(v.clone()))
    };
    Some(of(b)?.min(of(c)?))
}

/// The larger of the two sides' medians of op-less metric `name`.
pub(super) fn largest_median(b: &[Series], c: &[Series], name: &str) -> Option<f64> {
    let of = |side: &[Series]| {
        side.iter()
            .find(|(k, _, _)| k.0 == name && k.1.is_none())
            .and_then(|(_, _, v)| median(v.clone()))
    };
    Some(of(b)?.max(of(c)?))
}

/// Timed ops above the percentile a latency metric names, in the sparser repetition.
pub(super) fn tail_samples(
    b: &[Series],
    c: &[Series],
    metric: &str,
    op: Option<&str>,
) -> Option<f64> {
    let q = percentile_of(metric)?;
    let fewest = |side: &[Series]| {
        side.iter()
            .find(|(k, _, _)| k.0 == "timed_ops" && k.1.as_deref() == op)
            .and_then(|(_, _, v)| v.iter().copied().reduce(f64::min))
    };
    let n = fewest(b)?.min(fewest(c)?);
    Some(n * (1.0 - q / 100.0))
}

pub(super) struct RowInput<'a> {
    pub(super) workload: &'a str,
    pub(super) allocator: &'a str,
    pub(super) metric: &'a str,
    pub(super) op: Option<&'a str>,
    pub(super) unit: &'a str,
    pub(super) class: Class,
    pub(super) higher_is_better: bool,
    pub(super) baseline: Vec<f64>,
    pub(super) current: Vec<f64>,
    /// Fewest timed ops above this latency percentile in any repetition of either side.
    pub(super) tail_samples: Option<f64>,
    /// Timer resolution (median `timer_overhead_ns`, larger side) for latency percentiles.
    pub(super) resolution: Option<f64>,
    /// Median peak live bytes of the cell on each side (turns a frag_ratio change into bytes).
    pub(super) peak_live: Option<f64>,
}

/// Which way a ratio points: +1 worse, −1 better, 0 within `t`.
fn direction(ratio: f64, t: f64, higher_is_better: bool) -> i8 {
    let worse = if higher_is_better {
        ratio < 1.0 - t
    } else {
        ratio > 1.0 + t
    };
    let better = if higher_is_better {
        ratio > 1.0 + t
    } else {
        ratio < 1.0 - t
    };
    i8::from(worse) - i8::from(better)
}

pub(super) fn judge(input: RowInput<'_>, s: &Settings, seed: u64) -> Row {
    let bm = median(input.baseline.clone()).unwrap_or(f64::NAN);
    let cm = median(input.current.clone()).unwrap_or(f64::NAN);
    let ratio = (bm != 0.0).then(|| cm / bm);
    let mut row = Row {
        workload: input.workload.to_string(),
        allocator: input.allocator.to_string(),
        metric: input.metric.to_string(),
        op: input.op.map(str::to_string),
        unit: input.unit.to_string(),
        class: input.class,
        higher_is_better: input.higher_is_better,
        baseline: input.baseline,
        current: input.current,
        baseline_median: bm,
        current_median: cm,
        ratio,
        interval: None,
        p_value: None,
        test: None,
        verdict: Verdict::Unchanged,
        reason: None,
    };
    let worse_when_up = |up: bool| {
        if up != input.higher_is_better {
            Verdict::Regressed
        } else {
            Verdict::Improved
        }
    };
    match input.class {
        Class::Deterministic => {
            if cm != bm {
                row.verdict = worse_when_up(cm > bm);
            }
            let varies = |v: &[f64]| v.windows(2).any(|w| w[0] != w[1]);
            if varies(&row.baseline) || varies(&row.current) {
                row.reason = Some("varies between repetitions; medians compared".to_string());
            }
        }
        Class::Memory => {
            // frag_ratio is peak RSS over peak live bytes: its change in bytes is Δ·live.
            let bytes = match input.unit {
                "B" => Some((cm - bm).abs()),
                _ if input.metric == "frag_ratio" => input.peak_live.map(|l| (cm - bm).abs() * l),
                _ => None,
            };
            let beyond_floor = !matches!(bytes, Some(b) if b <= s.memory_floor);
            let dir = match ratio {
                Some(r) => direction(r, s.memory_threshold, input.higher_is_better),
                None if cm > 0.0 => 1,
                None => 0,
            };
            if dir != 0 && beyond_floor {
                row.verdict = worse_when_up(cm > bm);
            }
        }
        Class::Timing | Class::Counter => {
            let t = if input.class == Class::Timing {
                s.threshold
            } else {
                s.counter_threshold
            };
            match input.tail_samples {
                Some(n) if n < MIN_TAIL_SAMPLES => {
                    row.verdict = Verdict::NotSignificant;
                    row.reason = Some(format!("{} timed op(s) above this percentile", n.floor()));
                }
                // Percentiles are multiples of the timer's tick: one tick is resolution.
                _ if input
                    .resolution
                    .is_some_and(|res| (cm - bm).abs() <= res * 1.01) =>
                {
                    row.verdict = Verdict::Unchanged;
                    if cm != bm {
                        row.reason = Some("within one timer tick".to_string());
                    }
                }
                _ => judge_statistically(&mut row, t, s, seed),
            }
        }
        // Filtered out before judging; leaving them unchanged keeps this total.
        Class::Informational | Class::Unknown => {}
    }
    row
}

/// Timing and counters: significant (U test) and the whole bootstrap interval beyond `t`.
fn judge_statistically(row: &mut Row, t: f64, s: &Settings, seed: u64) {
    let (b, c) = (&row.baseline, &row.current);
    let test = stats::mann_whitney_u(c, b);
    row.p_value = test.map(|x| x.p);
    row.test = test.map(|x| x.method);
    if row.baseline_median == 0.0 && row.current_median == 0.0 {
        row.verdict = Verdict::Unchanged;
        return;
    }
    if b.len() < 2 || c.len() < 2 {
        row.verdict = Verdict::NotSignificant;
        row.reason = Some("1 repetition".to_string());
        return;
    }
    row.interval = stats::bootstrap_ratio_ci(b, c, s.resamples, 1.0 - s.alpha, seed);
    let significant = row.p_value.is_some_and(|p| p < s.alpha);
    let hib = row.higher_is_better;
    let beyond = match row.interval {
        Some((lo, hi)) => {
            let (dl, dh) = (direction(lo, t, hib), direction(hi, t, hib));
            if dl == dh {
                dl
            } else {
                0
            }
        }
        // Zero baseline: any significant rise is beyond any threshold.
        None if row.baseline_median == 0.0 => 1,
        None => 0,
    };
    // "Unchanged" is a claim too: only when the whole interval lies within the threshold
    // (any change is smaller than it), or both sides hold the very same values.
    let within = row
        .interval
        .is_some_and(|(lo, hi)| direction(lo, t, hib) == 0 && direction(hi, t, hib) == 0);
    let mut sorted = (b.clone(), c.clone());
    sorted.0.sort_by(f64::total_cmp);
    sorted.1.sort_by(f64::total_cmp);
    row.verdict = if significant && beyond != 0 {
        if beyond > 0 {
            Verdict::Regressed
        } else {
            Verdict::Improved
        }
    } else if within || sorted.0 == sorted.1 {
        Verdict::Unchanged
    } else {
        let p = row.p_value.unwrap_or(1.0);
        row.reason = Some(if significant {
            format!(
                "p = {p:.3}, but the interval reaches within ±{:.0} %",
                t * 100.0
            )
        } else {
            format!(
                "p = {p:.3}, the interval reaches beyond ±{:.0} %",
                t * 100.0
            )
        });
        Verdict::NotSignificant
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_named_by_latency_metrics() {
        assert_eq!(percentile_of("lat_p50"), Some(50.0));
        assert_eq!(percentile_of("lat_p99"), Some(99.0));
        assert!((percentile_of("lat_p999").unwrap() - 99.9).abs() < 1e-9);
        assert_eq!(percentile_of("lat_max"), Some(100.0));
        assert_eq!(percentile_of("ns_per_op"), None);
    }

    #[test]
    fn classes_follow_the_design_names() {
        assert_eq!(classify("ops_per_sec"), (Class::Timing, true));
        assert_eq!(classify("lat_p99"), (Class::Timing, false));
        assert_eq!(classify("class_pools").0, Class::Deterministic);
        assert_eq!(classify("bytes_lost_quantization").0, Class::Deterministic);
        assert_eq!(classify("bytes_lost_arena_alignment").0, Class::Memory);
        assert_eq!(classify("frag_ratio").0, Class::Memory);
        assert_eq!(classify("dtlb_load_misses").0, Class::Counter);
        assert_eq!(classify("timed_ops").0, Class::Informational);
        assert_eq!(classify("something_new").0, Class::Unknown);
    }
}
