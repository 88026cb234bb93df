//! `pybench record`: runs a program under pybench's allocator hook and writes its trace.
//!
//! The hook (hook/hook.c, embedded) and a generated `sitecustomize.py` go into a private
//! temporary directory put first on `PYTHONPATH`. CPython's `site` module imports
//! `sitecustomize` during start-up, before the program's first line; ours loads the hook,
//! which wraps the allocator domains and streams raw records down a pipe whose number it
//! finds in the environment. It then restores `PYTHONPATH` (so child interpreters are not
//! recorded), removes its directory from `sys.path`, and runs the `sitecustomize` the
//! program would have had without pybench, if any. This process converts records into
//! events while the program runs (on another core), so the program only pays for the hook.

use super::convert::{Converter, PACED_RECORD, RAW_RECORD};
pub use super::recorded::{
    busy_machine_note, defer_hint, environment_warning, exit_code, Recorded, INCOMPLETE_CAUSES,
};
use super::spill::{convert_deferred, spill_file, Records};
use super::{Meta, TraceWriter};
use crate::sys::fs::AtomicFile;
use crate::sys::private_dir::PrivateDir;
use crate::sys::{channel, signal};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod launch;
mod pipe;
pub(super) use pipe::{Pipe, PipeEnd};

/// The hook, compiled by build.rs (empty when the build machine had no C compiler).
static HOOK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pybench_hook.so"));
static SITECUSTOMIZE: &str = include_str!("hook/sitecustomize.py");

/// Why nothing (or not everything) could be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("this pybench was built without a C compiler, so it has no allocator hook")]
    NoHook,
    #[error("cannot run `{program}`: {error}")]
    Spawn { program: String, error: io::Error },
    /// Refused before starting it: missing, a directory, not executable, a `#!` interpreter
    /// that is missing (`sys::process::cannot_start`).
    #[error("cannot run `{program}`: {why}")]
    CannotStart { program: String, why: String },
    /// Refused before starting the program (`exec::script`).
    #[error("cannot record: {0}")]
    NoScript(String),
    #[error("no allocator hook was installed: `{program}` is not a CPython 3.8+ interpreter, or it did not import pybench's sitecustomize (-I, -E and -S turn that off){hint}")]
    NotHooked { program: String, hint: String },
    /// The program failed before Python read its site files (a bad option, a missing
    /// module): its own message says why, and "not a CPython interpreter" would mislead.
    #[error("`{program}` exited with status {code} before pybench's allocator hook was installed, so nothing was recorded: its own message, if it printed one, is above (or it is not a CPython 3.8+ interpreter)")]
    ExitedUnhooked { program: String, code: u8 },
    #[error("the allocator hook could not be installed in `{program}`: {reason}")]
    HookFailed { program: String, reason: String },
    #[error("{bytes} bytes of records written by processes other than the recorded one (pid {writers}) were refused")]
    Foreign { bytes: u64, writers: String },
    #[error("no allocator call of the program reached pybench: it {INCOMPLETE_CAUSES} before the hook's first buffer was sent, so no trace was written")]
    Empty,
    #[error("the program was stopped (--timeout, or a signal pybench passed on) before any of its allocator calls reached pybench, so no trace was written")]
    StoppedEmpty,
}

/// What to record.
pub struct Options {
    pub program: Vec<OsString>,
    pub out: PathBuf,
    /// Bit 0 RAW, 1 MEM, 2 OBJ.
    pub domains: u8,
    /// Store each event's pace (the hook reads the time stamp counter around every call).
    pub pace: bool,
    /// Convert after the program exits: records spill to a nameless file beside `out`.
    pub defer: bool,
    /// How the program is started.
    pub launch: Launch,
    /// Kill the program (SIGKILL) if it runs longer than this.
    pub timeout: Option<Duration>,
    /// Whether the trace may replace a file at `out` (`record --force`). Without it a file
    /// that appeared there while the program ran is kept, and the trace goes to the next
    /// free numbered name ([`AtomicFile::never_replacing`]).
    pub replace: bool,
}

/// How the recorded program is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `pybench record`: with pybench's standard streams and environment.
    Own,
    /// As `exec` starts it (`validate`, whose real runs must do the same work as the recorded
    /// one): [`crate::exec::measure::launch_as_exec`].
    AsExec(crate::exec::measure::Streams),
}

