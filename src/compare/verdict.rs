//! Verdicts on one metric: the class of each metric name and the rules of each class
//! (see the module documentation of `compare`).

use super::memory::judge_memory;
use super::ranked::{
    by_difference, difference_band, difference_direction, judge_by_difference, judge_by_ratio,
};
use super::{PerProcess, Row, Settings, Verdict};
use crate::metrics::{self, percentile_of, Id, Kind};
use crate::report::digits::threshold_pct;
use crate::report::model::ThroughputSamples;
use crate::stats::{self, beyond_band, median};
use serde::Serialize;

/// Fewest per-pass samples a process must hold for its median to stand as that process's
/// figure in the per-process test: with fewer, one preempted pass decides the median.
pub const MIN_SAMPLES_PER_PROCESS: usize = 3;

/// Whether `metric` is one whose per-repetition figure comes from per-pass samples.
pub(super) fn from_samples(metric: &str) -> bool {
    matches!(
        Id::from_name(metric),
        Some(Id::LoopNsPerOp | Id::OpsPerSec | Id::HarnessNsPerOp)
            | Some(Id::NetLoopNsPerOp | Id::NetOpsPerSec)
    )
}

/// The figure of timing metric `metric` that one process's per-pass samples give, computed
/// the way the harness computes the cell's metric (`harness::paired::push_throughput_metrics`:
/// medians over the samples); `None` for metrics the samples do not give.
pub(super) fn per_process_figure(metric: &str, t: &ThroughputSamples) -> Option<f64> {
    let rate = |ns: Option<f64>| ns.filter(|n| *n > 0.0).map(|n| 1e9 / n);
    match Id::from_name(metric)? {
        Id::LoopNsPerOp => median(&t.ns_per_op),
        Id::OpsPerSec => rate(median(&t.ns_per_op)),
        Id::HarnessNsPerOp => median(&t.null_ns_per_op),
        Id::NetLoopNsPerOp => median(&t.net_ns_per_op()),
        Id::NetOpsPerSec => rate(median(&t.net_ns_per_op())),
        _ => None,
    }
}

/// Values of one metric over the repetitions of one (workload, allocator) of one run.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub(super) name: String,
    pub(super) op: Option<String>,
    pub(super) unit: String,
    pub(super) values: Vec<f64>,
}

impl Series {
    /// Whether this is metric `name` for `op`.
    pub(super) fn is(&self, name: &str, op: Option<&str>) -> bool {
        self.name == name && self.op.as_deref() == op
    }

    /// Whether `other` is the same metric (name and op).
    pub(super) fn same_metric(&self, other: &Series) -> bool {
        self.is(&other.name, other.op.as_deref())
    }
}

/// The series of metric `name`/`op` on one side, if measured.
pub(super) fn find<'a>(side: &'a [Series], name: &str, op: Option<&str>) -> Option<&'a Series> {
    side.iter().find(|s| s.is(name, op))
}

/// How a metric is compared: by its kind in the catalogue (`metrics`), plus the two classes
/// of metrics not compared.
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

impl Class {
    /// The class of a catalogue kind.
    pub fn of(kind: Kind) -> Class {
        match kind {
            Kind::Time => Class::Timing,
            Kind::Counter => Class::Counter,
            Kind::Memory => Class::Memory,
            Kind::Engine => Class::Deterministic,
            Kind::Info => Class::Informational,
        }
    }
}

/// The class of a metric by its name (design.md §4, `metrics::CATALOGUE`), and whether higher
/// values are better. Names this version does not know are `Unknown`.
pub fn classify(name: &str) -> (Class, bool) {
    let class = metrics::kind_of(name).map_or(Class::Unknown, Class::of);
    (class, metrics::higher_is_better(name))
}

/// Default `memory_floor`: 8 pages. Two runs of the same binary were seen 3 pages apart in
/// peak RSS on every repetition, so a few pages are not evidence of anything.
pub const DEFAULT_MEMORY_FLOOR: f64 = 8.0 * 4096.0;

/// A latency percentile is judged only when at least this many timed ops lie above it;
/// `lat_max` (one observation) never is. Fewer samples make a percentile one outlier.
pub const MIN_TAIL_SAMPLES: f64 = 10.0;

/// Whether `row` is a latency percentile too thin to judge (`lat_max` always).
pub(super) fn unjudged_tail(row: &Row) -> bool {
    row.thin_tail.is_some()
}

