//! The command line: argument parsing and dispatch. Each command lives in its own module.

mod compare;
mod convert;
mod engine;
mod exec;
mod fidelity;
mod gen;
mod guard;
mod list;
mod merge;
mod output;
mod plot;
mod program;
mod progress;
mod record;
mod run;
mod spec_args;
mod stats;
mod sweep;
mod validate;

use crate::exit::Exit;
use clap::{FromArgMatches as _, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "pybench",
    version,
    about = "Which allocator serves Python-shaped allocation best, and by how much",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay workloads against allocators, each cell in its own process; write
    /// results/<timestamp>-<label>/ (results.json, results.csv, summary.md) and print a table.
    Run(Box<run::RunArgs>),
    /// Run a built-in scenario on the pymalloc engine and print its accounting in the layout
    /// of CPython's `sys._debugmallocstats()`.
    Engine(engine::EngineArgs),
    /// List what can be named on the command line (presets, …).
    List(list::ListArgs),
    /// Run a real program once per allocator per repetition (PYTHONMALLOC=malloc plus a
    /// preloaded allocator, or the interpreter's own pymalloc) and measure it from outside.
    Exec(Box<program::ProgramArgs>),
    /// Record a program's trace, replay it against the allocators, run the program under
    /// each, and show whether the replay's ranking holds (Kendall's tau, disagreements).
    Validate(Box<validate::ValidateArgs>),
    /// Replay a workload into the engine preset and into the real obmalloc of the same CPython
    /// version, and compare their accounting (arenas, pools and blocks per class).
    ///
    /// A recorded trace (--trace) is compared with its interpreter's own end report instead. Exits
    /// 1 when a figure differs, 2 when they cannot be compared (no such libpython, a bad trace or
    /// flag).
    Fidelity(fidelity::FidelityArgs),
    /// Internal: measure fidelity figures in this process (used by `fidelity`).
    #[command(name = "__fidelity", hide = true)]
    FidelityChild { spec: String },
    /// Internal: measure one cell in this process (used by `run`).
    #[command(name = "__cell", hide = true)]
    Cell { spec: String },
    /// Internal: measure the throughput of several allocators taking turns (used by `run`).
    #[command(name = "__throughput", hide = true)]
    Throughput { spec: String },
    /// Internal: start a measured or recorded program from a small address space, as its
    /// subreaper (used by `exec` and `record`).
    #[command(name = "__spawn", hide = true)]
    Spawn {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        program: Vec<std::ffi::OsString>,
    },
    /// Summarise a workload's event stream or a trace file: ops, domains, size classes,
    /// lifetimes, peaks.
    Stats(stats::StatsArgs),
    /// Compare two runs metric by metric: regressed, improved, unchanged or not significant;
    /// exit 1 when something regressed, 2 when the runs cannot be compared.
    Compare(compare::CompareArgs),
    /// Draw a run's results: plots/*.svg (RSS over time, latency percentiles, throughput and
    /// frag_ratio bars, engine pools per class) and an index.html with the summary tables.
    Plot(plot::PlotArgs),
    /// Record the allocator calls of a CPython program into a trace file:
    /// `pybench record -o FILE -- python3 script.py ARGS`.
    ///
    /// Ctrl-C reaches the program (it is in the terminal's process group) and SIGTERM sent to
    /// pybench is passed on to it; either way what was recorded until the program ends is
    /// written, and pybench exits with the program's status.
    Record(record::RecordArgs),
    /// Write a synthetic workload's event stream as a trace file, or (--like) a synthetic
    /// stand-in for a recorded trace that shares none of its 64-event runs.
    Gen(gen::GenArgs),
    /// Rewrite a trace in this pybench's encoding (smaller for files from older versions):
    /// events, pace, metadata and recorded accounting kept.
    Convert(convert::ConvertArgs),
    /// Join the results folders of a sharded run (`run --shard K/N` on a CI matrix) into one run
    /// folder.
    ///
    /// Refuses shards whose parameters, machine kind, streams or replay mode (streamed or from
    /// memory) differ, duplicates and missing shards (exit 2).
    Merge(merge::MergeArgs),
    /// The engine's accounting (arenas, churn, heap RSS, unused-pool and quantization bytes) over a
    /// grid of geometries for workloads or traces.
    ///
    /// Cells run in parallel; the result is a table, and optionally CSV and heatmaps with the
    /// presets and the Pareto-best geometries marked.
    Sweep(sweep::SweepArgs),
}