/// The hook and the sitecustomize that loads it, in a private directory removed however
/// recording ends (one a killed pybench left is removed by the next: [`PrivateDir`]).
fn private_dir() -> anyhow::Result<PrivateDir> {
    let d = PrivateDir::create("record").context("cannot create a private temporary directory")?;
    // Named, as every write of pybench's is: under `ulimit -f` the bare "File too large"
    // said nothing of which file (found in review, 2026-12-07).
    let write = |name: &str, bytes: &[u8]| {
        let path = d.path().join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("cannot write the recording hook's {}", path.display()))
    };
    write(
        "sitecustomize.py",
        crate::exec::engine_site::sitecustomize(SITECUSTOMIZE).as_bytes(),
    )?;
    write("pybench_hook.so", HOOK)?;
    Ok(d)
}

/// What the conversion thread ends with.
pub(super) enum Converted {
    /// The hook never said hello: nothing was installed.
    NotHooked,
    Failed(String),
    Done {
        events: u64,
        complete: bool,
        counters: BTreeMap<String, u64>,
        /// Where the trace went (`None`: nowhere, it held no event).
        path: Option<PathBuf>,
    },
}

/// The metadata key ([`Meta::extra`]) naming what served the recorded program instead of
/// plain pymalloc (`debug`, `malloc`, `debug(dev-mode)`); absent under pymalloc.
pub const ALLOCATORS_KEY: &str = "allocators";

/// Parses the hook's first line: `PBRAW 1 <python version> <pid> [allocators=NAME]` or
/// `PBERR <reason>`. `NAME` is what served the program instead of plain pymalloc
/// (`PYTHONMALLOC`'s value, `debug(dev-mode)` for `-X dev`).
type Hello = (String, Option<String>);
fn hello<R: Read>(pipe: &mut BufReader<R>) -> io::Result<Result<Hello, Converted>> {
    let mut line = Vec::new();
    pipe.by_ref().take(4096).read_until(b'\n', &mut line)?;
    let text = String::from_utf8_lossy(&line).trim().to_string();
    if let Some(reason) = text.strip_prefix("PBERR ") {
        return Ok(Err(Converted::Failed(reason.to_string())));
    }
    let mut parts = text.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("PBRAW"), Some("1"), Some(v)) => {
            let allocators = parts.find_map(|p| p.strip_prefix("allocators="));
            Ok(Ok((v.to_string(), allocators.map(str::to_string))))
        }
        _ if text.is_empty() => Ok(Err(Converted::NotHooked)),
        _ => Ok(Err(Converted::Failed(format!(
            "unexpected hook greeting {text:?}"
        )))),
    }
}

fn convert(
    mut pipe: Pipe,
    meta: Meta,
    file: AtomicFile,
    pace: bool,
) -> anyhow::Result<(Converted, PipeEnd)> {
    let converted = convert_from(&mut pipe, meta, file, pace)?;
    Ok((converted, pipe.end))
}

/// Turns the hook's greeting and records, read from `src` (the channel, or its spill), into
/// the trace written to `file`.
pub(super) fn convert_from<R: Records>(
    src: R,
    mut meta: Meta,
    file: AtomicFile,
    pace: bool,
) -> anyhow::Result<Converted> {
    let mut pipe = BufReader::with_capacity(1 << 12, src);
    let (python, allocators) = match hello(&mut pipe)? {
        Ok(v) => v,
        Err(c) => {
            // Drain to the end so foreign writers are counted even when ours never spoke.
            let mut rest = pipe.into_inner();
            io::copy(&mut rest, &mut io::sink())?;
            return Ok(c);
        }
    };
    meta.python = python;
    if let Some(a) = allocators {
        meta.extra.insert(ALLOCATORS_KEY.into(), a.into());
    }
    // The converter's errors are the output's (a full disk): they name it. Reading the
    // channel fails on its own terms.
    let target = file.target().to_path_buf();
    let cannot = || format!("cannot write {}", target.display());
    let out = BufWriter::with_capacity(1 << 16, file);
    let (writer, rec) = if pace {
        (TraceWriter::with_pace(out, &meta), PACED_RECORD)
    } else {
        (TraceWriter::new(out, &meta), RAW_RECORD)
    };
    let writer = writer.with_context(cannot)?;
    let mut conv = Converter::new(writer);
    let (pipe, have) = pump(&mut conv, pipe, rec, &target)?;
    let (events, complete) = (conv.events(), conv.ended);
    let mut extra = BTreeMap::new();
    extra.insert("truncated_bytes".to_string(), have as u64);
    extra.insert("foreign_bytes_refused".to_string(), pipe.foreign_bytes());
    let mut counters = conv.counters.to_map();
    counters.extend(extra.clone());
    let file = conv
        .finish(extra)
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .with_context(cannot)?;
    // A trace of no event is never put in place (its temporary goes with `file`): the
    // recording is an error then, and with --force it replaced a good trace at that name with
    // an empty one (found in review, 2026-12-07).
    let path = match events {
        0 => None,
        _ => Some(file.commit_placed().with_context(cannot)?),
    };
    Ok(Converted::Done {
        events,
        complete,
        counters,
        path,
    })
}

