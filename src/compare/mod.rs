//! `pybench compare`: matches two runs' cells by workload, allocator, metric and op, and
//! decides for each metric whether it regressed, improved, stayed the same, or cannot be
//! told apart from noise.
//!
//! How each kind of metric is judged (README "Comparing runs (CI)"); a metric's kind comes from
//! the catalogue (`crate::metrics`), so a new metric needs no code here:
//! - **throughput with per-pass samples** (`ops_per_sec`, `loop_ns_per_op`, their net
//!   forms and `harness_ns_per_op`, when every cell of the pair carries
//!   [`ThroughputSamples`](crate::report::model::ThroughputSamples)): one figure per process
//!   (the median of its samples), compared by Welch's t-test on logarithms with the interval
//!   of the ratio of geometric means; a change counts when that interval excludes 1 and the
//!   ratio lies beyond the threshold. The processes, not the passes, are the independent
//!   units (`stats::welch_log_ratio`); this is what lets the default three repetitions reach
//!   significance.
//! - **other timing** (`lat_*`, `cold_ns_per_op`, `task_clock_ns`, `exec`'s `*_ns`, and
//!   throughput from files without samples): the repetitions of
//!   each side are compared with a two-sided Mann-Whitney U test and a percentile-bootstrap
//!   interval of the ratio of medians; a change counts only when it is significant *and* the
//!   whole interval lies beyond the threshold.
//! - **counters** (`minor_faults`, `context_switches`, hardware counters): they vary between
//!   repetitions for reasons outside the code under test (page reuse, scheduling), like
//!   timings do, so they go through the same test, with their own (larger) threshold.
//! - **memory** (RSS figures, `frag_ratio`): most cells give the same pages in every
//!   process, but retained RSS moves between a few modes, so a change counts when the ratio
//!   lies beyond the threshold, the bytes beyond a floor of a few pages, and (two or more
//!   figures a side) Welch's test on the logarithms calls it significant (`memory`).
//!   The engine's `bytes_lost_arena_alignment` and `bytes_in_unused_pools` are judged the same
//!   way: they depend on whether an arena starts on a pool boundary, which a run whose
//!   arena span could not be reserved (`sys/arena_region.rs`) leaves to mmap.
//! - **deterministic** (the rest of the engine accounting, `peak_live_bytes`): the same
//!   stream gives the same figures on any machine, so any change is reported; growth is a
//!   regression.
//! - informational (`timer_overhead_ns`, `timed_ops`) and unknown metrics are not compared;
//!   the report lists unknown ones so nothing is dropped silently.
//!
//! With `--relative-to` (`relative`) the throughput figures are each allocator's ratio to a
//! reference taken round by round inside each process, then judged per process as above.
//!
//! The timing and counter rows tested are then judged as one family (`family`): a change
//! counts only when its Benjamini–Hochberg q-value is below α too (`--correction none`:
//! each row alone).

mod apart;
mod caveats;
mod family;
mod geomeans;
mod groups;
mod load;
mod machine;
mod memory;
mod ranked;
mod relative;
pub mod report;
mod rows;
mod skipped;
mod streams;
mod verdict;

use caveats::parameter_notes;
pub use caveats::{arena_warning, mismatch_warnings, same_run_warning};
pub use family::{Correction, Family};
use geomeans::geomeans;
pub use geomeans::GeoMean;
use groups::{group, match_groups};
pub use load::{load, parse, results_file, MAX_RESULTS_BYTES};
pub use machine::{
    build_warning, build_warning_for, clock_warning, cpu_warning, governor_warning,
    reporting_warning, thp_warning,
};
use skipped::Skipped;
pub use streams::{mode_word, replay_modes, stream_warnings};

pub use verdict::{
    classify, Class, DEFAULT_MEMORY_FLOOR, MIN_SAMPLES_PER_PROCESS, MIN_TAIL_SAMPLES,
};

use crate::report::model::{RunResults, FORMAT_VERSION};
use serde::Serialize;
use std::path::PathBuf;

