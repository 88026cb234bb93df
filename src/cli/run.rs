//! `pybench run`: workloads × allocators × repetitions, each cell in its own process; results
//! in `results/<timestamp>-<label>/` rewritten after every cell, and a table at the end.

use crate::harness::cell::CellSpec;
use crate::harness::replay::Touch;
use crate::harness::runner::{self, Outcome, Plan};
use crate::pymalloc::Preset;
use crate::report::export::{Csv, Exporter, Json, Markdown};
use crate::report::model::{AllocatorInfo, RunParameters, RunResults, FORMAT_VERSION};
use crate::report::store::{export_to, utc_timestamp, ResultsStore};
use crate::report::summary::{cell_text, summarize, COLUMNS};
use crate::sys::procfs::MachineInfo;
use crate::trace::Source;
use anyhow::Context as _;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit code when one or more cells failed (design.md §5).
pub const EXIT_CELLS_FAILED: u8 = 3;
/// Exit code after Ctrl-C (128 + SIGINT), once the finished cells are saved.
pub const EXIT_INTERRUPTED: u8 = 130;

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
    /// Directory under which `<timestamp>-<label>/` is created.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Label of the results directory (default: the workload names).
    #[arg(long)]
    label: Option<String>,
    /// Also write tidy CSV to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    csv: Option<String>,
    /// Also write the full JSON to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// Also write the Markdown summary to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    markdown: Option<String>,
    /// No progress and no table; errors only.
    #[arg(long, short)]
    quiet: bool,
    /// Seconds after which a cell is killed and reported as failed.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// libpython to load for `cpython:3.X` instead of searching for it.
    #[arg(long, value_name = "PATH")]
    libpython: Option<PathBuf>,
}

/// The default allocators: everything this build can run here.
fn default_allocators() -> Vec<String> {
    vec!["pymalloc".to_string(), "system".to_string()]
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
    let allocators = if args.allocators.is_empty() {
        default_allocators()
    } else {
        args.allocators.clone()
    };
    for a in &allocators {
        crate::harness::child::check_allocator(a)?;
    }

    let mut cells = Vec::new();
    for rep in 0..args.repetitions {
        for (name, python) in &workloads {
            for a in &allocators {
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

    let label = args
        .label
        .clone()
        .unwrap_or_else(|| args.workload.join("+"));
    let run_name = format!("{}-{}", utc_timestamp(), sanitize(&label));
    let store = ResultsStore::create(&args.out, &run_name)?;
    let mut resolved: Vec<String> = Vec::new();
    for c in &cells {
        if !resolved.contains(&c.allocator) {
            resolved.push(c.allocator.clone());
        }
    }
    let mut results = RunResults {
        format_version: FORMAT_VERSION,
        pybench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("PYBENCH_GIT_COMMIT").map(str::to_string),
        run: run_name,
        started_utc: utc_timestamp(),
        command_line: std::env::args().collect(),
        machine: MachineInfo::read(),
        parameters: RunParameters {
            workloads: args.workload.clone(),
            allocators: resolved.clone(),
            repetitions: args.repetitions,
            scale: args.scale,
            seed: args.seed,
            python: args.python.clone(),
            touch: args.touch.name().to_string(),
            sample_every: args.sample,
        },
        allocators: resolved
            .iter()
            .map(|a| AllocatorInfo {
                name: a.clone(),
                version: crate::harness::child::allocator_version(a),
            })
            .collect(),
        cells: Vec::new(),
        interrupted: false,
    };
    store.save(&results)?;

    runner::install_sigint_handler();
    let plan = Plan {
        cells,
        timeout: Duration::from_secs(args.timeout),
        progress: !args.quiet,
    };
    let mut save_error = None;
    let outcome = runner::run(&plan, |cell| {
        results.cells.push(cell);
        if let Err(e) = store.save(&results) {
            save_error.get_or_insert(e);
        }
    });
    if let Some(e) = save_error {
        return Err(e.context("results could not be saved"));
    }
    results.interrupted = outcome == Outcome::Interrupted;
    store.save(&results)?;

    let exports: [(&Option<String>, &dyn Exporter); 3] = [
        (&args.csv, &Csv),
        (&args.json, &Json),
        (&args.markdown, &Markdown),
    ];
    for (target, exporter) in exports {
        if let Some(t) = target {
            export_to(t, exporter, &results).with_context(|| format!("cannot write {t}"))?;
        }
    }
    let stdout_taken = exports.iter().any(|(t, _)| t.as_deref() == Some("-"));
    if !args.quiet && !stdout_taken {
        print_table(&results)?;
    }
    let failed = results.failed_cells();
    if !args.quiet {
        eprintln!("results: {}", store.dir().display());
        for c in results.cells.iter().filter(|c| !c.is_ok()) {
            if let crate::report::model::CellStatus::Failed { reason } = &c.status {
                eprintln!(
                    "failed: {} × {} rep {}: {reason}",
                    c.workload,
                    c.allocator,
                    c.repetition + 1
                );
            }
        }
    }
    Ok(match (outcome, failed) {
        (Outcome::Interrupted, _) => {
            eprintln!(
                "interrupted: {} cell(s) saved in {}",
                results.cells.len(),
                store.dir().display()
            );
            ExitCode::from(EXIT_INTERRUPTED)
        }
        (_, 0) => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_CELLS_FAILED),
    })
}

/// Keeps directory names portable.
fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_+.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The end-of-run table: allocators × headline figures, relative to the reference.
fn print_table(results: &RunResults) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for s in summarize(results) {
        writeln!(
            out,
            "\n{} — medians of {} repetition(s), (×) relative to {}",
            s.workload, results.parameters.repetitions, s.reference
        )?;
        let mut rows: Vec<Vec<String>> = vec![std::iter::once("allocator".to_string())
            .chain(COLUMNS.iter().map(|c| c.2.to_string()))
            .collect()];
        for r in &s.rows {
            let name = if r.failed_reps > 0 {
                format!("{} ({} failed)", r.allocator, r.failed_reps)
            } else {
                r.allocator.clone()
            };
            let is_ref = r.allocator == s.reference;
            rows.push(
                std::iter::once(name)
                    .chain(
                        (0..COLUMNS.len())
                            .map(|i| cell_text(i, r.values[i], r.relative[i], is_ref)),
                    )
                    .collect(),
            );
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    let pad = widths[i] - cell.chars().count();
                    if i == 0 {
                        format!("{cell}{}", " ".repeat(pad))
                    } else {
                        format!("{}{cell}", " ".repeat(pad))
                    }
                })
                .collect();
            writeln!(out, "{}", line.join("  "))?;
        }
    }
    Ok(())
}
