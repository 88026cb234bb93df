//! The throughput measurement (design.md §3, issue 12): passes over a [`CompactStream`] with
//! nothing in the loop but the record, the slot table and the allocator call; the clock is
//! read only at the ends of a pass.
//!
//! Several allocators ("contenders", always including `null`) live in one process and take
//! turns pass by pass, so the slow per-process noise of a shared VM (cache and memory
//! bandwidth of the host, page placement) hits all of them alike and cancels in the ratios
//! and net figures, which are taken pair by pair within a round.

use super::compact::{self, CompactStream, Record, Wide};
use super::feed::Feed;
use super::replay::{ReplayError, Touch};
use crate::alloc::{Allocator, SystemAllocator};
use crate::sys::pinned::PinnedBuf;
use crate::sys::procfs::thread_cpu_ns;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;

/// Writes the first bytes of a new block as the touch policy says (`TOUCH` = `Touch as u8`).
#[inline(always)]
pub(crate) fn touch_new<const TOUCH: u8>(p: *mut u8, size: usize) {
    // SAFETY (all arms): the block holds at least `size` bytes.
    if TOUCH == Touch::Header as u8 {
        const B: u64 = 0xA5A5_A5A5_A5A5_A5A5;
        // Two plain stores, overlapping for small blocks, instead of a memset call.
        if size >= 16 {
            unsafe { p.cast::<[u64; 2]>().write_unaligned([B; 2]) }
        } else if size >= 8 {
            unsafe {
                p.cast::<u64>().write_unaligned(B);
                p.add(size - 8).cast::<u64>().write_unaligned(B);
            }
        } else if size >= 4 {
            unsafe {
                p.cast::<u32>().write_unaligned(B as u32);
                p.add(size - 4).cast::<u32>().write_unaligned(B as u32);
            }
        } else {
            unsafe { std::ptr::write_bytes(p, 0xA5, size) }
        }
    } else if TOUCH == Touch::Full as u8 {
        unsafe { std::ptr::write_bytes(p, 0xA5, size) }
    }
}

/// Records to replay: a whole materialised stream, or one chunk of a streamed one.
pub(crate) struct View<'a> {
    pub records: &'a [Record],
    pub wide: &'a [Wide],
    pub touch: Touch,
    /// Index of the first record in the pass (for error messages).
    pub first: u64,
}

impl<'a> View<'a> {
    /// A whole materialised stream.
    pub fn whole(s: &'a CompactStream) -> Self {
        View {
            records: s.records.as_slice(),
            wide: &s.wide,
            touch: s.touch,
            first: 0,
        }
    }
}

/// Replays `s` into `a` (a whole pass from an empty slot table, or the next chunk of one).
/// Returns the event index of a failed allocation (NULL), with its op and size.
#[inline(never)]
fn replay<A: Allocator, const TOUCH: u8>(
    a: &mut A,
    s: &View<'_>,
    slots: &mut [*mut u8],
) -> Result<(), ReplayError> {
    let mut sys = SystemAllocator;
    let table = slots.as_mut_ptr();
    for (i, r) in s.records.iter().enumerate() {
        // SAFETY: compile() sized the table for every slot of the stream, and realloc/free
        // only name slots it saw allocated, so every pointer passed back is live.
        unsafe {
            let slot = table.add(r.slot as usize);
            let size = r.size();
            let p = match r.code() {
                compact::MALLOC => a.malloc(size),
                compact::FREE => {
                    a.free(*slot);
                    continue;
                }
                compact::REALLOC => a.realloc(*slot, size),
                compact::MALLOC_RAW => sys.malloc(size),
                compact::FREE_RAW => {
                    sys.free(*slot);
                    continue;
                }
                compact::REALLOC_RAW => sys.realloc(*slot, size),
                code => {
                    let raw = code == compact::WIDE_RAW;
                    let p = if raw {
                        wide(&mut sys, s, *slot, size)
                    } else {
                        wide(a, s, *slot, size)
                    };
                    if p.is_null() {
                        return Err(oom_wide(s.wide[size], s.first + i as u64));
                    }
                    *slot = p;
                    continue;
                }
            };
            if p.is_null() {
                return Err(oom_record(r.code(), size, s.first + i as u64));
            }
            if r.code() < compact::FREE {
                touch_new::<TOUCH>(p, size);
            }
            *slot = p;
        }
    }
    Ok(())
}

