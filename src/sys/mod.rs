//! Every call pybench makes to the operating system, in one place: memory mappings and the
//! system allocator for the engine (`mem`), `/proc` and `getrusage` readings (`procfs`),
//! perf_event counters (`perf`), the recorder's pipes (`pipe`), SIGINT (`signal`) and the
//! wall clock as a UTC timestamp (`time`).

pub(crate) mod mem;
pub mod perf;
pub mod pinned;
pub mod pipe;
pub mod procfs;
pub mod signal;
pub mod time;
