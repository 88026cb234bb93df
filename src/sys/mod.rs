//! Every call pybench makes to the operating system, in one place: memory mappings and the
//! system allocator for the engine (`mem`), `/proc` and `getrusage` readings (`procfs`),
//! perf_event counters (`perf`), the recorder's pipes (`pipe`), SIGINT and SIGTERM (`signal`), the wall
//! clock as a UTC timestamp (`time`), files written atomically and inputs read with a limit
//! (`fs`), what is at an output path and how it is written (`target`), the process controls
//! of child processes (`process`), the launcher that starts a measured program from a small
//! address space (`spawn`) and ends the program's whole tree (`reaper`), the end of a quiet program's standard error (`stderr_tail`), the recording channel that names each writer (`channel`), what a
//! hypervisor does with free memory (`hypervisor`), and how much of the shared L3 other
//! tenants leave this process (`cache_probe`), and the clock its core runs at (`clock_probe`).

pub(crate) mod arena_region;
pub mod atomic_file;
pub mod cache_probe;
pub mod channel;
pub mod clock_probe;
pub mod fs;
pub mod hypervisor;
pub mod library_file;
pub(crate) mod mem;
pub(crate) mod parked;
pub mod perf;
pub mod pinned;
pub mod pipe;
pub mod private_dir;
pub mod process;
pub mod procfs;
pub mod reaper;
pub mod signal;
pub mod spawn;
pub mod stderr_tail;
pub mod target;
pub mod time;

/// For tests that change the whole process (a signal noted for every thread, orphans adopted
/// and children killed): runs the ignored test `name` of this test binary alone, in a process
/// of its own started by exec (a fork without exec shares every descriptor of the test
/// process, locks other tests hold among them), with `guard` set in its environment so the
/// test can refuse to run anywhere else; fails unless that test ran and passed.
#[cfg(test)]
pub(crate) fn run_test_alone(name: &str, guard: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(guard, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

/// The first line of a test that [`run_test_alone`] runs: refuses to go on outside it.
#[cfg(test)]
pub(crate) fn assert_run_alone(guard: &str) {
    assert!(
        std::env::var_os(guard).is_some(),
        "run by its parent test only"
    );
}

/// Writes a line on standard error, as `eprintln!` does, but never panics: `eprintln!` panics
/// when stderr is a pipe whose reader has gone (`pybench run 2>&1 | head`, a log collector
/// that died), which ended a run with exit 101 and lost the cells still to measure, and
/// turned an input error's exit 2 into 101. pybench's stderr carries progress, warnings and
/// errors, none of which is worth the run; results go to files and stdout.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Writes text on standard error without a newline (progress lines redrawn in place), as
/// `eprint!` does, but never panics ([`stderr_line!`] says why).
#[macro_export]
macro_rules! stderr_text {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}
