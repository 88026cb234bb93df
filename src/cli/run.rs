//! `pybench run`: workloads × allocators × repetitions, each cell in its own process; results
//! in `results/<timestamp>-<label>/` rewritten after every cell, and a table at the end.

use super::output::{self, OutputArgs};
use crate::alloc::AllocOptions;
use crate::harness::cell::CellSpec;
use crate::harness::replay::Touch;
use crate::harness::runner::{self, Outcome, Plan};
use crate::metrics::Id;
use crate::pymalloc::Preset;
use crate::report::model::{AllocatorInfo, CellResult, Metric, RunParameters};
use crate::trace::Source;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Workloads to replay: built-in names (see `pybench list workloads`), spec files or
    /// traces (`trace:NAME`, FILE.pbt); repeat the flag or separate with commas. Default:
    /// dicts, unless --trace is given.
    #[arg(long, short, value_delimiter = ',')]
    workload: Vec<String>,
    /// Trace files to replay (recorded with `pybench record` or written by `pybench gen`),
    /// after the --workload ones; repeatable.
    #[arg(long, value_name = "FILE")]
    trace: Vec<String>,
    /// Allocators to compare (see `pybench list allocators`); default: every one available.
    /// `pymalloc` alone means the engine preset of each workload's Python version.
    #[arg(long, short, value_delimiter = ',')]
    allocators: Vec<String>,
    /// Repetitions of every cell.
    #[arg(long, short, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    repetitions: u32,
    /// Allocation requests to model per workload (overrides the specs).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed of the workload generators (overrides the specs).
    #[arg(long)]
    seed: Option<u64>,
    /// CPython version to model, 3.8 … 3.13 (overrides the specs).
    #[arg(long, value_name = "3.X")]
    python: Option<String>,
    /// How much of each new block to write: none, header (16 bytes, like an object's
    /// refcount and type) or full.
    #[arg(long, default_value = "header")]
    touch: Touch,
    /// Time one operation in N during the latency pass (the throughput pass is never timed).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    sample: u32,
    #[command(flatten)]
    output: OutputArgs,
    /// Seconds after which a cell is killed and reported as failed.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// libpython to load for `cpython:3.X` instead of searching for it.
    #[arg(long, value_name = "PATH")]
    libpython: Option<PathBuf>,
}

