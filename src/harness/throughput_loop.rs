//! The throughput loop and its contenders: [`Bench`] replays a whole [`CompactStream`] held
//! in memory, [`StreamBench`] the same loop one chunk of a [`Feed`] at a time. Nothing in the
//! loop but the record, the slot table and the allocator call (the measurement around it:
//! [`super::throughput`]).

use super::compact::{self, CompactStream, Record, Wide};
use super::feed::Feed;
use super::replay::{ReplayError, Touch};
use super::throughput::Contender;
use crate::alloc::{Allocator, SystemAllocator};
use crate::sys::pinned::PinnedBuf;
use crate::sys::procfs::thread_cpu_ns;
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

/// Runs `cleanup`, the untimed freeing of what a pass left live, with `a` holding what it
/// would unmap meanwhile ([`Allocator::hold_releases`]), so the next pass does not fault in
/// the heap the cleanup emptied. Every cleanup between passes goes through here.
pub(crate) fn while_holding<A: Allocator, R>(a: &mut A, cleanup: impl FnOnce(&mut A) -> R) -> R {
    a.hold_releases(true);
    let r = cleanup(a);
    a.hold_releases(false);
    r
}

/// Frees, untimed, every block a whole pass left live (`live_at_end`: slot and whether it is a
/// RAW block, which went to glibc), taking each pointer out of the caller's table with `take`;
/// through [`while_holding`].
///
/// # Safety
/// `take(slot)` must return the live block the pass allocated in that slot.
pub(crate) unsafe fn free_left_live<A: Allocator>(
    a: &mut A,
    live_at_end: &[(u32, bool)],
    mut take: impl FnMut(u32) -> *mut u8,
) {
    let mut sys = SystemAllocator;
    while_holding(a, |a| {
        for &(slot, raw) in live_at_end {
            let p = take(slot);
            if raw {
                sys.free(p)
            } else {
                a.free(p)
            }
        }
    })
}

/// Replays `s` into `a` (a whole pass from an empty slot table, or the next chunk of one).
/// Returns the event index of a failed allocation (NULL), with its op and size.
#[inline(never)]
fn replay<A: Allocator, const TOUCH: u8>(
    a: &mut A,
    s: &View<'_>,
    slots: &mut [*mut u8],
) -> Result<(), ReplayError> {
    let table = slots.as_mut_ptr();
    let records = s.records;
    // The event's index only matters for an error: worked out from the record's place.
    let index = |at: usize| s.first + at as u64;
    let mut at = 0;
    // SAFETY: compile() sized the table for every slot of the stream, and realloc/free
    // only name slots it saw allocated, so every pointer passed back is live.
    unsafe {
        loop {
            match common_run::<A, TOUCH>(a, table, records, at) {
                Stop::End => return Ok(()),
                Stop::Rare(i) => {
                    rare::<A, TOUCH>(
                        a,
                        s,
                        table.add(records[i].slot as usize),
                        records[i],
                        index(i),
                    )?;
                    at = i + 1;
                }
                Stop::Null(i) => {
                    let r = records[i];
                    return Err(oom_record(r.code(), r.size(), index(i)));
                }
            }
        }
    }
}

/// Where [`common_run`] stopped: at the end, or at the index of a record it leaves to its
/// caller.
enum Stop {
    End,
    /// A record [`rare`] replays.
    Rare(usize),
    /// A malloc that returned NULL.
    Null(usize),
}

