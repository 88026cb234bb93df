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
    /// `jemalloc 5.3.1 (lg-vaddr 48)`, as pybench's in-process allocator reports it
    /// (`mallctl("version")` without the git suffix, and the address width this build was
    /// configured for: `.cargo/config.toml` pins it, see `src/alloc/jemalloc.rs`).
    pub fn version() -> String {
        let mut v: *const libc::c_char = std::ptr::null();
        let mut len = std::mem::size_of::<*const libc::c_char>();
        // SAFETY: "version" yields a `const char *` into the out-pointer of the given size.
        let rc = unsafe {
            je::mallctl(
                c"version".as_ptr(),
                (&mut v as *mut *const libc::c_char).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 || v.is_null() {
            return "jemalloc (version unknown)".to_string();
        }
        // SAFETY: jemalloc returns a static NUL-terminated string.
        let full = unsafe { std::ffi::CStr::from_ptr(v) }.to_string_lossy();
        let release = full.split('-').next().unwrap_or(&full);
        let bits = option_env!("JEMALLOC_SYS_WITH_LG_VADDR").unwrap_or("detected");
        format!("jemalloc {release} (lg-vaddr {bits})")
    }
}

include!("../../exports.rs");
