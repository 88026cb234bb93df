//! The throughput process of one (workload, repetition): `pybench __throughput SPEC-JSON`
//! builds every contender (always `null` first, then the allocators) in this one process,
//! lets them take turns pass by pass ([`measure_group`]) and prints the samples as one JSON
//! line. Memory and latency are measured elsewhere, one process per allocator, so RSS is never
//! mixed between allocators; only throughput shares a process, because only pairing cancels
//! the slow per-process noise (issue 12).

use super::cell::{decide, materialize, overrides, CellSpec};
use super::compact::CompactStream;
use super::feed::{Content, Feed};
use super::mutator::{MutatorBench, MutatorParams, Work};
use super::mutator_fit::{fit_in_process, Fit};
use super::replay::Touch;
use super::throughput::{
    measure_group, Bench, Calibration, ColdPrime, Contender, GroupSamples, StreamBench,
};
use crate::alloc::{AllocOptions, Allocator, AllocatorSpec, AllocatorVisitor, Unheld};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;

/// Name of the hidden subcommand.
pub const THROUGHPUT_SUBCOMMAND: &str = "__throughput";

/// A throughput process's job: the workload (as a cell spec; its `allocator` is ignored), the
/// contenders in order, and how long to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    pub workload: CellSpec,
    pub allocators: Vec<String>,
    pub calibration: Calibration,
}

struct Build {
    name: String,
    stream: Rc<CompactStream>,
    /// In mutator mode: the steps before each record, and the parameters.
    mutator: Option<(Rc<Work>, MutatorParams)>,
}

impl AllocatorVisitor for Build {
    type Output = std::io::Result<Box<dyn Contender>>;
    fn visit<A: Allocator + 'static>(self, a: A) -> Self::Output {
        Ok(match self.mutator {
            Some((work, p)) => Box::new(MutatorBench::new(&self.name, a, self.stream, work, p)),
            None => Box::new(Bench::new(&self.name, a, self.stream)?),
        })
    }
}

struct BuildStreamed {
    name: String,
    feed: Rc<RefCell<Feed>>,
    touch: Touch,
}

impl AllocatorVisitor for BuildStreamed {
    type Output = std::io::Result<Box<dyn Contender>>;
    fn visit<A: Allocator + 'static>(self, a: A) -> Self::Output {
        Ok(Box::new(StreamBench::new(
            &self.name, a, self.feed, self.touch,
        )?))
    }
}

/// Measures the group in this process and returns its samples: from the stream held in
/// memory, or streamed when the cell's policy says so.
pub fn measure(spec: &GroupSpec) -> anyhow::Result<GroupSamples> {
    let mut decision = decide(&spec.workload)?;
    if decision.stream && spec.workload.mutator.is_some() {
        // The mutator's steps are aligned with the whole stream's records (the plan refuses
        // `--stream always` with `--mutator`).
        decision.stream = false;
        decision.why = format!(
            "materialised (--mutator needs the whole stream; {})",
            decision.why
        );
    }
    let mut g = if decision.stream {
        measure_streamed(spec)?
    } else {
        measure_materialised(spec)?
    };
    g.streamed = decision.stream;
    g.replay = decision.why + &g.replay_detail;
    Ok(g)
}

/// As [`measure`], every contender reading a feed (one per compiled form) pass by pass.
fn measure_streamed(spec: &GroupSpec) -> anyhow::Result<GroupSamples> {
    let touch = spec.workload.touch;
    let mut feeds: [Option<Rc<RefCell<Feed>>>; 2] = [None, None];
    let mut contenders = contenders(spec, |name, raw| {
        let feed = per_form(&mut feeds, raw, || {
            let content = Content::Compact {
                raw_to_system: raw,
                touch,
            };
            let f = Feed::open(&spec.workload.source, overrides(&spec.workload), content)?;
            Ok(RefCell::new(f))
        })?;
        Ok(BuildStreamed { name, feed, touch })
    })?;
    // Nothing primed: a streamed replay holds a bounded ring, not the stream.
    let mut g = run(&mut contenders, spec, ColdPrime::default())?;
    g.workload = spec.workload.workload.clone();
    let open: Vec<_> = feeds.iter().flatten().collect();
    // Each feed folds the fingerprint over its first pass (both forms read the same events).
    g.stream_fingerprint = open.iter().find_map(|f| f.borrow().fingerprint);
    if let Some(f) = open.first() {
        let f = f.borrow();
        g.replay_detail = format!(
            "; slot tables of {} entries (one per contender: {}; one per ring), rings: {} of {} MiB",
            f.slots,
            contenders.len(),
            open.len(),
            f.ring_bytes >> 20
        );
    }
    Ok(g)
}

