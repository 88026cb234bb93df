//! `LD_PRELOAD` library serving `malloc` & co. from the jemalloc that `tikv-jemalloc-sys`
//! builds for pybench's replay (its `_rjem_`-prefixed functions), so `pybench exec` measures
//! the real program on the same jemalloc build the replay measured.

use std::ffi::c_void;
use tikv_jemalloc_sys as je;

mod imp {
    use super::{c_void, je};

    pub unsafe fn malloc(n: usize) -> *mut c_void {
        je::malloc(n)
    }
    pub unsafe fn calloc(n: usize, size: usize) -> *mut c_void {
        je::calloc(n, size)
    }
    pub unsafe fn realloc(p: *mut c_void, n: usize) -> *mut c_void {
        je::realloc(p, n)
    }
    pub unsafe fn free(p: *mut c_void) {
        je::free(p)
    }
    pub unsafe fn aligned(align: usize, n: usize) -> *mut c_void {
        let mut p = std::ptr::null_mut();
        if je::posix_memalign(&mut p, align.max(std::mem::size_of::<usize>()), n) == 0 {
            p
        } else {
            std::ptr::null_mut()
        }
    }
    pub unsafe fn usable(p: *mut c_void) -> usize {
        je::malloc_usable_size(p)
    }
    /// `jemalloc 5.3.1 (lg-vaddr 48)`, the same string pybench's in-process allocator
    /// reports for the same build.
    pub fn version() -> String {
        super::jemalloc_version::version()
    }
}

#[path = "../../../src/alloc/jemalloc_version.rs"]
mod jemalloc_version;

include!("../../exports.rs");
