//! The metric catalogue: every figure pybench writes, in one table with its unit, which way is
//! better, what kind of figure it is and where it is shown. The cell writes metrics by [`Id`];
//! `compare` judges a metric by its [`Kind`]; the summary, the terminal table and the plots
//! take their columns, headings and units from here.
//!
//! Results files store metric *names* (design.md §4), so a file written by another version
//! may hold names this table does not know: [`Id::from_name`] returns `None` for them and
//! they still load (`report::model::Metric` keeps the name as a string); `compare` lists
//! them as "unknown to this pybench version" instead of dropping them silently.
//!
//! # How to add a metric
//! 1. Add one line to the `catalogue!` table below: `Variant = "name", "unit", better, Kind,
//!    Level, "heading", "one-line description";` (with `, signed` before the `;` for a
//!    difference that may fall below zero). The name is what results files store: never
//!    rename one (old files would stop comparing), add a new one instead.
//! 2. Emit it where it is measured with `Metric::of(Id::Variant, value)` (or
//!    `Metric::of_op` for a per-operation figure).
//! 3. That is all `compare` needs: the kind decides the statistics (Time and Counter: U test
//!    and bootstrap interval; Memory: ratio and page floor; Engine: any change). To show it in
//!    the summary table, give it `Headline` and add a `Column` in `report/summary.rs`; to plot
//!    it, see `plot/mod.rs`.

use std::fmt;
use std::str::FromStr;

/// What kind of figure a metric is; decides how `compare` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Wall or CPU time, or a rate derived from it: noisy between repetitions.
    Time,
    /// Bytes of RSS or a ratio of them: whole pages, moves little between repetitions.
    Memory,
    /// The engine's own accounting: the same stream gives the same figure on any machine.
    Engine,
    /// Event counts of the kernel or the CPU (faults, switches, misses): noisy like time.
    Counter,
    /// About the measurement, not the allocator (timer overhead, sample counts): not judged.
    Info,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Neither (informational figures).
    Neither,
}

/// Where a metric is shown: in the headline table, or only in the files and `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Headline,
    Detail,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub id: Id,
    /// The name results files store.
    pub name: &'static str,
    /// The unit results files store: `ns`, `B`, `ops/s`, `ratio`, `count`.
    pub unit: &'static str,
    pub better: Better,
    pub kind: Kind,
    pub level: Level,
    /// Short column heading of tables.
    pub heading: &'static str,
    pub description: &'static str,
    /// Whether a value below zero is a measurement: true only of differences (net of
    /// `null`). Every other unit (ns, B, ops/s, ratio, count) measures an amount, so a
    /// results file holding a negative one was damaged or edited, and is refused on loading.
    pub signed: bool,
}

/// The `signed` column of the catalogue: absent is false.
macro_rules! signed {
    () => {
        false
    };
    (signed) => {
        true
    };
}

macro_rules! catalogue {
    ($($id:ident = $name:literal, $unit:literal, $better:ident, $kind:ident, $level:ident,
       $heading:literal, $desc:literal $(, $signed:ident)?;)*) => {
        /// A metric this pybench knows (see the module documentation for the table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Id { $($id),* }

        /// Every known metric, in the order of [`Id`].
        pub const CATALOGUE: &[Info] = &[$(Info {
            id: Id::$id,
            name: $name,
            unit: $unit,
            better: Better::$better,
            kind: Kind::$kind,
            level: Level::$level,
            heading: $heading,
            description: $desc,
            signed: signed!($($signed)?),
        }),*];
    };
}