/// A side-table event (rare: calloc, huge sizes, a realloc that writes its grown part).
#[cold]
#[inline(never)]
pub(crate) unsafe fn wide<A: Allocator>(
    a: &mut A,
    s: &View<'_>,
    old: *mut u8,
    index: usize,
) -> *mut u8 {
    let full = s.touch == Touch::Full;
    let header = s.touch != Touch::None;
    match s.wide[index] {
        Wide::Malloc { size } => {
            let p = a.malloc(size as usize);
            if !p.is_null() && header {
                let n = if full { size } else { size.min(16) };
                std::ptr::write_bytes(p, 0xA5, n as usize);
            }
            p
        }
        Wide::Calloc { n, size } => {
            let p = a.calloc(n as usize, size as usize);
            if !p.is_null() && header {
                // calloc zeroed the block; the object header is still written.
                std::ptr::write_bytes(p, 0xA5, (n * size).min(16) as usize);
            }
            p
        }
        Wide::Realloc { size, touch_from } => {
            let p = a.realloc(old, size as usize);
            let to = if full { size } else { size.min(16) };
            if !p.is_null() && header && to > touch_from {
                std::ptr::write_bytes(p.add(touch_from as usize), 0xA5, (to - touch_from) as usize);
            }
            p
        }
    }
}

/// The error of a record (not a side-table event) whose allocation returned NULL: the
/// operation from its code. Out of line, so the loops carry only the branch to it.
#[cold]
#[inline(never)]
pub(crate) fn oom_record(code: u32, size: usize, index: u64) -> ReplayError {
    let op = if code >= compact::REALLOC {
        "realloc"
    } else {
        "malloc"
    };
    ReplayError::OutOfMemory {
        op,
        bytes: size as u64,
        index,
    }
}

/// The error of a failed side-table event at position `index` of the pass.
#[cold]
#[inline(never)]
pub(crate) fn oom_wide(w: Wide, index: u64) -> ReplayError {
    let op = match w {
        Wide::Malloc { .. } => "malloc",
        Wide::Calloc { .. } => "calloc",
        Wide::Realloc { .. } => "realloc",
    };
    ReplayError::OutOfMemory {
        op,
        bytes: w.bytes(),
        index,
    }
}

/// Replays `v` with the loop monomorphised for its touch policy.
#[inline(always)]
fn replay_view<A: Allocator>(
    a: &mut A,
    v: &View<'_>,
    slots: &mut [*mut u8],
) -> Result<(), ReplayError> {
    match v.touch {
        Touch::None => replay::<A, { Touch::None as u8 }>(a, v, slots),
        Touch::Header => replay::<A, { Touch::Header as u8 }>(a, v, slots),
        Touch::Full => replay::<A, { Touch::Full as u8 }>(a, v, slots),
    }
}

/// An allocator ready to replay passes of its stream; object-safe so allocators of different
/// types can take turns in one process.
pub trait Contender {
    fn name(&self) -> &str;
    /// Events per pass.
    fn ops(&self) -> u64;
    /// One timed pass from an empty slot table, then every block still live freed (untimed).
    /// Returns the CPU time of the pass in nanoseconds (see [`thread_cpu_ns`]).
    fn pass(&mut self) -> Result<u64, ReplayError>;
    /// The engine's accounting now, when the allocator is the engine (`None` by default: only
    /// the tests comparing streamed and materialised replays ask).
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        None
    }
}

/// The [`Contender`] for allocator type `A`, with its own monomorphised loop.
pub struct Bench<A: Allocator> {
    name: String,
    a: A,
    stream: Rc<CompactStream>,
    slots: PinnedBuf<usize>,
}

