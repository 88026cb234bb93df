//! `mimalloc`: mimalloc built by `libmimalloc-sys`, called as an object through its `mi_`
//! symbols (the crate's `override` feature, which would replace `malloc`, stays off).

use super::Allocator;
use libmimalloc_sys as mi;

/// mimalloc through `mi_malloc`, `mi_calloc`, `mi_realloc`, `mi_free` on the default heap.
#[derive(Debug, Default)]
pub struct MimallocAllocator;

impl MimallocAllocator {
    /// `mimalloc X.Y.Z` from `mi_version()`.
    pub fn library_version() -> String {
        super::mimalloc_version::version()
    }
}

impl Allocator for MimallocAllocator {
    fn name(&self) -> String {
        "mimalloc".to_string()
    }

    fn version(&self) -> String {
        Self::library_version()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: mi_malloc accepts any size and returns a unique pointer for 0.
        unsafe { mi::mi_malloc(n).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: mi_calloc checks the product for overflow.
        unsafe { mi::mi_calloc(nelem, elsize).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        mi::mi_realloc(p.cast(), n).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        mi::mi_free(p.cast())
    }

    /// `mi_collect(true)`: frees every abandoned and cached page it can.
    fn trim(&mut self) {
        // SAFETY: no preconditions.
        unsafe { mi::mi_collect(true) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract() {
        crate::alloc::testing::check_contract(&mut MimallocAllocator);
    }

    #[test]
    fn versions_decode_both_encodings() {
        assert_eq!(crate::alloc::mimalloc_version::decode(212), "2.1.2");
        assert_eq!(crate::alloc::mimalloc_version::decode(20302), "2.3.2");
        assert_eq!(crate::alloc::mimalloc_version::decode(30101), "3.1.1");
    }

    #[test]
    fn blocks_are_mimallocs() {
        let p = MimallocAllocator.malloc(100);
        // SAFETY: p is live; mi_is_in_heap_region only reads mimalloc's own maps.
        assert!(unsafe { mi::mi_is_in_heap_region(p.cast()) });
        // SAFETY: as above.
        unsafe { MimallocAllocator.free(p) };
    }
}