catalogue! {
    // Replay cells: speed of the untimed pass.
    OpsPerSec = "ops_per_sec", "ops/s", Higher, Time, Detail, "gross ops/s",
        "allocator events replayed per second of the throughput passes, harness included \
         (1e9 / loop_ns_per_op)";
    LoopNsPerOp = "loop_ns_per_op", "ns", Lower, Time, Detail, "loop ns/op",
        "median over rounds of nanoseconds (thread CPU time) per event, harness loop included";
    NetLoopNsPerOp = "net_loop_ns_per_op", "ns", Lower, Time, Detail, "net ns/op",
        "median over rounds of loop ns/op minus null's in the same round and process: the \
         allocator's own cost per event", signed;
    NetOpsPerSec = "net_ops_per_sec", "ops/s", Higher, Time, Headline, "net ops/s",
        "events per second of the allocator's own cost (1e9 / net_loop_ns_per_op)";
    HarnessNsPerOp = "harness_ns_per_op", "ns", Lower, Time, Detail, "null ns/op",
        "median ns per event of the null allocator in the same process: the harness's cost";
    ColdNsPerOp = "cold_ns_per_op", "ns", Lower, Time, Detail, "cold ns/op",
        "ns per event of the first pass on the fresh allocator (page faults, set-up)";
    WarmFaultsPerPass = "warm_faults_per_pass", "count", Lower, Counter, Detail, "warm faults",
        "minor page faults per timed pass (the throughput process's replay thread): memory \
         the allocator had been given once and faulted in again";
    ThroughputSamples = "throughput_samples", "count", Neither, Info, Detail, "samples",
        "throughput samples (rounds) behind the figures; each lasts at least --min-time";
    // Replay cells: latency of the timed pass, per op kind (`op`: malloc, free, …, all).
    NsPerOp = "ns_per_op", "ns", Lower, Time, Detail, "ns/op",
        "mean latency of one call in the timed pass";
    LatP50 = "lat_p50", "ns", Lower, Time, Headline, "p50 ns", "median latency of one call";
    LatP90 = "lat_p90", "ns", Lower, Time, Detail, "p90 ns", "90th percentile latency";
    LatP99 = "lat_p99", "ns", Lower, Time, Headline, "p99 ns", "99th percentile latency";
    LatP999 = "lat_p999", "ns", Lower, Time, Detail, "p99.9 ns", "99.9th percentile latency";
    LatP50Net = "lat_p50_net", "ns", Lower, Time, Detail, "p50−timer",
        "lat_p50 minus timer_overhead_ns (one timing's own cost), floored at 0";
    LatP90Net = "lat_p90_net", "ns", Lower, Time, Detail, "p90−timer",
        "lat_p90 minus timer_overhead_ns, floored at 0";
    LatP99Net = "lat_p99_net", "ns", Lower, Time, Headline, "p99−timer ns",
        "lat_p99 minus timer_overhead_ns (one timing's own cost), floored at 0";
    LatP999Net = "lat_p999_net", "ns", Lower, Time, Detail, "p99.9−timer",
        "lat_p999 minus timer_overhead_ns, floored at 0";
    LatMax = "lat_max", "ns", Lower, Time, Headline, "max ns", "slowest call timed";
    TimedOps = "timed_ops", "count", Neither, Info, Detail, "timed ops",
        "calls timed (one in --sample-every): how many samples the percentiles rest on";
    TimerOverheadNs = "timer_overhead_ns", "ns", Neither, Info, Detail, "timer ns",
        "cost of reading the timer twice: the resolution of latency figures";
    // Memory, above the RSS before the stream began.
    PeakLiveBytes = "peak_live_bytes", "B", Lower, Engine, Headline, "peak live",
        "largest sum of requested bytes live at once (the stream's, not the allocator's)";
    PeakRssBytes = "peak_rss_bytes", "B", Lower, Memory, Headline, "peak RSS",
        "largest resident set during the run";
    FinalRssBytes = "final_rss_bytes", "B", Lower, Memory, Detail, "final RSS",
        "resident set at the end of the stream, before anything is freed";
    RetainedPreTrimRssBytes = "retained_pre_trim_rss_bytes", "B", Lower, Memory, Detail,
        "retained pre-trim", "resident set after everything is freed, before malloc_trim";
    RetainedRssBytes = "retained_rss_bytes", "B", Lower, Memory, Headline, "retained",
        "resident set after everything is freed and trimmed: what the allocator keeps";
    FragRatio = "frag_ratio", "ratio", Lower, Memory, Headline, "frag",
        "peak RSS over peak live bytes";
    // Kernel and CPU counters (perf_event; absent when the machine cannot count them).
    MinorFaults = "minor_faults", "count", Lower, Counter, Detail, "minor faults",
        "page faults served without I/O: first touches of fresh pages";
    MajorFaults = "major_faults", "count", Lower, Counter, Detail, "major faults",
        "page faults that needed I/O";
    // Nanoseconds, but stored as "count" like every perf counter since the first results
    // files; a new unit would make them incomparable (compare refuses differing units).
    TaskClockNs = "task_clock_ns", "count", Lower, Time, Detail, "task clock",
        "CPU time of the measuring thread, in nanoseconds";
    ContextSwitches = "context_switches", "count", Lower, Counter, Detail, "ctx switches",
        "times the thread was switched out";
    Cycles = "cycles", "count", Lower, Counter, Detail, "cycles", "CPU cycles";
    Instructions = "instructions", "count", Lower, Counter, Detail, "instructions",
        "instructions retired";
    CacheMisses = "cache_misses", "count", Lower, Counter, Detail, "cache misses",
        "last-level cache misses";
    DtlbLoadMisses = "dtlb_load_misses", "count", Lower, Counter, Detail, "dTLB misses",
        "data TLB load misses";
    // The pymalloc engine's accounting at the end of the stream.
    ArenasAllocatedTotal = "arenas_allocated_total", "count", Lower, Engine, Detail,
        "arenas total", "arenas mapped over the whole stream";
    ArenasHighwater = "arenas_highwater", "count", Lower, Engine, Detail, "arenas peak",
        "most arenas mapped at once";
    ArenasAllocatedCurrent = "arenas_allocated_current", "count", Lower, Engine, Detail,
        "arenas now", "arenas mapped at the end of the stream";
    PoolsUsed = "pools_used", "count", Lower, Engine, Detail, "pools", "pools in use";
    ArenaFailures = "arena_failures", "count", Lower, Engine, Detail, "arena failures",
        "small requests sent to the system allocator because no arena could be mapped \
         (absent means zero; otherwise the accounting is not the geometry's own)";
    ClassPools = "class_pools", "count", Lower, Engine, Detail, "class pools",
        "pools in use per size class (`op`: the class's block size; absent means zero)";
    BytesInAllocatedBlocks = "bytes_in_allocated_blocks", "B", Lower, Engine, Detail,
        "in blocks", "bytes in allocated blocks, rounded up to their size class";
    BytesLostQuantization = "bytes_lost_quantization", "B", Lower, Engine, Detail,
        "lost: quantization", "bytes lost rounding requests up to their size class";
    BytesLostPoolHeaders = "bytes_lost_pool_headers", "B", Lower, Engine, Detail,
        "lost: pool headers", "bytes taken by pool headers";
    // Depends on where mmap puts each arena (a pool-aligned address loses no pool to
    // alignment): it varies between repetitions like RSS does, so it is judged as memory.
    BytesLostArenaAlignment = "bytes_lost_arena_alignment", "B", Lower, Memory, Detail,
        "lost: alignment", "bytes lost aligning arenas to pools";
    BytesInUnusedPools = "bytes_in_unused_pools", "B", Lower, Memory, Detail, "unused pools",
        "bytes of arenas' pools not in use";
    // Exec cells: the real program, measured from outside.
    WallNs = "wall_ns", "ns", Lower, Time, Headline, "wall", "elapsed time of the program";
    CpuNs = "cpu_ns", "ns", Lower, Time, Headline, "cpu", "user plus system time";
    UserNs = "user_ns", "ns", Lower, Time, Headline, "user", "user time";
    SystemNs = "system_ns", "ns", Lower, Time, Headline, "sys", "system time";
}

