//! What a run produces: a manifest plus one [`CellResult`] per (workload, allocator,
//! repetition), each holding tidy metrics (design.md §4 names) and an RSS series. This is the
//! schema of `results.json`; `results.csv` is its metrics flattened one row per value.

pub use super::ranged::Ranged;
use crate::metrics::Id;
use crate::sys::procfs::MachineInfo;
use serde::{Deserialize, Serialize};

/// Bumped whenever a change would make older result files compare wrongly.
pub const FORMAT_VERSION: u32 = 1;

/// One metric value. `op` is the operation kind for latency metrics (`malloc`, `free`,
/// `realloc`, `calloc`, `all`) and `None` otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    pub value: f64,
    pub unit: String,
}

impl Metric {
    pub fn new(name: &str, value: f64, unit: &str) -> Self {
        Metric {
            name: name.to_string(),
            op: None,
            value,
            unit: unit.to_string(),
        }
    }

    pub fn with_op(name: &str, op: &str, value: f64, unit: &str) -> Self {
        Metric {
            op: Some(op.to_string()),
            ..Metric::new(name, value, unit)
        }
    }

    /// A value of a catalogued metric, in the catalogue's unit.
    pub fn of(id: Id, value: f64) -> Self {
        Metric::new(id.name(), value, id.unit())
    }

    /// A per-operation value of a catalogued metric (`op`: `malloc`, …, or a size class).
    pub fn of_op(id: Id, op: &str, value: f64) -> Self {
        Metric::with_op(id.name(), op, value, id.unit())
    }

    /// The catalogue's entry for this metric; `None` for a name this version does not know
    /// (from a file another version wrote).
    pub fn id(&self) -> Option<Id> {
        Id::from_name(&self.name)
    }
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CellStatus {
    Ok,
    Failed { reason: String },
}

/// Whether a cell replayed an event stream or executed the real program (issue: ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    #[default]
    Replay,
    Exec,
}

/// The measurements of one (workload, allocator, repetition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub workload: String,
    pub allocator: String,
    pub repetition: u32,
    #[serde(default)]
    pub kind: CellKind,
    #[serde(flatten)]
    pub status: CellStatus,
    /// Allocator events replayed (markers excluded).
    pub events: u64,
    /// The replayed stream's fingerprint (16 hex digits, [`crate::workload::StreamHasher`]
    /// over every event, markers included, after any `--allow-malformed` repair), so
    /// `compare` and `merge` can tell a changed stream of the same length from the same
    /// stream: a memory cell's from its own replay, a cell of throughput alone (and `null`
    /// beside allocators) from its throughput process. Absent in results written before
    /// 2026-12-01 (before 2026-12-05 on cells of throughput alone), and in exec and failed
    /// cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_fingerprint: Option<String>,
    pub metrics: Vec<Metric>,
    /// (allocator events done, RSS − baseline in bytes), about 1,000 points.
    #[serde(default)]
    pub rss_series: Vec<(u64, u64)>,
    /// Latency percentile curves per op kind: (percentile 0–100, nanoseconds), at HDR-style
    /// points that halve the remaining tail each step (50, 75, 87.5, … 99.999, 100).
    #[serde(default)]
    pub latency_curves: std::collections::BTreeMap<String, Vec<(f64, f64)>>,
    /// Counters this machine could not provide (reported absent, never as zero).
    #[serde(default)]
    pub absent_counters: Vec<String>,
    /// Anything the reader should know (e.g. which pass a figure came from).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The per-pass throughput samples behind `ops_per_sec` and the net figures (absent in
    /// results written before issue 12, and in exec cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<ThroughputSamples>,
}

/// One allocator's throughput samples from a throughput process, with the `null` samples of
/// the same rounds (the harness's own cost, measured in the same process, interleaved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputSamples {
    /// Samples of allocators with the same group id come from one process, round by round:
    /// their i-th samples were taken back to back and may be paired.
    pub group: String,
    /// Minimum duration of a sample, and how many passes of the stream each one sums.
    pub min_time_ns: u64,
    pub passes_per_sample: u32,
    /// The first pass on the fresh allocator (page faults, first-touch), reported apart.
    pub cold_ns_per_op: f64,
    /// Gross nanoseconds per event, one per round.
    pub ns_per_op: Vec<f64>,
    /// `null`'s nanoseconds per event in the same rounds.
    pub null_ns_per_op: Vec<f64>,
    /// Minor page faults per timed (warm) pass in this process
    /// (`ContenderSamples::warm_faults_per_pass`); absent before 2026-12-04.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_faults_per_pass: Option<f64>,
}

