//! `pybench gen --workload NAME -o FILE`: write a synthetic workload's event stream as a
//! trace (`trace::generate`), so it can be inspected, shared or replayed like a recorded one;
//! `pybench gen --like TRACE -o FILE`: write a synthetic stand-in for a trace
//! (`workload::likeness`).

use super::guard;
use crate::trace::generate::write_workload_showing;
use crate::trace::Source;
use crate::workload::fit::LONG_RUN;
use crate::workload::{and_list, Overrides};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// One of `--workload` and `--like`: a missing one is refused naming both.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["workload", "like"])))]
pub struct GenArgs {
    /// A built-in workload name (see `pybench list workloads`) or a spec file path.
    #[arg(long, short, value_name = "NAME|PATH")]
    workload: Option<String>,
    /// Write a synthetic stand-in for this trace instead.
    ///
    /// TRACE is `trace:NAME` or a `.pbt` path. The stand-in is a statistical model of the trace's
    /// sizes, lifetimes, live set, domains and GC bursts per phase, drawn afresh in loop bodies, so
    /// it matches the trace's realism report and its order of calls without its sequence: it
    /// completes none of the trace's 64-event runs (the allocations and reallocs changed to keep
    /// that are counted on stderr).
    #[arg(long, value_name = "TRACE")]
    like: Option<String>,
    /// Trace file to write (`-`: standard output, which must not be a terminal).
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists.
    ///
    /// Without it, an existing file is refused: a trace may be the only copy of a recording.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
}

fn like(trace: &str, args: &GenArgs) -> anyhow::Result<ExitCode> {
    let o = args.spec.overrides();
    // The stand-in is fitted to the trace: as long as it and of its Python version.
    let unused = Overrides { seed: None, ..o }.spec_flags();
    if !unused.is_empty() {
        anyhow::bail!(
            "{} cannot be used with --like: a stand-in has the trace's length and Python version (--seed picks the draw)",
            and_list(&unused)
        );
    }
    let seed = o.seed.unwrap_or(1);
    let w = crate::workload::likeness::write_stand_in(trace, &args.out, seed)?;
    let g = w.guarded;
    crate::stderr_line!(
        "wrote {} events of a stand-in for {trace} (seed {seed}) to {}; \
         {} allocations and {} reallocs asked again to share no {LONG_RUN}-run with the trace",
        w.events,
        args.out.display(),
        g.redrawn,
        g.nudged
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(mut args: GenArgs) -> anyhow::Result<ExitCode> {
    args.out = super::guard::trace_output(args.out)?;
    // Before any work, for both forms: `-o` must not be the spec or trace it reads.
    if let Some(input) = args.like.as_ref().or(args.workload.as_ref()) {
        let inputs = guard::workload_inputs(std::slice::from_ref(input));
        guard::refuse_overwriting_inputs(&[("-o", &args.out)], &inputs)?;
    }
    guard::refuse_replacing("-o", &args.out, args.force)?;
    let name = match (&args.like, &args.workload) {
        (Some(t), _) => return like(t, &args),
        (None, Some(w)) => w,
        (None, None) => anyhow::bail!("give --workload NAME or --like TRACE"),
    };
    let w = match Source::load(name)? {
        Source::Synthetic { workload, .. } => workload.with(args.spec.overrides()),
        Source::Trace { .. } => {
            anyhow::bail!("{name} is already a trace; gen writes workload specs as traces (or a stand-in with --like)")
        }
    };
    // A huge --scale runs for hours: on a terminal, show that it moves, as `stats` does.
    let mut progress = super::progress::EventProgress::on_stderr();
    let written = write_workload_showing(
        &w,
        &args.out,
        crate::sys::process::command_line(),
        &mut |n| progress.update(n),
    );
    progress.finish();
    let written = written?;
    crate::stderr_line!(
        "wrote {} events of workload {} to {} ({})",
        written.events,
        w.name,
        args.out.display(),
        super::trace_size(written.bytes, written.events),
    );
    for note in &written.notes {
        crate::stderr_line!("warning: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
