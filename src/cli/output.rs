//! What `run` and `exec` share: where results go, the manifest, the files written after the
//! run (`--csv/--json/--markdown`), the terminal table, and the exit code.

use crate::exit::Exit;
use crate::report::export::{Csv, Exporter, Json, Markdown};
use crate::report::model::{AllocatorInfo, CellStatus, RunParameters, RunResults, FORMAT_VERSION};
use crate::report::store::{export_to, ResultsStore};
use crate::sys::procfs::MachineInfo;
use crate::sys::time::utc_timestamp;
use anyhow::Context as _;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Directory under which `<timestamp>-<label>/` is created.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Label of the results directory.
    #[arg(long)]
    pub label: Option<String>,
    /// Also write tidy CSV to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,
    /// Also write the full JSON to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// Also write the Markdown summary to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<String>,
    /// No progress and no table; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write plots/*.svg and index.html into the results directory.
    #[arg(long)]
    pub no_plots: bool,
}

/// Creates `out/<timestamp>-<label>/` and the manifest of a run (no cells yet), saved at once.
pub fn start(
    out: &OutputArgs,
    default_label: &str,
    parameters: RunParameters,
    allocators: Vec<AllocatorInfo>,
) -> anyhow::Result<(ResultsStore, RunResults)> {
    let label = out.label.as_deref().unwrap_or(default_label);
    let run_name = format!("{}-{}", utc_timestamp(), sanitize(label));
    let store = ResultsStore::create(&out.out, &run_name)?;
    let results = RunResults {
        format_version: FORMAT_VERSION,
        pybench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("PYBENCH_GIT_COMMIT").map(str::to_string),
        run: store.name(),
        started_utc: utc_timestamp(),
        command_line: std::env::args().collect(),
        machine: MachineInfo::read(),
        parameters,
        allocators,
        cells: Vec::new(),
        interrupted: false,
        validation: None,
    };
    store.save(&results)?;
    Ok((store, results))
}

/// Saves the final results, writes the extra exports, prints the table and failures, and
/// returns the exit code: 0, 3 when a cell failed, 130 when interrupted.
pub fn finish(
    out: &OutputArgs,
    store: &ResultsStore,
    results: &mut RunResults,
    interrupted: bool,
) -> anyhow::Result<ExitCode> {
    results.interrupted = interrupted;
    store.save(results)?;
    if !out.no_plots {
        crate::plot::write_plots(results, store.dir()).context("cannot write the plots")?;
    }
    let exports: [(&Option<String>, &dyn Exporter); 3] = [
        (&out.csv, &Csv),
        (&out.json, &Json),
        (&out.markdown, &Markdown),
    ];
    for (target, exporter) in exports {
        if let Some(t) = target {
            export_to(t, exporter, results).with_context(|| format!("cannot write {t}"))?;
        }
    }
    let stdout_taken = exports.iter().any(|(t, _)| t.as_deref() == Some("-"));
    if !out.quiet && !stdout_taken {
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{}", crate::report::table::render(results))?;
    }
    if !out.quiet {
        eprintln!("results: {}", store.dir().display());
    }
    // Failures are errors, so they are reported even with --quiet.
    for c in &results.cells {
        if let CellStatus::Failed { reason } = &c.status {
            eprintln!(
                "failed: {} × {} rep {}: {reason}",
                c.workload, c.allocator, c.repetition
            );
        }
    }
    Ok(if interrupted {
        eprintln!(
            "interrupted: {} cell(s) saved in {}",
            results.cells.len(),
            store.dir().display()
        );
        Exit::Interrupted.into()
    } else if results.failed_cells() > 0 {
        Exit::CellsFailed.into()
    } else {
        ExitCode::SUCCESS
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