impl ThroughputSamples {
    /// Net nanoseconds per event, round by round: allocator − `null` of the same round.
    pub fn net_ns_per_op(&self) -> Vec<f64> {
        self.ns_per_op
            .iter()
            .zip(&self.null_ns_per_op)
            .map(|(a, n)| a - n)
            .collect()
    }
}

impl CellResult {
    /// A successful cell of `kind` with no metrics yet.
    pub fn new(workload: &str, allocator: &str, repetition: u32, kind: CellKind) -> Self {
        CellResult {
            workload: workload.to_string(),
            allocator: allocator.to_string(),
            repetition,
            kind,
            status: CellStatus::Ok,
            events: 0,
            stream_fingerprint: None,
            metrics: Vec::new(),
            rss_series: Vec::new(),
            latency_curves: Default::default(),
            absent_counters: Vec::new(),
            notes: Vec::new(),
            throughput: None,
        }
    }

    /// A replay cell that produced no measurement.
    pub fn failed(workload: &str, allocator: &str, repetition: u32, reason: String) -> Self {
        CellResult {
            status: CellStatus::Failed { reason },
            ..Self::new(workload, allocator, repetition, CellKind::Replay)
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == CellStatus::Ok
    }

    /// The value of metric `name` (for `op`, or the op-less one when `op` is `None`); `name`
    /// is a [`crate::metrics::Id`] or, for names from other versions, a string.
    pub fn metric(&self, name: impl AsRef<str>, op: Option<&str>) -> Option<f64> {
        let name = name.as_ref();
        self.metrics
            .iter()
            .find(|m| m.name == name && m.op.as_deref() == op)
            .map(|m| m.value)
    }
}

/// An allocator as it was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocatorInfo {
    pub name: String,
    pub version: String,
}

/// The knobs of a run, as given or defaulted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunParameters {
    pub workloads: Vec<String>,
    pub allocators: Vec<String>,
    pub repetitions: u32,
    pub scale: Option<u64>,
    pub seed: Option<u64>,
    pub python: Option<String>,
    pub touch: String,
    pub sample_every: u32,
    /// How throughput was measured (`--min-time`, `--rounds`, warm-up, `--fixed-layout`), so
    /// two runs' samples can be told apart; absent for `exec` and in runs saved before
    /// 2026-11-30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::harness::throughput::Calibration>,
    /// `--reference` as given: the allocator ratios and sentences are relative to (`None`:
    /// the default, pymalloc else the first allocator). Kept so that `summary.md`,
    /// `index.html` and a later `pybench plot` say what the terminal table said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `--precision` and `--max-repetitions`: the run measured further throughput processes
    /// until its ratios were this narrow (so workloads may have more processes than
    /// `repetitions`, which is then the least each got).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<super::precision::Precision>,
}

impl RunParameters {
    /// "20 repetition(s)", or with `--precision` "20 or more repetition(s) (--precision
    /// ±2.5 %)": what headers and captions say of the processes behind the figures.
    pub fn repetitions_said(&self) -> String {
        match self.precision {
            None => format!("{} repetition(s)", self.repetitions),
            Some(p) => format!(
                "{} or more repetition(s) (--precision ±{} %)",
                self.repetitions,
                super::digits::half_width_pct(p.half_width)
            ),
        }
    }
}

/// Everything a run writes to `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub format_version: u32,
    pub pybench_version: String,
    pub git_commit: Option<String>,
    /// The results directory name: `<utc-timestamp>-<label>`.
    pub run: String,
    pub started_utc: String,
    pub command_line: Vec<String>,
    pub machine: MachineInfo,
    pub parameters: RunParameters,
    pub allocators: Vec<AllocatorInfo>,
    pub cells: Vec<CellResult>,
    /// True when the run did not finish every cell: interrupted (Ctrl-C, SIGTERM), or
    /// stopped before its end (a failed save, a kill), or still running — every save a run
    /// makes before its last says so.
    #[serde(default)]
    pub interrupted: bool,
    /// `pybench validate`: the replay's verdict next to the real program's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

