//! `pybench list …`: everything the user can name.

use crate::pymalloc::{Geometry, Preset};
use clap::{Args, ValueEnum};
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
    match args.what {
        ListWhat::Presets => list_presets(),
        ListWhat::Workloads => list_workloads()?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list_presets() {
    println!(
        "{:<14} {:>8} {:>8} {:>11} {:>10}",
        "preset", "arena", "pool", "pools/arena", "keep spare"
    );
    for p in Preset::ALL {
        let g: Geometry = p.geometry();
        println!(
            "{:<14} {:>7}K {:>7}K {:>11} {:>10}",
            p.name(),
            g.arena_size() >> 10,
            g.pool_size() >> 10,
            g.pools_per_arena(),
            if g.keeps_spare_arena() { "yes" } else { "no" }
        );
    }
    println!("custom geometries: arena=SIZE,pool=SIZE[,keep_spare=false], e.g. arena=512K,pool=8K");
}

fn list_workloads() -> anyhow::Result<()> {
    println!(
        "{:<13} {:<13} {:>8}  description",
        "workload", "generator", "scale"
    );
    for (name, _) in crate::workload::BUILTINS {
        let w = crate::workload::Workload::builtin(name)?;
        println!(
            "{:<13} {:<13} {:>8}  {}",
            w.name,
            w.params.generator(),
            w.scale,
            w.description
        );
    }
    println!("a spec file path works wherever a name does: --workload my.toml (format: README.md)");
    Ok(())
}
