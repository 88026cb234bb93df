//! The parent side: runs every cell of a plan in its own child process, one at a time, and
//! hands each result (or failure) to a callback that saves it. Repetitions are the outer loop
//! and allocators the inner one, so slow drift of the machine spreads over all allocators.

use super::cell::CellSpec;
use super::child::CELL_SUBCOMMAND;
use super::group::{GroupSpec, THROUGHPUT_SUBCOMMAND};
use super::paired::ThroughputBatch;
use super::throughput::Calibration;
use super::throughput::GroupSamples;
use crate::report::model::{CellKind, CellResult, RunResults};
use crate::report::store::ResultsStore;
use anyhow::Context as _;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Makes Ctrl-C, and SIGTERM (what a CI job's time limit or cancel sends first), stop the
/// run after saving what was measured, instead of killing it: a running cell or program is
/// stopped, the results are saved marked interrupted, and the exit code says which signal.
/// Installed once, by the command's `output::start` just before it creates the results
/// folder; `record`'s guard (`sys::signal::note_stop_signals`) puts it back when dropped.
pub fn install_sigint_handler() {
    crate::sys::signal::on_stop_signals();
}

/// What Ctrl-C or SIGTERM prints before a command's results folder exists.
const NOTHING_SAVED: &str =
    "interrupted: before any result was saved; no results folder was created\n";

/// From the start of `run`, `exec` and `validate` until [`install_sigint_handler`] (called
/// before the results folder is created): Ctrl-C, SIGTERM or SIGHUP ends the command at once with
/// one line saying that nothing was saved, and the exit code of a stop after saving (130, 143, 129),
/// rather than by the signal's default action, silently.
pub fn exit_before_results() {
    crate::sys::signal::exit_on_stop_signals(NOTHING_SAVED);
}

/// Whether a stop signal arrived (checked between and during cells).
pub fn interrupted() -> bool {
    crate::sys::signal::stop_requested().is_some()
}

/// The exit code of an interrupted command: 130 after Ctrl-C, 143 after SIGTERM, 129 after
/// SIGHUP (128 + the signal, as a shell reports a process the signal killed).
pub fn interrupted_exit() -> crate::exit::Exit {
    match crate::sys::signal::stop_requested() {
        Some(libc::SIGTERM) => crate::exit::Exit::Terminated,
        Some(libc::SIGHUP) => crate::exit::Exit::HungUp,
        _ => crate::exit::Exit::Interrupted,
    }
}

/// The cells to run, in order.
pub struct Plan {
    pub cells: Vec<CellSpec>,
    /// A cell running longer than this is killed and reported as failed.
    pub timeout: Duration,
    pub progress: bool,
    /// When set, consecutive cells of one (workload, repetition) get their throughput from
    /// one shared process in which they take turns with `null` ([`super::group`]); `null`
    /// cells then need no process of their own.
    pub throughput: Option<Calibration>,
    /// With `throughput`: cells of repetitions from this one on get no process of their own
    /// (no memory and latency figures), only their throughput samples — more throughput
    /// processes narrow the verdict's intervals, more memory passes do not (RSS repeats to
    /// a page or so). `None`: every repetition measures everything.
    pub memory_repetitions: Option<u32>,
}

/// `run`'s memory and latency repetitions by default (`--memory-repetitions`): the first
/// three of every (workload, allocator); the further repetitions are throughput processes
/// only ([`Plan::memory_repetitions`]). Three give RSS to a page or so, but a rank test over
/// 3 + 3 latency figures can never reach p < 0.05 (`compare` says so): 4 a side can. Four
/// was the default for an hour on 2026-12-06 and went back: between two runs made apart the
/// latency percentiles move with the sitting (five A/A pairs of default `run -w dicts`, back
/// to back: 1 – 11 "regressed" rows each, p999 up to +66 % with no overlap), which a test
/// over processes reads as a change once it can. Interleaved (`scripts/ab.sh`), one A/A
/// comparison of five still flagged four latency rows.
pub const MEMORY_REPETITIONS: u32 = 3;

/// Why the run stopped early, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Interrupted,
}

/// Where [`run`] puts its cells. `keep` takes each finished cell; `settle` makes every cell
/// kept so far durable, and `run` calls it before anything that takes time (a throughput or
/// cell process) and when it stops, so a crash, a kill or Ctrl-C during a measurement never
/// loses a cell measured before it. Cells that need no process of their own (`null` beside
/// allocators, throughput-only repetitions) come in runs of a dozen or more at once: saving
/// after each rewrote the whole results folder that many times (a default `run -w
/// dicts,json,webapp` saved 422 times, 1.5 GB for a 7 MB `results.json`, 2026-12-06).
pub trait CellSink {
    fn keep(&mut self, cell: CellResult);
    /// An error stops the run before its next measurement.
    fn settle(&mut self) -> anyhow::Result<()>;
}