/// One allocator in a validation: what the replay predicted and what the real run showed.
/// Times in seconds, memory in bytes; medians over repetitions; ranks 1 = best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRow {
    pub allocator: String,
    /// The allocator the replay used for it (`None`: no in-process equivalent).
    pub replay_allocator: Option<String>,
    pub replay_time_s: Option<f64>,
    pub real_wall_s: Option<f64>,
    pub replay_peak_rss: Option<f64>,
    pub real_peak_rss: Option<f64>,
    pub replay_time_rank: Option<f64>,
    pub real_time_rank: Option<f64>,
    pub replay_memory_rank: Option<f64>,
    pub real_memory_rank: Option<f64>,
    /// Replay time minus the pymalloc replay's: the allocator time the replay says it saves
    /// (negative) or costs.
    pub predicted_delta_s: Option<f64>,
    /// Real wall time minus the real pymalloc run's.
    pub observed_delta_s: Option<f64>,
    /// 95 % bootstrap intervals `[lo, hi]` of the four medians above (`None` from one run).
    #[serde(default)]
    pub replay_time_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub real_wall_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub replay_rss_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub real_rss_ci: Option<[f64; 2]>,
    /// Against the reference allocator (`Validation::reference`) on the same side: ratio of
    /// medians `[point, lo, hi]` (95 % bootstrap; `[point]` when a side has one run), time and
    /// memory, predicted and observed.
    #[serde(default)]
    pub predicted_time_ratio: Option<Ranged>,
    #[serde(default)]
    pub observed_time_ratio: Option<Ranged>,
    #[serde(default)]
    pub predicted_memory_ratio: Option<Ranged>,
    #[serde(default)]
    pub observed_memory_ratio: Option<Ranged>,
    /// The allocator's version on each side (from the manifest); they differ when the real
    /// run preloads another build than the replay links.
    #[serde(default)]
    pub real_version: Option<String>,
    #[serde(default)]
    pub replay_version: Option<String>,
    /// The mutator replay (issue 14 item 2: the program's recorded work between the calls):
    /// its time for the whole trace, median and 95 % interval.
    #[serde(default)]
    pub mutator_time_s: Option<f64>,
    #[serde(default)]
    pub mutator_time_ci: Option<[f64; 2]>,
    /// Differences from the reference on each side, `[point, lo, hi]` (medians' difference,
    /// 95 % bootstrap; `[point]` when a side has one run): plain replay, mutator replay, real
    /// wall time, real CPU time.
    #[serde(default)]
    pub plain_delta: Option<Ranged>,
    #[serde(default)]
    pub mutator_delta: Option<Ranged>,
    /// The same from each replay process's cold first pass (the allocator fresh, as the
    /// program's is), per mode.
    #[serde(default)]
    pub plain_cold_delta: Option<Ranged>,
    #[serde(default)]
    pub mutator_cold_delta: Option<Ranged>,
    #[serde(default)]
    pub observed_wall_delta: Option<Ranged>,
    #[serde(default)]
    pub observed_cpu_delta: Option<Ranged>,
}

/// The replay's verdict against the real program's (issue: ground truth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub program: String,
    pub trace: String,
    pub rows: Vec<ValidationRow>,
    /// Kendall's tau-b between the replay's and the real run's rankings (allocators measured
    /// on both sides), by time and by peak memory.
    pub tau_time: Option<f64>,
    pub tau_memory: Option<f64>,
    /// Every pair of allocators the two sides order differently, in words.
    pub disagreements: Vec<String>,
    /// Tau over the pairs whose real difference is significant (`exec::agreement`).
    #[serde(default)]
    pub tau_time_significant: Option<f64>,
    #[serde(default)]
    pub tau_memory_significant: Option<f64>,
    /// Pairs the real runs cannot tell apart (not significant), in words: neither agreement
    /// nor disagreement.
    #[serde(default)]
    pub indistinguishable: Vec<String>,
    /// Counts of (agree, disagree, indistinguishable) pairs, time then memory.
    #[serde(default)]
    pub pair_counts: Option<[[usize; 3]; 2]>,
    /// The allocator both sides' differences are taken against.
    #[serde(default)]
    pub reference: Option<String>,
    /// How finely the real runs resolve, time then memory: an indistinguishable pair is no
    /// difference or too few runs, and this says which differences the runs could have seen.
    #[serde(default)]
    pub resolution: Option<[Option<Resolution>; 2]>,
    /// Which replay figure predicts the program's time: the time table, its ranks and
    /// differences, the disagreements and `tau_time*` use it. Runs saved before the choice
    /// existed used the warm passes.
    #[serde(default)]
    pub prediction: Prediction,
    /// The time agreement with each replay process's cold first pass as the prediction
    /// (`None` without cold figures, and in runs saved before it was computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_cold: Option<PredictorAgreement>,
    /// The same with the warm passes as the prediction (absent in runs saved before
    /// 2026-12-02, whose headline figures were the warm ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_warm: Option<PredictorAgreement>,
}