/// Why two result files cannot be compared (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    // Not named `source`: that would make it the error's cause too, printed a second time.
    #[error("{path}: cannot read: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A folder with no `results.json`, of its own or in a run folder inside it.
    #[error("{path}: not a results folder (no results.json in it, nor in a run folder inside it)")]
    NotResults { path: PathBuf },
    /// A folder with no `results.json` of its own but several run folders inside (the
    /// `--out` of several runs): which one is meant is the user's call.
    #[error("{path} holds no results.json but {} run folders; name one of them, e.g. {}", .runs.len(), .runs.last().map(|r| r.display().to_string()).unwrap_or_default())]
    SeveralRuns { path: PathBuf, runs: Vec<PathBuf> },
    /// A results folder whose `results.json` is a FIFO, a directory, … (`compare::load`).
    #[error(
        "{path}: a {kind}, not a regular file: the results.json of a results folder must be a file"
    )]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: larger than the limit of {limit} bytes for a results file")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: not a pybench results file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path}: results format version {found}, this pybench reads version {FORMAT_VERSION} \
         (re-run the benchmark with this pybench, or compare with the version that wrote it)"
    )]
    Version { path: PathBuf, found: u64 },
    #[error(
        "runs differ in {0}; their figures are not comparable (pass --allow-mismatch to \
         compare anyway)"
    )]
    Parameters(String),
    #[error(
        "metric {metric} is in {baseline} in the baseline but in {current} in the current run"
    )]
    Units {
        metric: String,
        baseline: String,
        current: String,
    },
    /// Cells (`workload × allocator`) with a successful repetition on one side only: one
    /// line naming them, the first few of each side (a run of many cells would otherwise
    /// print a screenful).
    #[error("{}", groups::missing_cells_line(only_baseline, only_current))]
    MissingCells {
        only_baseline: Vec<String>,
        only_current: Vec<String>,
    },
    /// `--relative-to` names no usable reference.
    #[error("--relative-to {0}")]
    RelativeTo(String),
    /// No cell on both sides: each side's cells, a few of each.
    #[error("{}", groups::nothing_shared_line(baseline, current))]
    NothingShared {
        baseline: Vec<String>,
        current: Vec<String>,
    },
    /// Which side: "neither run has a", "the baseline has no", "the current run has no".
    #[error("{0} successful cell (every cell failed, or none ran): nothing to compare")]
    NoSuccessfulCell(&'static str),
}

/// A verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regressed,
    Improved,
    Unchanged,
    /// Spelt as in the Markdown table and the CSV (`label`), so one script reads the
    /// verdicts of every format alike (JSON said `not_significant` until 2026-12-05).
    #[serde(rename = "not significant")]
    NotSignificant,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::NotSignificant => "not significant",
        }
    }
}

/// Thresholds and test settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Timing: a change counts when the whole interval lies beyond this fraction.
    pub threshold: f64,
    /// Memory metrics: ratio of medians beyond this fraction.
    pub memory_threshold: f64,
    /// Counters: as timing, with this fraction.
    pub counter_threshold: f64,
    /// Memory metrics: smallest change in bytes that counts (RSS moves by a few pages
    /// between processes for reasons unrelated to the allocator: ASLR, libc's own heap).
    pub memory_floor: f64,
    /// Significance level of the U test; the interval's level is 1 − alpha.
    pub alpha: f64,
    pub resamples: usize,
    pub allow_mismatch: bool,
    /// Compare the (workload, allocator) cells both runs have and list the others, instead
    /// of refusing runs whose cells differ.
    pub shared_only: bool,
    /// Classes whose regressions fail the comparison (exit 1); the others are reported only.
    pub fail_on: Vec<Class>,
    /// Judge throughput as each allocator's ratio to this one, measured in the same
    /// processes (`--relative-to`), so a shift of the host's speed both share cancels.
    pub relative_to: Option<String>,
    /// Whether the timing and counter rows are judged as one family (`--correction`).
    pub correction: Correction,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.05,
            memory_threshold: 0.05,
            counter_threshold: 0.25,
            memory_floor: DEFAULT_MEMORY_FLOOR,
            alpha: 0.05,
            resamples: 10_000,
            allow_mismatch: false,
            shared_only: false,
            fail_on: vec![
                Class::Timing,
                Class::Counter,
                Class::Memory,
                Class::Deterministic,
            ],
            relative_to: None,
            correction: Correction::Fdr,
        }
    }
}