/// How [`run`] measures: in child processes ([`ChildProcesses`]), or, in the tests, by a
/// stand-in that records the order of steps.
trait Measure {
    /// The throughput samples of the leading cells of `cells` that share a stream.
    fn throughput(
        &mut self,
        cells: &[CellSpec],
        cal: Calibration,
        timeout: Duration,
    ) -> ThroughputBatch;
    /// One cell's memory and latency, in its own process.
    fn cell(&mut self, spec: &CellSpec, timeout: Duration) -> CellResult;
}

/// The real measurements: a process per throughput group and per cell.
struct ChildProcesses;

impl Measure for ChildProcesses {
    fn throughput(
        &mut self,
        cells: &[CellSpec],
        cal: Calibration,
        timeout: Duration,
    ) -> ThroughputBatch {
        ThroughputBatch::measure(cells, cal, timeout)
    }

    fn cell(&mut self, spec: &CellSpec, timeout: Duration) -> CellResult {
        run_cell(spec, timeout)
    }
}

/// Runs the plan, handing every cell to `sink`. Progress lines number repetitions as the
/// results files do, from 0. An error from the sink stops the run before the next
/// measurement: measuring what cannot be kept only wastes the time.
pub fn run(plan: &Plan, sink: &mut dyn CellSink) -> anyhow::Result<Outcome> {
    run_measured(plan, sink, &mut ChildProcesses)
}

/// [`run`] with its measurements made by `measure`.
fn run_measured(
    plan: &Plan,
    sink: &mut dyn CellSink,
    measure: &mut dyn Measure,
) -> anyhow::Result<Outcome> {
    let outcome = run_with(plan, sink, measure)?;
    sink.settle()?;
    Ok(outcome)
}

/// [`run_measured`]'s loop; leaves the cells after the last measurement unsettled.
fn run_with(
    plan: &Plan,
    sink: &mut dyn CellSink,
    measure: &mut dyn Measure,
) -> anyhow::Result<Outcome> {
    let harness_only = plan
        .cells
        .iter()
        .all(|c| c.allocator == crate::alloc::AllocatorSpec::Null);
    let progress = Progress {
        on: plan.progress && std::io::stderr().is_terminal(),
        started: Instant::now(),
        total: plan.cells.len(),
    };
    // Before a measurement: the cells so far saved, or the run stops on its progress line's end.
    let settle = |sink: &mut dyn CellSink| sink.settle().inspect_err(|_| progress.end());
    let mut throughput = ThroughputBatch::default();
    for (i, spec) in plan.cells.iter().enumerate() {
        if interrupted() {
            return Ok(Outcome::Interrupted);
        }
        if let Some(cal) = plan.throughput {
            if !throughput.covers(spec) {
                settle(sink)?;
                progress.throughput(i, spec);
                throughput = measure.throughput(&plan.cells[i..], cal, plan.timeout);
                if interrupted() {
                    return Ok(Outcome::Interrupted);
                }
            }
        }
        progress.cell(i, spec);
        let mut result = match cell_without_process(plan, spec, harness_only) {
            Some(cell) => cell,
            None => {
                settle(sink)?;
                measure.cell(spec, plan.timeout)
            }
        };
        if plan.throughput.is_some() {
            throughput.attach(&mut result);
        }
        if interrupted() {
            progress.end();
            return Ok(Outcome::Interrupted);
        }
        sink.keep(result);
    }
    progress.clear();
    Ok(Outcome::Completed)
}

/// The run's progress line on stderr (a terminal only): which step of how many, and the ETA.
struct Progress {
    on: bool,
    started: Instant,
    total: usize,
}

impl Progress {
    /// Replaces the line with step `i` of the run and `what` it is doing.
    fn show(&self, i: usize, what: std::fmt::Arguments<'_>) {
        if self.on {
            crate::stderr_text!("\r\x1b[2K[{}/{}] {what}", i + 1, self.total);
        }
    }

    /// Before the throughput process of the group starting at cell `i`.
    fn throughput(&self, i: usize, spec: &CellSpec) {
        let w = &spec.workload;
        self.show(i, format_args!("{w} throughput, allocators taking turns"));
    }

