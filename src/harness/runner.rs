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
use std::io::{IsTerminal, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by the SIGINT handler; checked between and during cells.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes Ctrl-C stop the run after saving what was measured, instead of killing it.
pub fn install_sigint_handler() {
    // The handler only stores to an atomic, which is async-signal-safe.
    crate::sys::signal::on_sigint(on_sigint);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
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
}

/// Why the run stopped early, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Interrupted,
}

/// Runs the plan; `on_result` is called after every cell (to save it).
pub fn run(plan: &Plan, mut on_result: impl FnMut(CellResult)) -> Outcome {
    let started = Instant::now();
    let total = plan.cells.len();
    let progress = plan.progress && std::io::stderr().is_terminal();
    let mut throughput = ThroughputBatch::default();
    for (i, spec) in plan.cells.iter().enumerate() {
        if interrupted() {
            return Outcome::Interrupted;
        }
        if let Some(cal) = plan.throughput {
            if !throughput.covers(spec) {
                if progress {
                    eprint!(
                        "\r\x1b[2K[{}/{}] {} throughput, allocators taking turns",
                        i + 1,
                        total,
                        spec.workload
                    );
                }
                throughput = ThroughputBatch::measure(&plan.cells[i..], cal, plan.timeout);
                if interrupted() {
                    return Outcome::Interrupted;
                }
            }
        }
        if progress {
            let done = i as f64;
            let eta = if i > 0 {
                let per = started.elapsed().as_secs_f64() / done;
                format!(", ETA {:.0} s", per * (total as f64 - done))
            } else {
                String::new()
            };
            eprint!(
                "\r\x1b[2K[{}/{}] {} × {} rep {}{}",
                i + 1,
                total,
                spec.workload,
                spec.allocator,
                spec.repetition + 1,
                eta
            );
        }
        let mut result =
            if plan.throughput.is_some() && spec.allocator == crate::alloc::AllocatorSpec::Null {
                // null's figures are its throughput samples; it has no memory of its own.
                CellResult::new(&spec.workload, "null", spec.repetition, CellKind::Replay)
            } else {
                run_cell(spec, plan.timeout)
            };
        if plan.throughput.is_some() {
            throughput.attach(&mut result);
        }
        if interrupted() {
            if progress {
                eprintln!();
            }
            return Outcome::Interrupted;
        }
        on_result(result);
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    Outcome::Completed
}

/// Runs the plan, adding every cell to `results` (after `adjust`) and saving them after each
/// one, so a crash or Ctrl-C keeps what was measured. Fails if the results cannot be saved.
pub fn run_and_save(
    plan: &Plan,
    store: &ResultsStore,
    results: &mut RunResults,
    mut adjust: impl FnMut(&mut CellResult),
) -> anyhow::Result<Outcome> {
    let mut save_error = None;
    let outcome = run(plan, |mut cell| {
        adjust(&mut cell);
        results.cells.push(cell);
        if let Err(e) = store.save(results) {
            save_error.get_or_insert(e);
        }
    });
    match save_error {
        Some(e) => Err(e.context("results could not be saved")),
        None => Ok(outcome),
    }
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
    let out = run_child(THROUGHPUT_SUBCOMMAND, &json, timeout)?;
    serde_json::from_str(&out)
        .map_err(|e| format!("unreadable result from the throughput process: {e}"))
}

/// Re-executes this binary as `pybench SUBCOMMAND ARG` and returns the last JSON line it
/// printed, or why it produced none: how it ended (exit code or signal) and the last line
/// of its stderr. Ctrl-C and `timeout` kill it.
pub fn run_child(subcommand: &str, arg: &str, timeout: Duration) -> Result<String, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the pybench executable: {e}"))?;
    let mut child = Command::new(exe)
        .args([subcommand, arg])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the measuring process: {e}"))?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if interrupted() || Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(if interrupted() {
                    "interrupted".to_string()
                } else {
                    format!("timed out after {} s", timeout.as_secs())
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("cannot wait for the measuring process: {e}")),
        }
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let status = status?;
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        let how = match (status.code(), status.signal()) {
            (_, Some(sig)) => format!("killed by signal {sig} ({})", signal_name(sig)),
            (Some(code), None) => format!("exited with code {code}"),
            _ => "ended abnormally".to_string(),
        };
        let last = err.lines().rev().find(|l| !l.trim().is_empty());
        return Err(match last {
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

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGKILL => "SIGKILL",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
