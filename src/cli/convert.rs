//! `pybench convert TRACE -o FILE`: rewrite a trace in the encoding this pybench writes
//! (`trace::generate::rewrite_trace`), e.g. to shrink a file recorded before allocation-order
//! references.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The trace to rewrite: a `.pbt` path or `trace:NAME`. Version 1 and 2 files read.
    #[arg(value_name = "TRACE")]
    trace: String,
    /// Where to write it (`-`: standard output); may be the input itself (the new file
    /// replaces it only once it is complete).
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists and is not the input (without it, an existing
    /// file is refused: a trace may be the only copy of a recording).
    #[arg(short, long)]
    force: bool,
}

pub fn run(mut args: ConvertArgs) -> anyhow::Result<ExitCode> {
    args.out = super::guard::trace_output(args.out)?;
    // Rewriting a trace in place is what `-o` naming the input asks for; anything else that
    // exists there is refused as `gen` and `record` refuse it.
    let input = crate::trace::source::trace_path(&args.trace).ok();
    if !input.is_some_and(|p| crate::sys::target::same_regular_file(&p, &args.out)) {
        super::guard::refuse_replacing("-o", &args.out, args.force)?;
    }
    let before = crate::trace::source::trace_path(&args.trace)
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    let written = crate::trace::generate::rewrite_trace(&args.trace, &args.out)?;
    let per_event = |b: u64| b as f64 / written.events.max(1) as f64;
    eprintln!(
        "wrote {} events to {}: {} bytes ({:.3} B/event; was {} bytes, {:.3} B/event)",
        written.events,
        args.out.display(),
        written.bytes,
        per_event(written.bytes),
        before,
        per_event(before)
    );
    Ok(ExitCode::SUCCESS)
}
