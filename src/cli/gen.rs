//! `pybench gen --workload NAME -o FILE`: write a synthetic workload's event stream as a
//! trace (`trace::generate`), so it can be inspected, shared or replayed like a recorded one.

use crate::trace::generate::write_workload;
use crate::trace::Source;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// A built-in workload name (see `pybench list workloads`) or a spec file path.
    #[arg(long, short, value_name = "NAME|PATH")]
    workload: String,
    /// Trace file to write.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
}

pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let w = match Source::load(&args.workload)? {
        Source::Synthetic { workload, .. } => workload.with(args.spec.overrides()),
        Source::Trace { .. } => {
            anyhow::bail!(
                "{} is already a trace; gen writes workload specs as traces",
                args.workload
            )
        }
    };
    let written = write_workload(&w, &args.out, std::env::args().collect())?;
    eprintln!(
        "wrote {} events of workload {} to {} ({} bytes, {:.2} B/event)",
        written.events,
        w.name,
        args.out.display(),
        written.bytes,
        written.bytes as f64 / written.events.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}
