//! Address space reserved for one pymalloc's arenas (the engine's, or the real obmalloc's
//! through its arena hook), so they sit side by side, as in a process that maps nothing else
//! between them.
//!
//! Why: `run` measures every contender in one process, taking turns. An arena mapped with a
//! plain `mmap` lands in the highest gap that fits, and the gaps are what the contenders
//! before it released (glibc's trimmed chunks, mimalloc's and jemalloc's purged segments),
//! so whether a pymalloc's few arenas end up side by side or scattered among other
//! allocators' memory depended on the order and timing of the others. It showed in the
//! figures: on webapp the engine took 3.78 – 4.13 ns an event in processes whose arenas were
//! side by side and 4.04 – 4.57 where they were scattered (16 processes of one run,
//! model-167 Intel host, 2026-12-05), and with arenas taken from a reserved span the spread
//! of its ratio to cpython:3.11 over processes fell from 0.115 to 0.075 (sd of the log, two
//! runs each). The per-process mix of the two cases made five identical runs disagree by up to
//! ±5.6 % on that cell (README "Stability", attempt 49). A Python program has no other
//! allocator freeing memory between its arenas, so a span of their own is also the more
//! faithful picture.
//!
//! The span is one `PROT_NONE`, `MAP_NORESERVE` mapping (address space only: no memory, no
//! commit charge); an arena is mapped over one slot of it with `MAP_FIXED`, from the top
//! down as the kernel fills address space, and a released slot is mapped `PROT_NONE` again —
//! its pages go back to the kernel as with `munmap`, while the span stays whole, so no other
//! mapping can land inside it. Where the span cannot be reserved (an address-space limit),
//! or is full, or asked for another size, arenas fall back to plain mappings. Nothing here
//! touches the Rust global allocator (the engine can be that allocator).

