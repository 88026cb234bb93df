//! The arguments `exec` and `validate` share, declared once (so neither command module
//! depends on the other).

use super::output::OutputArgs;
use crate::exec::program::{parse_allocators, ProgramRequest};
use clap::Args;

/// The arguments of `exec` and `validate`: which allocators, how often, and the program.
#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// Allocators: pymalloc (the interpreter as it is), system (PYTHONMALLOC=malloc), jemalloc,
    /// mimalloc, tcmalloc (PYTHONMALLOC=malloc + LD_PRELOAD of Debian's build), NAME=PATH.
    /// Default: every one installed. Separate with commas or repeat the flag.
    #[arg(long, short)]
    pub allocators: Vec<String>,
    /// Another allocator library to preload, as NAME=PATH (repeatable; real runs only, it has
    /// no in-process replay).
    #[arg(long, value_name = "NAME=PATH")]
    pub preload: Vec<String>,
    /// Runs per allocator (for `validate`: on each side, replay and real).
    #[arg(
        long,
        short,
        visible_alias = "repeat",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub repetitions: u32,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub program: Vec<String>,
}

impl ProgramArgs {
    /// The request these arguments make, with every allocator name parsed.
    pub fn request(&self) -> anyhow::Result<ProgramRequest> {
        Ok(ProgramRequest {
            program: self.program.clone(),
            allocators: parse_allocators(&self.allocators, &self.preload)?,
            repetitions: self.repetitions,
            quiet: self.output.quiet,
        })
    }
}
