//! pybench's pymalloc engine as a C shared library for a real CPython to load
//! (`pybench exec -a pymalloc:PRESET`, see `src/exec/engine_site.rs`).
//!
//! The engine's own sources are compiled here as they are in pybench (same files), without
//! the rest of pybench: a library loaded with `dlopen` must not carry the C allocators
//! pybench links, whose initial-exec thread-locals do not fit glibc's static TLS reserve and
//! whose constructors would start them inside the measured interpreter.
#![allow(dead_code, clippy::all)]

#[path = "../../../src/sys/mem.rs"]
pub mod mem;

/// The engine reaches the OS through `crate::sys::mem`, as in pybench.
pub mod sys {
    pub use super::mem;
}

#[path = "../../../src/pymalloc/mod.rs"]
pub mod pymalloc;

#[path = "../../../src/exec/engine_hook.rs"]
pub mod engine_hook;
