//! The benchmark harness (design.md §1, §3): cells of (workload, allocator, repetition), each
//! measured in a fresh child process by replaying the workload's events.

pub mod cell;
pub mod child;
pub mod compact;
pub mod feed;
pub mod fidelity;
pub mod group;
pub mod heap;
mod long_run;
pub mod mutator;
pub mod mutator_fit;
pub mod paired;
pub mod plan;
pub mod precision;
pub mod replay;
pub mod runner;
pub mod shard;
pub mod stream_policy;
pub mod survey;
pub mod throughput;
pub mod throughput_loop;
pub mod timer;
pub mod trace_fidelity;
