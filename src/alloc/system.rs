//! `system`: the C library's malloc (glibc on the machines this project targets).

use super::Allocator;

/// The process's C allocator, called directly through libc.
#[derive(Debug, Default)]
pub struct SystemAllocator;

impl Allocator for SystemAllocator {
    fn name(&self) -> String {
        "system".to_string()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: malloc accepts any size; 0 is bumped to 1 for a unique non-NULL pointer.
        unsafe { libc::malloc(n.max(1)).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: calloc checks the product for overflow itself.
        unsafe { libc::calloc(nelem.max(1), elsize.max(1)).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        libc::realloc(p.cast(), n.max(1)).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        libc::free(p.cast())
    }

    /// glibc's `malloc_trim(0)` returns free memory at the top of the heap and whole free
    /// pages inside it.
    fn trim(&mut self) {
        // SAFETY: malloc_trim has no preconditions.
        unsafe { libc::malloc_trim(0) };
    }
}