/// Whether `row` was left to a rank test that could not have called it significant at
/// `alpha` whatever its figures: with 3 + 3 repetitions (a `run`'s memory and latency by
/// default) its smallest p-value is 0.100. A report's note says so once for all of them.
/// (One figure a side is not a test at all; its rows say so each, "1 repetition".)
pub(super) fn beyond_reach(row: &Row, alpha: f64) -> bool {
    let (nb, nc) = (row.baseline.len(), row.current.len());
    row.test.is_some()
        && row.per_process.is_none()
        && nb >= 2
        && nc >= 2
        && crate::stats::min_p_value(nb, nc) >= alpha
}

/// The smaller of the two sides' medians of metric `name`/`op`.
pub(super) fn smallest_median(
    b: &[Series],
    c: &[Series],
    name: &str,
    op: Option<&str>,
) -> Option<f64> {
    let of = |side: &[Series]| median(&find(side, name, op)?.values);
    Some(of(b)?.min(of(c)?))
}

/// The larger of the two sides' medians of op-less metric `name`.
pub(super) fn largest_median(b: &[Series], c: &[Series], name: &str) -> Option<f64> {
    let of = |side: &[Series]| median(&find(side, name, None)?.values);
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
        find(side, Id::TimedOps.name(), op)?
            .values
            .iter()
            .copied()
            .reduce(f64::min)
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
    /// `Some(n)` when `baseline` and `current` are per-process figures, each the median of at
    /// least n per-pass samples: judged by the per-process test instead of ranks.
    pub(super) per_process: Option<usize>,
}

/// Which way a ratio points: +1 worse, −1 better, 0 within `t` — on the log scale
/// ([`beyond_band`]), so `loop_ns_per_op` and `ops_per_sec` of the same processes, whose
/// ratios are reciprocals, get the same verdict.
pub(super) fn direction(ratio: f64, t: f64, higher_is_better: bool) -> i8 {
    let up = beyond_band(ratio, t);
    if higher_is_better {
        -up
    } else {
        up
    }
}

pub(super) fn judge(input: RowInput<'_>, s: &Settings, seed: u64) -> Row {
    let (class, metric, unit) = (input.class, input.metric, input.unit);
    let (peak_live, higher_is_better) = (input.peak_live, input.higher_is_better);
    let noise = Noise {
        tail_samples: input.tail_samples,
        resolution: input.resolution,
        per_process: input.per_process,
    };
    let mut row = unjudged(input);
    match class {
        Class::Deterministic => judge_deterministic(&mut row, higher_is_better),
        Class::Memory => {
            // frag_ratio is peak RSS over peak live bytes: its change in bytes is Δ·live.
            let bytes_per_unit = match unit {
                "B" => Some(1.0),
                _ if metric == Id::FragRatio.name() => peak_live,
                _ => None,
            };
            judge_memory(&mut row, bytes_per_unit, s);
        }
        Class::Timing | Class::Counter => {
            let threshold = if class == Class::Timing {
                s.threshold
            } else {
                s.counter_threshold
            };
            judge_timing(&mut row, threshold, noise, s, seed);
        }
        // Filtered out before judging; leaving them unchanged keeps this total.
        Class::Informational | Class::Unknown => {}
    }
    row.changed = changed(&row, s);
    row
}

/// A row holding `input`'s values and medians, its verdict not yet given (unchanged).
fn unjudged(input: RowInput<'_>) -> Row {
    let bm = median(&input.baseline).unwrap_or(f64::NAN);
    let cm = median(&input.current).unwrap_or(f64::NAN);
    Row {
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
        ratio: (bm != 0.0).then(|| cm / bm),
        difference: None,
        interval: None,
        p_value: None,
        q_value: None,
        test: None,
        verdict: Verdict::Unchanged,
        reason: None,
        thin_tail: None,
        per_process: None,
        relative_to: None,
        changed: false,
    }
}

/// A figure the engine computes exactly (pools, arenas): any change of the medians is a
/// verdict, with a note when repetitions disagreed (they should not).
fn judge_deterministic(row: &mut Row, higher_is_better: bool) {
    let (bm, cm) = (row.baseline_median, row.current_median);
    if cm != bm {
        row.verdict = if (cm > bm) != higher_is_better {
            Verdict::Regressed
        } else {
            Verdict::Improved
        };
    }
    let varies = |v: &[f64]| v.windows(2).any(|w| w[0] != w[1]);
    if varies(&row.baseline) || varies(&row.current) {
        row.reason = Some("varies between repetitions; medians compared".to_string());
    }
}

