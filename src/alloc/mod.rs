//! Allocators behind one trait, one file each, so scenarios, benchmarks and (later) the
//! harness can drive any of them the same way. Allocators are objects here, never installed
//! as the process's global allocator.

mod pymalloc;
mod system;

pub use self::pymalloc::PymallocAllocator;
pub use self::system::SystemAllocator;

/// The C allocation interface CPython's allocator domains use (`malloc`, `calloc`,
/// `realloc`, `free`), with their semantics: every block is at least 16-byte aligned,
/// `malloc(0)` returns a unique non-NULL pointer, `realloc(NULL, n)` allocates.
pub trait Allocator {
    /// Short, stable name as used on the command line (`system`, `pymalloc:cpython-3.11` …).
    fn name(&self) -> String;

    fn malloc(&mut self, n: usize) -> *mut u8;

    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8;

    /// # Safety
    /// `p` is NULL or a live block of this allocator.
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8;

    /// # Safety
    /// `p` is NULL or a live block of this allocator, not used afterwards.
    unsafe fn free(&mut self, p: *mut u8);

    /// Returns cached free memory to the OS where the allocator has a call for it (run after
    /// everything was freed, to measure what it still retains).
    fn trim(&mut self) {}

    /// The pymalloc accounting, for allocators that have one (the engine).
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        None
    }
}
