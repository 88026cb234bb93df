//! The arguments `exec` and `validate` share, declared once (so neither command module
//! depends on the other).

use super::output::OutputArgs;
use crate::exec::program::{parse_allocators, ProgramRequest};
use crate::exit::Exit;
use clap::Args;
use std::process::ExitCode;

/// The arguments of `exec` and `validate`: which allocators, how often, and the program.
#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// Allocators (default: pymalloc, system, jemalloc, mimalloc, snmalloc).
    ///
    /// Each is one of: pymalloc (the interpreter as it is); pymalloc:PRESET or
    /// pymalloc:arena=SIZE,pool=SIZE (pybench's engine serving the interpreter's MEM and OBJ
    /// domains); system (PYTHONMALLOC=malloc); jemalloc, mimalloc, snmalloc (PYTHONMALLOC=malloc
    /// and LD_PRELOAD of pybench's own build of the crate the replay links); jemalloc@debian,
    /// mimalloc@debian, tcmalloc (Debian's libraries); NAME=PATH. Separate with commas or repeat
    /// the flag.
    #[arg(long, short)]
    pub allocators: Vec<String>,
    /// Another allocator library to preload, as NAME=PATH (repeatable).
    ///
    /// Real runs only: it has no in-process replay.
    #[arg(long, value_name = "NAME=PATH")]
    pub preload: Vec<String>,
    /// Runs per allocator, interleaved.
    ///
    /// For `validate`: on each side, replay and real. Five give the 95 % intervals and significance
    /// tests a useful resolution.
    #[arg(
        long,
        short,
        visible_alias = "repeat",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub repetitions: u32,
    /// Seconds after which a run is killed (default: no limit).
    ///
    /// A run of the program that takes longer is killed (SIGKILL) and reported as failed (for
    /// `validate`, the recording too, which then stops it).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// The program's standard input: FILE (default: none, `/dev/null`).
    ///
    /// Every run (and `validate`'s recording) reads FILE from its start. Without it, what is piped
    /// or redirected to pybench is not passed on, as the program runs several times. The program's
    /// output goes to pybench's stderr (with `-q` nowhere), so stdout holds only pybench's results.
    #[arg(long, value_name = "FILE")]
    pub stdin: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub program: Vec<String>,
}

impl ProgramArgs {
    /// What the command reads, which no output of it may replace: the program, its
    /// arguments and the `--stdin` file.
    pub fn inputs(&self) -> Vec<super::guard::Input> {
        let mut inputs = super::guard::program_inputs(&self.program);
        inputs.extend(self.stdin.iter().map(|path| super::guard::Input {
            role: "--stdin",
            path: path.clone(),
        }));
        inputs
    }

    /// The request these arguments make, with every allocator name parsed.
    pub fn request(&self) -> anyhow::Result<ProgramRequest> {
        Ok(ProgramRequest {
            program: self.program.clone(),
            allocators: parse_allocators(&self.allocators, &self.preload)?,
            repetitions: self.repetitions,
            quiet: self.output.quiet,
            timeout: self.timeout,
            stdin: self.stdin.clone(),
        })
    }
}

/// `--timeout SECS` of `exec`, `validate` and `record`: whole seconds, 1 s to a week (as
/// `run`'s cell timeout).
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<u64>() {
        Ok(s @ 1..=604_800) => Ok(std::time::Duration::from_secs(s)),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 1 to 604800 (a week)"
        )),
    }
}

/// Ends a command whose runs were written: each problem in one line, exit code 2. The lines
/// carry the prefix of every other error (`main`'s), so a script matching `pybench: error:`
/// finds these too.
pub fn report_problems(problems: &[String], code: ExitCode) -> ExitCode {
    for p in problems {
        crate::stderr_line!("pybench: error: {p}");
    }
    if problems.is_empty() {
        code
    } else {
        Exit::Usage.into()
    }
}