/// What bounds how finely a timing or counter row can be judged.
struct Noise {
    tail_samples: Option<f64>,
    resolution: Option<f64>,
    per_process: Option<usize>,
}

/// A timing or counter row: unchanged when the values are the same or within one timer
/// tick, not significant on a thin tail, else by the difference for a signed metric
/// (`ranked`), by the per-process test, or by the rank test.
fn judge_timing(row: &mut Row, t: f64, noise: Noise, s: &Settings, seed: u64) {
    let (bm, cm) = (row.baseline_median, row.current_median);
    match noise.tail_samples {
        // The very same values (a run compared with itself, a figure no code change
        // moved) are unchanged however few they are: no test is needed to say so.
        _ if same_values(&row.baseline, &row.current) => {
            row.verdict = Verdict::Unchanged;
        }
        Some(n) if n < MIN_TAIL_SAMPLES => {
            row.verdict = Verdict::NotSignificant;
            row.thin_tail = Some(n.floor() as u64);
            row.reason = Some(format!("{} timed op(s) above this percentile", n.floor()));
        }
        // Percentiles are multiples of the timer's tick: one tick is resolution.
        _ if noise
            .resolution
            .is_some_and(|res| (cm - bm).abs() <= res * 1.01) =>
        {
            row.verdict = Verdict::Unchanged;
            if cm != bm {
                row.reason = Some("within one timer tick".to_string());
            }
        }
        _ if by_difference(&row.metric, &row.unit) => {
            judge_by_difference(row, t, s, seed, noise.per_process)
        }
        _ => match noise.per_process {
            Some(samples) => judge_per_process(row, t, s, seed, samples),
            None => judge_by_ratio(row, t, s, seed),
        },
    }
}

/// Whether a row belongs in the default report: a verdict of change, or a change beyond
/// its class's threshold that the test could not confirm (the reader should see it).
pub(super) fn changed(row: &Row, s: &Settings) -> bool {
    match row.verdict {
        Verdict::Regressed | Verdict::Improved => true,
        Verdict::Unchanged => false,
        // Not judged at all: one outlier's value (`lat_max` always) moves by tens of percent
        // between identical runs, and listing it by default buried the rows a reader can act
        // on (12 of 25 rows of an A/B of one build, 2026-12-05).
        Verdict::NotSignificant if unjudged_tail(row) => false,
        // Shown, they were most of a default report (192 rows of two identical `run -w
        // dicts`, every latency row, 2026-12-06) and none could ever have been more.
        Verdict::NotSignificant if beyond_reach(row, s.alpha) => false,
        Verdict::NotSignificant => {
            let t = match row.class {
                Class::Counter => s.counter_threshold,
                Class::Memory => s.memory_threshold,
                _ => s.threshold,
            };
            let hib = row.higher_is_better;
            match (row.difference, row.ratio) {
                (Some(d), _) => difference_direction(d, difference_band(row, t), hib) != 0,
                (None, Some(r)) => direction(r, t, hib) != 0,
                // From a baseline median of 0: shown when the current one moved off it.
                (None, None) => row.current_median != row.baseline_median,
            }
        }
    }
}

/// Whether both sides hold the same values, in any order.
fn same_values(b: &[f64], c: &[f64]) -> bool {
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    b.len() == c.len() && sorted(b) == sorted(c)
}

/// Throughput with per-pass samples: Welch's t-test on the logarithms of the per-process
/// figures (`stats::welch_log_ratio`, whose module says why processes, not passes, are the
/// units). Significant when the interval of the ratio of geometric means excludes 1; a
/// change when it is significant and the ratio lies beyond the threshold. Figures that
/// cannot be logged go to the rank test (net times, which can be ≤ 0, never come here: they
/// are judged by their difference, `ranked`).
fn judge_per_process(row: &mut Row, t: f64, s: &Settings, seed: u64, samples: usize) {
    let Some(w) = stats::welch_log_ratio(&row.baseline, &row.current, 1.0 - s.alpha) else {
        return judge_by_ratio(row, t, s, seed);
    };
    row.per_process = Some(PerProcess { samples, df: w.df });
    let significant = welch_verdict(row, &w, t, s.alpha);
    per_process_reason(row, (w.p, significant), samples, t);
}

