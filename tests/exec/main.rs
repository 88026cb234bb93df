//! Real programs: `exec`, `validate` and `fidelity` against real interpreters, the preload
//! libraries' ground truth, programs that misbehave or run past `--timeout`, and `exec`'s launcher.
//!
//! One test binary for these files (each former `tests/<file>.rs` is a module here, its tests
//! named `<file>::<test>`): every test binary links the whole crate and the C allocators, so one
//! per file spent most of CI's build time linking. Files that need a process of their own stay
//! separate binaries in `tests/` (see `tests/alloc_isolated.rs`, `tests/engine_debug.rs`,
//! `tests/engine_global_allocator.rs`).

#[path = "../common/mod.rs"]
mod common;

mod cli_exec;
mod cli_fidelity;
mod cli_validate;
mod exec_groundtruth;
mod exec_hostile;
mod exec_reexec;
mod exec_timeout;
mod misbehaving_preloads;
mod missing_script;
mod program_stdin;
mod quiet_failures;
mod spawn_floor;
