//! The harness's own heap in a cell process (design.md §3: "the harness's own heap must not
//! share" the allocator under test).
//!
//! The `pybench` binary installs [`HarnessHeap`] as its global allocator. Normally it forwards
//! to the system allocator. A cell child calls [`HarnessHeap::activate`] first thing: from then
//! on every Rust allocation (generating the workload, the slot table, histograms) is carved
//! from one private anonymous mapping and never freed, so glibc's heap stays untouched. Without
//! this, the generator's freed chunks would sit resident inside glibc's heap and `system`
//! would reuse them during the replay without any RSS growth, looking better than it is.
//! Blocks that came from the system allocator before activation are still freed there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Address space reserved for a child's harness state; only touched pages become resident.
const RESERVE: usize = 64 << 30;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static START: AtomicUsize = AtomicUsize::new(0);
static TOP: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);
/// The highest `TOP` ever reached: memory above it has never been handed out, so it is still
/// the zero of a fresh anonymous mapping; memory below it may hold a freed block's bytes.
static HIGH: AtomicUsize = AtomicUsize::new(0);

/// The binary's global allocator; see the module documentation.
pub struct HarnessHeap;

impl HarnessHeap {
    /// Switches this process's Rust allocations to a private bump region. Returns false (and
    /// stays on the system allocator) when the reservation fails.
    pub fn activate() -> bool {
        if ACTIVE.load(Ordering::Acquire) {
            return true;
        }
        // NORESERVE because most of it is never touched; mmap does not allocate, so this
        // is safe to call from inside the global allocator.
        let Some(p) = crate::sys::mem::reserve(RESERVE) else {
            return false;
        };
        let p = p.as_ptr();
        START.store(p as usize, Ordering::Relaxed);
        TOP.store(p as usize, Ordering::Relaxed);
        HIGH.store(p as usize, Ordering::Relaxed);
        END.store(p as usize + RESERVE, Ordering::Relaxed);
        ACTIVE.store(true, Ordering::Release);
        true
    }

    /// Bytes carved from the region so far (0 when not active).
    pub fn used() -> usize {
        TOP.load(Ordering::Relaxed) - START.load(Ordering::Relaxed)
    }

    fn owns(p: *mut u8) -> bool {
        let a = p as usize;
        ACTIVE.load(Ordering::Acquire)
            && a >= START.load(Ordering::Relaxed)
            && a < END.load(Ordering::Relaxed)
    }

    fn bump(layout: Layout) -> *mut u8 {
        let mut top = TOP.load(Ordering::Relaxed);
        loop {
            let start = (top + layout.align() - 1) & !(layout.align() - 1);
            let Some(end) = start.checked_add(layout.size().max(1)) else {
                return std::ptr::null_mut();
            };
            if end > END.load(Ordering::Relaxed) {
                return std::ptr::null_mut();
            }
            match TOP.compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    HIGH.fetch_max(end, Ordering::Relaxed);
                    return start as *mut u8;
                }
                Err(now) => top = now,
            }
        }
    }
}

unsafe impl GlobalAlloc for HarnessHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ACTIVE.load(Ordering::Acquire) {
            Self::bump(layout)
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ACTIVE.load(Ordering::Acquire) {
            // Only the part that was handed out before (and given back by a free or shrink
            // of the most recent block) needs clearing; above that the mapping is still zero.
            let high = HIGH.load(Ordering::Relaxed);
            let p = Self::bump(layout);
            if !p.is_null() && (p as usize) < high {
                let dirty = (high - p as usize).min(layout.size());
                std::ptr::write_bytes(p, 0, dirty);
            }
            p
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if Self::owns(p) {
            // Give the space back only when it is the most recent block (cheap and common
            // for temporary buffers); otherwise it stays until the process exits.
            let end = p as usize + layout.size().max(1);
            let _ = TOP.compare_exchange(end, p as usize, Ordering::Relaxed, Ordering::Relaxed);
        } else {
            System.dealloc(p, layout)
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::owns(p) {
            return System.realloc(p, layout, new_size);
        }
        let old_end = p as usize + layout.size().max(1);
        let new_end = p as usize + new_size.max(1);
        if new_size <= layout.size() {
            // Shrinking always fits; the tail is returned if this is the most recent block.
            let _ = TOP.compare_exchange(old_end, new_end, Ordering::Relaxed, Ordering::Relaxed);
            return p;
        }
        // The most recent block grows in place (a growing Vec usually is one).
        if new_end <= END.load(Ordering::Relaxed)
            && TOP
                .compare_exchange(old_end, new_end, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            HIGH.fetch_max(new_end, Ordering::Relaxed);
            return p;
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let q = Self::bump(new_layout);
        if !q.is_null() {
            std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit-test binary's own allocator is the system one, so calling the heap directly
    /// exercises the bump region without moving the test harness onto it.
    #[test]
    fn zeroed_allocations_are_zero_after_a_free_or_shrink_of_the_last_block() {
        assert!(HarnessHeap::activate());
        let h = HarnessHeap;
        let big = Layout::from_size_align(256, 16).unwrap();
        let small = Layout::from_size_align(64, 16).unwrap();
        // SAFETY: layouts are non-zero; every pointer is used within its layout.
        unsafe {
            // Freed last block: its bytes come back in the next allocation.
            let p = h.alloc(big);
            std::ptr::write_bytes(p, 0xAB, big.size());
            h.dealloc(p, big);
            let z = h.alloc_zeroed(big);
            assert!((0..big.size()).all(|i| *z.add(i) == 0), "after a free");
            // Shrunk last block: its old tail comes back.
            std::ptr::write_bytes(z, 0xCD, big.size());
            let s = h.realloc(z, big, 16);
            assert_eq!(s, z);
            let z2 = h.alloc_zeroed(small);
            assert!((0..small.size()).all(|i| *z2.add(i) == 0), "after a shrink");
            // Fresh memory stays zero without being written.
            let fresh = h.alloc_zeroed(Layout::from_size_align(1 << 20, 16).unwrap());
            assert!((0..1 << 20).step_by(4096).all(|i| *fresh.add(i) == 0));
        }
    }
}
