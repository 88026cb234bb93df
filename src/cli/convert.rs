//! `pybench convert TRACE -o FILE`: rewrite a trace in the encoding this pybench writes
//! (`trace::generate::rewrite_trace`), e.g. to shrink a file recorded before allocation-order
//! references.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The trace to rewrite: a `.pbt` path or `trace:NAME`.
    ///
    /// Files of version 1 and 2 are read.
    #[arg(value_name = "TRACE")]
    trace: String,
    /// Where to write it (`-`: standard output).
    ///
    /// It may be the input itself, or a link to it: the new file replaces the input only once it is
    /// complete, and the link stays a link.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists and is not the input.
    ///
    /// Without it, an existing file is refused: a trace may be the only copy of a recording.
    #[arg(short, long)]
    force: bool,
}

pub fn run(mut args: ConvertArgs) -> anyhow::Result<ExitCode> {
    args.out = super::guard::trace_output(args.out)?;
    // Rewriting a trace in place is what `-o` naming the input asks for, through a link too
    // (the input is replaced, the link kept); anything else that exists there is refused as
    // `gen` and `record` refuse it.
    let input = crate::trace::source::trace_path(&args.trace).ok();
    let in_place = input
        .as_deref()
        .and_then(|p| crate::sys::target::in_place_target(p, &args.out));
    if in_place.is_none() {
        super::guard::refuse_replacing("-o", &args.out, args.force)?;
    }
    let before = input
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    let target = in_place.as_deref().unwrap_or(&args.out);
    let written = crate::trace::generate::rewrite_trace(&args.trace, target)?;
    crate::stderr_line!(
        "wrote {} events to {}: {} (was {})",
        written.events,
        args.out.display(),
        super::trace_size(written.bytes, written.events),
        super::trace_size(before, written.events),
    );
    Ok(ExitCode::SUCCESS)
}
