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
                Ok(_) => return start as *mut u8,
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
            Self::bump(layout) // fresh pages of an anonymous mapping are zero
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