/// One compared metric of one (workload, allocator).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    pub allocator: String,
    pub metric: String,
    pub op: Option<String>,
    pub unit: String,
    pub class: Class,
    pub higher_is_better: bool,
    pub baseline: Vec<f64>,
    pub current: Vec<f64>,
    pub baseline_median: f64,
    pub current_median: f64,
    /// current / baseline medians; `None` when the baseline is zero, and for a `signed`
    /// metric (a ratio of figures that can be ≤ 0 has no direction: `ranked`).
    pub ratio: Option<f64>,
    /// current − baseline medians, for a `signed` metric (`net_loop_ns_per_op`) only: what
    /// its row is judged and shown by instead of `ratio`.
    pub difference: Option<f64>,
    /// Bootstrap interval of the ratio (timing and counters), or of the difference when
    /// `difference` is set.
    pub interval: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    /// The Benjamini–Hochberg adjusted p-value among the rows tested together (`family`);
    /// `None` for rows outside the family or with `--correction none`.
    pub q_value: Option<f64>,
    /// The rank test's method, when one ran. Not serialized as it is: JSON's `test` is
    /// [`Row::test_name`], the CSV's column, which also names Welch's tests (it said
    /// `exact` or null where the CSV said `mann_whitney_exact` or `welch_log`).
    #[serde(skip)]
    pub test: Option<crate::stats::UMethod>,
    pub verdict: Verdict,
    /// Why a row is not significant, or anything else the reader should know.
    pub reason: Option<String>,
    /// Set on a latency percentile left unjudged because too few timed ops lie above it
    /// (how many: fewer than 10, and always so for `lat_max`).
    pub thin_tail: Option<u64>,
    /// Set when the row was judged on per-process figures from per-pass samples (Welch);
    /// `p_value` is then Welch's and `ratio` that of geometric means.
    pub per_process: Option<PerProcess>,
    /// Whether the default report shows the row: regressed, improved, or a change beyond
    /// the threshold the test could not confirm.
    pub changed: bool,
    /// With `--relative-to`: the reference this row's figures are ratios to (unit `ratio`).
    pub relative_to: Option<String>,
}

/// How a per-process row was tested.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerProcess {
    /// Fewest per-pass samples behind one process's figure, on either side.
    pub samples: usize,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
}

/// Identity of one side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub run: String,
    pub pybench_version: String,
    pub git_commit: Option<String>,
    pub cpu: Option<String>,
    /// What the run asked: with `precision`, the fewest processes a workload got.
    pub repetitions: u32,
    /// `run --precision`: workloads may have more processes than `repetitions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<crate::report::precision::Precision>,
}

impl Side {
    fn of(r: &RunResults) -> Self {
        Side {
            run: r.run.clone(),
            pybench_version: r.pybench_version.clone(),
            git_commit: r.git_commit.clone(),
            cpu: r.machine.cpu_model.clone(),
            repetitions: r.parameters.repetitions,
            precision: r.parameters.precision,
        }
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub baseline: Side,
    pub current: Side,
    pub settings: Settings,
    #[serde(serialize_with = "rows_with_test_names")]
    pub rows: Vec<Row>,
    pub geomeans: Vec<GeoMean>,
    /// Caveats: parameter differences allowed, metrics only on one side, few repetitions.
    pub notes: Vec<String>,
    /// The rows tested as one family and the changes it took back (`None`: `--correction
    /// none`).
    pub family: Option<Family>,
    /// With `shared_only`: the (workload × allocator) cells with a successful repetition on
    /// one side only, not compared.
    pub only_in_baseline: Vec<String>,
    pub only_in_current: Vec<String>,
}

impl Row {
    /// The test behind the row's p-value, named as the CSV's `test` column and JSON's `test`
    /// field name it (one spelling for both): `welch_log_per_process`,
    /// `welch_difference_per_process` (a signed metric), `welch_log` (memory),
    /// `mann_whitney_exact`, `mann_whitney_normal`; `None` when no test ran (exact metrics,
    /// identical sides, a single repetition).
    pub fn test_name(&self) -> Option<&'static str> {
        use crate::stats::UMethod;
        match (self.test, self.per_process) {
            (_, Some(_)) if self.difference.is_some() => Some("welch_difference_per_process"),
            (_, Some(_)) => Some("welch_log_per_process"),
            (None, None) if self.class == Class::Memory && self.p_value.is_some() => {
                Some("welch_log")
            }
            (Some(UMethod::Exact), _) => Some("mann_whitney_exact"),
            (Some(UMethod::Normal), _) => Some("mann_whitney_normal"),
            (None, None) => None,
        }
    }
}

/// Serializes each row with its `test` named by [`Row::test_name`].
fn rows_with_test_names<S: serde::Serializer>(rows: &[Row], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Named<'a> {
        #[serde(flatten)]
        row: &'a Row,
        test: Option<&'static str>,
    }
    s.collect_seq(rows.iter().map(|row| Named {
        row,
        test: row.test_name(),
    }))
}

impl Comparison {
    pub fn count(&self, v: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == v).count()
    }
    /// One line per side naming the cells only that side has (`--shared-only`).
    pub fn one_sided_lines(&self) -> Vec<String> {
        [
            ("baseline", &self.only_in_baseline),
            ("current run", &self.only_in_current),
        ]
        .into_iter()
        .filter(|(_, cells)| !cells.is_empty())
        .map(|(side, cells)| {
            format!(
                "not compared, only in the {side} ({}): {}",
                cells.len(),
                cells.join(", ")
            )
        })
        .collect()
    }
    /// Whether a regression in a class of `settings.fail_on` was found (exit code 1).
    pub fn regressed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.verdict == Verdict::Regressed && self.settings.fail_on.contains(&r.class))
    }
}