impl<A: Allocator> Bench<A> {
    pub fn new(name: &str, a: A, stream: Rc<CompactStream>) -> std::io::Result<Self> {
        let slots = PinnedBuf::new(stream.slots, 0usize)?;
        Ok(Bench {
            name: name.to_string(),
            a,
            stream,
            slots,
        })
    }
}

impl<A: Allocator> Contender for Bench<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn ops(&self) -> u64 {
        self.stream.ops()
    }

    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        self.a.engine_stats()
    }

    fn pass(&mut self) -> Result<u64, ReplayError> {
        let stream = Rc::clone(&self.stream);
        let len = self.slots.len();
        let table = self.slots.as_mut_ptr().cast::<*mut u8>();
        // SAFETY: usize and *mut u8 have the same size and alignment; the slice does not outlive this call.
        let slots = unsafe { std::slice::from_raw_parts_mut(table, len) };
        let view = View::whole(&stream);
        let t0 = thread_cpu_ns();
        let result = replay_view(&mut self.a, &view, slots);
        let ticks = thread_cpu_ns().saturating_sub(t0);
        result?;
        let mut sys = SystemAllocator;
        // SAFETY: as above; the earlier slice is no longer used.
        let slots = unsafe { std::slice::from_raw_parts_mut(table, len) };
        for &(slot, raw) in &stream.live_at_end {
            let p = std::mem::replace(&mut slots[slot as usize], std::ptr::null_mut());
            // SAFETY: the block is live: allocated in this pass and never freed by it.
            unsafe {
                if raw {
                    sys.free(p)
                } else {
                    self.a.free(p)
                }
            }
        }
        Ok(ticks)
    }
}

/// The [`Contender`] for allocator type `A` replaying a streamed source: the same loop, one
/// chunk at a time. The clock is read around each chunk's replay and the chunk times summed,
/// so waiting for the read-ahead (between chunks) is never measured (see [`super::feed`]).
pub struct StreamBench<A: Allocator> {
    name: String,
    a: A,
    feed: Rc<RefCell<Feed>>,
    slots: PinnedBuf<usize>,
    touch: Touch,
    /// Records of the last complete pass.
    ops: u64,
}

impl<A: Allocator> StreamBench<A> {
    /// `touch` must be the policy the feed compiled with.
    pub fn new(name: &str, a: A, feed: Rc<RefCell<Feed>>, touch: Touch) -> std::io::Result<Self> {
        let slots = PinnedBuf::new(feed.borrow().slots.max(1), 0usize)?;
        Ok(StreamBench {
            name: name.to_string(),
            a,
            feed,
            slots,
            touch,
            ops: 0,
        })
    }
}

impl<A: Allocator> Contender for StreamBench<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn ops(&self) -> u64 {
        self.ops
    }

    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        self.a.engine_stats()
    }

    fn pass(&mut self) -> Result<u64, ReplayError> {
        let mut feed = self.feed.borrow_mut();
        feed.begin().map_err(ReplayError::Source)?;
        let len = self.slots.len();
        let table = self.slots.as_mut_ptr().cast::<*mut u8>();
        // SAFETY: as in `Bench::pass`.
        let slots = unsafe { std::slice::from_raw_parts_mut(table, len) };
        let (mut ticks, mut ops) = (0u64, 0u64);
        while let Some(chunk) = feed.next_chunk().map_err(ReplayError::Source)? {
            let view = View {
                records: &chunk.records,
                wide: &chunk.wide,
                touch: self.touch,
                first: ops,
            };
            let result = if chunk.cleanup {
                // What the pass left live, freed after its clock stopped.
                replay_view(&mut self.a, &view, slots)
            } else {
                let t0 = thread_cpu_ns();
                let r = replay_view(&mut self.a, &view, slots);
                ticks += thread_cpu_ns().saturating_sub(t0);
                ops += chunk.records.len() as u64;
                r
            };
            feed.give_back(chunk);
            result?;
        }
        self.ops = ops;
        Ok(ticks)
    }
}

