//! What a run produces: a manifest plus one [`CellResult`] per (workload, allocator,
//! repetition), each holding tidy metrics (design.md §4 names) and an RSS series. This is the
//! schema of `results.json`; `results.csv` is its metrics flattened one row per value.
//! `validate`'s verdict, kept beside the cells, has its schema in a submodule of its own.

pub use super::ranged::Ranged;
use crate::metrics::Id;
use crate::sys::procfs::MachineInfo;
use serde::{Deserialize, Serialize};

mod validation;
pub use validation::{Prediction, PredictorAgreement, Resolution, Validation, ValidationRow};

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
    /// pymalloc arenas this allocator's passes mapped outside the span reserved for them
    /// (`ContenderSamples::arenas_outside_span`); absent when none, and before 2026-12-06.
    #[serde(default, skip_serializing_if = "crate::harness::throughput::is_zero")]
    pub arenas_outside_span: u64,
    /// Whether its process streamed the events (`run --stream`) rather than held them in
    /// memory: `null` reads a streamed run's records at another speed, so net figures depend on it
    /// (`compare` warns across modes). Absent before 2026-12-06.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streamed: Option<bool>,
    /// Bytes its process backed before each cold pass (`harness::throughput::ColdPrime`: a
    /// materialised replay of `run` on a machine that reports free pages to its hypervisor;
    /// 0 where nothing was). Absent before 2026-12-06, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_primed_bytes: Option<u64>,
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
    /// `--stream` and `--stream-above`: how the run chose between streaming a workload's
    /// events and holding them in memory (each cell's throughput records what was chosen),
    /// so `merge` refuses shards asked to replay differently. Absent for `exec` and in runs
    /// saved before 2026-12-06.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<crate::harness::stream_policy::StreamPolicy>,
    /// `--memory-repetitions`: how many of the first repetitions measured memory and latency
    /// (the others are throughput processes only), so `compare` can say how to get enough of
    /// them and `merge` refuses shards that differ. Absent for `exec` and in runs saved
    /// before 2026-12-06, which measured them in the first 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_repetitions: Option<u32>,
    /// `--mutator` / `--mutator-params`: throughput replayed the program's work between the
    /// allocator calls too, with these parameters (`None`: the plain loop). Kept so `merge`
    /// refuses shards measured one way and the other (it pooled them as one experiment until
    /// 2026-12-07) and `compare` names the difference. Runs saved before then said it only in
    /// their cells' notes ([`crate::harness::mutator_fit::is_mutator_cell`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutator: Option<crate::harness::mutator::MutatorParams>,
    /// What a bare `-a pymalloc` became on each workload (workload → its Python version's
    /// engine preset, `pymalloc:cpython-3.9`); empty when `-a` did not name it. A bare
    /// `pymalloc` reference is this row, not the first engine row (a custom geometry listed
    /// earlier, another version's preset), and the overall ranking joins these rows into one
    /// `pymalloc` when workloads of different Pythons make them differ. Absent in runs saved
    /// before 2026-12-07, which fall back to the first preset row.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pymalloc_presets: std::collections::BTreeMap<String, String>,
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
    /// When each shard of a merged run started (`merge`, ascending); empty for a run made
    /// in one piece, whose `started_utc` says it. `compare` reads from them whether two runs
    /// sampled the same stretch of time (interleaved shard by shard, as `scripts/ab.sh`
    /// makes them) or stretches apart, whose drift can read as a change. Absent in runs
    /// merged before 2026-12-06.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shard_starts_utc: Vec<String>,
}

/// What a run's measured replay cells say about one workload's stream: its allocator-event
/// counts and its fingerprints (one value each when every cell replayed the same stream;
/// exec and failed cells say nothing, and cells from before fingerprints no fingerprint).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StreamIds<'a> {
    pub lengths: std::collections::BTreeSet<u64>,
    pub fingerprints: std::collections::BTreeSet<&'a str>,
}

impl StreamIds<'_> {
    /// Whether these cells and `other`'s (one workload, two runs or shards) replayed
    /// different streams: their fingerprints have none in common where both have some
    /// (results since 2026-12-01), else their allocator-event counts have none in common
    /// (equal counts prove nothing).
    pub fn differ(&self, other: &Self) -> bool {
        if self.fingerprinted() && other.fingerprinted() {
            self.fingerprints.is_disjoint(&other.fingerprints)
        } else {
            self.lengths.is_disjoint(&other.lengths)
        }
    }

    /// Whether any cell recorded its stream's fingerprint.
    pub fn fingerprinted(&self) -> bool {
        !self.fingerprints.is_empty()
    }

    /// How they differ, for a message: "321 vs 400 allocator events a pass", or
    /// "fingerprints A vs B, both 321 allocator events a pass".
    pub fn difference(&self, other: &Self) -> String {
        if self.lengths.is_disjoint(&other.lengths) {
            format!(
                "{} vs {} allocator events a pass",
                joined(&self.lengths),
                joined(&other.lengths)
            )
        } else {
            format!(
                "fingerprints {} vs {}, both {} allocator events a pass",
                joined(&self.fingerprints),
                joined(&other.fingerprints),
                joined(&self.lengths)
            )
        }
    }
}

/// Values joined with "/" (cells that disagree show them all).
fn joined<T: ToString>(s: &std::collections::BTreeSet<T>) -> String {
    s.iter().map(T::to_string).collect::<Vec<_>>().join("/")
}

impl RunResults {
    /// The command that wrote this file (`run`, `merge`, `exec`, …): the first argument that
    /// is not a flag.
    pub fn subcommand(&self) -> Option<&str> {
        (self.command_line.iter().skip(1))
            .map(String::as_str)
            .find(|a| !a.starts_with('-'))
    }

    pub fn failed_cells(&self) -> usize {
        self.cells.iter().filter(|c| !c.is_ok()).count()
    }

    /// When the run's pieces started, ascending: each shard's start for a merged run, its
    /// own start otherwise; empty when not recorded (a run merged before `merge` kept its
    /// shards' starts has its first shard's start alone, which would pass for a run made in
    /// one piece).
    pub fn start_times(&self) -> Vec<&str> {
        let mut starts: Vec<&str> = if !self.shard_starts_utc.is_empty() {
            self.shard_starts_utc.iter().map(String::as_str).collect()
        } else if self.subcommand() == Some("merge") {
            Vec::new()
        } else {
            vec![self.started_utc.as_str()]
        };
        starts.retain(|s| !s.is_empty());
        starts.sort_unstable();
        starts
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
            arenas_outside_span: 0,
            streamed: None,
            cold_primed_bytes: None,
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
            shard_starts_utc: Vec::new(),
        }
    }
}
