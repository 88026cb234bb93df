//! The benchmark harness (design.md §1, §3): cells of (workload, allocator, repetition), each
//! measured in a fresh child process by replaying the workload's events.

pub mod cell;
pub mod child;
pub mod fidelity;
pub mod heap;
pub mod plan;
pub mod replay;
pub mod runner;
pub mod timer;