/// The reason of a row judged by a per-process Welch test of p-value `p` (`significant` at
/// α) over figures of at least `samples` samples each: the test's basis, and why a
/// significant change is not one. None for an unchanged row.
pub(super) fn per_process_reason(
    row: &mut Row,
    (p, significant): (f64, bool),
    samples: usize,
    t: f64,
) {
    let basis = format!(
        "{}, {} + {} processes of ≥ {samples} sample{}",
        p_text(p),
        row.baseline.len(),
        row.current.len(),
        if samples == 1 { "" } else { "s" }
    );
    row.reason = match row.verdict {
        Verdict::Unchanged => None,
        Verdict::NotSignificant if significant => Some(format!(
            "{basis}, but the change is within ±{} %",
            threshold_pct(t)
        )),
        _ => Some(basis),
    };
}

/// A tested row's verdict: a change when `significant` and the move lies beyond the band
/// (`dir`, +1 worse: the point for a per-process test, the whole interval for a rank-tested
/// row, `ranked::settle`), unchanged when the whole interval lies `within` it, not
/// significant otherwise.
pub(super) fn per_process_verdict(significant: bool, dir: i8, within: bool) -> Verdict {
    if significant && dir > 0 {
        Verdict::Regressed
    } else if significant && dir < 0 {
        Verdict::Improved
    } else if within {
        Verdict::Unchanged
    } else {
        Verdict::NotSignificant
    }
}

/// Sets `row`'s ratio, interval and p from Welch's test `w`, and its verdict by threshold
/// `t`: a change when significant at `alpha` and the ratio lies beyond `t`, unchanged when
/// the whole interval lies within it, not significant otherwise. Returns whether `w` was
/// significant. Shared by per-process throughput and memory figures (`memory`).
pub(super) fn welch_verdict(row: &mut Row, w: &stats::LogRatio, t: f64, alpha: f64) -> bool {
    let hib = row.higher_is_better;
    row.ratio = Some(w.ratio.point);
    row.interval = Some((w.ratio.lo, w.ratio.hi));
    row.p_value = Some(w.p);
    let significant = w.p < alpha;
    let dir = direction(w.ratio.point, t, hib);
    let within = direction(w.ratio.lo, t, hib) == 0 && direction(w.ratio.hi, t, hib) == 0;
    row.verdict = per_process_verdict(significant, dir, within);
    significant
}

/// A p-value as the reasons print it.
pub(super) fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Figures this pybench writes itself are never unknown to it.
        for info in metrics::CATALOGUE {
            assert_ne!(classify(info.name).0, Class::Unknown, "{}", info.name);
        }
        assert_eq!(classify("net_ops_per_sec"), (Class::Timing, true));
        assert_eq!(classify("wall_ns"), (Class::Timing, false));
    }

    /// `ops_per_sec` and `loop_ns_per_op` of the same processes are reciprocals: a time
    /// ratio of 1.0515 (beyond ±5 %) is a throughput ratio of 0.951, which the band `1 ± t`
    /// called unchanged while the time row regressed (review, 2026-12-07).
    #[test]
    fn reciprocal_metrics_of_the_same_processes_get_the_same_verdict() {
        let ns_b = vec![10.0, 10.001, 9.999];
        let ns_c: Vec<f64> = ns_b.iter().map(|x| x * 1.0515).collect();
        let ops = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| 1e9 / x).collect() };
        let row = |metric: &str, unit: &str, hib: bool, b: Vec<f64>, c: Vec<f64>| {
            judge(
                RowInput {
                    workload: "w",
                    allocator: "a",
                    metric,
                    op: None,
                    unit,
                    class: Class::Timing,
                    higher_is_better: hib,
                    baseline: b,
                    current: c,
                    tail_samples: None,
                    resolution: None,
                    peak_live: None,
                    per_process: Some(20),
                },
                &crate::compare::Settings::default(),
                0,
            )
        };
        let ns = row("loop_ns_per_op", "ns", false, ns_b.clone(), ns_c.clone());
        let op = row("ops_per_sec", "ops/s", true, ops(&ns_b), ops(&ns_c));
        assert_eq!(ns.verdict, Verdict::Regressed);
        assert_eq!(op.verdict, Verdict::Regressed);
    }
}
