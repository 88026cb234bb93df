//! `pybench compare BASELINE CURRENT`: the regression report and its exit code (0 nothing
//! regressed, 1 something regressed, 2 the inputs cannot be compared).

use crate::compare::{self, report, Settings};
use crate::exit::Exit;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Csv,
    Json,
}

/// A kind of metric that can fail the comparison.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Gate {
    Timing,
    Counter,
    Memory,
    Deterministic,
}

impl Gate {
    fn class(self) -> compare::Class {
        match self {
            Gate::Timing => compare::Class::Timing,
            Gate::Counter => compare::Class::Counter,
            Gate::Memory => compare::Class::Memory,
            Gate::Deterministic => compare::Class::Deterministic,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a results directory or its results.json.
    ///
    /// It may also be the --out folder of one run.
    baseline: PathBuf,
    /// The run to judge: a results directory or its results.json.
    ///
    /// It may also be the --out folder of one run.
    current: PathBuf,
    /// Timing: smallest change that counts, in percent.
    ///
    /// The whole confidence interval must lie beyond it.
    #[arg(long, default_value_t = 5.0, value_name = "PCT")]
    threshold: f64,
    /// Memory metrics (RSS, frag_ratio): smallest change that counts, in percent.
    ///
    /// The change is that of the ratio of geometric means over the processes, which Welch's test
    /// must also call significant when each side has two or more.
    #[arg(long, default_value_t = 5.0, value_name = "PCT")]
    memory_threshold: f64,
    /// Memory metrics: smallest change that counts, in KiB.
    ///
    /// RSS moves by a few pages between processes whatever the allocator does.
    #[arg(long, default_value_t = 32.0, value_name = "KIB")]
    memory_floor: f64,
    /// Counters (page faults, context switches, …): as timing, with this threshold.
    #[arg(long, default_value_t = 25.0, value_name = "PCT")]
    counter_threshold: f64,
    /// Significance level of the test; the interval is at 1 − alpha.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Bootstrap resamples per row, from 100 to 1,000,000.
    ///
    /// A million takes seconds a row on a small machine; more would look like a hang.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    resamples: u32,
    /// Compare even when scale, seed, python or touch differ (noted in the report).
    #[arg(long)]
    allow_mismatch: bool,
    /// Compare only the cells (workload × allocator) both runs measured.
    ///
    /// The others are named on stderr and in the report; without it, runs whose cells differ are
    /// refused.
    #[arg(long)]
    shared_only: bool,
    /// Markdown: show every compared row.
    ///
    /// By default only rows that changed are shown (regressed, improved, or a change beyond the
    /// threshold the test could not confirm), with a count of the rest. CSV and JSON always hold
    /// every row.
    #[arg(long)]
    all_rows: bool,
    /// Which kinds of metric fail the comparison when they regress.
    ///
    /// The kinds are timing, counter, memory and deterministic; the others are only reported. On
    /// shared CI runners, where a neighbour's load can shift timings between runs,
    /// `memory,deterministic` gates on what the machine cannot disturb.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "timing,counter,memory,deterministic"
    )]
    fail_on: Vec<Gate>,
    /// Judge throughput as each allocator's ratio to ALLOC.
    ///
    /// Throughput here is the net and gross rates and times, the harness's cost and the cold pass;
    /// the ratio is taken round by round in the processes where both took turns, instead of as
    /// absolute speed: a shift of the machine's speed that both runs' allocators share cancels, so
    /// a gate trips on what changed relative to ALLOC. ALLOC's own throughput is not judged;
    /// latency, counters and memory stay absolute. A bare `pymalloc` names the engine preset of
    /// each workload.
    #[arg(long, value_name = "ALLOC")]
    relative_to: Option<String>,
    /// How the timing and counter rows are judged together.
    ///
    /// Each row is tested at --alpha. `fdr` (the default): as one family whose false-discovery rate
    /// is held at --alpha (Benjamini–Hochberg), so the few rows of a hundred that fall below
    /// --alpha by chance are "not significant" (their q-value says why) while a real change, far
    /// below it, stays a change. `none`: each row alone, as before 2026-12-06: ten A/A pairs of
    /// interleaved default runs had 44 throughput rows "changed" so, none with the rate held.
    #[arg(long, value_enum, default_value = "fdr")]
    correction: compare::Correction,
    /// Output format on stdout.
    ///
    /// `$GITHUB_STEP_SUMMARY`, when set, always gets Markdown.
    #[arg(long, value_enum, default_value = "markdown")]
    format: Format,
}

