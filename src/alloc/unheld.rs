//! An allocator adapter that ignores [`Allocator::hold_releases`]: `run
//! --release-between-passes` wraps every contender in it, so the harness's cleanup between
//! throughput passes lets pymalloc unmap the arenas it empties, as pybench measured before
//! 2026-12-04 (README "How a run measures").

use super::Allocator;

/// `A`, releasing at once whatever it would release: holding is never turned on.
pub struct Unheld<A>(pub A);

impl<A: Allocator> Allocator for Unheld<A> {
    fn name(&self) -> String {
        self.0.name()
    }
    fn version(&self) -> String {
        self.0.version()
    }
    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.0.malloc(n)
    }
    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        self.0.calloc(nelem, elsize)
    }
    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        self.0.realloc(p, n)
    }
    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        self.0.free(p)
    }
    fn trim(&mut self) {
        self.0.trim()
    }
    /// Never passed on: the point of the adapter.
    fn hold_releases(&mut self, _hold: bool) {}
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        self.0.engine_stats()
    }
    fn has_heap(&self) -> bool {
        self.0.has_heap()
    }
}
