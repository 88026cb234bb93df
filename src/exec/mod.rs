//! Ground truth: the real program run under each allocator (`pybench exec`), measured from the
//! outside, with results in the same files as a replay.

pub mod agreement;
pub mod contender;
mod elf;
pub mod engine_hook;
pub mod engine_module;
pub mod engine_raw;
pub mod engine_site;
pub mod measure;
pub mod mutator_replay;
pub mod pipeline;
pub mod program;
pub mod script;
pub mod validate;

pub use contender::{Contender, ContenderError};
pub use measure::{execute, to_cell, Execution};