/// Where a command with `--allow-malformed` refuses a trace that breaks liveness, says that
/// the flag reads it anyway (`what`: how). Other commands have no such flag and do not say it.
fn suggest_allow_malformed(err: anyhow::Error, what: &str) -> anyhow::Error {
    if crate::trace::is_malformed(&err) {
        anyhow::anyhow!("{err:#}; --allow-malformed {what} it anyway")
    } else {
        err
    }
}

/// The command line's grammar, with every option that takes a value accepting a negative
/// number as that value: `--threshold -1` then reaches the option's own check (`--threshold
/// must be a percentage in [0, 100), got -1`), where clap refused `-1` as an unknown argument
/// and suggested `-- -1`, which cannot give an option its value.
fn grammar() -> clap::Command {
    fn negatives(c: clap::Command) -> clap::Command {
        c.mut_args(|a| {
            if a.get_action().takes_values() && !a.is_positional() {
                a.allow_negative_numbers(true)
            } else {
                a
            }
        })
        .mut_subcommands(negatives)
    }
    negatives(<Cli as clap::CommandFactory>::command())
}

/// Parses the command line, runs the command and turns errors into a one-line message.
pub fn main() -> ExitCode {
    quiet_on_closed_stdout();
    crate::sys::signal::file_size_limit_as_error();
    let cli = match grammar()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Engine(args) => engine::run(args),
        Command::List(args) => list::run(args),
        Command::Run(args) => run::run(*args),
        Command::Fidelity(args) => fidelity::run(args),
        Command::Exec(args) => exec::run(*args),
        Command::Validate(args) => validate::run(*args),
        Command::FidelityChild { spec } => {
            crate::harness::fidelity::child_main(&spec).map(|()| ExitCode::SUCCESS)
        }
        Command::Cell { spec } => crate::harness::child::main(&spec).map(|()| ExitCode::SUCCESS),
        Command::Throughput { spec } => {
            crate::harness::group::main(&spec).map(|()| ExitCode::SUCCESS)
        }
        Command::Spawn { program } => {
            crate::sys::spawn::launcher_main(&program).map(|()| ExitCode::SUCCESS)
        }
        Command::Stats(args) => stats::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Record(args) => record::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Sweep(args) => sweep::run(args),
    };
    match result {
        Ok(code) => code,
        // `pybench … | head` closing the pipe early is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            crate::stderr_line!("pybench: error: {err:#}");
            Exit::Usage.into()
        }
    }
}

/// A command line clap refused: help and version as clap prints them, anything else as one
/// `pybench: error: …` line (exit 2), like every other bad input.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    crate::stderr_line!("pybench: error: {}", one_line(&e.to_string()));
    Exit::Usage.into()
}

/// The first paragraph of clap's message, joined into one line without its `error: `
/// prefix: the reason and, when clap lists them on the lines below (missing arguments), what
/// it is about; then clap's tips (a similar flag). The usage and the hint to try --help are
/// left out.
fn one_line(message: &str) -> String {
    let mut parts: Vec<&str> = message
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let tips: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tip:"))
        .collect();
    if let Some(first) = parts.first_mut() {
        *first = first.strip_prefix("error: ").unwrap_or(first);
    }
    let mut text = parts.join(" ");
    for tip in tips {
        text.push_str("; ");
        text.push_str(tip);
    }
    format!("{text} (see --help)")
}

