//! pybench: which allocator serves Python-shaped allocation best, and by how much.
//!
//! The library is usable without the command line:
//! - [`pymalloc`]: a faithful Rust model of CPython's small-object allocator (obmalloc),
//!   with presets for CPython 3.8 – 3.13, its `sys._debugmallocstats()` accounting, and a
//!   locked wrapper usable as a Rust `#[global_allocator]`.

pub mod alloc;
pub mod cli;
pub mod compare;
pub mod exec;
pub mod exit;
pub mod harness;
pub mod metrics;
pub mod plot;
pub mod pymalloc;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod suggest;
pub mod sweep;
pub mod sys;
pub mod trace;
pub mod workload;

/// How this binary was built, as figures depend on it: `release`, or `checked` / `debug` when
/// the engine verifies every free against its pool (the `checked` feature the test command
/// enables, or debug assertions), which makes pymalloc's figures slower than a release
/// build's — runs measured with such a build are not comparable with release runs.
pub const BUILD: &str = if cfg!(debug_assertions) {
    "debug"
} else if cfg!(feature = "checked") {
    "checked"
} else {
    "release"
};