/// Which of a replay process's passes stands for the real program's allocator time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The passes after the first: the allocator in its steady state.
    #[default]
    Warm,
    /// Each process's first pass, on a fresh allocator, as the program's one run has: its
    /// first-use costs (page faults, huge pages the host takes back, arenas and caches set
    /// up) are in it and in no warm pass. It ranked the allocators as the real runs did more
    /// often on both kinds of host measured (README, "Does the replay predict …").
    Cold,
}

impl Prediction {
    pub fn name(self) -> &'static str {
        match self {
            Prediction::Warm => "warm",
            Prediction::Cold => "cold",
        }
    }

    /// What the figure is, in the words the validation's output uses.
    pub fn meaning(self) -> &'static str {
        match self {
            Prediction::Warm => "the replay processes' later passes, the allocator warm",
            Prediction::Cold => {
                "each replay process's first pass, on a fresh allocator as the program's one run"
            }
        }
    }
}

/// The time agreement with one replay figure as the prediction ([`Prediction`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PredictorAgreement {
    /// Tau over the pairs the real runs tell apart.
    pub tau_significant: Option<f64>,
    /// Kendall's tau-b over all pairs.
    pub tau: Option<f64>,
    /// (agree, disagree, indistinguishable) pairs.
    pub pairs: [usize; 3],
}

/// What the real runs of one figure can tell apart ([`crate::stats::detectable_difference`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// One run's robust spread relative to its median, the median over the allocators.
    pub spread: f64,
    /// Runs of each allocator (the fewest any allocator had).
    pub runs: usize,
    /// The smallest relative difference those runs detect about 4 times in 5 (p < 0.05).
    pub detectable: f64,
    /// Runs of each allocator needed to detect a 5 % difference as reliably.
    pub runs_for_5_percent: u64,
}

/// What a run's measured replay cells say about one workload's stream: its allocator-event
/// counts and its fingerprints (one value each when every cell replayed the same stream;
/// exec and failed cells say nothing, and cells from before fingerprints no fingerprint).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StreamIds<'a> {
    pub lengths: std::collections::BTreeSet<u64>,
    pub fingerprints: std::collections::BTreeSet<&'a str>,
}

impl RunResults {
    pub fn failed_cells(&self) -> usize {
        self.cells.iter().filter(|c| !c.is_ok()).count()
    }

    /// Per workload, the streams its measured replay cells replayed ([`StreamIds`]).
    pub fn streams(&self) -> std::collections::BTreeMap<&str, StreamIds<'_>> {
        let mut m: std::collections::BTreeMap<&str, StreamIds<'_>> = Default::default();
        for c in &self.cells {
            if c.is_ok() && c.kind == CellKind::Replay && c.events > 0 {
                let s = m.entry(c.workload.as_str()).or_default();
                s.lengths.insert(c.events);
                s.fingerprints.extend(c.stream_fingerprint.as_deref());
            }
        }
        m
    }

    /// A replay cell of workload `w` measured in repetition `rep`'s throughput process, with
    /// these per-pass samples of the allocator and of `null`: for the report modules' tests.
    #[cfg(test)]
    pub(crate) fn sampled_cell(
        w: &str,
        a: &str,
        rep: u32,
        ns: Vec<f64>,
        null: Vec<f64>,
    ) -> CellResult {
        let mut c = CellResult::new(w, a, rep, CellKind::Replay);
        c.throughput = Some(ThroughputSamples {
            group: format!("{w}/rep{}/g0", rep + 1),
            min_time_ns: 1,
            passes_per_sample: 1,
            cold_ns_per_op: 1.0,
            ns_per_op: ns,
            null_ns_per_op: null,
            warm_faults_per_pass: None,
        });
        c
    }

    /// A run of just these cells, every other field empty or default: for the report
    /// modules' tests.
    #[cfg(test)]
    pub(crate) fn of_cells(cells: Vec<CellResult>) -> RunResults {
        RunResults {
            format_version: 1,
            pybench_version: String::new(),
            git_commit: None,
            run: "t".into(),
            started_utc: String::new(),
            command_line: Vec::new(),
            machine: Default::default(),
            parameters: Default::default(),
            allocators: Vec::new(),
            cells,
            interrupted: false,
            validation: None,
        }
    }
}