impl Id {
    /// This metric's row of the catalogue.
    pub fn info(self) -> &'static Info {
        &CATALOGUE[self as usize]
    }

    /// The name results files store.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn unit(self) -> &'static str {
        self.info().unit
    }

    pub fn kind(self) -> Kind {
        self.info().kind
    }

    /// The metric of a name read from a results file; `None` for names this version does not
    /// know (they still load, see the module documentation).
    pub fn from_name(name: &str) -> Option<Id> {
        CATALOGUE.iter().find(|i| i.name == name).map(|i| i.id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Id {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Id::from_name(s).ok_or_else(|| format!("unknown metric {s:?}"))
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

/// The kind of a metric by name: the catalogue's, else that of its family for names of a
/// known family that this version does not list (`lat_p75`, `l1d_misses`, `arenas_…`,
/// `bytes_lost_…`), else `None` (unknown).
pub fn kind_of(name: &str) -> Option<Kind> {
    if let Some(id) = Id::from_name(name) {
        return Some(id.kind());
    }
    if name.starts_with("lat_") {
        Some(Kind::Time)
    } else if name.ends_with("_misses") {
        Some(Kind::Counter)
    } else if name.starts_with("arenas_") || name.starts_with("bytes_lost_") {
        Some(Kind::Engine)
    } else {
        None
    }
}

/// Whether higher values of metric `name` are better (unknown names: no).
pub fn higher_is_better(name: &str) -> bool {
    Id::from_name(name).is_some_and(|id| id.info().better == Better::Higher)
}

/// The percentile a latency metric names: `lat_p999` → 99.9, `lat_max` → 100, others `None`.
/// The timer-subtracted percentiles name theirs too (`lat_p90_net` → 90): `compare` applies
/// the thin-tail and one-tick rules through this, and skipped them for `lat_*_net` rows
/// until 2026-12-07, so a change of one tick there could fail a CI gate (found in review).
pub fn percentile_of(name: &str) -> Option<f64> {
    if name == "lat_max" {
        return Some(100.0);
    }
    let digits = name.strip_prefix("lat_p")?;
    let digits = digits.strip_suffix("_net").unwrap_or(digits);
    let v: f64 = digits.parse().ok()?;
    // p50 → 50, p999 → 99.9, p9999 → 99.99: digits after the first two are decimals.
    Some(v / 10f64.powi(digits.len().saturating_sub(2) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_its_own_id_and_names_are_unique() {
        for (i, info) in CATALOGUE.iter().enumerate() {
            assert_eq!(info.id as usize, i, "{} out of order", info.name);
            assert_eq!(Id::from_name(info.name), Some(info.id));
            assert_eq!(info.id.to_string(), info.name);
            assert!(["ns", "B", "ops/s", "ratio", "count"].contains(&info.unit));
            assert!(!info.description.is_empty() && !info.heading.is_empty());
            // Informational figures have no better direction; every other one has.
            assert_eq!(info.kind == Kind::Info, info.better == Better::Neither);
        }
    }

    #[test]
    fn unknown_names_have_no_id_but_families_have_a_kind() {
        assert_eq!(Id::from_name("something_new"), None);
        assert!("something_new".parse::<Id>().is_err());
        assert_eq!(kind_of("something_new"), None);
        assert_eq!(kind_of("lat_p75"), Some(Kind::Time));
        assert_eq!(kind_of("l1d_load_misses"), Some(Kind::Counter));
        assert_eq!(kind_of("bytes_lost_somewhere"), Some(Kind::Engine));
        assert_eq!(kind_of("bytes_lost_arena_alignment"), Some(Kind::Memory));
        assert!(higher_is_better("ops_per_sec") && higher_is_better("net_ops_per_sec"));
        assert!(!higher_is_better("lat_p99") && !higher_is_better("unknown"));
    }

    #[test]
    fn percentiles_named_by_latency_metrics() {
        assert_eq!(percentile_of("lat_p50"), Some(50.0));
        assert_eq!(percentile_of("lat_p99"), Some(99.0));
        assert!((percentile_of("lat_p999").unwrap() - 99.9).abs() < 1e-9);
        assert_eq!(percentile_of("lat_max"), Some(100.0));
        assert_eq!(percentile_of("ns_per_op"), None);
        assert_eq!(percentile_of("lat_p90_net"), Some(90.0));
        assert!((percentile_of("lat_p999_net").unwrap() - 99.9).abs() < 1e-9);
        assert_eq!(percentile_of("lat_p_net"), None);
    }
}
