//! The built-in workloads (CPython facts, stream properties and golden hashes), the realism
//! report and fitted stand-ins, and the statistics module's properties and the coverage of its
//! intervals.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod realism;
mod stats_coverage;
mod stats_props;
mod workload_facts;
mod workload_streams;
