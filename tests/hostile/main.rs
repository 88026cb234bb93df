//! Hostile and careless use: planted links, full disks and unbounded inputs (`hardening`),
//! children that must die with a killed pybench (`orphans`),
//! mutation fuzzing (`fuzz`; `scripts/fuzz.sh` runs it at length), outputs found planted
//! (`planted_targets`), outputs that are FIFOs or
//! the process's own descriptors, and export targets that would clobber each other.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod cli_export_targets;
mod closed_stderr;
mod fuzz;
mod hardening;
mod limits;
mod orphans;
mod output_targets;
mod planted_targets;
mod replacing;