    /// Before cell `i`.
    fn cell(&self, i: usize, spec: &CellSpec) {
        if self.on {
            let eta = eta(self.started.elapsed(), i, self.total);
            let (w, a, r) = (&spec.workload, &spec.allocator, spec.repetition);
            self.show(i, format_args!("{w} × {a} rep {r}{eta}"));
        }
    }

    /// Ends the line before the run stops early, so what follows starts on its own.
    fn end(&self) {
        if self.on {
            crate::stderr_line!();
        }
    }

    /// Clears the line once every cell is done.
    fn clear(&self) {
        if self.on {
            crate::stderr_text!("\r\x1b[2K");
        }
    }
}

/// The cell `spec` yields without a process of its own, if it needs none: beside
/// allocators, null's figures are its throughput samples alone; once the memory
/// repetitions are done, a cell of throughput alone. (Measured alone, `null`'s memory cell
/// is the harness's own: RSS, and the stream's fingerprint.)
fn cell_without_process(plan: &Plan, spec: &CellSpec, harness_only: bool) -> Option<CellResult> {
    let throughput_only = plan
        .memory_repetitions
        .is_some_and(|m| spec.repetition >= m);
    let null_beside_others = spec.allocator == crate::alloc::AllocatorSpec::Null && !harness_only;
    if plan.throughput.is_some() && null_beside_others {
        Some(CellResult::new(
            &spec.workload,
            "null",
            spec.repetition,
            CellKind::Replay,
        ))
    } else if plan.throughput.is_some() && throughput_only {
        Some(throughput_only_cell(
            spec,
            plan.memory_repetitions.unwrap_or(0),
        ))
    } else {
        None
    }
}

/// Keeps each cell in `results` and saves them all to `store` when the run settles
/// ([`CellSink`]). If they cannot be saved (a full disk, a removed directory) the run stops
/// there, before its next measurement, with that error; the files already in place are the
/// last complete save.
pub struct SavingSink<'a> {
    store: &'a ResultsStore,
    results: &'a mut RunResults,
    /// The cells `results` will hold once the plan is done, for the error message.
    total: usize,
    /// Whether a cell was kept since the last save.
    unsaved: bool,
}

impl<'a> SavingSink<'a> {
    /// A sink adding `planned` cells to `results`, which may hold cells already (`--precision`
    /// runs its further processes as plans of their own): its errors count every cell, so
    /// they read "after cell 150 of 160", not "of 40".
    pub fn new(store: &'a ResultsStore, results: &'a mut RunResults, planned: usize) -> Self {
        SavingSink {
            store,
            total: results.cells.len() + planned,
            results,
            unsaved: false,
        }
    }
}

impl CellSink for SavingSink<'_> {
    fn keep(&mut self, cell: CellResult) {
        self.results.cells.push(cell);
        self.unsaved = true;
    }

    fn settle(&mut self) -> anyhow::Result<()> {
        if !self.unsaved {
            return Ok(());
        }
        self.store.save(self.results).with_context(|| {
            format!(
                "results could not be saved after cell {} of {}; stopped there",
                self.results.cells.len(),
                self.total
            )
        })?;
        self.unsaved = false;
        Ok(())
    }
}

/// Runs the plan, adding every cell to `results` and saving them before each measurement
/// that follows a new cell and at the end ([`SavingSink`]).
pub fn run_and_save(
    plan: &Plan,
    store: &ResultsStore,
    results: &mut RunResults,
) -> anyhow::Result<Outcome> {
    run(plan, &mut SavingSink::new(store, results, plan.cells.len()))
}

/// A cell of a repetition past the memory ones: its throughput samples come from the shared
/// process; it says why it has no memory or latency figures.
fn throughput_only_cell(spec: &CellSpec, memory_repetitions: u32) -> CellResult {
    let mut c = CellResult::new(
        &spec.workload,
        &spec.allocator.name(),
        spec.repetition,
        CellKind::Replay,
    );
    c.notes.push(format!(
        "throughput only: memory and latency are measured in the first {memory_repetitions} \
         repetition(s); the further ones add throughput processes"
    ));
    c
}

/// Runs one cell in a child process and turns whatever happened into a result.
pub fn run_cell(spec: &CellSpec, timeout: Duration) -> CellResult {
    let failed = |reason: String| {
        CellResult::failed(
            &spec.workload,
            &spec.allocator.name(),
            spec.repetition,
            reason,
        )
    };
    let json = serde_json::to_string(spec).expect("a CellSpec always serialises");
    let out = match run_child(CELL_SUBCOMMAND, &json, timeout) {
        Ok(out) => out,
        Err(reason) => return failed(reason),
    };
    match serde_json::from_str::<CellResult>(&out) {
        Ok(cell) => cell,
        Err(e) => failed(format!("unreadable result from the cell process: {e}")),
    }
}

