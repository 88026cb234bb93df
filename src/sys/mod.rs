//! Every call pybench makes to the operating system, in one place: memory mappings and the
//! system allocator for the engine (`mem`), `/proc` and `getrusage` readings (`procfs`),
//! perf_event counters (`perf`), files written atomically and inputs read with a limit (`fs`),
//! the process controls of child processes (`process`), and the recording channel that
//! names each writer (`channel`).

pub mod channel;
pub mod fs;
pub(crate) mod mem;
pub mod perf;
pub mod process;
pub mod procfs;
