//! Debug builds detect misuse of engine blocks and abort with a message instead of
//! corrupting the free lists. Each case re-runs this test binary as a child that commits the
//! misuse, and checks the child died of SIGABRT after printing the message.

use pybench::pymalloc::{Preset, Pymalloc};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD_VAR: &str = "PYBENCH_MISUSE_CASE";

/// Runs in the child: performs the misuse named by the environment variable.
fn misuse(case: &str) {
    let mut e = Pymalloc::new(Preset::Cpython311.geometry());
    let p = e.malloc(32);
    let keep = e.malloc(32); // keeps the pool in use, so only the free list can tell
    unsafe {
        match case {
            "double-free" => {
                e.free(p);
                e.free(p);
            }
            "double-free-empty-pool" => {
                e.free(keep);
                e.free(p);
                e.free(p);
            }
            "interior-pointer" => e.free(p.add(8)),
            _ => unreachable!("unknown case {case}"),
        }
    }
}

fn run_child(test_name: &str, case: &str) -> (Option<i32>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, case)
        .output()
        .unwrap();
    (
        out.status.signal(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(test_name: &str, case: &str, message: &str) {
    if let Ok(c) = std::env::var(CHILD_VAR) {
        misuse(&c);
        return; // not reached when the engine detects the misuse
    }
    if !cfg!(any(debug_assertions, feature = "checked")) {
        eprintln!(
            "skipped: misuse detection exists only in debug builds and with --features checked"
        );
        return;
    }
    let (signal, stderr) = run_child(test_name, case);
    assert_eq!(
        signal,
        Some(libc::SIGABRT),
        "{case}: child should abort; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(message),
        "{case}: expected `{message}` in:\n{stderr}"
    );
}

#[test]
fn double_free_in_a_pool_with_live_blocks_aborts() {
    check(
        "double_free_in_a_pool_with_live_blocks_aborts",
        "double-free",
        "pybench pymalloc: fatal: double free of a pymalloc block",
    );
}

#[test]
fn double_free_in_an_emptied_pool_aborts() {
    check(
        "double_free_in_an_emptied_pool_aborts",
        "double-free-empty-pool",
        "double free: the block's pool has no blocks in use",
    );
}

#[test]
fn freeing_an_interior_pointer_aborts() {
    check(
        "freeing_an_interior_pointer_aborts",
        "interior-pointer",
        "not the start of a pymalloc block",
    );
}
