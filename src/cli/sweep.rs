//! `pybench sweep`: the engine's accounting over a grid of geometries (see `crate::sweep`).

use crate::pymalloc::ArenaPlacement;
use crate::sweep::{self, GridSpec, Progress, SweepRequest};
use clap::Args;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
#[command(after_long_help = "\
Per cell, read at the end of the stream with its blocks still live (as `run` reads the \
engine): peak and final arenas, arenas mapped and unmapped over the run (churn = mapped + \
unmapped), heap RSS as the engine models it (bytes of pools carved in live arenas: exact \
for 4 KiB pools, an upper bound for larger ones; raw > 512-byte blocks, the same in every \
geometry, left out) at its peak, at the end and averaged over the run's allocator events, \
and unused-pool and quantization bytes. A geometry is Pareto-best (`*` in the table, \
starred and named in the heatmaps) when no other geometry of the same workload has both \
lower-or-equal mean heap RSS and lower-or-equal churn, one of them strictly lower. (The \
mean, not the peak: pools are carved lazily, so the modelled peak hardly moves with the \
geometry, while the memory large arenas keep after the peak does.)

Without --arena/--pool/--spare/--preset the grid is arenas 128K,256K,512K,1M,2M,4M × pools \
4K,8K,16K,32K with the spare arena kept, plus every preset.")]
pub struct SweepArgs {
    /// Workloads (default: every shipped trace).
    ///
    /// Built-in names, spec files or traces (`trace:NAME`, FILE.pbt); repeat or separate with
    /// commas (a value naming an existing file whole is that file, commas and all).
    #[arg(long, short)]
    workload: Vec<String>,
    /// Trace files (or `trace:NAME`), after the --workload ones.
    ///
    /// Repeat the flag or separate with commas, as for `run`. Only traces: a built-in's name or a
    /// spec goes to --workload.
    #[arg(long, value_name = "FILE")]
    trace: Vec<String>,
    /// Arena sizes, e.g. 64K,256K,1M (default 128K … 4M).
    #[arg(long, value_name = "LIST")]
    arena: Option<String>,
    /// Pool sizes, e.g. 4K,16K (default 4K … 32K).
    #[arg(long, value_name = "LIST")]
    pool: Option<String>,
    /// Spare-arena policies: 1 (keep one free arena, 3.9+) and/or 0 (release all, 3.8).
    #[arg(long, value_name = "LIST")]
    spare: Option<String>,
    /// Presets to add to the grid: `all`, or 3.8 … 3.13 (also cpython-3.X), comma-separated.
    #[arg(long, value_name = "LIST")]
    preset: Option<String>,
    /// Where arenas start: `unaligned`, `aligned` or `mmap`.
    ///
    /// `unaligned`: one page past a pool boundary, so pools above a page lose one per arena, as in
    /// most CPython 3.10+ processes. `mmap`: as `run` does, side by side in a span of their own,
    /// each one page past a pool boundary, so counted as `unaligned`; where mmap puts them if the
    /// span cannot be reserved.
    #[arg(long, default_value = "unaligned")]
    placement: ArenaPlacement,
    /// Threads running cells (default: one per core).
    ///
    /// 1 runs them one after another.
    #[arg(long, short, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Also write the table as CSV, one row per cell.
    ///
    /// An existing FILE only with --force; `-` = stdout, in place of the table.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Replace existing files that the sweep writes.
    ///
    /// These are an existing --csv FILE, and files in --plot DIR named as this sweep's heatmaps
    /// that pybench did not draw; without it, either is refused.
    #[arg(short, long)]
    force: bool,
    /// Also write heatmaps (arena size × pool size) of every figure into DIR.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
    /// No progress or skipped-point lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(mut args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Split at commas here, not by clap: a file whose name holds one stays whole.
    let (workload, trace) = (
        std::mem::take(&mut args.workload),
        std::mem::take(&mut args.trace),
    );
    args.workload = super::guard::workloads_then_traces(workload, trace)?;
    check_outputs(&args)?;
    let grid = GridSpec::parse(
        args.arena.as_deref(),
        args.pool.as_deref(),
        args.spare.as_deref(),
        args.preset.as_deref(),
    )?;
    if !args.quiet {
        if let Ok(g) = grid.build() {
            for line in &g.skipped {
                crate::stderr_line!("pybench sweep: {line}");
            }
        }
    }
    let req = SweepRequest {
        sources: std::mem::take(&mut args.workload),
        overrides: args.spec.overrides(),
        grid,
        placement: args.placement,
        jobs: args.jobs.map(|n| n as usize),
    };
    let started = Instant::now();
    let reporter = ProgressLine::new(args.quiet);
    let result = sweep::sweep(&req, &|p| reporter.show(p))?;
    reporter.finish();
    // Even with --quiet: a cut stream, or a cell missing from the table, is never silent.
    for note in &result.notes {
        crate::stderr_line!("warning: {note}");
    }
    for line in &result.unmappable {
        crate::stderr_line!("warning: {line}");
    }
    write_outputs(&args, &result)?;
    if !args.quiet {
        crate::stderr_line!(
            "pybench sweep: {} cells on {} thread{} in {:.1} s",
            result.cells.len(),
            result.jobs,
            if result.jobs == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--csv -` is stdout, in place of the table, as for `run` (it wrote a file named `-`).
fn csv_file(args: &SweepArgs) -> Option<&std::path::Path> {
    args.csv
        .as_deref()
        .filter(|p| *p != std::path::Path::new("-"))
}

/// Before any cell runs: output targets that would be refused afterwards are refused now, so
/// a long sweep is not spent on results that cannot be written.
fn check_outputs(args: &SweepArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.plot {
        super::guard::check_directory_writable("--plot", dir)?;
    }
    if let (Some(dir), Some(csv)) = (&args.plot, &args.csv) {
        super::guard::refuse_same_target(&[("--plot", dir), ("--csv", csv)])?;
    }
    if let Some(csv) = csv_file(args) {
        super::guard::check_output_file("--csv", csv)?;
        refuse_heatmap_name(csv, args.plot.as_deref())?;
        let inputs = super::guard::workload_inputs(&args.workload);
        super::guard::refuse_overwriting_inputs(&[("--csv", csv)], &inputs)?;
        super::guard::refuse_replacing("--csv", csv, args.force)?;
    }
    Ok(())
}

/// Refuses a `--csv` file inside the `--plot` folder named as the sweep's heatmaps are
/// (`sweep-*.svg`): the heatmap of that name replaced the table just written, and the sweep
/// ended with exit 0 (found in review, 2026-12-07). The names depend on the workloads, known
/// only once their sources are read, but every one has that form.
fn refuse_heatmap_name(csv: &Path, plot: Option<&Path>) -> anyhow::Result<()> {
    let Some(dir) = plot else { return Ok(()) };
    let name = csv.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let at = super::guard::resolved_target(csv);
    let inside = std::fs::canonicalize(dir).is_ok_and(|d| at.parent() == Some(d.as_path()));
    if inside && name.starts_with("sweep-") && name.ends_with(".svg") {
        anyhow::bail!(
            "--csv {} is in --plot {} under a heatmap's name (sweep-*.svg): a heatmap would \
             replace it; give the CSV another name or folder",
            csv.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The CSV file and heatmaps asked for, then the table (or the CSV in its place) on stdout.
fn write_outputs(args: &SweepArgs, result: &sweep::SweepResult) -> anyhow::Result<()> {
    if let Some(dir) = &args.plot {
        sweep::heatmap::check_targets(result, dir, args.force)?;
    }
    if let Some(path) = csv_file(args) {
        sweep::report::write_csv(result, path)?;
    }
    if let Some(dir) = &args.plot {
        let w = sweep::heatmap::write(result, dir)?;
        for line in &w.warnings {
            crate::stderr_line!("warning: {line}");
        }
        if !args.quiet {
            crate::stderr_line!("pybench sweep: {}", w.summary(dir));
        }
    }
    let mut out = std::io::stdout().lock();
    if args.csv.is_some() && csv_file(args).is_none() {
        out.write_all(&sweep::report::csv(result)?)?;
    } else {
        write!(out, "{}", sweep::report::render(result))?;
    }
    Ok(())
}

/// Progress on stderr once a sweep has run a second: a rewritten line on a terminal, a line
/// every ten seconds otherwise (a log).
struct ProgressLine {
    quiet: bool,
    tty: bool,
    started: Instant,
    /// When the last line was printed, and whether any was.
    last: Mutex<(Option<Instant>, bool)>,
}

impl ProgressLine {
    fn new(quiet: bool) -> Self {
        ProgressLine {
            quiet,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: Mutex::new((None, false)),
        }
    }

    fn show(&self, p: Progress<'_>) {
        if self.quiet || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        };
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.0.is_some_and(|t| t.elapsed() < every) && p.done < p.total {
            return;
        }
        *last = (Some(Instant::now()), true);
        let line = format!("sweep: {}/{} cells ({})", p.done, p.total, p.workload);
        if self.tty {
            crate::stderr_text!("\r{line}\x1b[K");
        } else {
            crate::stderr_line!("{line}");
        }
    }

    fn finish(&self) {
        if self.tty && self.last.lock().is_ok_and(|l| l.1) {
            crate::stderr_line!();
        }
    }
}
