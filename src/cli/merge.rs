//! `pybench merge DIR… -o DIR`: joins the folders of a sharded run (`run --shard K/N`) into
//! one run folder ([`crate::report::merge`]).

use crate::report::merge::{merge, shard_list, MergeRequest};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' results folders, in any order.
    ///
    /// Each is written by `pybench run --shard K/N`, or is the --out folder holding it.
    #[arg(required = true, value_name = "DIR")]
    shards: Vec<PathBuf>,
    /// The merged run's folder; it must not exist yet (nothing is overwritten).
    #[arg(long, short, value_name = "DIR")]
    out: PathBuf,
    /// Merge even when shards are missing or were interrupted.
    ///
    /// The merged run is then marked interrupted and its tables say how many repetitions each
    /// workload has.
    #[arg(long)]
    partial: bool,
    /// Do not write plots/*.svg and index.html into the merged folder.
    #[arg(long)]
    no_plots: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    super::guard::check_directory("-o", &args.out)?;
    let merged = merge(&MergeRequest {
        inputs: args.shards,
        out: args.out,
        partial: args.partial,
        plots: !args.no_plots,
        command_line: crate::sys::process::command_line(),
    })?;
    let r = &merged.results;
    if !merged.missing.is_empty() {
        crate::stderr_line!(
            "warning: partial merge, without shard {}",
            shard_list(&merged.missing, merged.count)
        );
    }
    if !merged.interrupted.is_empty() {
        crate::stderr_line!(
            "warning: partial merge: shard {} interrupted, merged with the cells it finished",
            shard_list(&merged.interrupted, merged.count)
        );
    }
    for line in &merged.skipped_plots {
        crate::stderr_line!("warning: {line}");
    }
    if r.failed_cells() > 0 {
        crate::stderr_line!(
            "warning: {} failed cell(s) merged as failed (see summary.md)",
            r.failed_cells()
        );
    }
    if !args.quiet {
        crate::stderr_line!(
            "merged {} of {} shard(s), {} cells: {}",
            merged.count as usize - merged.missing.len(),
            merged.count,
            r.cells.len(),
            merged.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
