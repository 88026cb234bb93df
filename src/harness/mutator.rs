//! The mutator replay (`run --mutator`, issue 14 item 2): the throughput loop with the
//! program's own work put back between allocator calls.
//!
//! The plain loop ([`super::throughput`]) calls the allocator back to back, so it sees neither
//! the interpreter's time between calls nor its loads and stores, and it predicts differences
//! between allocators too small (2 – 10×, issue 14): in the real process the allocator shares
//! caches and TLB with the interpreter, and where it places objects decides how the
//! interpreter's own loads hit. Here, before each allocator call, the replay runs as many
//! *steps* as the recorded pace says the program worked since its previous call (pace cycles ÷
//! the cycles one step costs in this replay, fitted once per process on a reference allocator
//! so that the mutator's time equals the recorded pace, [`super::mutator_fit`]; the same steps
//! for every contender). One step is what an interpreter does to an object between
//! allocations:
//!
//! - it picks a live block: with probability `recent` one of the last `ring` blocks allocated
//!   (reference counting and attribute access on new objects), otherwise any slot of the table
//!   (older live objects, so the whole live heap, as large as the recording made it, is the
//!   working set walked);
//! - reads and writes its header (refcount `+= 1` at offset 0, type pointer read at 8) and
//!   reads one field past it, as `Py_INCREF` and an attribute load do;
//! - runs `alu` dependent arithmetic operations (dispatch and computation).
//!
//! The name follows garbage-collection usage, where the *mutator* is the program that changes
//! the heap between the memory manager's calls. The step count per event is fixed by the
//! trace, so every allocator does the same work; only the cost of its loads (placement,
//! caches, TLB) differs. A freed block's slot is set to NULL, and NULL slots are skipped: the
//! mutator never touches freed memory.

use super::compact::{self, CompactStream};
use super::replay::{ReplayError, Touch};
use super::throughput::Contender;
use super::throughput_loop::{free_left_live, oom_record, oom_wide, touch_new, wide, View};
use super::timer::Timer;
use crate::alloc::{Allocator, SystemAllocator};
use crate::sys::procfs::thread_cpu_ns;
use crate::workload::Event;
use std::rc::Rc;

mod params;
pub use params::MutatorParams;

/// The most pace one event counts, in cycles (2^20, ~0.4 ms at 2.6 GHz). The recorder reads
/// the time stamp counter, which runs while the thread is off the CPU: a longer gap between
/// two allocator calls is almost always the program preempted or blocked in I/O (on a loaded
/// machine, most of the recorded total), not work an interpreter does on its heap, which
/// allocates every few hundred cycles.
pub const PACE_CAP: u64 = 1 << 20;

/// Steps to run before each record of a compiled stream.
pub struct Work {
    pub steps: Vec<u32>,
    /// The calibration the pace was divided by.
    pub cycles_per_step: f64,
}

impl Work {
    /// Steps per record from each event's pace (cycles, or ns where there is no TSC; at most
    /// [`PACE_CAP`] each): the
    /// pace of markers (which make no record) carries over to the next record, and the
    /// fraction of a step left over from one event to the next, so the total is the pace's
    /// total ÷ `cycles_per_step` to within one step.
    pub fn from_pace(events: &[Event], pace: &[u64], cycles_per_step: f64) -> Work {
        assert_eq!(events.len(), pace.len(), "one pace per event");
        let cps = cycles_per_step.max(1e-3);
        // In 1/1024 cycles, in integers, so the carried fractions add up exactly.
        let unit = ((cps * 1024.0).round() as u128).max(1);
        let mut steps = Vec::with_capacity(events.len());
        let mut owed = 0u128;
        for (e, &p) in events.iter().zip(pace) {
            owed += u128::from(p.min(PACE_CAP)) * 1024;
            if e.slot().is_some() {
                let n = (owed / unit).min(u128::from(u32::MAX));
                owed -= n * unit;
                steps.push(n as u32);
            }
        }
        Work {
            steps,
            cycles_per_step: cps,
        }
    }

    pub fn total_steps(&self) -> u64 {
        self.steps.iter().map(|&s| u64::from(s)).sum()
    }
}

/// One slot of the mutator's table: a live block and its requested size (NULL when free).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct MSlot {
    pub ptr: *mut u8,
    pub size: u64,
}

const EMPTY: MSlot = MSlot {
    ptr: std::ptr::null_mut(),
    size: 0,
};

/// The mutator's state between steps.
pub struct Mutator {
    rng: u64,
    acc: u64,
    ring: Vec<u32>,
    head: usize,
    /// A step touches the ring when the low 32 bits of its random draw are below this.
    threshold: u32,
    alu: u32,
    /// Block touches done (NULL slots skipped), for the tests.
    pub touches: u64,
}