use super::mem::{self, MappedArray};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Address space a span reserves: room for 64 GiB of arenas (65,536 of CPython 3.10+'s
/// 1 MiB), far more than any replay holds at once, and nothing but page-table-free address
/// space until used.
const SPAN: usize = 64 << 30;

/// The smallest span worth reserving when a larger one is refused (an address-space limit,
/// `ulimit -v`, counts reserved space as used): 256 MiB, or 64 arenas if they are larger.
/// The built-in workloads' heaps fit many times over; a trace's that outgrows it spills the
/// rest into plain mappings, which [`arenas_outside_span`] counts.
const SMALLEST_SPAN: usize = 256 << 20;

/// Arenas this process mapped outside a span that should have held them (see
/// [`arenas_outside_span`]).
static OUTSIDE: AtomicU64 = AtomicU64::new(0);

/// How many arenas this process has mapped with a plain `mmap` because their span could not
/// be reserved or was full: those sit wherever the kernel found room, as every arena did
/// before spans (2026-12-05), so a measurement that had any is not like one that had none.
/// The throughput loop reads it around each contender's passes.
pub fn arenas_outside_span() -> u64 {
    OUTSIDE.load(Ordering::Relaxed)
}

/// A span of address space for arenas of one size; see the module documentation.
pub(crate) struct ArenaRegion {
    /// Start of the span, 0 before the first arena, [`Self::FAILED`] if it cannot be made.
    base: usize,
    /// Room for arenas the span is asked to hold (less if the kernel grants less).
    span: usize,
    /// Bytes reserved: `span` and the slack [`Self::reserve`] adds to place the slots.
    reserved: usize,
    /// Where the slots start, from the top down ([`Self::reserve`]); slot `i` starts
    /// `(i + 1) × size` below it.
    top: usize,
    /// The one arena size this span serves (set by the first arena).
    size: usize,
    /// Slots handed out from the top so far.
    used: usize,
    /// Released slots, reused before new ones (the last released first).
    free: MappedArray<u32>,
    free_len: usize,
    /// Arenas this region mapped outside its span (its share of [`arenas_outside_span`]).
    outside: u64,
}

// SAFETY: the region owns its span and its slot list exclusively, like a Vec; the real
// obmalloc's hook keeps it behind a mutex.
unsafe impl Send for ArenaRegion {}

impl ArenaRegion {
    const FAILED: usize = usize::MAX;

    pub(crate) const fn new() -> Self {
        ArenaRegion {
            base: 0,
            span: SPAN,
            reserved: 0,
            top: 0,
            size: 0,
            used: 0,
            free: MappedArray::empty(),
            free_len: 0,
            outside: 0,
        }
    }

    /// A region whose span holds `span` bytes (tests: a span that fills up).
    #[cfg(test)]
    const fn with_span(span: usize) -> Self {
        let mut r = Self::new();
        r.span = span;
        r
    }

    /// Maps an arena of `size` bytes: in a slot of the span when it can, else wherever
    /// `mmap` puts it. `None` when the kernel refuses both.
    pub(crate) fn map(&mut self, size: usize) -> Option<NonNull<u8>> {
        if let Some(p) = self.slot_for(size).and_then(|at| mem::map_fixed(at, size)) {
            return Some(p);
        }
        let p = mem::map(size)?;
        self.outside += 1;
        OUTSIDE.fetch_add(1, Ordering::Relaxed);
        Some(p)
    }

    /// Releases an arena made by [`Self::map`] (or any mapping of `size` bytes): its slot
    /// goes back to the span, anything else is unmapped.
    ///
    /// # Safety
    /// `p` and `size` describe one live mapping that nothing uses any more.
    pub(crate) unsafe fn unmap(&mut self, p: NonNull<u8>, size: usize) {
        let at = p.as_ptr() as usize;
        if !self.holds(at) || size != self.size {
            return mem::unmap(p, size);
        }
        let slot = (self.top - at) / size - 1;
        mem::protect_none(p, size);
        // Without room to remember the slot it is not reused: address space lost within the
        // span, never memory.
        if self.free_len < self.free.len() || self.free.grow((self.free_len * 2).max(64), 0) {
            *self.free.get_mut(self.free_len) = slot as u32;
            self.free_len += 1;
        }
    }

    /// Lets go of a mapping of an allocator that is being dropped with this region: one in
    /// the span goes with the span (its [`Drop`] unmaps the whole span at once), anything
    /// else is unmapped now. Saves the per-arena remapping [`Self::unmap`] does to keep the
    /// span whole for later arenas, which a dropped allocator will not map.
    ///
    /// # Safety
    /// As [`Self::unmap`], and the region is dropped before anything maps into it again.
    pub(crate) unsafe fn forget(&mut self, p: NonNull<u8>, size: usize) {
        if !self.holds(p.as_ptr() as usize) {
            mem::unmap(p, size);
        }
    }

    /// Reserves the span for arenas of `size` bytes: the full [`SPAN`] if the kernel allows
    /// it, else the largest half of it down to [`SMALLEST_SPAN`] (an address-space limit
    /// refuses 64 GiB long before it would refuse the arenas themselves), else none.
    ///
    /// The slots start one page below the highest address of the reservation that every
    /// power of two dividing the arena size divides (slack for it is reserved beyond the
    /// span), so every arena starts one page past a pool boundary whatever the pool size
    /// (pools divide their arena) and wherever the kernel put the span. With pools above a
    /// page (CPython 3.10+'s 16 KiB) an arena then loses its first, partial pool, as most of
    /// a real interpreter's do: 69 – 85 % of them in `python3.10` – `3.13` processes holding
    /// 61 – 67 arenas here, 2 of 2 or 3 of 4 just after start-up (`sys._debugmallocstats()`,
    /// 2026-12-06). A span on a kernel that aligns large mappings to 2 MiB had given every
    /// arena all its pools, the lucky case, in every process.
    fn reserve(&mut self, size: usize) {
        self.size = size;
        let pow2 = 1usize << size.trailing_zeros().min(usize::BITS - 2);
        let slack = pow2.saturating_add(mem::page_size());
        let smallest = SMALLEST_SPAN.max(size.saturating_mul(64));
        let with_slack = |s: usize| mem::reserve_none(s.checked_add(slack)?);
        let Some((p, span)) = mem::largest_reservation(self.span, smallest, with_slack) else {
            self.base = Self::FAILED;
            return;
        };
        (self.base, self.span, self.reserved) = (p.as_ptr() as usize, span, span + slack);
        self.top = ((self.base + self.reserved) & !(pow2 - 1)) - mem::page_size();
    }

    /// Whether `at` lies inside the span.
    fn holds(&self, at: usize) -> bool {
        self.base != 0 && self.base != Self::FAILED && (self.base..self.top).contains(&at)
    }

    /// The address of a free slot for an arena of `size` bytes, reserving the span first if
    /// this is the first arena; `None` to fall back to a plain mapping.
    fn slot_for(&mut self, size: usize) -> Option<usize> {
        if self.base == 0 {
            self.reserve(size);
        }
        if self.base == Self::FAILED || size != self.size || size == 0 {
            return None;
        }
        let slot = if self.free_len > 0 {
            self.free_len -= 1;
            *self.free.get(self.free_len) as usize
        } else if (self.used + 1) * size <= self.span && self.used < u32::MAX as usize {
            self.used += 1;
            self.used - 1
        } else {
            return None;
        };
        Some(self.top - (slot + 1) * size)
    }
}

impl Drop for ArenaRegion {
    fn drop(&mut self) {
        if self.holds(self.base) {
            // SAFETY: the span is this region's own mapping; every arena in it belonged to
            // the allocator being dropped with it.
            unsafe { mem::unmap(NonNull::new_unchecked(self.base as *mut u8), self.reserved) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn write_and_read(p: NonNull<u8>, size: usize) {
        // SAFETY: p is a fresh read-write mapping of `size` bytes.
        unsafe {
            p.as_ptr().write(7);
            p.as_ptr().add(size - 1).write(9);
            assert_eq!(p.as_ptr().read() + p.as_ptr().add(size - 1).read(), 16);
        }
    }

    #[test]
    fn arenas_sit_side_by_side_from_the_top_down() {
        let mut r = ArenaRegion::new();
        let a: Vec<usize> = (0..4)
            .map(|_| {
                let p = r.map(MIB).unwrap();
                write_and_read(p, MIB);
                p.as_ptr() as usize
            })
            .collect();
        for w in a.windows(2) {
            assert_eq!(w[0] - w[1], MIB, "{a:x?}");
        }
        assert!(a.iter().all(|&x| r.holds(x)));
    }

    #[test]
    fn every_arena_starts_one_page_past_a_pool_boundary() {
        let page = mem::page_size();
        for (arena, pool) in [(MIB, 16 << 10), (256 << 10, 4 << 10), (768 << 10, 8 << 10)] {
            let mut r = ArenaRegion::new();
            for _ in 0..5 {
                let q = r.map(arena).unwrap();
                write_and_read(q, arena);
                let p = q.as_ptr() as usize;
                assert!(r.holds(p), "{arena}: in the span");
                // Every power of two dividing the arena: the pool size is one of them.
                assert_eq!(p % pool, pool - page, "{arena} / {pool}: {p:#x}");
                let pow2 = 1 << arena.trailing_zeros();
                assert_eq!(p % pow2, pow2 - page, "{arena}: {p:#x}");
            }
        }
    }

    #[test]
    fn a_small_span_still_holds_its_arenas_after_placing_them() {
        for arenas in 1..4 {
            let mut r = ArenaRegion::with_span(arenas * MIB);
            let inside = (0..arenas).map(|_| r.map(MIB).unwrap()).collect::<Vec<_>>();
            assert!(inside.iter().all(|p| r.holds(p.as_ptr() as usize)));
            let spilled = r.map(MIB).unwrap();
            assert!(
                !r.holds(spilled.as_ptr() as usize),
                "{arenas}: the span is full"
            );
            unsafe { r.unmap(spilled, MIB) };
        }
    }

    #[test]
    fn a_released_slot_is_reused_and_comes_back_zeroed() {
        let mut r = ArenaRegion::new();
        let (p, q) = (r.map(MIB).unwrap(), r.map(MIB).unwrap());
        write_and_read(p, MIB);
        unsafe { r.unmap(p, MIB) };
        let again = r.map(MIB).unwrap();
        assert_eq!(again, p);
        // SAFETY: a fresh read-write mapping: its old pages went back to the kernel.
        assert_eq!(unsafe { again.as_ptr().read() }, 0);
        assert_ne!(again, q);
    }

    /// Whether `[p, p + size)` is mapped at all (`msync` refuses unmapped ranges).
    fn mapped(p: NonNull<u8>, size: usize) -> bool {
        // SAFETY: msync only inspects the range; it writes nothing back for MS_ASYNC.
        unsafe { libc::msync(p.as_ptr().cast(), size, libc::MS_ASYNC) == 0 }
    }

    #[test]
    fn a_forgotten_arena_in_the_span_is_left_for_the_span() {
        let mut r = ArenaRegion::with_span(MIB);
        let (inside, outside) = (r.map(MIB).unwrap(), r.map(MIB).unwrap());
        assert!(r.holds(inside.as_ptr() as usize) && !r.holds(outside.as_ptr() as usize));
        unsafe {
            r.forget(inside, MIB);
            r.forget(outside, MIB);
        }
        // The span's slot stays mapped until the span goes (no remapping per arena). That
        // the others are unmapped is not asserted: another test's thread may map into the
        // freed range before a check could look.
        assert!(mapped(inside, MIB), "left for the span's own unmapping");
        drop(r);
    }

    #[test]
    fn other_sizes_and_a_full_span_fall_back_to_plain_mappings() {
        let mut r = ArenaRegion::with_span(2 * MIB);
        let (a, b) = (r.map(MIB).unwrap(), r.map(MIB).unwrap());
        let c = r.map(MIB).unwrap();
        let d = r.map(256 << 10).unwrap();
        assert!(r.holds(a.as_ptr() as usize) && r.holds(b.as_ptr() as usize));
        assert!(!r.holds(c.as_ptr() as usize) && !r.holds(d.as_ptr() as usize));
        assert_eq!(r.outside, 2, "each arena outside the span is counted");
        assert!(arenas_outside_span() >= 2, "and in the process's count");
        write_and_read(c, MIB);
        write_and_read(d, 256 << 10);
        unsafe {
            r.unmap(c, MIB);
            r.unmap(d, 256 << 10);
            r.unmap(a, MIB);
        }
        assert_eq!(r.map(MIB), Some(a));
    }
}
