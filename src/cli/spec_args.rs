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
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
}

/// A `--seed`: clap's own message for `--seed -1` was "invalid digit found in string".
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "`{text}` is not a seed: a seed is a whole number from 0 to {} (the same seed \
             gives the same events)",
            u64::MAX
        )
    })
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

#[cfg(test)]
mod tests {
    use super::parse_seed;

    #[test]
    fn seeds_are_whole_numbers_in_range() {
        assert_eq!(parse_seed("0"), Ok(0));
        assert_eq!(parse_seed(" 42 "), Ok(42));
        assert_eq!(parse_seed("18446744073709551615"), Ok(u64::MAX));
        for bad in ["-1", "1.5", "", "18446744073709551616", "x"] {
            let e = parse_seed(bad).unwrap_err();
            assert!(
                e.contains("is not a seed") && e.contains("whole number"),
                "{bad}: {e}"
            );
        }
    }
}