impl Mutator {
    pub fn new(p: MutatorParams) -> Self {
        Mutator {
            rng: 0x9E37_79B9_7F4A_7C15,
            acc: 0,
            ring: vec![0; p.ring.max(1).next_power_of_two() as usize],
            head: 0,
            threshold: (p.recent.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32,
            alu: p.alu,
            touches: 0,
        }
    }

    /// Resets the ring (a new pass starts from an empty table).
    fn reset(&mut self) {
        self.ring.fill(0);
        self.head = 0;
    }

    #[inline(always)]
    fn allocated(&mut self, slot: u32) {
        let mask = self.ring.len() - 1;
        self.head = (self.head + 1) & mask;
        // SAFETY: head ≤ mask < ring.len().
        unsafe { *self.ring.get_unchecked_mut(self.head) = slot };
    }

    /// One step over `table`; see the module documentation.
    ///
    /// # Safety
    /// Every non-NULL entry of `table` is a live block of at least its `size` bytes.
    #[inline(always)]
    pub unsafe fn step(&mut self, table: &[MSlot]) {
        // xorshift64: cheap, and no allocator-dependent input.
        let mut r = self.rng;
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        self.rng = r;
        let hi = r >> 32;
        let slot = if (r as u32) < self.threshold {
            *self.ring.get_unchecked(hi as usize & (self.ring.len() - 1))
        } else {
            ((hi * table.len() as u64) >> 32) as u32
        };
        let s = *table.get_unchecked(slot as usize);
        let mut x = self.acc;
        if !s.ptr.is_null() {
            x ^= touch(s.ptr, s.size, hi);
            self.touches += 1;
        }
        for _ in 0..self.alu {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
        self.acc = x;
    }
}

/// Reads and writes a block as an interpreter touches an object: refcount, type, one field.
///
/// # Safety
/// `p` is a live block of at least `size` bytes.
#[inline(always)]
unsafe fn touch(p: *mut u8, size: u64, r: u64) -> u64 {
    if size >= 16 {
        let rc = p.cast::<u64>();
        rc.write_unaligned(rc.read_unaligned().wrapping_add(1));
        let mut v = p.add(8).cast::<u64>().read_unaligned();
        if size >= 24 {
            // A field among the first eight words after the header.
            let words = ((size - 16) / 8).min(8);
            let at = 16 + 8 * (r % words);
            v ^= p.add(at as usize).cast::<u64>().read_unaligned();
        }
        v
    } else if size > 0 {
        let b = p.read();
        p.write(b.wrapping_add(1));
        u64::from(b)
    } else {
        0
    }
}

/// Cycles (timer ticks: TSC, or ns without one) one step costs with everything in L1: the
/// minimum of a few runs over a small table of 32-byte blocks. Only the fit's starting point
/// ([`super::mutator_fit`]): in the replay a step costs 5 – 40× this.
pub fn calibrate(p: MutatorParams) -> f64 {
    let timer = Timer::calibrate();
    let mut blocks = vec![[0u64; 4]; 64];
    let table: Vec<MSlot> = blocks
        .iter_mut()
        .map(|b| MSlot {
            ptr: b.as_mut_ptr().cast(),
            size: 32,
        })
        .collect();
    let mut m = Mutator::new(p);
    for s in 0..64 {
        m.allocated(s);
    }
    const STEPS: u64 = 200_000;
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let t0 = timer.now();
        for _ in 0..STEPS {
            // SAFETY: every table entry is a live 32-byte block of `blocks`.
            unsafe { m.step(&table) };
        }
        let ticks = timer.now().saturating_sub(t0);
        best = best.min(ticks as f64 / STEPS as f64);
    }
    std::hint::black_box(m.acc);
    best.max(0.01)
}

/// One pass of `s` into `a` with the mutator's steps before each record. Returns the steps
/// run (the work, independent of the allocator).
#[inline(never)]
fn replay<A: Allocator, const TOUCH: u8>(
    a: &mut A,
    s: &View<'_>,
    work: &Work,
    table: &mut [MSlot],
    m: &mut Mutator,
) -> Result<u64, ReplayError> {
    let mut sys = SystemAllocator;
    let mut total = 0u64;
    m.reset();
    for (i, r) in s.records.iter().enumerate() {
        let n = work.steps[i];
        for _ in 0..n {
            // SAFETY: every non-NULL entry is live (frees NULL their slot below).
            unsafe { m.step(table) };
        }
        total += u64::from(n);
        let slot = r.slot as usize;
        let size = r.size();
        // SAFETY: compile() sized the table for every slot, and realloc/free name only live
        // slots; a freed block's slot is NULLed before anything else can pick it.
        unsafe {
            let old = table.get_unchecked(slot).ptr;
            let p = match r.code() {
                compact::MALLOC => a.malloc(size),
                compact::REALLOC => a.realloc(old, size),
                compact::MALLOC_RAW => sys.malloc(size),
                compact::REALLOC_RAW => sys.realloc(old, size),
                compact::FREE | compact::FREE_RAW => {
                    *table.get_unchecked_mut(slot) = EMPTY;
                    if r.code() == compact::FREE {
                        a.free(old);
                    } else {
                        sys.free(old);
                    }
                    continue;
                }
                code => {
                    let p = if code == compact::WIDE_RAW {
                        wide(&mut sys, s, old, size)
                    } else {
                        wide(a, s, old, size)
                    };
                    if p.is_null() {
                        return Err(oom_wide(s.wide[size], i as u64));
                    }
                    *table.get_unchecked_mut(slot) = MSlot {
                        ptr: p,
                        size: s.wide[size].bytes(),
                    };
                    m.allocated(r.slot);
                    continue;
                }
            };
            if p.is_null() {
                return Err(oom_record(r.code(), size, i as u64));
            }
            if r.code() < compact::FREE {
                touch_new::<TOUCH>(p, size);
            }
            *table.get_unchecked_mut(slot) = MSlot {
                ptr: p,
                size: size as u64,
            };
            m.allocated(r.slot);
        }
    }
    std::hint::black_box(m.acc);
    Ok(total)
}

/// The [`Contender`] of allocator type `A` in mutator mode.
pub struct MutatorBench<A: Allocator> {
    name: String,
    a: A,
    stream: Rc<CompactStream>,
    work: Rc<Work>,
    table: Vec<MSlot>,
    mutator: Mutator,
    /// Steps run by the last pass.
    pub last_steps: u64,
}

impl<A: Allocator> MutatorBench<A> {
    pub fn new(
        name: &str,
        a: A,
        stream: Rc<CompactStream>,
        work: Rc<Work>,
        p: MutatorParams,
    ) -> Self {
        assert_eq!(
            stream.records.len(),
            work.steps.len(),
            "one step count per record"
        );
        MutatorBench {
            name: name.to_string(),
            a,
            table: vec![EMPTY; stream.slots.max(1)],
            stream,
            work,
            mutator: Mutator::new(p),
            last_steps: 0,
        }
    }

