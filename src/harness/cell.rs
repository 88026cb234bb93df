//! One cell's memory and latency, measured inside its own child process (one per allocator, so
//! RSS is never mixed): the workload's events are generated and stored before anything is
//! measured, then replayed twice against a fresh allocator — an untimed memory pass (RSS
//! series, peak, final and retained RSS, counters), then a timed pass for latencies.
//! Throughput is measured apart, in a process the contenders share ([`super::group`]).

use super::feed::{Content, Feed};
use super::feed::{Decision, StreamPolicy};
use super::replay::{
    timed_pass, untimed_pass, Events, Latencies, Replayer, Touch, UntimedPass, OP_NAMES,
};
use super::timer::Timer;
use crate::alloc::{Allocator, AllocatorSpec};
use crate::metrics::Id;
use crate::report::model::{CellKind, CellResult, Metric};
use crate::sys::perf::Counters;
use crate::sys::procfs::RssReader;
use crate::trace::source::{Origin, Source};
use crate::workload::{Overrides, PyVersion};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use crate::trace::source::Materialized;

/// Everything a child needs to measure one cell; passed as JSON on its command line. Built
/// only by [`CellSpec::new`], from a resolved [`Source`] and a resolved allocator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSpec {
    /// Where the events are, resolved by the parent.
    pub source: Origin,
    /// The source's name as results show it (`dicts`, `trace:json_tool`).
    pub workload: String,
    pub python: Option<PyVersion>,
    pub scale: Option<u64>,
    pub seed: Option<u64>,
    pub allocator: AllocatorSpec,
    pub repetition: u32,
    pub touch: Touch,
    /// Time one operation in this many in the timed pass.
    pub sample_every: u32,
    /// Explicit libpython for `cpython:3.X`.
    pub libpython: Option<PathBuf>,
    /// Repair and replay a trace that breaks liveness (`run --allow-malformed`).
    #[serde(default)]
    pub allow_malformed: bool,
    /// Throughput in mutator mode (`run --mutator`): the program's recorded work between
    /// allocator calls is replayed too ([`super::mutator`]). Memory and latency cells ignore it.
    #[serde(default)]
    pub mutator: Option<super::mutator::MutatorParams>,
    /// Whether the replay streams its events or holds them all ([`super::feed`]).
    #[serde(default)]
    pub stream: StreamPolicy,
}

/// How every cell of a run replays its events (the command line's `run` options).
#[derive(Debug, Clone, PartialEq)]
pub struct CellOptions {
    pub overrides: Overrides,
    pub touch: Touch,
    pub sample_every: u32,
    pub libpython: Option<PathBuf>,
    /// `run --mutator`: the throughput replay's mutator parameters.
    pub mutator: Option<super::mutator::MutatorParams>,
    pub stream: StreamPolicy,
}

impl Default for CellOptions {
    fn default() -> Self {
        CellOptions {
            overrides: Overrides::default(),
            touch: Touch::Header,
            sample_every: 1,
            libpython: None,
            mutator: None,
            stream: StreamPolicy::default(),
        }
    }
}

impl CellSpec {
    /// The cell replaying `source` against `allocator` (already resolved for the source's
    /// Python version) in repetition `repetition`.
    pub fn new(
        source: &Source,
        allocator: AllocatorSpec,
        repetition: u32,
        o: &CellOptions,
    ) -> CellSpec {
        CellSpec {
            source: source.origin(),
            workload: source.name(),
            python: o.overrides.python,
            scale: o.overrides.scale,
            seed: o.overrides.seed,
            allocator,
            repetition,
            touch: o.touch,
            sample_every: o.sample_every,
            libpython: o.libpython.clone(),
            allow_malformed: o.overrides.allow_malformed,
            mutator: o.mutator,
            stream: o.stream,
        }
    }
}

/// The command line's overrides of the cell's source.
pub fn overrides(spec: &CellSpec) -> Overrides {
    Overrides {
        python: spec.python,
        scale: spec.scale,
        seed: spec.seed,
        allow_malformed: spec.allow_malformed,
    }
}

