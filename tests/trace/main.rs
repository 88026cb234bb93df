//! Traces: the format and its integrity, the parallel reader, streaming replay, `record`, the
//! recorded obmalloc accounting, and `run --mutator` on paced traces.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod mutator;
mod stream_replay;
mod trace_accounting;
mod trace_format;
mod trace_integrity;
mod trace_pipeline;
mod trace_record;
mod trace_record_refusals;