/// One contender's throughput figures from a group process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContenderSamples {
    pub allocator: String,
    /// The first pass on the fresh allocator, ns per event.
    pub cold_ns_per_op: f64,
    /// Passes summed into each sample, so that a sample lasts at least the minimum time.
    pub passes_per_sample: u32,
    /// One ns-per-event figure per round, in round order (aligned across contenders).
    pub samples_ns_per_op: Vec<f64>,
}

/// What a group process measured: every contender's samples, round by round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSamples {
    /// The workload's name as its spec or trace gives it.
    pub workload: String,
    pub events: u64,
    pub min_time_ns: u64,
    pub warmup_passes: u32,
    pub contenders: Vec<ContenderSamples>,
    /// Whether the process ran with address-space randomisation off (`--fixed-layout`), as
    /// the process itself saw it.
    #[serde(default)]
    pub fixed_layout: bool,
    /// Mutator mode: how its work was fitted to the recorded pace in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutator_fit: Option<super::mutator_fit::Fit>,
    /// How the events reached the loop: materialised or streamed, and why.
    #[serde(default)]
    pub replay: String,
    /// What a streamed replay held in memory (added to `replay`).
    #[serde(skip)]
    pub replay_detail: String,
}

/// How long and how often to measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Minimum duration of one sample (a pass, or a group of passes of a short stream).
    pub min_time_ns: u64,
    /// Samples (rounds) per contender.
    pub rounds: u32,
    /// Untimed passes after the cold one, before the first sample.
    pub warmup_passes: u32,
    /// Run the throughput processes with address-space randomisation off (`--fixed-layout`):
    /// one layout, measured reproducibly, instead of a fresh one per process.
    #[serde(default)]
    pub fixed_layout: bool,
}

impl Calibration {
    /// The defaults of `pybench run`: 20 samples of at least 20 ms each per allocator, so a
    /// default `run -w dicts` over every allocator (7 contenders, 3 repetitions) ends within
    /// about a minute on a 2-core VM while a sample spans several scheduler ticks.
    pub const DEFAULT: Calibration = Calibration {
        min_time_ns: 20_000_000,
        rounds: 20,
        warmup_passes: 1,
        fixed_layout: false,
    };
}

