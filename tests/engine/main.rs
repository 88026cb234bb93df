//! The pymalloc engine: spec-derived scenarios, the model check (proptest; its 10⁷-op run is
//! `#[ignore]`d, see `.ci/run`), `seed_from`, and `sweep` over engine geometries.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod engine_differential;
mod engine_library;
mod engine_props;
mod engine_scenarios;
mod engine_seed;
mod sweep;
mod sweep_names;
mod sweep_plot;
