//! Allocators behind one trait, one file each, so scenarios, benchmarks and the harness can
//! drive any of them the same way. Allocators are objects here, never installed as the
//! process's global allocator: the C allocators are reached through their prefixed symbols
//! (`_rjem_malloc`, `mi_malloc`, `sn_malloc`), so all of them coexist in one binary with
//! glibc's own `malloc`, and a CPython's obmalloc is reached through `dlsym`.
//!
//! [`registry`] turns the short names of the command line into allocators; [`debug_stats`]
//! reads the accounting text of `sys._debugmallocstats()` into numbers.

mod cpython;
mod cpython_arenas;
mod crash;
pub mod debug_stats;
#[cfg(feature = "jemalloc")]
mod jemalloc;
#[cfg(feature = "jemalloc")]
mod jemalloc_version;
pub mod libpython;
#[cfg(feature = "mimalloc")]
mod mimalloc;
#[cfg(feature = "mimalloc")]
mod mimalloc_version;
mod null;
mod pymalloc;
pub mod registry;
#[cfg(feature = "snmalloc")]
mod snmalloc;
#[cfg(feature = "snmalloc")]
mod snmalloc_version;
pub mod spec;
mod system;
#[cfg(test)]
mod testing;
mod unheld;

pub use self::cpython::{serves_unstarted, CpythonAllocator, CpythonError};
pub use self::crash::CrashAllocator;
pub use self::debug_stats::DebugMallocStats;
#[cfg(feature = "jemalloc")]
pub use self::jemalloc::JemallocAllocator;
#[cfg(feature = "mimalloc")]
pub use self::mimalloc::MimallocAllocator;
pub use self::null::NullAllocator;
pub use self::pymalloc::PymallocAllocator;
pub use self::registry::{AllocError, AllocOptions, Selection};
#[cfg(feature = "snmalloc")]
pub use self::snmalloc::SnmallocAllocator;
pub use self::spec::{AllocatorSpec, DebianBuild, EngineConfig};
pub use self::system::SystemAllocator;
pub use self::unheld::Unheld;

/// The C allocation interface CPython's allocator domains use (`malloc`, `calloc`,
/// `realloc`, `free`), with their semantics: `malloc(0)` returns a unique non-NULL pointer,
/// `realloc(NULL, n)` allocates, and `free` takes no size (CPython never passes one, so an
/// allocator whose native free is sized must find the size itself, and pays for it here as
/// it would under a real Python).
///
/// Alignment is C's: a block of n ≥ 16 bytes is 16-byte aligned; smaller blocks are aligned
/// to at least the largest power of two ≤ n (jemalloc and mimalloc serve 8-byte requests from
/// an 8-byte class, as they do under a real Python started with `PYTHONMALLOC=malloc`).
pub trait Allocator {
    /// Short, stable name as used on the command line (`system`, `pymalloc:cpython-3.11` …).
    fn name(&self) -> String;

    /// Version of the allocator's code (library version, or this crate's for the engine).
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn malloc(&mut self, n: usize) -> *mut u8;

    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8;

    /// # Safety
    /// `p` is NULL or a live block of this allocator.
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8;

    /// # Safety
    /// `p` is NULL or a live block of this allocator, not used afterwards.
    unsafe fn free(&mut self, p: *mut u8);

    /// Gives cached free memory back to the OS with the allocator's own purge call (glibc
    /// `malloc_trim(0)`, jemalloc `arena.<all>.purge`, mimalloc `mi_collect(true)`), so the
    /// harness can measure retained memory after it (design.md §3). Default: nothing to do.
    fn trim(&mut self) {}

    /// While `hold` is on, memory the allocator would return to the OS stays mapped for its
    /// next requests: the harness turns it on around its untimed cleanup between throughput
    /// passes, so a pass does not start by faulting in the heap the cleanup just unmapped
    /// (`sys/parked.rs` says why). Only pymalloc unmaps there — the engine and the real
    /// obmalloc release emptied arenas at once; the other allocators keep freed memory
    /// themselves. Default: nothing to do.
    fn hold_releases(&mut self, _hold: bool) {}

    /// The pymalloc accounting, for allocators that have one (the engine).
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        None
    }

    /// Whether the blocks it hands out take memory that grows with the live blocks: all but
    /// `null`, which hands out one scratch block. The harness backs memory before a cold
    /// pass only for those ([`crate::harness::throughput::ColdPrime`]).
    fn has_heap(&self) -> bool {
        true
    }
}

/// Something to run with an allocator of a type known at compile time: the harness's replay
/// loop implements it so that every allocator gets its own monomorphised, inlined loop
/// instead of a virtual call per event (see [`AllocatorSpec::visit`]).
pub trait AllocatorVisitor {
    type Output;
    fn visit<A: Allocator + 'static>(self, allocator: A) -> Self::Output;
}

impl<A: Allocator + ?Sized> Allocator for Box<A> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn version(&self) -> String {
        (**self).version()
    }
    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        (**self).malloc(n)
    }
    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        (**self).calloc(nelem, elsize)
    }
    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        (**self).realloc(p, n)
    }
    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        (**self).free(p)
    }
    fn trim(&mut self) {
        (**self).trim()
    }
    fn hold_releases(&mut self, hold: bool) {
        (**self).hold_releases(hold)
    }
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        (**self).engine_stats()
    }
    fn has_heap(&self) -> bool {
        (**self).has_heap()
    }
}