/// Runs one throughput group in a child process.
pub fn run_group(spec: &GroupSpec, timeout: Duration) -> Result<GroupSamples, String> {
    let json = serde_json::to_string(spec).expect("a GroupSpec always serialises");
    let out = spawn_child(
        THROUGHPUT_SUBCOMMAND,
        &json,
        timeout,
        spec.calibration.fixed_layout,
    )?;
    serde_json::from_str(&out)
        .map_err(|e| format!("unreadable result from the throughput process: {e}"))
}

/// ", ETA 40 s" (or "25 min", "3 hours") for a progress line once `done` of `total` steps
/// took `elapsed`, at the pace so far; nothing before the first step is done (no figure to go
/// on). Shared by `run`'s cells and `validate`'s mutator repetitions. In seconds alone, an
/// hours-long run read "ETA 14400 s" (until 2026-12-05), which nobody reads at a glance.
pub fn eta(elapsed: Duration, done: usize, total: usize) -> String {
    if done == 0 {
        return String::new();
    }
    let per = elapsed.as_secs_f64() / done as f64;
    let left = per * total.saturating_sub(done) as f64;
    format!(", ETA {}", super::long_run::rough_duration(left))
}

/// Re-executes this binary as `pybench SUBCOMMAND ARG` and returns the last JSON line it
/// printed, or why it produced none: how it ended (exit code or signal) and the last line
/// of its stderr. Ctrl-C and `timeout` kill it.
pub fn run_child(subcommand: &str, arg: &str, timeout: Duration) -> Result<String, String> {
    spawn_child(subcommand, arg, timeout, false)
}

/// As [`run_child`]; `fixed_layout` starts the child with address-space randomisation off.
fn spawn_child(
    subcommand: &str,
    arg: &str,
    timeout: Duration,
    fixed_layout: bool,
) -> Result<String, String> {
    // A timeout too large to add to the clock means no deadline, not a panic.
    let deadline = Instant::now().checked_add(timeout);
    let stop = || interrupted() || deadline.is_some_and(|d| Instant::now() > d);
    // The child dies with this process: a cell must not outlive a killed `pybench run` (it
    // would hold a core and skew the next run's figures).
    let captured = crate::sys::process::capture_self(&[subcommand, arg], fixed_layout, stop)
        .map_err(|e| format!("cannot start the measuring process: {e}"))?;
    let (out, err) = (captured.stdout, captured.stderr);
    let status = match captured.ended {
        Ok(Some(status)) => status,
        Ok(None) if interrupted() => return Err("interrupted".to_string()),
        Ok(None) => return Err(format!("timed out after {} s", timeout.as_secs())),
        Err(e) => return Err(format!("cannot wait for the measuring process: {e}")),
    };
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        let how = match (status.code(), status.signal()) {
            (_, Some(sig)) => format!("killed by {}", crate::sys::signal::describe(sig)),
            (Some(code), None) => format!("exited with code {code}"),
            _ => "ended abnormally".to_string(),
        };
        return Err(match failure_line(&err) {
            Some(line) => format!("{how}: {line}"),
            None => how,
        });
    }
    out.lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .map(str::to_string)
        .ok_or_else(|| "the measuring process printed no result".to_string())
}

/// The line of a failed child's stderr that says why: its own error line (`pybench: error:`)
/// or a panic message if there is one, else the last line that is not part of a backtrace
/// (with `RUST_BACKTRACE=1` the last line is the backtrace's "note:", not the cause).
pub fn failure_line(stderr: &str) -> Option<&str> {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let cause = |l: &&str| {
        l.starts_with("pybench: error:")
            || l.starts_with("thread '") && l.contains("panicked at")
            || l.starts_with("memory allocation of")
    };
    if let Some(i) = lines.iter().rposition(cause) {
        // A panic's message is on the line after "panicked at …:" (Rust ≥ 1.73).
        let l = lines[i];
        if l.ends_with(':') && l.contains("panicked at") {
            if let Some(msg) = lines.get(i + 1).filter(|m| !is_backtrace_line(m)) {
                return Some(msg);
            }
        }
        return Some(l);
    }
    lines.into_iter().rev().find(|l| !is_backtrace_line(l))
}

/// Lines a Rust backtrace adds after the cause.
fn is_backtrace_line(l: &str) -> bool {
    let t = l.trim_start();
    l.starts_with("note:")
        || t == "stack backtrace:"
        || t.starts_with("at ")
        || t.split_once(':')
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
