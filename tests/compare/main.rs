//! Comparing and reporting runs: `compare` (and `--relative-to`, per-process samples, edge
//! cases), `plot`, and the scripts built on them (`scripts/ci-bench.sh`, `scripts/stability.sh`).
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod cli_compare;
mod cli_compare_edges;
mod cli_compare_family;
mod cli_compare_formats;
mod cli_compare_latency;
mod cli_compare_notes;
mod cli_compare_relative;
mod cli_compare_samples;
mod cli_plot;
mod cli_plot_stale;
mod cli_results_input;
mod scripts_ab;
mod scripts_ci_bench;
mod scripts_stability;
mod scripts_usage;
