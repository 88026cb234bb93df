//! The spec overrides `gen` and `stats` accept, declared once.

use crate::workload::{Overrides, PyVersion};
use clap::Args;

#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// CPython version to model (overrides the spec): 3.8 … 3.13.
    #[arg(long, value_name = "3.X")]
    python: Option<PyVersion>,
    /// Allocation requests to model (overrides the spec).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed (overrides the spec).
    #[arg(long)]
    seed: Option<u64>,
}

impl OverrideArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            python: self.python,
            scale: self.scale,
            seed: self.seed,
            ..Overrides::default()
        }
    }
}
