//! pybench's pymalloc engine as a C shared library for a real CPython to load
//! (`pybench exec -a pymalloc:PRESET`, see `src/exec/engine_site.rs` and
//! `src/exec/engine_module.rs`): preloaded, its constructor installs the engine before the
//! interpreter's start-up; imported as the extension module `pybench_engine`, it reports
//! whether the engine is in effect and writes its accounting at exit.
//!
//! The engine's own sources are compiled here as they are in pybench (same files), without
//! the rest of pybench: a library loaded into the interpreter must not carry the C allocators
//! pybench links, whose initial-exec thread-locals do not fit glibc's static TLS reserve and
//! whose constructors would start them inside the measured interpreter. The two exported
//! entry points live in this file only, so pybench (which depends on this crate to have it
//! built, and compiles the same modules itself) never defines them twice.
#![allow(dead_code, clippy::all)]

#[path = "../../../src/sys/mem.rs"]
pub mod mem;

#[path = "../../../src/sys/parked.rs"]
pub mod parked;

#[path = "../../../src/sys/arena_region.rs"]
pub mod arena_region;

/// The engine reaches the OS through `crate::sys::mem` (and `sys::parked`,
/// `sys::arena_region`), as in pybench.
pub mod sys {
    pub use super::{arena_region, mem, parked};
}

#[path = "../../../src/pymalloc/mod.rs"]
pub mod pymalloc;

/// "Did you mean …?" for a mistyped preset or geometry key (`pymalloc::geometry`).
#[path = "../../../src/suggest.rs"]
pub mod suggest;

#[path = "../../../src/exec/engine_hook.rs"]
pub mod engine_hook;

#[path = "../../../src/exec/engine_module.rs"]
pub mod engine_module;

#[path = "../../../src/exec/engine_raw.rs"]
pub mod engine_raw;

/// The library's constructor: runs when the dynamic loader maps it (`LD_PRELOAD`: before
/// the interpreter's `main`). Does nothing unless `pybench exec` asked for the engine and the
/// process is a CPython it can serve (`engine_module::boot`).
#[used]
#[link_section = ".init_array"]
static BOOT: unsafe extern "C" fn() = boot;

unsafe extern "C" fn boot() {
    engine_module::boot()
}

/// The extension module's entry point (`import pybench_engine`).
///
/// # Safety
/// Called by CPython's import machinery with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_pybench_engine() -> *mut std::ffi::c_void {
    engine_module::py_init()
}
