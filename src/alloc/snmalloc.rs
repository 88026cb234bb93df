//! `snmalloc`: snmalloc built by `snmalloc-sys` (feature `build_cc`, so no CMake is needed),
//! called as an object.
//!
//! The crate's default Rust entry points are sized (`sn_rust_dealloc(ptr, align, size)`), which
//! CPython's unsized `free(p)` cannot call without a size lookup first. Its `libc-api`
//! feature compiles snmalloc's own C API (`override/malloc.cc`) with every name mangled to
//! `sn_…` (`sn_malloc`, `sn_free` …; see `override/rust.cc`), so it coexists with glibc and
//! its `free` does the one lookup snmalloc's C API always does. That is how snmalloc serves
//! a real Python (`LD_PRELOAD=libsnmallocshim.so`), so it is what is measured here.

use super::Allocator;
use snmalloc_sys as sn;

/// snmalloc through `sn_malloc`, `sn_calloc`, `sn_realloc`, `sn_free`.
#[derive(Debug, Default)]
pub struct SnmallocAllocator;

impl SnmallocAllocator {
    /// snmalloc has no version call; this is the version of the bundled sources, which the
    /// `snmalloc-sys` crate pins (Cargo.lock: 0.7.6).
    pub fn library_version() -> String {
        "snmalloc (snmalloc-sys 0.7.6)".to_string()
    }
}

impl Allocator for SnmallocAllocator {
    fn name(&self) -> String {
        "snmalloc".to_string()
    }

    fn version(&self) -> String {
        Self::library_version()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: sn_malloc accepts any size and returns a unique pointer for 0.
        unsafe { sn::sn_malloc(n).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: sn_calloc checks the product for overflow.
        unsafe { sn::sn_calloc(nelem, elsize).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        sn::sn_realloc(p.cast(), n.max(1)).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        sn::sn_free(p.cast())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract() {
        crate::alloc::testing::check_contract(&mut SnmallocAllocator);
    }

    #[test]
    fn blocks_are_snmallocs() {
        let p = SnmallocAllocator.malloc(100);
        // SAFETY: p is live; snmalloc knows the size class of its own blocks (112 for 100).
        let usable = unsafe { sn::sn_malloc_usable_size(p.cast()) };
        assert_eq!(usable, 112);
        // SAFETY: as above.
        unsafe { SnmallocAllocator.free(p) };
    }
}