/// Opens the cell's source and brings all its events into memory, with the overrides applied.
pub fn materialize(spec: &CellSpec) -> anyhow::Result<Materialized> {
    Source::open(&spec.source)?.materialize(overrides(spec))
}

/// Whether the cell's replay streams its events, and why (see [`super::feed`]).
pub fn decide(spec: &CellSpec) -> anyhow::Result<Decision> {
    spec.stream
        .decide(&Source::open(&spec.source)?, overrides(spec))
}

/// A cell's events, ready before anything is measured: all in memory, or a feed that
/// streams them ([`super::feed`]).
pub enum Input {
    /// Every event in memory, with the stream's fingerprint ([`crate::workload::StreamHasher`]).
    Memory {
        m: Materialized,
        fingerprint: u64,
    },
    Stream {
        feed: Feed,
        name: String,
    },
}

impl Input {
    /// Opens the cell's source as its policy decides; returns the decision's note too.
    pub fn prepare(spec: &CellSpec) -> anyhow::Result<(Input, String)> {
        let d = decide(spec)?;
        let input = if d.stream {
            let feed = Feed::open(&spec.source, overrides(spec), Content::Events)?;
            let name = Source::open(&spec.source)?.name();
            Input::Stream { feed, name }
        } else {
            let mut m = materialize(spec)?;
            // The memory and latency cell is the one whose notes the results report, so it
            // judges the stream's op order; the throughput processes fold the fingerprint
            // alone (`group::measure_materialised`).
            let mut survey = super::survey::Survey::default();
            survey.events(&m.events);
            let (order, fingerprint) = survey.finish();
            m.notes.extend(order);
            Input::Memory { m, fingerprint }
        };
        Ok((input, d.why))
    }

    fn name(&self) -> &str {
        match self {
            Input::Memory { m, .. } => &m.name,
            Input::Stream { name, .. } => name,
        }
    }

    fn slots(&self) -> usize {
        match self {
            Input::Memory { m, .. } => m.slots,
            Input::Stream { feed, .. } => feed.slots,
        }
    }

    /// Allocator events of the stream (exact in memory; events with markers when streamed,
    /// which only sizes the RSS series).
    fn ops(&self) -> u64 {
        match self {
            Input::Memory { m, .. } => {
                m.events.iter().filter(|e| e.slot().is_some()).count() as u64
            }
            Input::Stream { feed, .. } => feed.events,
        }
    }

    /// What the results should say about the events (a cut stream, a repaired trace): a
    /// feed knows a repair once a pass has read the whole trace.
    fn notes(&self) -> &[String] {
        match self {
            Input::Memory { m, .. } => &m.notes,
            Input::Stream { feed, .. } => &feed.notes,
        }
    }

    /// The fingerprint of the events replayed (after any repair): known in memory from the
    /// start, and for a feed once a pass has read the whole stream.
    fn fingerprint(&self) -> Option<u64> {
        match self {
            Input::Memory { fingerprint, .. } => Some(*fingerprint),
            Input::Stream { feed, .. } => feed.fingerprint,
        }
    }

    fn events(&mut self) -> Events<'_> {
        match self {
            Input::Memory { m, .. } => Events::Slice(&m.events),
            Input::Stream { feed, .. } => Events::Feed(feed),
        }
    }
}

/// Measures one cell with allocator `a` and returns its result: an untimed memory pass on
/// the fresh allocator, then a timed latency pass of the same stream on the warmed one.
pub fn measure<A: Allocator>(
    spec: &CellSpec,
    input: &mut Input,
    a: &mut A,
    raw_to_system: bool,
) -> anyhow::Result<CellResult> {
    // Anything freed into glibc's heap before the harness heap took over (start-up, argument
    // parsing) goes back to the OS, so the system allocator starts from a clean heap.
    crate::alloc::SystemAllocator.trim();
    let timer = Timer::calibrate();
    let mut r = Replayer::new(a, input.slots(), raw_to_system, spec.touch);
    let memory = memory_pass(&mut r, input, &timer)?;
    let mut latencies = Latencies::new();
    timed_pass(
        &mut r,
        &mut input.events(),
        &timer,
        spec.sample_every.into(),
        &mut latencies,
    )?;
    r.free_all();
    Ok(replay_cell(spec, input, memory, &latencies, &timer))
}

