//! A shareable engine: one global lock around every call — CPython's GIL, in effect — and a
//! [`GlobalAlloc`] implementation so any Rust program can run on pymalloc.

use super::engine::Pymalloc;
use super::stats::Stats;
use super::{Geometry, ALIGNMENT};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, MutexGuard};

/// [`Pymalloc`] behind one lock. obmalloc itself has no locking: the MEM and OBJ domains rely
/// on the GIL (pymalloc.md §8), so this wrapper serialises every call the same way. The lock
/// is a futex-based `std::sync::Mutex`, which never allocates.
///
/// ```no_run
/// use pybench::pymalloc::{LockedPymalloc, Preset};
///
/// #[global_allocator]
/// static GLOBAL: LockedPymalloc = LockedPymalloc::new(Preset::Cpython311.geometry());
///
/// fn main() {
///     let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
///     println!("{} words; {} arenas", words.len(), GLOBAL.stats().arenas_allocated_current);
/// }
/// ```
pub struct LockedPymalloc {
    engine: Mutex<Pymalloc>,
}

impl LockedPymalloc {
    /// A locked engine with the given geometry; `const`, so it can be a `static`.
    pub const fn new(geometry: Geometry) -> Self {
        LockedPymalloc {
            engine: Mutex::new(Pymalloc::new(geometry)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pymalloc> {
        // Nothing panics while the lock is held, but a poisoned lock still guards a
        // consistent engine, so recover rather than abort.
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the lock held. If this engine is the global allocator, `f` must not
    /// allocate or free (the lock is not re-entrant).
    pub fn with<R>(&self, f: impl FnOnce(&mut Pymalloc) -> R) -> R {
        f(&mut self.lock())
    }

    /// A snapshot of the accounting; safe to call on the global allocator (`Stats` is a plain
    /// value, built without allocating).
    pub fn stats(&self) -> Stats {
        self.lock().stats()
    }
}

/// Requests aligned beyond pymalloc's 16 bytes cannot come from a pool; they go to the system
/// allocator, whose blocks the engine frees correctly because it does not own them.
unsafe impl GlobalAlloc for LockedPymalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            self.lock().malloc(layout.size())
        } else {
            crate::sys::mem::raw::aligned_alloc(layout.align(), layout.size())
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            self.lock().calloc(1, layout.size())
        } else {
            let p = crate::sys::mem::raw::aligned_alloc(layout.align(), layout.size());
            if !p.is_null() {
                std::ptr::write_bytes(p, 0, layout.size());
            }
            p
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, _layout: Layout) {
        self.lock().free(p)
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            return self.lock().realloc(p, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let q = self.alloc(new_layout);
        if !q.is_null() {
            std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
            self.dealloc(p, layout);
        }
        q
    }
}