/// Replays plain mallocs and frees from `records[at]` on, up to the first other record.
/// Nothing in this loop calls out but the allocator itself, so what the allocator reads of
/// its own state and does not change (`null`'s scratch pointer) stays in a register across
/// it. With the rare records' call inside the loop, that held only where the compiler could
/// see that the call leaves the allocator alone, which depended on how rustc split the
/// crate into codegen units: after an unrelated change `null` reloaded and tested its
/// pointer on every malloc and took 5.6 – 7.0 % longer an event on dicts, json and webapp
/// (`scripts/ab.sh`, 20 + 20 processes, p < 0.001 each, 2026-12-06 04:21, load 1.2); in
/// this shape 5.7 – 12.5 % less than that build in three sittings (04:39 – 04:47, load
/// 1.0 – 1.3), where the build before the change had been (dicts 1.97 – 2.08 ns/event).
///
/// No prefetch of slot-table entries ahead: tried (2026-12-01) for frees of blocks
/// allocated long ago, it left the harness (`null`) as costly overall (+3 % dicts, −1 %
/// webapp, −6 % json_tool, +11 % compileall) and moved allocators' figures up on some
/// workloads and down on others, in alternated pairs run in both orders (README
/// "Stability").
///
/// # Safety
/// As [`replay`]'s: `table` has room for every slot the records name.
#[inline(always)]
unsafe fn common_run<A: Allocator, const TOUCH: u8>(
    a: &mut A,
    table: *mut *mut u8,
    records: &[Record],
    at: usize,
) -> Stop {
    // No event counter in the loop: a stop's index is worked out from the record's address
    // (with an enumerate, and the rare cases inline, `null` cost 2.15 – 2.20 ns/event on
    // dicts where this shape took 1.76; README "Stability").
    let place = |r: &Record| (r as *const Record).offset_from(records.as_ptr()) as usize;
    for r in &records[at..] {
        let slot = table.add(r.slot as usize);
        let code = r.code();
        if code == compact::MALLOC {
            let size = r.size();
            let p = a.malloc(size);
            if p.is_null() {
                return Stop::Null(place(r));
            }
            touch_new::<TOUCH>(p, size);
            *slot = p;
        } else if code == compact::FREE {
            a.free(*slot);
        } else {
            return Stop::Rare(place(r));
        }
    }
    Stop::End
}

/// Every record but a plain malloc or free (realloc, glibc's RAW blocks, side-table events),
/// out of line and outside [`common_run`]'s loop, which then holds only the two common cases
/// and keeps its state in registers.
#[inline(never)]
unsafe fn rare<A: Allocator, const TOUCH: u8>(
    a: &mut A,
    s: &View<'_>,
    slot: *mut *mut u8,
    r: Record,
    index: u64,
) -> Result<(), ReplayError> {
    let mut sys = SystemAllocator;
    let size = r.size();
    let p = match r.code() {
        compact::REALLOC => a.realloc(*slot, size),
        compact::MALLOC_RAW => sys.malloc(size),
        compact::FREE_RAW => {
            sys.free(*slot);
            return Ok(());
        }
        compact::REALLOC_RAW => sys.realloc(*slot, size),
        code => {
            let p = if code == compact::WIDE_RAW {
                wide(&mut sys, s, *slot, size)
            } else {
                wide(a, s, *slot, size)
            };
            if p.is_null() {
                return Err(oom_wide(s.wide[size], index));
            }
            *slot = p;
            return Ok(());
        }
    };
    if p.is_null() {
        return Err(oom_record(r.code(), size, index));
    }
    if r.code() == compact::MALLOC_RAW {
        touch_new::<TOUCH>(p, size);
    }
    *slot = p;
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

    fn has_heap(&self) -> bool {
        self.a.has_heap()
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
        // SAFETY: as above; the earlier slice is no longer used.
        let slots = unsafe { std::slice::from_raw_parts_mut(table, len) };
        // SAFETY: each slot holds the block the pass left live there.
        unsafe {
            free_left_live(&mut self.a, &stream.live_at_end, |slot| {
                std::mem::replace(&mut slots[slot as usize], std::ptr::null_mut())
            })
        };
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

    fn has_heap(&self) -> bool {
        self.a.has_heap()
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
                while_holding(&mut self.a, |a| replay_view(a, &view, slots))
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

#[cfg(test)]
#[path = "throughput_loop_tests.rs"]
mod tests;
