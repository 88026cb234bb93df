//! `LD_PRELOAD` library serving `malloc` & co. from the mimalloc that `libmimalloc-sys`
//! builds for pybench's replay (its `mi_` functions), so `pybench exec` measures the real
//! program on the same mimalloc build the replay measured.

use libmimalloc_sys as mi;
use std::ffi::c_void;

mod imp {
    use super::{c_void, mi};

    pub unsafe fn malloc(n: usize) -> *mut c_void {
        mi::mi_malloc(n)
    }
    pub unsafe fn calloc(n: usize, size: usize) -> *mut c_void {
        mi::mi_calloc(n, size)
    }
    pub unsafe fn realloc(p: *mut c_void, n: usize) -> *mut c_void {
        mi::mi_realloc(p, n)
    }
    pub unsafe fn free(p: *mut c_void) {
        mi::mi_free(p)
    }
    pub unsafe fn aligned(align: usize, n: usize) -> *mut c_void {
        mi::mi_malloc_aligned(n, align)
    }
    pub unsafe fn usable(p: *mut c_void) -> usize {
        mi::mi_usable_size(p)
    }
    /// `mimalloc X.Y.Z`, the same string pybench's in-process allocator reports.
    pub fn version() -> String {
        super::mimalloc_version::version()
    }
}

#[path = "../../../src/alloc/mimalloc_version.rs"]
mod mimalloc_version;

include!("../../exports.rs");