/// When the repetitions are too few for any rank-tested row to be significant, say so: the
/// smallest p-value of the U test for the fewest repetitions of those rows is not below
/// alpha. (Rows judged per process from per-pass samples are not limited so.)
fn repetition_note(rows: &[Row], alpha: f64) -> Option<String> {
    let ranked = rows.iter().filter(|r| r.test.is_some());
    let nb = ranked.clone().map(|r| r.baseline.len()).min()?;
    let nc = ranked.map(|r| r.current.len()).min()?;
    let min_p = crate::stats::min_p_value(nb, nc);
    (nb >= 2 && nc >= 2 && min_p >= alpha).then(|| {
        format!(
            "with {nb} and {nc} repetitions the smallest p-value the rank test can give is \
             {min_p:.3} ≥ α = {alpha}: rank-tested rows (latency, counters, throughput without \
             per-pass samples) cannot be significant, and are not listed unless --all-rows; \
             record 4 or more a side (`run` measures latency and memory in its first \
             --memory-repetitions, 3 by default, however many -r; 8 for one row to stand out \
             among a hundred judged together), in runs made interleaved \
             (`scripts/ab.sh`): latency percentiles of runs made apart differ by more than \
             their processes do"
        )
    })
}

/// The note on a group some of whose repetitions failed on `side`.
fn failed_note(g: &groups::Group, side: &str) -> Option<String> {
    (g.failed > 0).then(|| {
        format!(
            "{} × {}: {} of {} repetition(s) failed in the {side}; the rest compared",
            g.workload,
            g.allocator,
            g.failed,
            g.failed + g.samples.len()
        )
    })
}

/// What the judged rows say as a whole: too few repetitions for the rank test, and a shift
/// every allocator shares.
fn notes_on_rows(rows: &[Row], s: &Settings) -> Vec<String> {
    let mut notes: Vec<String> = repetition_note(rows, s.alpha).into_iter().collect();
    notes.extend(caveats::shared_shift_notes(
        rows,
        s.threshold,
        s.relative_to.as_deref(),
    ));
    notes
}

/// Compares `current` with `baseline`: matches their (workload, allocator) groups, judges
/// every metric both measured, and notes what could not be compared.
pub fn compare(
    baseline: &RunResults,
    current: &RunResults,
    settings: &Settings,
) -> Result<Comparison, CompareError> {
    let mut notes = parameter_notes(baseline, current, settings)?;
    let (gb, gc) = (group(baseline), group(current));
    let mut rows = Vec::new();
    let mut skipped = Skipped::default();
    let matched = match_groups(&gb, &gc, settings.shared_only)?;
    let references = match &settings.relative_to {
        Some(asked) => {
            let workloads =
                crate::report::first_seen(matched.pairs.iter().map(|(b, _)| b.workload.as_str()));
            relative::references(asked, &gb, &gc, &workloads)?
        }
        None => Vec::new(),
    };
    for &(b, c) in &matched.pairs {
        let reference = references.iter().find(|r| r.workload == b.workload);
        let harness_here = rows::judges_harness(&matched.pairs, b);
        rows.extend(rows::compare_group(
            b,
            c,
            settings,
            (reference, harness_here),
            &mut skipped,
        )?);
        notes.extend(failed_note(b, "baseline"));
        notes.extend(failed_note(c, "current run"));
    }
    if let Some(asked) = &settings.relative_to {
        if !rows::any_relative(&rows) {
            return Err(CompareError::RelativeTo(format!(
                "{asked}: no throughput figure could be paired with it (the runs need \
                 per-pass samples, with {asked} measured in the same processes)"
            )));
        }
    }
    let family = family::control(&mut rows, settings);
    notes.extend(caveats::harness_only_note(baseline, current));
    notes.extend(apart::apart_note(baseline, current, &rows));
    notes.extend(skipped.notes());
    notes.extend(notes_on_rows(&rows, settings));
    let geomeans = geomeans(&rows);
    Ok(Comparison {
        baseline: Side::of(baseline),
        current: Side::of(current),
        settings: settings.clone(),
        rows,
        geomeans,
        notes,
        family,
        only_in_baseline: matched.only_baseline,
        only_in_current: matched.only_current,
    })
}

/// `lat_p99` or `lat_p99[malloc]`.
pub fn metric_label(name: &str, op: Option<&str>) -> String {
    match op {
        Some(op) => format!("{name}[{op}]"),
        None => name.to_string(),
    }
}
