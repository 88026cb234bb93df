//! `LD_PRELOAD` library serving `malloc` & co. from the snmalloc that `snmalloc-sys` builds
//! for pybench's replay (its `sn_` functions), so snmalloc gets a real-run side measured on
//! the same build the replay measured.

use snmalloc_sys as sn;
use std::ffi::c_void;

mod imp {
    use super::{c_void, sn};

    pub unsafe fn malloc(n: usize) -> *mut c_void {
        sn::sn_malloc(n)
    }
    pub unsafe fn calloc(n: usize, size: usize) -> *mut c_void {
        sn::sn_calloc(n, size)
    }
    pub unsafe fn realloc(p: *mut c_void, n: usize) -> *mut c_void {
        sn::sn_realloc(p, n)
    }
    /// snmalloc's `free` finds a block's size class from its address, aligned or not.
    pub unsafe fn free(p: *mut c_void) {
        sn::sn_free(p)
    }
    /// The libc API of snmalloc-sys has no aligned call; its Rust API does, and returns
    /// blocks `sn_free` accepts.
    pub unsafe fn aligned(align: usize, n: usize) -> *mut c_void {
        sn::sn_rust_alloc(align, n)
    }
    pub unsafe fn usable(p: *mut c_void) -> usize {
        sn::sn_malloc_usable_size(p)
    }
    /// `snmalloc (snmalloc-sys X.Y.Z)`, the same string pybench's in-process allocator
    /// reports.
    pub fn version() -> String {
        super::snmalloc_version::version()
    }
}

#[path = "../../../src/alloc/snmalloc_version.rs"]
mod snmalloc_version;

include!("../../exports.rs");