/// Feeds `conv` every whole record of `rec` bytes from `pipe`: those already buffered behind
/// the greeting, then straight from the source into one buffer (one copy). Returns the
/// source and the bytes of the record it ended inside (a program killed mid-write).
fn pump<W: Write, R: Read>(
    conv: &mut Converter<W>,
    mut pipe: BufReader<R>,
    rec: usize,
    target: &Path,
) -> anyhow::Result<(R, usize)> {
    let cannot = || format!("cannot write {}", target.display());
    let mut buf = vec![0u8; PACED_RECORD * 16384];
    let mut have = pipe.buffer().len().min(buf.len());
    buf[..have].copy_from_slice(&pipe.buffer()[..have]);
    pipe.consume(have);
    let mut pipe = pipe.into_inner();
    loop {
        let whole = have - have % rec;
        for r in buf[..whole].chunks_exact(rec) {
            conv.feed(r).with_context(cannot)?;
        }
        buf.copy_within(whole..have, 0);
        have -= whole;
        let n = pipe.read(&mut buf[have..])?;
        if n == 0 {
            return Ok((pipe, have));
        }
        have += n;
    }
}

/// Runs the program under the hook and writes the trace to `opts.out`. The program's
/// standard streams are its own; on error the trace file is not created.
pub fn record(opts: &Options, meta: Meta) -> anyhow::Result<(Recorded, Option<RecordError>)> {
    record_then(opts, meta, || ())
}

