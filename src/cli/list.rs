//! `pybench list …`: everything the user can name.

use crate::pymalloc::{Geometry, Preset};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    what: ListWhat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListWhat {
    /// pymalloc engine presets and their geometry.
    Presets,
    /// Built-in workloads: name, generator, default scale, description.
    Workloads,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match args.what {
        ListWhat::Presets => list_presets(&mut out)?,
        ListWhat::Workloads => list_workloads(&mut out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list_presets(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<14} {:>8} {:>8} {:>11} {:>10}",
        "preset", "arena", "pool", "pools/arena", "keep spare"
    )?;
    for p in Preset::ALL {
        let g: Geometry = p.geometry();
        writeln!(
            out,
            "{:<14} {:>7}K {:>7}K {:>11} {:>10}",
            p.name(),
            g.arena_size() >> 10,
            g.pool_size() >> 10,
            g.pools_per_arena(),
            if g.keeps_spare_arena() { "yes" } else { "no" }
        )?;
    }
    writeln!(
        out,
        "custom geometries: arena=SIZE,pool=SIZE[,keep_spare=false], e.g. arena=512K,pool=8K"
    )
}

fn list_workloads(out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<13} {:<13} {:>8}  description",
        "workload", "generator", "scale"
    )?;
    for (name, _) in crate::workload::BUILTINS {
        let w = crate::workload::Workload::builtin(name)?;
        writeln!(
            out,
            "{:<13} {:<13} {:>8}  {}",
            w.name,
            w.params.generator(),
            w.scale,
            w.description
        )?;
    }
    list_traces(out)?;
    writeln!(
        out,
        "a spec file path works wherever a name does: --workload my.toml (format: README.md);\n\
         so does a trace file: --workload my.pbt or --trace my.pbt"
    )?;
    Ok(())
}

/// Traces shipped in `workloads/traces/`: name, python, size and the recorded command (from
/// the header only, so listing stays instant).
fn list_traces(out: &mut impl Write) -> anyhow::Result<()> {
    use crate::trace::source::{shipped, PREFIX};
    for (name, path) in shipped() {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let (kind, what) = match crate::trace::TraceReader::open(&path) {
            Ok(r) => {
                let m = r.meta();
                (
                    format!("{} {}", m.source, m.python),
                    format!("{} KiB: {}", size >> 10, m.command.join(" ")),
                )
            }
            Err(e) => ("unreadable".to_string(), e.to_string()),
        };
        writeln!(
            out,
            "{:<13} {:<13} {:>8}  {what}",
            format!("{PREFIX}{name}"),
            kind,
            "-"
        )?;
    }
    Ok(())
}
