//! What `run` and `exec` share: where results go, the manifest, the files written after the
//! run (`--csv/--json/--markdown`), the terminal table, and the exit code.

use super::guard::{self, Input};
use crate::exit::Exit;
use crate::report::export::{Csv, Exporter, Json, Markdown};
use crate::report::model::{AllocatorInfo, CellStatus, RunParameters, RunResults, FORMAT_VERSION};
use crate::report::store::{export_to, ResultsStore};
use crate::report::verdict_table::TableFormat;
use crate::sys::procfs::MachineInfo;
use crate::sys::target::portable_name;
use crate::sys::time::utc_timestamp;
use anyhow::Context as _;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Directory under which `<timestamp>-<label>/` is created.
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
    /// Label of the results directory, at most 200 characters.
    ///
    /// Default: the workloads' names, shortened to about 60 characters; for `exec` and `validate`,
    /// `exec-` or `validate-` and the program's name.
    #[arg(long)]
    pub label: Option<String>,
    /// Also write tidy CSV to FILE (`-` = stdout, in place of the table).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,
    /// Also write the full JSON to FILE (`-` = stdout, in place of the table).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// Also write the Markdown summary to FILE (`-` = stdout, in place of the table).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<String>,
    /// Replace existing --csv/--json/--markdown FILEs.
    ///
    /// Without it, an existing file is refused before any work.
    #[arg(short, long)]
    pub force: bool,
    /// No progress and no table: warnings and errors only (on stderr).
    ///
    /// `validate` prints its verdict alone on stdout (the rank agreement, the pairs, any
    /// disagreement).
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write plots/*.svg and index.html into the results directory.
    #[arg(long)]
    pub no_plots: bool,
    /// Allocator the others are compared with (default: pymalloc).
    ///
    /// It is one of the run's, used for ratios and "faster than" lines; a bare `pymalloc` means the
    /// engine preset of each workload in a replay, the interpreter as it is in `exec`. Without
    /// pymalloc in the run, the default is the first allocator. Kept in results.json, so
    /// summary.md, index.html and `pybench plot` use it too.
    #[arg(long, value_name = "ALLOCATOR")]
    pub reference: Option<String>,
    /// Columns of a replay's table.
    ///
    /// For `run` and `validate`'s replays: `table` (net throughput with its interval, ratio to the
    /// reference, peak RSS, p99 latency) or `wide` (also gross throughput, the harness's own cost,
    /// the cold pass, p50, raw p99, retained RSS, frag). `exec`'s table of real runs has its own
    /// columns (wall, CPU, user, system, peak RSS, minor faults). Everything is in results.csv.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

impl OutputArgs {
    /// Whether an export goes to stdout (`--csv -` …), which then holds it alone.
    pub fn stdout_taken(&self) -> bool {
        [&self.csv, &self.json, &self.markdown]
            .iter()
            .any(|t| t.as_deref() == Some("-"))
    }

    /// What is checked before any work: the label fits a folder name, `--out` can hold
    /// folders, and every export can be written, replaces no existing file unless `--force`,
    /// and is none of the command's `inputs`.
    pub fn check(&self, inputs: &[Input]) -> anyhow::Result<()> {
        if let Some(label) = &self.label {
            guard::check_label("--label", label)?;
        }
        // Tried, not only looked at: `/proc` or a read-only mount has nothing in the way, and
        // was refused only after the cache and clock probes' second (found 2026-12-07).
        guard::check_directory_writable("--out", &self.out)?;
        let exports = [
            ("--csv", &self.csv),
            ("--json", &self.json),
            ("--markdown", &self.markdown),
        ];
        let files: Vec<(&str, &Path)> = exports
            .into_iter()
            .filter_map(|(flag, t)| t.as_deref().filter(|t| *t != "-").map(|t| (flag, t)))
            .map(|(flag, t)| (flag, Path::new(t)))
            .collect();
        for (flag, file) in &files {
            guard::check_output_file(flag, file)?;
        }
        // After the per-file checks, so every folder named exists.
        let targets: Vec<(&str, &Path)> = exports
            .iter()
            .filter_map(|(flag, t)| t.as_deref().map(|t| (*flag, Path::new(t))))
            .collect();
        guard::refuse_same_target(&targets)?;
        guard::refuse_overwriting_inputs(&files, inputs)?;
        // Last: naming an input or another export is the more specific mistake to report.
        for (flag, file) in &files {
            guard::refuse_replacing(flag, file, self.force)?;
        }
        Ok(())
    }
}

/// Longest automatic label of a run named after its workloads; a shard's suffix may follow.
const AUTO_LABEL_MAX: usize = 60;
/// Longest default label kept by [`start`] (`exec-SCRIPT`, a run's with its shard suffix).
const DEFAULT_LABEL_MAX: usize = 80;

/// The default label of a run: each workload's short name (a spec's or trace file's stem, a
/// shipped trace's name) joined by `+`; when that is longer than [`AUTO_LABEL_MAX`], the
/// first names that fit and how many more (`dicts+lists+3-more`).
pub fn auto_label(workloads: &[String]) -> String {
    let names: Vec<String> = workloads
        .iter()
        .map(|w| {
            let short = w
                .strip_prefix(crate::trace::source::PREFIX)
                .map(str::to_string)
                .or_else(|| {
                    let stem = Path::new(w).file_stem()?;
                    Some(stem.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| w.clone());
            portable_name(&short).chars().take(40).collect()
        })
        .collect();
    (1..=names.len())
        .rev()
        .map(|kept| {
            let more = names.len() - kept;
            let mut label = names[..kept].join("+");
            if more > 0 {
                label.push_str(&format!("+{more}-more"));
            }
            label
        })
        .find(|label| label.len() <= AUTO_LABEL_MAX)
        .unwrap_or_default()
}

/// One line on stderr for each sign that figures taken now will be noisy: others holding the
/// shared L3 (which the load average cannot see from inside a virtual machine), and a load
/// average at or above the core count.
pub fn warn_about_noise(machine: &MachineInfo) {
    for line in crate::report::caveats::machine_caveats(machine) {
        crate::stderr_line!("{line}");
    }
}

/// The lines a real-program measurement (`exec`, `validate`) prints about the machine first:
/// what `run` says (load, a build whose engine checks every free: validate's replays and the
/// `pymalloc:PRESET` contenders use it), and free page reporting, which makes a fresh
/// process's huge pages cost what ran before it (`sys::hypervisor`). That last is a note, so
/// `quiet` (`-q`: "warnings and errors only") leaves it out; results.json records it anyway.
pub fn warn_for_real_runs(machine: &MachineInfo, quiet: bool) {
    warn_about_noise(machine);
    warn_if_not_release(machine);
    if let Some(note) = machine.free_page_reporting.and_then(|r| r.note()) {
        print_caveat(&note, quiet);
    }
}

/// Prints a caveat line (`warning: …` or `note: …`) on stderr, except a note under `quiet`:
/// `-q` promises warnings and errors only, and a script running with it reads every line
/// it gets as one of those.
fn print_caveat(line: &str, quiet: bool) {
    if !(quiet && line.starts_with("note:")) {
        crate::stderr_line!("{line}");
    }
}

/// One line on stderr when the binary verifies every free (a `checked` or debug build): its
/// engine figures are slower than a release build's.
pub fn warn_if_not_release(machine: &MachineInfo) {
    if let Some(w) = crate::compare::build_warning_for(machine) {
        crate::stderr_line!("{w}");
    }
}

/// Creates `out/<timestamp>-<label>/` and the manifest of a run (no cells yet), saved at once.
pub fn start(
    out: &OutputArgs,
    default_label: &str,
    mut parameters: RunParameters,
    allocators: Vec<AllocatorInfo>,
) -> anyhow::Result<(ResultsStore, RunResults)> {
    let label = match &out.label {
        Some(label) => portable_name(label),
        // A program's or workload's name can be as long as a path: keep the start.
        None => portable_name(default_label)
            .chars()
            .take(DEFAULT_LABEL_MAX)
            .collect(),
    };
    parameters.reference = out.reference.clone();
    // Before the folder exists: an interrupt during the cache probe leaves nothing behind
    // (`runner::exit_before_results`).
    let machine = MachineInfo::read_for_timing();
    // From here on a stop is noted and the command stops after saving what it has, even
    // before its first cell: the folder below is never left without its manifest.
    crate::harness::runner::install_sigint_handler();
    let run_name = format!("{}-{label}", utc_timestamp());
    let store = ResultsStore::create(&out.out, &run_name)?;
    let results = RunResults {
        format_version: FORMAT_VERSION,
        pybench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("PYBENCH_GIT_COMMIT").map(str::to_string),
        run: store.name(),
        started_utc: utc_timestamp(),
        command_line: crate::sys::process::command_line(),
        machine,
        parameters,
        allocators,
        cells: Vec::new(),
        // Until `finish` says otherwise: every save before it is of a run that has not
        // finished, and one that never reaches `finish` (a full disk stops the run, a
        // SIGKILL) must not leave a folder that reads as a complete run of fewer cells.
        interrupted: true,
        validation: None,
        shard_starts_utc: Vec::new(),
    };
    // The first save failing (a full disk) leaves the folder empty: nothing was measured,
    // and an empty run folder would only be mistaken for a result.
    if let Err(e) = store.save(&results) {
        store.discard();
        return Err(e);
    }
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
    write_exports(out, store, results)?;
    print_report(out, store, results)?;
    // Failures are errors, so they are reported even with --quiet.
    for c in &results.cells {
        if let CellStatus::Failed { reason } = &c.status {
            crate::stderr_line!(
                "failed: {} × {} rep {}: {reason}",
                c.workload,
                c.allocator,
                c.repetition
            );
        }
    }
    Ok(if interrupted {
        crate::stderr_line!(
            "interrupted: {} cell(s) saved in {}",
            results.cells.len(),
            store.dir().display()
        );
        crate::harness::runner::interrupted_exit().into()
    } else if results.failed_cells() > 0 {
        Exit::CellsFailed.into()
    } else {
        ExitCode::SUCCESS
    })
}

/// The plots (unless `--no-plots`) and the `--csv`/`--json`/`--markdown` exports, after the
/// results are saved, so a failed export loses nothing.
fn write_exports(
    out: &OutputArgs,
    store: &ResultsStore,
    results: &RunResults,
) -> anyhow::Result<()> {
    if !out.no_plots {
        let plots =
            crate::plot::write_plots(results, store.dir()).context("cannot write the plots")?;
        for line in plots.skipped {
            crate::stderr_line!("warning: {line}");
        }
    }
    let exports: [(&Option<String>, &dyn Exporter); 3] = [
        (&out.csv, &Csv),
        (&out.json, &Json),
        (&out.markdown, &Markdown),
    ];
    for (target, exporter) in exports {
        match target.as_deref() {
            // A file's errors already name it.
            Some("-") => {
                super::printed(export_to("-", exporter, results).context("cannot write to stdout"))?
            }
            Some(t) => export_to(t, exporter, results)?,
            None => {}
        }
    }
    Ok(())
}

/// The table on stdout (unless `--quiet` or an export took stdout), then its caveats and
/// the workloads' warnings on stderr, and where the results are.
fn print_report(
    out: &OutputArgs,
    store: &ResultsStore,
    results: &RunResults,
) -> anyhow::Result<()> {
    let replay_with_samples = results.cells.iter().any(|c| c.throughput.is_some());
    if let Some(r) = &out.reference {
        if replay_with_samples && !crate::report::verdict::has_allocator(results, r) {
            anyhow::bail!(
                "--reference {r}: no such allocator in this run (results are saved in {})",
                store.dir().display()
            );
        }
    }
    if !out.quiet && !out.stdout_taken() {
        let text = if replay_with_samples {
            crate::report::verdict_table::render(results, out.reference.as_deref(), out.format)
        } else {
            crate::report::table::render(results)
        };
        super::printed(std::io::stdout().lock().write_all(text.as_bytes()))?;
    }
    for line in crate::report::caveats::throughput_caveats(results, out.reference.as_deref()) {
        print_caveat(&line, out.quiet);
    }
    // Warnings, so printed with --quiet too (its help: "warnings and errors only").
    for w in crate::report::summary::workload_warnings(results) {
        crate::stderr_line!("warning: {w}");
    }
    if !out.quiet {
        crate::stderr_line!("results: {}", store.dir().display());
    }
    Ok(())
}
