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