/// What [`memory_pass`] measured.
struct MemoryPass {
    pass: UntimedPass,
    /// The engine's accounting at the end of the stream (pymalloc-like allocators only).
    engine: Option<crate::pymalloc::Stats>,
    /// RSS once everything was freed, before and after the allocator's trim.
    retained_pre_trim: u64,
    retained: u64,
    /// The perf counters around the pass: name and value (`None`: not countable here).
    counters: std::collections::BTreeMap<String, Option<u64>>,
}

/// The untimed pass: RSS sampled about a thousand times, the counters around it, then
/// everything freed and the RSS the allocator keeps read before and after its trim.
fn memory_pass<A: Allocator>(
    r: &mut Replayer<'_, A>,
    input: &mut Input,
    timer: &Timer,
) -> anyhow::Result<MemoryPass> {
    let rss = RssReader::for_self().context("cannot read /proc/self/statm")?;
    let mut counters = Counters::open();
    let ops_total = input.ops();
    let rss_every = (ops_total / 1000).max(1);
    counters.enable();
    let pass = untimed_pass(r, &mut input.events(), ops_total, &rss, rss_every, timer)?;
    counters.disable();
    let engine = r.allocator().engine_stats();
    r.free_all();
    let retained_pre_trim = rss.read().unwrap_or(0);
    r.allocator().trim();
    let retained = rss.read().unwrap_or(0);
    Ok(MemoryPass {
        pass,
        engine,
        retained_pre_trim,
        retained,
        counters: counters.read(),
    })
}

/// The cell's result from its two passes.
fn replay_cell(
    spec: &CellSpec,
    input: &Input,
    memory: MemoryPass,
    latencies: &Latencies,
    timer: &Timer,
) -> CellResult {
    let mut cell = CellResult::new(
        input.name(),
        &spec.allocator.to_string(),
        spec.repetition,
        CellKind::Replay,
    );
    let pass = &memory.pass;
    cell.events = pass.ops;
    cell.stream_fingerprint = input.fingerprint().map(crate::workload::fingerprint_hex);
    cell.rss_series = pass.rss_series.clone();
    cell.latency_curves = latency_curves(latencies, timer);
    cell.notes.push(
        "memory: an untimed pass on the fresh allocator; latencies: a timed pass of the same \
         stream on the warmed allocator, timer included (lat_*) and subtracted (lat_*_net)"
            .to_string(),
    );
    cell.notes.extend(input.notes().iter().cloned());
    let mx = &mut cell.metrics;
    memory_metrics(mx, pass, memory.retained_pre_trim, memory.retained);
    mx.push(Metric::of(Id::TimerOverheadNs, timer.overhead_ns()));
    latency_metrics(mx, latencies, timer);
    for (name, value) in memory.counters {
        match value {
            Some(v) => mx.push(Metric::new(&name, v as f64, "count")),
            None => cell.absent_counters.push(name),
        }
    }
    if let Some(s) = memory.engine {
        engine_metrics(&mut cell.metrics, &s);
    }
    cell
}

/// The memory pass's figures, above the RSS before the stream began (`retained*`: after
/// everything was freed, before and after the allocator's trim).
fn memory_metrics(mx: &mut Vec<Metric>, pass: &UntimedPass, retained_pre_trim: u64, retained: u64) {
    let base = pass.baseline_rss;
    let above_base = |rss: u64| rss.saturating_sub(base) as f64;
    let peak_rss = pass.peak_rss.saturating_sub(base);
    mx.push(Metric::of(Id::PeakLiveBytes, pass.peak_live_bytes as f64));
    mx.push(Metric::of(Id::PeakRssBytes, peak_rss as f64));
    mx.push(Metric::of(Id::FinalRssBytes, above_base(pass.final_rss)));
    mx.push(Metric::of(
        Id::RetainedPreTrimRssBytes,
        above_base(retained_pre_trim),
    ));
    mx.push(Metric::of(Id::RetainedRssBytes, above_base(retained)));
    if pass.peak_live_bytes > 0 {
        mx.push(Metric::of(
            Id::FragRatio,
            peak_rss as f64 / pass.peak_live_bytes as f64,
        ));
    }
}

