//! The command line: `run`, `gen`, `stats`, `convert`, `merge` and sharding, `list`, `engine`,
//! the verdict's flags, interrupting a command that writes one file.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod cli_allocators;
mod cli_cold_prime;
mod cli_consistency;
mod cli_convert;
mod cli_engine;
mod cli_fingerprint;
mod cli_flags;
mod cli_interrupt;
mod cli_memory_reps;
mod cli_merge_incomplete;
mod cli_misnamed_allocators;
mod cli_new_user;
mod cli_precision;
mod cli_run;
mod cli_shard;
mod cli_shard_refusals;
mod cli_specs;
mod cli_stats_report;
mod cli_trace;
mod cli_trace_input;
mod cli_trace_names;
mod cli_verdict;
mod cli_workloads;
