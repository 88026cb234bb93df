//! `jemalloc`: jemalloc 5.3 built by `tikv-jemalloc-sys`, called as an object.
//!
//! On Linux the crate builds jemalloc with the `_rjem_` symbol prefix unless its
//! `unprefixed_malloc_on_supported_platforms` feature is on (its build.rs emits
//! `cfg(prefixed)` otherwise, and every binding carries `link_name = "_rjem_…"`). This crate
//! leaves that feature off, so jemalloc sits beside glibc's `malloc` instead of replacing it.

use super::Allocator;
use std::ffi::c_void;
use tikv_jemalloc_sys as je;

/// `MALLCTL_ARENAS_ALL` from jemalloc.h: the pseudo arena index meaning "every arena".
const MALLCTL_ARENAS_ALL: u32 = 4096;

/// jemalloc through its C API (`malloc`, `calloc`, `realloc`, `free`), default arenas and
/// thread cache, exactly as a CPython started with `PYTHONMALLOC=malloc` under jemalloc
/// would call it.
#[derive(Debug, Default)]
pub struct JemallocAllocator;

impl JemallocAllocator {
    /// jemalloc's own version string, read with `mallctl("version")`.
    pub fn library_version() -> String {
        super::jemalloc_version::version()
    }
}

impl Allocator for JemallocAllocator {
    fn name(&self) -> String {
        "jemalloc".to_string()
    }

    fn version(&self) -> String {
        Self::library_version()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: jemalloc's malloc accepts any size and returns a unique pointer for 0.
        unsafe { je::malloc(n).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: jemalloc's calloc checks the product for overflow.
        unsafe { je::calloc(nelem, elsize).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        // jemalloc's realloc(p, 0) frees and returns NULL under glibc semantics on some
        // builds; CPython never asks for 0 (it bumps to 1), and neither do we.
        je::realloc(p.cast::<c_void>(), n.max(1)).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        je::free(p.cast())
    }

    /// `mallctl("arena.4096.purge")`: purges unused dirty pages of every arena.
    fn trim(&mut self) {
        let name = format!("arena.{MALLCTL_ARENAS_ALL}.purge\0");
        // SAFETY: a purge control takes no input or output.
        unsafe {
            je::mallctl(
                name.as_ptr().cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract() {
        crate::alloc::testing::check_contract(&mut JemallocAllocator);
    }

    #[test]
    fn version_is_5_3() {
        assert!(JemallocAllocator.version().starts_with("jemalloc 5.3"));
    }

    /// The build must not depend on the CPU it ran on: without the pin in .cargo/config.toml
    /// a build on a 57-bit host gives a slower, layout-sensitive jemalloc.
    #[test]
    fn address_width_is_pinned_to_48_bits() {
        assert_eq!(crate::alloc::jemalloc_version::LG_VADDR, "48");
        assert!(JemallocAllocator.version().ends_with("(lg-vaddr 48)"));
    }

    /// The block must come from jemalloc, not glibc: jemalloc knows its size class.
    #[test]
    fn blocks_are_jemallocs() {
        let p = JemallocAllocator.malloc(100);
        // SAFETY: p is a live jemalloc block.
        let usable = unsafe { je::malloc_usable_size(p.cast()) };
        assert_eq!(usable, 112, "jemalloc's size class for 100 bytes is 112");
        // SAFETY: as above.
        unsafe { JemallocAllocator.free(p) };
    }
}