/// The allocators of the run. Named ones must all be available (else exit 2 before measuring).
/// By default: every available allocator, with the engine written as bare `pymalloc` (resolved
/// per workload) and, of the real interpreters, only those whose version a workload models —
/// the comparison the engine preset stands in for. Skipped ones are reported in one line each.
fn select_allocators(
    args: &RunArgs,
    pythons: &[String],
    opts: &AllocOptions,
) -> anyhow::Result<Vec<String>> {
    if !args.allocators.is_empty() {
        let mut names = Vec::new();
        for a in &args.allocators {
            // `pymalloc` stays bare so each workload gets its own Python version's preset.
            if a != "pymalloc" {
                crate::alloc::registry::select(std::slice::from_ref(a), opts)?;
            }
            names.push(a.clone());
        }
        return Ok(names);
    }
    let selection = crate::alloc::registry::select(&[], opts)?;
    if !args.output.quiet {
        for (name, reason) in &selection.skipped {
            if !name.starts_with("cpython:") {
                eprintln!("skipped {name}: {reason}");
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    for spec in &selection.specs {
        let name = spec.name();
        if name.starts_with("pymalloc") {
            names.insert(0, "pymalloc".to_string());
        } else if let Some(minor) = spec.cpython_minor() {
            if pythons.contains(&format!("3.{minor}")) {
                names.push(name);
            }
        } else {
            names.push(name);
        }
    }
    for py in pythons {
        let wanted = format!("cpython:{py}");
        if !names.contains(&wanted) && !args.output.quiet {
            let reason = selection
                .skipped
                .iter()
                .find(|(n, _)| *n == wanted)
                .map_or("not found", |(_, r)| r.as_str());
            eprintln!("skipped {wanted}: {reason}");
        }
    }
    Ok(names)
}

/// The version of an allocator as the registry reports it, for the manifest.
fn allocator_version(name: &str, opts: &AllocOptions) -> String {
    name.parse::<crate::alloc::AllocatorSpec>()
        .ok()
        .and_then(|s| s.availability(opts).version)
        .unwrap_or_else(|| "unknown".to_string())
}

/// Resolves a bare `pymalloc` to the preset of the workload's Python version, so results name
/// exactly what was measured.
fn resolve_allocator(name: &str, python: &str) -> String {
    if name == "pymalloc" {
        if let Some(p) = Preset::for_python(python) {
            return format!("pymalloc:{p}");
        }
    }
    name.to_string()
}

pub fn run(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    // Traces are workloads like any other from here on.
    args.workload.append(&mut args.trace);
    if args.workload.is_empty() {
        args.workload.push("dicts".to_string());
    }
    // Everything is checked before anything is measured.
    let mut workloads = Vec::new();
    for w in &args.workload {
        let source = Source::load(w)?;
        let python = match &args.python {
            Some(p) => p.parse().map_err(|e: String| anyhow::anyhow!(e))?,
            None => source.python(),
        };
        workloads.push((w.clone(), python));
    }
    let opts = AllocOptions {
        libpython: args.libpython.clone(),
    };
    let mut pythons: Vec<String> = Vec::new();
    for (_, python) in &workloads {
        let py = python.to_string();
        if !pythons.contains(&py) {
            pythons.push(py);
        }
    }
    let allocators = select_allocators(&args, &pythons, &opts)?;

    // `null` does no allocation work: measured first in each group, it gives the harness's
    // own cost per event, which later cells of the group subtract (design.md §3).
    let with_baseline: Vec<String> = std::iter::once("null".to_string())
        .chain(allocators.iter().cloned())
        .collect();
    let mut cells = Vec::new();
    for rep in 0..args.repetitions {
        for (name, python) in &workloads {
            for a in &with_baseline {
                cells.push(CellSpec {
                    workload: name.clone(),
                    python: args.python.clone(),
                    scale: args.scale,
                    seed: args.seed,
                    allocator: resolve_allocator(a, &python.to_string()),
                    repetition: rep,
                    touch: args.touch,
                    sample_every: args.sample,
                    libpython: args.libpython.as_ref().map(|p| p.display().to_string()),
                });
            }
        }
    }

    let mut resolved: Vec<String> = Vec::new();
    for c in &cells {
        if !resolved.contains(&c.allocator) {
            resolved.push(c.allocator.clone());
        }
    }
    let parameters = RunParameters {
        workloads: args.workload.clone(),
        allocators: resolved.clone(),
        repetitions: args.repetitions,
        scale: args.scale,
        seed: args.seed,
        python: args.python.clone(),
        touch: args.touch.name().to_string(),
        sample_every: args.sample,
    };
    let infos = resolved
        .iter()
        .map(|a| AllocatorInfo {
            name: a.clone(),
            version: allocator_version(a, &opts),
        })
        .collect();
    let (store, mut results) =
        output::start(&args.output, &args.workload.join("+"), parameters, infos)?;

    runner::install_sigint_handler();
    let plan = Plan {
        cells,
        timeout: Duration::from_secs(args.timeout),
        progress: !args.output.quiet,
    };
    let mut harness_cost: HashMap<(String, u32), f64> = HashMap::new();
    let outcome = runner::run_and_save(&plan, &store, &mut results, |cell| {
        add_net_figures(cell, &mut harness_cost)
    })?;
    output::finish(
        &args.output,
        &store,
        &mut results,
        outcome == Outcome::Interrupted,
    )
}

/// Records the `null` cell's loop cost per event, and gives every other cell of the same
/// workload and repetition its figures net of it (`net_loop_ns_per_op`, `net_ops_per_sec`).
fn add_net_figures(cell: &mut CellResult, harness_cost: &mut HashMap<(String, u32), f64>) {
    let key = (cell.workload.clone(), cell.repetition);
    let Some(loop_ns) = cell.metric(Id::LoopNsPerOp, None) else {
        return;
    };
    if cell.allocator == "null" {
        harness_cost.insert(key, loop_ns);
        return;
    }
    let Some(&base) = harness_cost.get(&key) else {
        return;
    };
    let net = loop_ns - base;
    if net > 0.0 {
        cell.metrics.push(Metric::of(Id::NetLoopNsPerOp, net));
        cell.metrics.push(Metric::of(Id::NetOpsPerSec, 1e9 / net));
    } else {
        cell.notes.push(format!(
            "no net figures: the loop cost {loop_ns:.2} ns/op, not more than the harness alone ({base:.2})"
        ));
    }
}