/// The engine's accounting at the end of the stream, before everything is freed.
fn engine_metrics(mx: &mut Vec<Metric>, s: &crate::pymalloc::Stats) {
    let pools_used: usize = s.classes.iter().map(|c| c.pools).sum();
    for (id, v) in [
        (Id::ArenasAllocatedTotal, s.arenas_allocated_total),
        (Id::ArenasHighwater, s.arenas_highwater),
        (Id::ArenasAllocatedCurrent, s.arenas_allocated_current),
        (Id::PoolsUsed, pools_used),
        (Id::BytesInAllocatedBlocks, s.bytes_in_allocated_blocks),
        (Id::BytesLostQuantization, s.bytes_lost_to_quantization),
        (Id::BytesLostPoolHeaders, s.bytes_lost_to_pool_headers),
        (Id::BytesLostArenaAlignment, s.bytes_lost_to_arena_alignment),
        (Id::BytesInUnusedPools, s.bytes_in_unused_pools()),
    ] {
        mx.push(Metric::of(id, v as f64));
    }
    // Absent when zero, as in every run before 2026-12-07: present, the figures above are
    // partly the system allocator's (`report::pass_caveats::arena_failure_lines`).
    if s.arena_failures > 0 {
        mx.push(Metric::of(Id::ArenaFailures, s.arena_failures as f64));
    }
    for (class, c) in s.classes.iter().enumerate().filter(|(_, c)| c.pools > 0) {
        let size = crate::pymalloc::class_size(class).to_string();
        mx.push(Metric::of_op(Id::ClassPools, &size, c.pools as f64));
    }
}

/// Percentile points of an HDR-style plot: each halves the remaining tail, up to 99.999 %.
pub fn curve_percentiles() -> Vec<f64> {
    let mut points = vec![0.0];
    let mut tail = 100.0;
    while tail > 0.001 {
        tail /= 2.0;
        points.push(100.0 - tail);
    }
    points.push(100.0);
    points
}

fn latency_curves(
    lat: &Latencies,
    timer: &Timer,
) -> std::collections::BTreeMap<String, Vec<(f64, f64)>> {
    let all = lat.all();
    let kinds = OP_NAMES
        .iter()
        .zip(lat.per_op.iter())
        .chain([(&"all", &all)]);
    kinds
        .filter(|(_, h)| !h.is_empty())
        .map(|(op, h)| {
            let curve = curve_percentiles()
                .into_iter()
                .map(|p| (p, timer.to_ns(h.value_at_percentile(p))))
                .collect();
            (op.to_string(), curve)
        })
        .collect()
}

/// Percentiles per op kind and over all kinds, in nanoseconds.
fn latency_metrics(mx: &mut Vec<Metric>, lat: &Latencies, timer: &Timer) {
    let all = lat.all();
    let kinds = OP_NAMES
        .iter()
        .zip(lat.per_op.iter())
        .chain([(&"all", &all)]);
    for (op, h) in kinds {
        if h.is_empty() {
            continue;
        }
        let ns = |ticks: u64| timer.to_ns(ticks);
        mx.push(Metric::of_op(Id::NsPerOp, op, timer.to_ns(1) * h.mean()));
        for (id, net_id, q) in [
            (Id::LatP50, Id::LatP50Net, 0.5),
            (Id::LatP90, Id::LatP90Net, 0.9),
            (Id::LatP99, Id::LatP99Net, 0.99),
            (Id::LatP999, Id::LatP999Net, 0.999),
        ] {
            let v = ns(h.value_at_quantile(q));
            mx.push(Metric::of_op(id, op, v));
            // The same percentile less one timing's cost (two back-to-back TSC reads,
            // measured in this process): explicitly named, never silently subtracted.
            let net = (v - timer.overhead_ns()).max(0.0);
            mx.push(Metric::of_op(net_id, op, net));
        }
        mx.push(Metric::of_op(Id::LatMax, op, ns(h.max())));
        mx.push(Metric::of_op(Id::TimedOps, op, h.len() as f64));
    }
}