fn fraction(pct: f64, flag: &str) -> anyhow::Result<f64> {
    if !(0.0..100.0).contains(&pct) || !pct.is_finite() {
        anyhow::bail!("--{flag} must be a percentage in [0, 100), got {pct}");
    }
    Ok(pct / 100.0)
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args)?;
    let summary_file = step_summary([&args.baseline, &args.current])?;
    let baseline = compare::load(&args.baseline)?;
    let current = compare::load(&args.current)?;
    for w in compare::mismatch_warnings(&baseline, &current) {
        crate::stderr_line!("{w}");
    }
    let cmp = compare::compare(&baseline, &current, &settings)?;
    for line in cmp.one_sided_lines() {
        crate::stderr_line!("note: {line}");
    }
    // CSV has rows only: its reader sees the report's notes (few repetitions, a shift every
    // allocator shares, …) on stderr instead, as Markdown and JSON carry them.
    if matches!(args.format, Format::Csv) {
        for n in &cmp.notes {
            crate::stderr_line!("note: {n}");
        }
    }
    let rows = if args.all_rows {
        report::Rows::All
    } else {
        report::Rows::Changed
    };

    let mut out = std::io::stdout().lock();
    super::printed(
        match args.format {
            Format::Markdown => report::markdown(&cmp, rows, &mut out),
            Format::Csv => report::csv(&cmp, &mut out),
            Format::Json => report::json(&cmp, &mut out),
        }
        .and_then(|()| out.flush()),
    )?;
    let summary = append_step_summary(summary_file, &cmp, rows);
    if cmp.regressed() {
        // The verdict was printed; a summary that could not be written must not turn a
        // regression (1) into a tool error (2) that a CI job may treat as a flake.
        if let Err(e) = summary {
            crate::stderr_line!("pybench: error: {e:#}");
        }
        return Ok(Exit::Regressed.into());
    }
    summary?;
    Ok(ExitCode::SUCCESS)
}

/// The comparison's settings from its flags, refusing values that would silently mean
/// something else.
fn settings(args: &CompareArgs) -> anyhow::Result<Settings> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        anyhow::bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    // Refused rather than clamped: `-5` or `nan` would silently mean 0, `inf` no memory
    // regression ever, the report saying "more than inf GiB".
    if !(args.memory_floor.is_finite() && args.memory_floor >= 0.0) {
        anyhow::bail!(
            "--memory-floor must be a size in KiB, 0 or more, got {}",
            args.memory_floor
        );
    }
    Ok(Settings {
        threshold: fraction(args.threshold, "threshold")?,
        memory_threshold: fraction(args.memory_threshold, "memory-threshold")?,
        counter_threshold: fraction(args.counter_threshold, "counter-threshold")?,
        memory_floor: args.memory_floor * 1024.0,
        alpha: args.alpha,
        resamples: args.resamples as usize,
        allow_mismatch: args.allow_mismatch,
        shared_only: args.shared_only,
        fail_on: args.fail_on.iter().map(|g| g.class()).collect(),
        relative_to: args.relative_to.clone(),
        correction: args.correction,
    })
}

/// Where `$GITHUB_STEP_SUMMARY` (GitHub Actions) asks the Markdown report to be appended,
/// when it is set; refused (exit 2, before anything is compared) when it is one of the two
/// results files read: appending to one made it unreadable to the next compare (fuzzing,
/// 2026-12-07).
fn step_summary(inputs: [&std::path::Path; 2]) -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    for input in inputs {
        let Ok(file) = compare::results_file(input) else {
            continue;
        };
        if crate::sys::target::same_regular_file(&path, &file) {
            anyhow::bail!(
                "GITHUB_STEP_SUMMARY is {}, a results file this comparison reads: the report \
                 appended to it would make it unreadable; point it at another file",
                file.display()
            );
        }
    }
    Ok(Some(path))
}

/// Appends the Markdown report to the step summary `path`, if any. A FIFO with no reader is
/// an error at once, not a wait ([`crate::sys::fs::open_append`]).
fn append_step_summary(
    path: Option<PathBuf>,
    cmp: &compare::Comparison,
    rows: report::Rows,
) -> anyhow::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut file = crate::sys::fs::open_append(&path)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    report::markdown(cmp, rows, &mut file)
        .with_context(|| format!("cannot append to {}", path.display()))
}