/// Runs the contenders: each one's cold pass, warm-up, then `rounds` rounds in which every
/// contender takes one sample, in alternating order (forwards, then backwards) so no
/// contender always follows the same one.
pub fn measure_group(
    contenders: &mut [Box<dyn Contender>],
    cal: Calibration,
) -> Result<GroupSamples, (String, ReplayError)> {
    let ns = |t: u64| t as f64;
    let mut out: Vec<ContenderSamples> = Vec::new();
    for c in contenders.iter_mut() {
        // Events per pass are known once a pass was made (a streamed source counts them).
        let cold_ticks = c.pass().map_err(|e| (c.name().to_string(), e))?;
        let cold = ns(cold_ticks) / c.ops().max(1) as f64;
        // Warm-up: at least the asked passes and at least one minimum time; the fastest
        // pass sets how many passes a sample needs.
        let (mut warm, mut spent, mut n) = (f64::INFINITY, 0.0, 0);
        while n < cal.warmup_passes.max(1) || spent < cal.min_time_ns as f64 {
            let t = ns(c.pass().map_err(|e| (c.name().to_string(), e))?);
            warm = warm.min(t);
            spent += t;
            n += 1;
        }
        let per_sample = (cal.min_time_ns as f64 / warm.max(1.0)).ceil().max(1.0) as u32;
        out.push(ContenderSamples {
            allocator: c.name().to_string(),
            cold_ns_per_op: cold,
            passes_per_sample: per_sample,
            samples_ns_per_op: Vec::with_capacity(cal.rounds as usize),
        });
    }
    for round in 0..cal.rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..contenders.len()).collect()
        } else {
            (0..contenders.len()).rev().collect()
        };
        for i in order {
            let c = &mut contenders[i];
            let mut ticks = 0;
            for _ in 0..out[i].passes_per_sample {
                ticks += c.pass().map_err(|e| (c.name().to_string(), e))?;
            }
            let events = c.ops().max(1) as f64 * f64::from(out[i].passes_per_sample);
            out[i].samples_ns_per_op.push(ns(ticks) / events);
        }
    }
    Ok(GroupSamples {
        workload: String::new(),
        events: contenders.first().map_or(0, |c| c.ops()),
        min_time_ns: cal.min_time_ns,
        warmup_passes: cal.warmup_passes.max(1),
        contenders: out,
        fixed_layout: crate::sys::process::layout_is_fixed(),
        mutator_fit: None,
        replay: String::new(),
        replay_detail: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::{NullAllocator, PymallocAllocator, SystemAllocator};
    use crate::harness::compact::CompactStream;
    use crate::harness::replay::Touch;
    use crate::pymalloc::Preset;
    use crate::workload::{Domain, Event};
    use std::rc::Rc;

    fn stream(n: u32) -> Rc<CompactStream> {
        let mut events = Vec::new();
        for i in 0..n {
            events.push(Event::Alloc {
                slot: i % 64,
                size: 16 + i % 200,
                domain: if i % 7 == 0 { Domain::Raw } else { Domain::Obj },
                thread: 0,
            });
            if i % 3 != 0 || i % 64 == 63 {
                events.push(Event::Free {
                    slot: i % 64,
                    thread: 0,
                });
            } else {
                events.push(Event::Realloc {
                    slot: i % 64,
                    size: 300,
                    thread: 0,
                });
                events.push(Event::Free {
                    slot: i % 64,
                    thread: 0,
                });
            }
        }
        events.push(Event::Calloc {
            slot: 0,
            n: 4,
            size: 8,
            domain: Domain::Mem,
            thread: 0,
        });
        Rc::new(CompactStream::compile(&events, true, Touch::Header).unwrap())
    }

    #[test]
    fn passes_replay_every_event_and_leave_nothing_live() {
        let s = stream(1000);
        let engine = PymallocAllocator::from_preset(Preset::Cpython311);
        let mut b = Bench::new("pymalloc", engine, Rc::clone(&s)).unwrap();
        for _ in 0..3 {
            assert!(b.pass().unwrap() > 0);
            // The engine's own accounting: no block of the pass survives it.
            let stats = b.a.engine_stats().unwrap();
            assert_eq!(stats.bytes_in_allocated_blocks, 0);
            assert!(
                stats.arenas_allocated_total > 0,
                "the pass allocated nothing"
            );
        }
    }

    #[test]
    fn a_group_yields_one_sample_per_round_each_at_least_the_minimum_time() {
        let s = stream(2000);
        let mut cs: Vec<Box<dyn Contender>> = vec![
            Box::new(Bench::new("null", NullAllocator::new().unwrap(), Rc::clone(&s)).unwrap()),
            Box::new(Bench::new("system", SystemAllocator, Rc::clone(&s)).unwrap()),
        ];
        let cal = Calibration {
            fixed_layout: false,
            min_time_ns: 2_000_000,
            rounds: 5,
            warmup_passes: 1,
        };
        let g = measure_group(&mut cs, cal).unwrap();
        assert_eq!(g.contenders.len(), 2);
        for c in &g.contenders {
            assert_eq!(c.samples_ns_per_op.len(), 5);
            assert!(c.cold_ns_per_op > 0.0);
            // Each sample covers at least the minimum time (within clock granularity).
            let sample_ns = c
                .samples_ns_per_op
                .iter()
                .cloned()
                .fold(f64::INFINITY, f64::min)
                * g.events as f64
                * f64::from(c.passes_per_sample);
            assert!(
                sample_ns >= 0.8 * cal.min_time_ns as f64,
                "{}: a sample lasted only {sample_ns} ns",
                c.allocator
            );
        }
    }
}