fn measure_materialised(spec: &GroupSpec) -> anyhow::Result<GroupSamples> {
    let m = materialize(&spec.workload)?;
    let touch = spec.workload.touch;
    let mut streams: [Option<Rc<CompactStream>>; 2] = [None, None];
    // Mutator mode: one step count per record, the same for every contender (both
    // compilations make one record per allocator event).
    let (work, fit) = match spec.workload.mutator {
        Some(p) => {
            let (work, fit) = mutator_work(spec, &m, p)?;
            (Some((work, p)), Some(fit))
        }
        None => (None, None),
    };
    let mut contenders = contenders(spec, |name, raw| {
        let stream = per_form(&mut streams, raw, || {
            Ok(CompactStream::compile(&m.events, raw, touch)?)
        })?;
        Ok(Build {
            name,
            stream,
            mutator: work.clone(),
        })
    })?;
    let name = m.name.clone();
    // Before anything is timed: one walk over the events held anyway.
    let mut print = crate::workload::StreamHasher::default();
    print.update(&m.events);
    let prime = cold_prime(spec, m.events.len() as u64, &streams);
    drop(m);
    let mut g = run(&mut contenders, spec, prime)?;
    g.replay_detail += &prime.note();
    g.workload = name;
    g.mutator_fit = fit;
    g.stream_fingerprint = Some(print.finish());
    Ok(g)
}

/// What a materialised replay of `events` events backs before each cold pass ([`ColdPrime`]).
fn cold_prime(
    spec: &GroupSpec,
    events: u64,
    streams: &[Option<Rc<CompactStream>>; 2],
) -> ColdPrime {
    let reports = crate::sys::hypervisor::PageReporting::read().is_some_and(|r| r.enabled);
    let peak_live = (streams.iter().flatten())
        .map(|s| s.peak_live_bytes)
        .max()
        .unwrap_or(0);
    ColdPrime::sized(
        spec.calibration.prime_cold_passes,
        reports,
        events.saturating_mul(super::stream_policy::MATERIALISED_BYTES_PER_EVENT),
        peak_live,
        crate::sys::procfs::mem_available().unwrap_or(0),
    )
}

/// One contender per allocator of `spec`, in order, each built by the visitor `build` makes
/// from its name and compiled form (whether RAW blocks go to glibc).
fn contenders<V>(
    spec: &GroupSpec,
    mut build: impl FnMut(String, bool) -> anyhow::Result<V>,
) -> anyhow::Result<Vec<Box<dyn Contender>>>
where
    V: AllocatorVisitor<Output = std::io::Result<Box<dyn Contender>>>,
{
    let opts = AllocOptions {
        libpython: spec.workload.libpython.as_ref().map(Into::into),
    };
    let mut out = Vec::new();
    for name in &spec.allocators {
        let a: AllocatorSpec = name.parse()?;
        let visitor = build(name.clone(), a.is_pymalloc_like())?;
        let contender = if spec.calibration.release_between_passes {
            a.visit(&opts, Releasing(visitor))
        } else {
            a.visit(&opts, visitor)
        };
        out.push(contender??);
    }
    Ok(out)
}

/// `run --release-between-passes`: builds the contender of `V` around the allocator wrapped
/// in [`Unheld`], so the cleanup between passes cannot hold what it would release.
struct Releasing<V>(V);

impl<V: AllocatorVisitor> AllocatorVisitor for Releasing<V> {
    type Output = V::Output;
    fn visit<A: Allocator + 'static>(self, a: A) -> Self::Output {
        self.0.visit(Unheld(a))
    }
}

/// What the contenders of one compiled form share, built by the first that needs it. Two
/// forms at most: RAW blocks sent to glibc (pymalloc-like allocators, as CPython does) or
/// not (an allocator that replaces all three domains).
fn per_form<T>(
    forms: &mut [Option<Rc<T>>; 2],
    raw: bool,
    build: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<Rc<T>> {
    let form = &mut forms[usize::from(raw)];
    if let Some(t) = form {
        return Ok(Rc::clone(t));
    }
    let t = Rc::new(build()?);
    *form = Some(Rc::clone(&t));
    Ok(t)
}

/// Runs the contenders as the spec's calibration says; an error names the contender.
fn run(
    contenders: &mut [Box<dyn Contender>],
    spec: &GroupSpec,
    prime: ColdPrime,
) -> anyhow::Result<GroupSamples> {
    // Each repetition's process its own sequence of round orders, the same on every rerun.
    let seed = crate::stats::seed_for(&format!("round order {}", spec.workload.repetition));
    measure_group(contenders, spec.calibration, seed, prime)
        .map_err(|(who, e)| anyhow::anyhow!("{who}: {e}"))
}

/// The mutator's steps for the events of `spec`'s trace, fitted to the recorded pace in this
/// process (`mutator_fit`: the replay's own state, not a step measured in L1).
fn mutator_work(
    spec: &GroupSpec,
    m: &crate::trace::source::Materialized,
    p: MutatorParams,
) -> anyhow::Result<(Rc<Work>, Fit)> {
    let crate::trace::source::Origin::Trace(path) = &spec.workload.source else {
        anyhow::bail!("--mutator replays traces recorded with `record --pace` only");
    };
    let pace = super::mutator::read_pace(path)?;
    if pace.len() != m.events.len() {
        anyhow::bail!(
            "{}: {} paces for {} events (a repaired trace cannot be replayed with --mutator)",
            path.display(),
            pace.len(),
            m.events.len()
        );
    }
    fit_in_process(&m.events, &pace, m.python, spec.workload.touch, p)
}

/// Child entry point: prints the samples as one JSON line.
pub fn main(spec_json: &str) -> anyhow::Result<()> {
    super::heap::HarnessHeap::activate();
    let spec: GroupSpec = serde_json::from_str(spec_json)?;
    let samples = measure(&spec)?;
    println!("{}", serde_json::to_string(&samples)?);
    Ok(())
}
