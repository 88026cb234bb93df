//! Mappings an allocator released while the harness freed a pass's leftovers, kept mapped for
//! the next pass instead of going back to the kernel.
//!
//! Why: a throughput pass replays a whole program from an empty heap, and the harness frees
//! whatever the pass left live before the next one (untimed). pymalloc — the engine and the
//! real obmalloc alike — then unmaps every arena that cleanup empties, so its next pass takes a
//! page fault for every page of its heap again, while glibc, jemalloc and mimalloc keep the
//! freed memory and fault none: on the dicts workload 2,390 faults a pass against 0 – 7
//! (`examples/fault_probe.rs`, 2026-12-04). On the 2-core VM of that day they were 17 – 25 %
//! of the engine's warm time there (about 2 – 3 µs a fault), a cost no other contender paid
//! (README, "How a run measures"). Parking what the cleanup releases puts every contender's
//! warm pass on a heap whose pages are already faulted in; arenas released *during* a pass
//! are the workload's own churn and still go back to the kernel.
//!
//! The list is threaded through the parked mappings themselves (each one's first two words:
//! the next mapping and its size), so it needs no memory of its own and the engine stays
//! free of the global allocator (it can be that allocator).

use super::arena_region::ArenaRegion;
use std::ptr::NonNull;

/// A stack of parked mappings; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Parked {
    /// The most recently parked mapping's address, or 0.
    head: usize,
    /// Whether releases are parked now (the harness's cleanup between passes).
    pub(crate) holding: bool,
}

impl Parked {
    pub(crate) const fn new() -> Self {
        Parked {
            head: 0,
            holding: false,
        }
    }

    /// Keeps the mapping `p` of `size` bytes if releases are held now; `false` (and `p`
    /// untouched) if not, for the caller to unmap.
    ///
    /// # Safety
    /// `p` is a live, writable mapping of `size` ≥ 16 bytes that nothing uses any more.
    pub(crate) unsafe fn park(&mut self, p: NonNull<u8>, size: usize) -> bool {
        if !self.holding {
            return false;
        }
        let words = p.as_ptr().cast::<usize>();
        words.write(self.head);
        words.add(1).write(size);
        self.head = p.as_ptr() as usize;
        true
    }

    /// Lets the mapping `p` of `size` bytes go: parked while releases are held, returned to
    /// `region` (its span, or the kernel) otherwise. The one release path of the engine's and
    /// the real obmalloc's arenas.
    ///
    /// # Safety
    /// As [`Self::park`]; `p` is not used afterwards.
    pub(crate) unsafe fn release(&mut self, p: NonNull<u8>, size: usize, region: &mut ArenaRegion) {
        if !self.park(p, size) {
            region.unmap(p, size);
        }
    }

    /// A parked mapping of exactly `size` bytes, if there is one (its contents are whatever
    /// its last user left, not zeros). The most recently parked first: its pages are the
    /// likeliest still in cache.
    pub(crate) fn take(&mut self, size: usize) -> Option<NonNull<u8>> {
        let mut link: *mut usize = &mut self.head;
        // SAFETY: every address on the list is a parked mapping whose first two words hold
        // the next address and its size (written by `park`).
        unsafe {
            while *link != 0 {
                let words = *link as *mut usize;
                if words.add(1).read() == size {
                    *link = words.read();
                    return NonNull::new(words.cast());
                }
                link = words;
            }
        }
        None
    }

    /// Lets go of every parked mapping of an allocator being dropped with `region`
    /// ([`ArenaRegion::forget`]).
    pub(crate) fn forget_all(&mut self, region: &mut ArenaRegion) {
        // SAFETY: as in `take`; each mapping leaves the list before it is let go, once; the
        // caller drops `region` with the allocator.
        unsafe {
            while let Some(p) = NonNull::new(self.head as *mut u8) {
                let words = p.as_ptr().cast::<usize>();
                self.head = words.read();
                region.forget(p, words.add(1).read());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::mem;

    fn mapping(size: usize) -> NonNull<u8> {
        mem::map(size).expect("a small mapping")
    }

    #[test]
    fn nothing_is_parked_unless_releases_are_held() {
        let mut parked = Parked::new();
        let p = mapping(4096);
        assert!(!unsafe { parked.park(p, 4096) });
        assert_eq!(parked.take(4096), None);
        unsafe { mem::unmap(p, 4096) };
    }

    #[test]
    fn a_parked_mapping_comes_back_for_its_size_only() {
        let mut parked = Parked::new();
        parked.holding = true;
        let (small, large) = (mapping(4096), mapping(3 * 4096));
        unsafe {
            assert!(parked.park(small, 4096));
            assert!(parked.park(large, 3 * 4096));
        }
        parked.holding = false;
        assert_eq!(parked.take(2 * 4096), None, "no mapping of that size");
        assert_eq!(parked.take(4096), Some(small), "found below the head");
        assert_eq!(parked.take(4096), None, "taken once");
        assert_eq!(parked.take(3 * 4096), Some(large));
        assert_eq!(parked.take(3 * 4096), None);
        unsafe {
            mem::unmap(small, 4096);
            mem::unmap(large, 3 * 4096);
        }
    }

    #[test]
    fn a_release_is_parked_while_held_and_unmapped_otherwise() {
        let (mut parked, mut region) = (Parked::new(), ArenaRegion::new());
        let (kept, gone) = (mapping(4096), mapping(4096));
        parked.holding = true;
        unsafe { parked.release(kept, 4096, &mut region) };
        parked.holding = false;
        unsafe { parked.release(gone, 4096, &mut region) };
        assert_eq!(parked.take(4096), Some(kept), "the held release");
        assert_eq!(parked.take(4096), None, "the other went back to the kernel");
        unsafe { mem::unmap(kept, 4096) };
    }

    #[test]
    fn the_latest_parked_comes_back_first_and_forget_all_empties_the_list() {
        let (mut parked, mut region) = (Parked::new(), ArenaRegion::new());
        parked.holding = true;
        let maps: Vec<_> = (0..3).map(|_| mapping(4096)).collect();
        for &m in &maps {
            assert!(unsafe { parked.park(m, 4096) });
        }
        assert_eq!(parked.take(4096), Some(maps[2]));
        unsafe { mem::unmap(maps[2], 4096) };
        parked.forget_all(&mut region);
        assert_eq!(parked.take(4096), None);
    }
}
