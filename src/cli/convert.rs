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
    /// Where to write it; may be the input itself (the new file replaces it only once it is
    /// complete).
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
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
