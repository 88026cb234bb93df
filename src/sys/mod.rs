//! Every call pybench makes to the operating system, in one place: memory mappings and the
//! system allocator for the engine (`mem`), `/proc` and `getrusage` readings (`procfs`), and
//! perf_event counters (`perf`).

pub(crate) mod mem;
pub mod perf;
pub mod pinned;
pub mod procfs;