/// [`record`], calling `before_start` once everything the program needs is in place, just
/// before it starts: `pybench record` says there what it noted of the machine, so that a
/// refusal (an output it cannot create, a missing script) comes alone, in one line.
pub fn record_then(
    opts: &Options,
    mut meta: Meta,
    before_start: impl FnOnce(),
) -> anyhow::Result<(Recorded, Option<RecordError>)> {
    can_record(opts)?;
    let program = opts.program[0].to_string_lossy().into_owned();
    let dir = private_dir()?;
    let (rd, wr) = channel::pair().context("cannot create the recording channel")?;
    let inode = channel::inode(&wr).context("cannot create the recording channel")?;
    let (cmd, stderr_tail) = launch::hooked_command(opts, dir.path(), wr.as_raw_fd(), inode)?;
    // Written beside the output under a fresh name (O_EXCL | O_NOFOLLOW) and renamed when
    // complete; created before the program runs, so an unwritable output fails before
    // anything else, and removed (by its drop) however the recording fails.
    let file = AtomicFile::create(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let file = if opts.replace {
        file
    } else {
        file.never_replacing()
    };
    let spill = opts.defer.then(|| spill_file(&opts.out)).transpose()?;
    meta.pybench_version = super::pybench_version();
    meta.created_utc = crate::sys::time::utc_timestamp();
    // Ctrl-C goes to the whole process group, SIGTERM (a CI limit, `kill`) to pybench alone
    // and is passed on: either way the program decides what it means, and we stay to write
    // what it recorded (and say it came: `validate` stops there). Dying on SIGTERM instead
    // would leave a half-written temporary file beside the output.
    let stop = signal::note_stop_signals();
    before_start();
    let started = Instant::now();
    let mut running = launch::start(cmd, wr, &stop, &program)?;
    let exited = Arc::new(AtomicBool::new(false));
    let pipe = Pipe {
        fd: rd,
        writer: running.pid(),
        exited: exited.clone(),
        quiet_since: None,
        end: PipeEnd::default(),
    };
    let worker = start_conversion(pipe, meta, file, opts.pace, spill);
    let waited = running.wait(opts.timeout, &stop);
    let wall = started.elapsed();
    // Cut short, the program goes with every process it left; before the channel's end is
    // awaited, which one of them may hold.
    running.finish(waited.as_ref().is_ok_and(|&(_, t)| t) || signal::stop_requested().is_some());
    exited.store(true, Ordering::Release);
    let converted = worker.join();
    let interrupted = signal::stop_requested().is_some();
    drop(stop);
    let (status, timed_out) = waited.context("waiting for the program")?;
    let (converted, end) = match converted {
        Ok(c) => c.context("recording failed")?,
        Err(_) => anyhow::bail!("recording failed: the conversion thread panicked"),
    };
    let rec = Recorded {
        status,
        wall,
        events: 0,
        complete: false,
        counters: BTreeMap::new(),
        interrupted,
        timed_out,
        stderr_tail,
        out: None,
    };
    Ok(outcome(rec, converted, end, program))
}

/// What must hold before anything is created: a hook to load, a program that can start (said
/// alone, before the machine notes `record` prints as the program starts), and the program's
/// script (a trace of the interpreter failing to open its script would pass for one of the
/// program).
fn can_record(opts: &Options) -> Result<(), RecordError> {
    if HOOK.is_empty() {
        return Err(RecordError::NoHook);
    }
    let first = &opts.program[0];
    if let Some(why) = first.to_str().and_then(crate::sys::process::cannot_start) {
        return Err(RecordError::CannotStart {
            program: first.to_string_lossy().into_owned(),
            why,
        });
    }
    match crate::exec::script::missing_script(&opts.program) {
        Some(why) => Err(RecordError::NoScript(why)),
        None => Ok(()),
    }
}

/// The thread that turns the hook's records into the trace while the program runs (or, with
/// `--defer`, spills them and converts them once it has ended).
fn start_conversion(
    pipe: Pipe,
    meta: Meta,
    file: AtomicFile,
    pace: bool,
    spill: Option<std::fs::File>,
) -> std::thread::JoinHandle<anyhow::Result<(Converted, PipeEnd)>> {
    std::thread::spawn(move || match spill {
        Some(spill) => convert_deferred(pipe, meta, file, pace, spill),
        None => convert(pipe, meta, file, pace),
    })
}

/// What a recording amounts to once the program and the conversion have ended: the events,
/// or why there are none, and records a foreign writer sent (refused and counted).
fn outcome(
    mut rec: Recorded,
    converted: Converted,
    end: PipeEnd,
    program: String,
) -> (Recorded, Option<RecordError>) {
    let foreign = (end.foreign_bytes > 0).then(|| RecordError::Foreign {
        bytes: end.foreign_bytes,
        writers: end
            .foreign_writers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    });
    match converted {
        Converted::NotHooked => {
            let code = super::recorded::exit_code(rec.status);
            let why = match code {
                0 => RecordError::NotHooked {
                    hint: shim_hint(&program),
                    program,
                },
                code => RecordError::ExitedUnhooked { program, code },
            };
            (rec, Some(foreign.unwrap_or(why)))
        }
        Converted::Failed(reason) => (rec, Some(RecordError::HookFailed { program, reason })),
        Converted::Done {
            events,
            complete,
            mut counters,
            path,
        } => {
            rec.out = path;
            counters.insert("descendant_held_pipe".into(), u64::from(end.abandoned));
            rec.events = events;
            rec.complete = complete;
            rec.counters = counters;
            // A trace of nothing would be refused by every reader of it later, and is not
            // written ([`convert_from`]).
            let stopped = rec.timed_out || rec.interrupted;
            let empty = (events == 0).then_some(if stopped {
                RecordError::StoppedEmpty
            } else {
                RecordError::Empty
            });
            (rec, foreign.or(empty))
        }
    }
}

/// Why a pyenv shim may not be recorded: for `python -m pip` pyenv's pip-rehash hook runs
/// the interpreter as a child of bash (to rehash afterwards), and only the process pybench
/// started may record. Empty unless `program` resolves, through `PATH`, to a pyenv shim.
fn shim_hint(program: &str) -> String {
    match crate::sys::process::find_program(program) {
        Some(p) if p.parent().is_some_and(|d| d.ends_with("shims")) => format!(
            "; `{program}` is a pyenv shim, which runs some commands (`-m pip`) as a child \
             process: name the interpreter itself, e.g. `$(pyenv which {program})`"
        ),
        _ => String::new(),
    }
}
