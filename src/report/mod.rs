//! Results: the schema of result files and the exporters that write them.

pub mod caveats;
mod checks;
pub mod digits;
pub mod export;
pub mod merge;
pub mod model;
pub mod outliers;
pub mod per_process;
pub mod precision;
pub mod ranged;
pub mod store;
pub mod summary;
pub mod table;
pub mod validation;
pub mod verdict;
pub mod verdict_table;
