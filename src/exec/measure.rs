//! One execution of the real program under one contender: wall time, CPU time, peak RSS and
//! page faults from `wait4`'s rusage (for that program alone, reported by the launcher that
//! forks it from a small address space: see [`crate::sys::spawn`] for why), and an RSS
//! series sampled from `/proc/PID/statm` while it runs.

use super::contender::Contender;
use super::engine_site::{EngineReport, EngineSite};
use crate::metrics::Id;
use crate::report::model::{CellKind, CellResult, CellStatus, Metric};
use crate::sys::procfs::{RssReader, Usage};
use crate::sys::spawn;
use crate::sys::stderr_tail::{self, StderrTail};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How often RSS is read while the program runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// What one execution measured.
#[derive(Debug, Clone)]
pub struct Execution {
    pub wall: Duration,
    pub usage: Usage,
    /// (milliseconds since start, resident bytes).
    pub rss_series: Vec<(u64, u64)>,
    /// `Ok` for exit code 0, else how it ended.
    pub outcome: Result<(), String>,
    /// For an engine contender: its accounting at exit, or why it could not serve.
    pub engine: Option<EngineReport>,
}

/// How a real run's standard streams are set up ([`launch_as_exec`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams {
    /// Discard the program's output (`-q`), keeping the end of its stderr for a failure.
    pub quiet: bool,
    /// Its standard input, opened afresh for every run (`--stdin`); `/dev/null` without.
    pub stdin: Option<PathBuf>,
}

/// Runs `program` once with `contender` in effect. `streams.quiet` discards its output;
/// otherwise both its stdout and stderr go to this process's stderr. An error means it could
/// not start.
pub fn execute(
    program: &[String],
    contender: &Contender,
    streams: &Streams,
    timeout: Option<Duration>,
) -> std::io::Result<Execution> {
    // This very binary as the launcher, by its inode (see `self_exe`).
    let mut cmd = spawn::command(crate::sys::process::self_exe(), program);
    let tail = launch_as_exec(&mut cmd, streams)?;
    set_allocator_env(&mut cmd, contender);
    let site = match contender.engine {
        Some(geometry) => Some(EngineSite::prepare(&mut cmd, geometry)?),
        None => None,
    };
    // A killed `pybench exec` leaves no program running (as a killed `run` leaves no cell),
    // nor anything the program started: the launcher, told by the kernel as pybench dies,
    // kills the program's whole tree, whose subreaper it is. With SIGKILL the launcher went
    // at once and the program's children outlived it (noted in session 67).
    crate::sys::process::signal_on_parent_death(&mut cmd, crate::sys::reaper::KILL_TREE);
    let started = spawn::start(cmd)?;
    let watched = watch(started, timeout)?;
    let end = watched.end;
    let engine = site.as_ref().map(EngineSite::report);
    if let (false, Some(EngineReport::Stats(text))) = (streams.quiet, &engine) {
        crate::stderr_text!("{text}");
    }
    let outcome = if watched.timed_out {
        Err(format!(
            "the program ran longer than --timeout {} s and was killed",
            timeout.unwrap_or_default().as_secs()
        ))
    } else if let Some(EngineReport::Refused(reason)) = &engine {
        Err(reason.clone())
    } else {
        how_it_ended(end.status)
    };
    // Under -q its output was discarded: the failure says what it last said.
    let outcome = outcome.map_err(|reason| with_last_words(reason, tail.as_ref()));
    Ok(Execution {
        wall: end.wall,
        usage: end.usage,
        rss_series: watched.series,
        outcome,
        engine,
    })
}

/// The environment that puts `contender` in effect: `PYTHONMALLOC=malloc` so CPython's
/// objects reach malloc, and its library first in `LD_PRELOAD`.
fn set_allocator_env(cmd: &mut std::process::Command, contender: &Contender) {
    if contender.python_malloc {
        cmd.env("PYTHONMALLOC", "malloc");
    }
    if let Some(lib) = &contender.preload {
        // Ours first; a preload the user already had stays after it.
        let mut value = lib.as_os_str().to_os_string();
        if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
            value.push(":");
            value.push(&existing);
            cmd.env("PYBENCH_ORIG_LD_PRELOAD", existing);
        }
        cmd.env("LD_PRELOAD", value);
        // pybench's own preload libraries then restore LD_PRELOAD at load time, so the
        // program's children do not run under the allocator (preload/exports.rs says why).
        cmd.env("PYBENCH_PRELOAD_SCOPE", "process");
    }
}

/// A started program watched to its end: its RSS sampled every [`SAMPLE_EVERY`], killed
/// past `timeout` or when pybench is stopped.
struct Watched {
    end: spawn::Ended,
    series: Vec<(u64, u64)>,
    timed_out: bool,
}

fn watch(mut started: spawn::Started, timeout: Option<Duration>) -> std::io::Result<Watched> {
    let pid = started.pid;
    let start = Instant::now();
    let rss = RssReader::for_pid(pid).ok();
    let mut series = Vec::new();
    let (mut killed, mut timed_out) = (false, false);
    let end = loop {
        if let Some(end) = started.poll()? {
            break end;
        }
        let over_time = timeout.is_some_and(|t| start.elapsed() > t);
        // Stopped (a SIGTERM sent to pybench alone reaches no program): the run is dropped
        // anyway, so it is not waited for.
        let stopped = crate::harness::runner::interrupted();
        if !killed && (over_time || stopped) {
            // Its children too: a hung program's `subprocess.run` would outlive it.
            started.kill_tree();
            (killed, timed_out) = (true, over_time);
        }
        if let Some(bytes) = rss.as_ref().and_then(RssReader::read) {
            series.push((start.elapsed().as_millis() as u64, bytes));
        }
        std::thread::sleep(SAMPLE_EVERY);
    };
    Ok(Watched {
        end,
        series,
        timed_out,
    })
}