    /// Replaces the steps run before each record (the fit tries several on one allocator).
    pub fn set_work(&mut self, work: Rc<Work>) {
        assert_eq!(
            self.stream.records.len(),
            work.steps.len(),
            "one step count per record"
        );
        self.work = work;
    }

    /// The allocator under test.
    pub fn allocator(&mut self) -> &mut A {
        &mut self.a
    }

    /// Block touches so far (all passes).
    pub fn touches(&self) -> u64 {
        self.mutator.touches
    }
}

impl<A: Allocator> Contender for MutatorBench<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn has_heap(&self) -> bool {
        self.a.has_heap()
    }

    fn ops(&self) -> u64 {
        self.stream.ops()
    }

    fn pass(&mut self) -> Result<u64, ReplayError> {
        let (s, w) = (Rc::clone(&self.stream), Rc::clone(&self.work));
        let (a, table, m) = (&mut self.a, &mut self.table[..], &mut self.mutator);
        let v = View::whole(&s);
        let t0 = thread_cpu_ns();
        let result = match s.touch {
            Touch::None => replay::<A, { Touch::None as u8 }>(a, &v, &w, table, m),
            Touch::Header => replay::<A, { Touch::Header as u8 }>(a, &v, &w, table, m),
            Touch::Full => replay::<A, { Touch::Full as u8 }>(a, &v, &w, table, m),
        };
        let ticks = thread_cpu_ns().saturating_sub(t0);
        self.last_steps = result?;
        let table = &mut self.table;
        // SAFETY: each entry holds the block the pass left live there.
        unsafe {
            free_left_live(&mut self.a, &s.live_at_end, |slot| {
                std::mem::replace(&mut table[slot as usize], EMPTY).ptr
            })
        };
        Ok(ticks)
    }
}

/// The message for a source whose events carry no pace.
fn no_pace(name: &str) -> String {
    format!(
        "--mutator needs each event's pace, and {name} has none: record the program with \
         `pybench record --pace` (synthetic workloads have no pace)"
    )
}

/// Refuses, before anything is measured, a source the mutator cannot replay: a synthetic
/// workload or a trace recorded without `--pace` (no default pace is invented: work made up
/// would be calibrated against nothing).
pub fn check_source(s: &crate::trace::Source) -> anyhow::Result<()> {
    match s {
        crate::trace::Source::Trace { path, .. } => {
            let r = crate::trace::TraceReader::open(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if r.has_pace() {
                Ok(())
            } else {
                anyhow::bail!(no_pace(&s.name()))
            }
        }
        crate::trace::Source::Synthetic { .. } => anyhow::bail!(no_pace(&s.name())),
    }
}

/// Every event's pace in a trace, in order.
pub fn read_pace(path: &std::path::Path) -> anyhow::Result<Vec<u64>> {
    let ctx = || path.display().to_string();
    let mut r = crate::trace::parallel::ParallelReader::open(path, false)
        .map_err(|e| anyhow::anyhow!("{}: {e}", ctx()))?;
    let declared = r.end().events;
    let mut out = Vec::new();
    while let Some((_, pace)) = r
        .next_batch_paced()
        .map_err(|e| anyhow::anyhow!("{}: {e}", ctx()))?
    {
        let Some(pace) = pace else {
            anyhow::bail!(no_pace(&ctx()));
        };
        crate::trace::limits::reserve_toward(&mut out, pace.len(), declared).map_err(|_| {
            anyhow::anyhow!(
                "{}: out of memory holding the pace of {} events",
                ctx(),
                out.len()
            )
        })?;
        out.extend_from_slice(pace);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "mutator_tests.rs"]
mod tests;