/// `print!` panics when standard output is a pipe its reader closed (`pybench stats --json |
/// head`). That is the reader's choice, not our failure: end quietly and successfully, as
/// the errors that reach [`main`] as `BrokenPipe` do, instead of printing a panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info)
    }));
}

/// The result of printing a command's report on stdout, with a reader that has gone (`|
/// head -3`, `| grep -q regressed`) counted as done: the command goes on to what follows the
/// report — failures named on stderr, `compare`'s step summary — and exits with its own code.
/// A broken pipe reaching [`main`] ends with 0, which turned a regression (1), a figure that
/// differs (1) or a failed cell (3) into success for a CI step that pipes the report.
pub(crate) fn printed<E: Into<anyhow::Error>>(r: Result<(), E>) -> anyhow::Result<()> {
    match r.map_err(Into::into) {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// A written trace's size for the line `gen`, `convert` and `record` print: bytes, and bytes per
/// event when there are events (a file holding none still has its header and end block, and
/// "1257.000 B/event" of nothing would read as a figure).
fn trace_size(bytes: u64, events: u64) -> String {
    match events {
        0 => format!("{bytes} bytes, no event"),
        n => format!("{bytes} bytes, {:.3} B/event", bytes as f64 / n as f64),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod doc_refs_tests;
#[cfg(test)]
mod readme_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// clap checks a command's definition (two flags with one short name, a default that
    /// is not a possible value) only when asked, or when the clash is reached at run time.
    #[test]
    fn a_trace_size_has_a_per_event_figure_only_when_there_are_events() {
        assert_eq!(trace_size(1257, 0), "1257 bytes, no event");
        assert_eq!(trace_size(1000, 8), "1000 bytes, 125.000 B/event");
        assert_eq!(trace_size(1, 3), "1 bytes, 0.333 B/event");
    }

    #[test]
    fn every_command_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn out_has_a_short_flag_wherever_a_command_writes_a_folder() {
        for args in [
            &["pybench", "run", "-w", "dicts", "-o", "x"][..],
            &["pybench", "exec", "-o", "x", "--", "python3", "a.py"],
            &["pybench", "plot", "r", "-o", "x"],
        ] {
            let parsed = Cli::try_parse_from(args);
            assert!(parsed.is_ok(), "{args:?}: {:?}", parsed.err());
        }
    }

    #[test]
    fn clap_messages_become_one_line() {
        let value = "error: invalid value '0' for '--scale <SCALE>': 0 is not in 1..10\n\n\
                     For more information, try '--help'.\n";
        assert_eq!(
            one_line(value),
            "invalid value '0' for '--scale <SCALE>': 0 is not in 1..10 (see --help)"
        );
        let missing = "error: the following required arguments were not provided:\n  \
                       --out <FILE>\n\nUsage: pybench gen --out <FILE>\n\n\
                       For more information, try '--help'.\n";
        assert_eq!(
            one_line(missing),
            "the following required arguments were not provided: --out <FILE> (see --help)"
        );
        let similar = "error: unexpected argument '--jsn' found\n\n  tip: a similar argument \
                       exists: '--json'\n\nUsage: pybench stats --json [TRACE]\n";
        assert_eq!(
            one_line(similar),
            "unexpected argument '--jsn' found; tip: a similar argument exists: '--json' (see --help)"
        );
    }

    #[test]
    fn every_refused_command_line_is_one_line() {
        for args in [
            &["pybench", "stats", "-w", "dicts", "--scale", "0"][..],
            &["pybench", "stats", "-w", "dicts", "--python", "3.7"],
            &["pybench", "gen", "-w", "dicts"],
            &["pybench", "stats", "--foo"],
            &["pybench", "fidelity", "--trace", "x", "-w", "y"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            let line = one_line(&e.to_string());
            assert!(!line.contains('\n') && !line.starts_with("error"), "{line}");
        }
    }
}