/// A wait status in words: `Ok` for exit code 0, else how the program ended.
fn how_it_ended(status: libc::c_int) -> Result<(), String> {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => Ok(()),
            code => Err(format!("the program exited with code {code}")),
        }
    } else if libc::WIFSIGNALED(status) {
        Err(format!(
            "the program was killed by {}",
            crate::sys::signal::describe(libc::WTERMSIG(status))
        ))
    } else {
        Err("the program ended abnormally".to_string())
    }
}

/// How every real run of the program starts (and `validate`'s recording, which must do the
/// same work): no standard input (`/dev/null`), or the `--stdin` file read from its start; its output on pybench's stderr with the progress lines, so
/// stdout holds only pybench's table, CSV or JSON (`--csv -` stays parseable), or nowhere
/// when `quiet`; and no `PYTHONMALLOC` of the user's (each contender sets its own). When
/// `quiet`, the end of its standard error is kept (returned), so that a failure can quote
/// its last line ([`with_last_words`]): before, `-q` discarded the traceback and a failed run
/// said only "exited with code 1".
pub fn launch_as_exec(
    cmd: &mut std::process::Command,
    streams: &Streams,
) -> std::io::Result<Option<StderrTail>> {
    match &streams.stdin {
        Some(path) => cmd.stdin(crate::sys::fs::regular_input(path)?),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.env_remove("PYTHONMALLOC");
    if streams.quiet {
        let (stderr, tail) = stderr_tail::capture()?;
        cmd.stdout(Stdio::null()).stderr(stderr);
        Ok(Some(tail))
    } else {
        cmd.stdout(Stdio::from(std::io::stderr()));
        Ok(None)
    }
}

/// `reason` followed by the last line the program wrote on its standard error, when it was
/// kept (`-q`) and there is one: `the program exited with code 1; its last words on stderr:
/// ModuleNotFoundError: No module named 'x'`.
pub fn with_last_words(reason: String, tail: Option<&StderrTail>) -> String {
    let bytes = tail.map(|t| t.bytes(Duration::from_millis(200)));
    match bytes.as_deref().and_then(last_line) {
        Some(line) => format!("{reason}; its last words on stderr: {line}"),
        None => reason,
    }
}

/// The last non-blank line of `bytes`, trimmed, its control characters escaped (it goes into
/// a one-line message) and cut to 200 characters.
pub fn last_line(bytes: &[u8]) -> Option<String> {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let mut line = crate::trace::printable(line);
    if line.chars().count() > MAX {
        line = line.chars().take(MAX).collect::<String>() + "…";
    }
    Some(line)
}

/// The first line of the cell note holding the engine's accounting at exit.
pub const ENGINE_NOTE: &str =
    "pymalloc engine accounting at exit (sys._debugmallocstats() layout):";

/// The execution as a result cell (`kind: exec`), so `compare`, `plot` and the CSV treat it
/// like a replay cell. Failed runs keep no timing: a run that failed is never timed as if it
/// had succeeded.
pub fn to_cell(label: &str, contender: &Contender, repetition: u32, e: &Execution) -> CellResult {
    let mut cell = CellResult::new(label, &contender.name, repetition, CellKind::Exec);
    if let Err(reason) = &e.outcome {
        cell.status = CellStatus::Failed {
            reason: reason.clone(),
        };
        return cell;
    }
    let peak_sampled = e.rss_series.iter().map(|s| s.1).max().unwrap_or(0);
    let u = &e.usage;
    let mx = &mut cell.metrics;
    mx.push(Metric::of(Id::WallNs, e.wall.as_nanos() as f64));
    mx.push(Metric::of(Id::UserNs, u.user_ns as f64));
    mx.push(Metric::of(Id::SystemNs, u.system_ns as f64));
    mx.push(Metric::of(Id::CpuNs, (u.user_ns + u.system_ns) as f64));
    // rusage's maxrss is the kernel's own high-water mark; the samples can only miss peaks.
    mx.push(Metric::of(
        Id::PeakRssBytes,
        u.max_rss_bytes.max(peak_sampled) as f64,
    ));
    mx.push(Metric::of(Id::MinorFaults, u.minor_faults as f64));
    mx.push(Metric::of(Id::MajorFaults, u.major_faults as f64));
    match &e.engine {
        Some(EngineReport::Stats(text)) => cell.notes.push(format!("{ENGINE_NOTE}\n{text}")),
        Some(EngineReport::Unreported) => cell.notes.push(
            "pymalloc engine: no accounting at exit (the program ended without Python's \
             normal shutdown: os._exit or a signal)"
                .to_string(),
        ),
        _ => {}
    }
    cell.rss_series = e.rss_series.clone();
    cell.notes
        .push("exec: rss_series is (milliseconds since start, resident bytes)".to_string());
    cell
}
