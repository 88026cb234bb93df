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
use super::{Meta, TraceWriter};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The hook, compiled by build.rs (empty when the build machine had no C compiler).
static HOOK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pybench_hook.so"));
static SITECUSTOMIZE: &str = include_str!("hook/sitecustomize.py");

/// After the program exits, how long a descendant may keep the pipe open before the
/// recording stops waiting for it.
const LINGER: Duration = Duration::from_secs(2);

/// Why nothing (or not everything) could be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("this pybench was built without a C compiler, so it has no allocator hook")]
    NoHook,
    #[error("cannot run `{program}`: {error}")]
    Spawn { program: String, error: io::Error },
    #[error("no allocator hook was installed: `{program}` is not a CPython 3.8+ interpreter, or it did not import pybench's sitecustomize (-I, -E and -S turn that off)")]
    NotHooked { program: String },
    #[error("the allocator hook could not be installed in `{program}`: {reason}")]
    HookFailed { program: String, reason: String },
}

/// What to record.
pub struct Options {
    pub program: Vec<OsString>,
    pub out: PathBuf,
    /// Bit 0 RAW, 1 MEM, 2 OBJ.
    pub domains: u8,
    /// Store each event's pace (the hook reads the time stamp counter around every call).
    pub pace: bool,
}

/// Bit of the hook's install mask that turns pace on (hook.c's MASK_PACE).
const MASK_PACE: u8 = 8;

/// A finished recording.
pub struct Recorded {
    pub status: ExitStatus,
    pub wall: Duration,
    pub events: u64,
    /// False when the program ended without Python's normal shutdown (`os._exit`, a signal):
    /// up to one hook buffer (4,096 calls) of the last events is missing.
    pub complete: bool,
    pub counters: BTreeMap<String, u64>,
}

/// The exit code a shell would report for `status` (128 + signal when killed).
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => 128u8.wrapping_add(s as u8),
        _ => 1,
    }
}

/// Removes the private directory however recording ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn private_dir() -> anyhow::Result<TempDir> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir =
        std::env::temp_dir().join(format!("pybench-record-{}-{nanos:08x}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let d = TempDir(dir);
    std::fs::write(d.0.join("sitecustomize.py"), SITECUSTOMIZE)?;
    std::fs::write(d.0.join("pybench_hook.so"), HOOK)?;
    Ok(d)
}

/// The read end of the hook's pipe. Reads return end-of-file once the program has exited
/// and nothing arrived for [`LINGER`], so a descendant holding the pipe cannot hang us.
struct Pipe {
    fd: OwnedFd,
    exited: Arc<AtomicBool>,
    quiet_since: Option<Instant>,
    abandoned: bool,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut p = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, 100) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if r > 0 {
                // SAFETY: buf is valid for buf.len() bytes.
                let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                self.quiet_since = None;
                return Ok(n as usize);
            }
            if self.exited.load(Ordering::Acquire) {
                let since = *self.quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= LINGER {
                    self.abandoned = true;
                    return Ok(0);
                }
            }
        }
    }
}

/// What the conversion thread ends with.
enum Converted {
    /// The hook never said hello: nothing was installed.
    NotHooked,
    Failed(String),
    Done {
        events: u64,
        complete: bool,
        counters: BTreeMap<String, u64>,
    },
}

/// Parses the hook's first line: `PBRAW 1 <python version> <pid>` or `PBERR <reason>`.
fn hello(pipe: &mut BufReader<Pipe>) -> io::Result<Result<String, Converted>> {
    let mut line = Vec::new();
    pipe.by_ref().take(4096).read_until(b'\n', &mut line)?;
    let text = String::from_utf8_lossy(&line).trim().to_string();
    if let Some(reason) = text.strip_prefix("PBERR ") {
        return Ok(Err(Converted::Failed(reason.to_string())));
    }
    let mut parts = text.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("PBRAW"), Some("1"), Some(v)) => Ok(Ok(v.to_string())),
        _ if text.is_empty() => Ok(Err(Converted::NotHooked)),
        _ => Ok(Err(Converted::Failed(format!(
            "unexpected hook greeting {text:?}"
        )))),
    }
}

fn convert(
    pipe: Pipe,
    mut meta: Meta,
    file: File,
    pace: bool,
) -> anyhow::Result<(Converted, bool)> {
    let mut pipe = BufReader::with_capacity(1 << 12, pipe);
    let python = match hello(&mut pipe)? {
        Ok(v) => v,
        Err(c) => return Ok((c, pipe.get_ref().abandoned)),
    };
    meta.python = python;
    let out = BufWriter::with_capacity(1 << 16, file);
    let (writer, rec) = if pace {
        (TraceWriter::with_pace(out, &meta)?, PACED_RECORD)
    } else {
        (TraceWriter::new(out, &meta)?, RAW_RECORD)
    };
    let mut conv = Converter::new(writer);
    let mut buf = vec![0u8; PACED_RECORD * 16384];
    // Records already buffered behind the greeting, then straight from the pipe: one copy.
    let mut have = pipe.buffer().len().min(buf.len());
    buf[..have].copy_from_slice(&pipe.buffer()[..have]);
    pipe.consume(have);
    let mut pipe = pipe.into_inner();
    loop {
        let whole = have - have % rec;
        for r in buf[..whole].chunks_exact(rec) {
            conv.feed(r)?;
        }
        buf.copy_within(whole..have, 0);
        have -= whole;
        let n = pipe.read(&mut buf[have..])?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let abandoned = pipe.abandoned;
    let (events, complete) = (conv.events(), conv.ended);
    let mut extra = BTreeMap::new();
    extra.insert("truncated_bytes".to_string(), have as u64);
    let mut counters = conv.counters.to_map();
    counters.extend(extra.clone());
    conv.finish(extra)?
        .into_inner()
        .map_err(|e| e.into_error())?;
    Ok((
        Converted::Done {
            events,
            complete,
            counters,
        },
        abandoned,
    ))
}

/// Runs the program under the hook and writes the trace to `opts.out`. The program's
/// standard streams are its own; on error the trace file is not created.
pub fn record(opts: &Options, mut meta: Meta) -> anyhow::Result<(Recorded, Option<RecordError>)> {
    if HOOK.is_empty() {
        return Err(RecordError::NoHook.into());
    }
    let program = opts.program[0].to_string_lossy().into_owned();
    let dir = private_dir()?;
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error()).context("cannot create a pipe");
    }
    // SAFETY: pipe2 returned two fresh descriptors that nothing else owns.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // A larger pipe lets the program run ahead of the conversion; failure only costs speed.
    // SAFETY: plain fcntl on an owned descriptor.
    unsafe { libc::fcntl(rd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };

    let mut cmd = Command::new(&opts.program[0]);
    cmd.args(&opts.program[1..]);
    let mut pythonpath = OsString::from(&dir.0);
    if let Some(orig) = std::env::var_os("PYTHONPATH") {
        pythonpath.push(":");
        pythonpath.push(&orig);
        cmd.env("PYBENCH_ORIG_PYTHONPATH", orig);
    }
    cmd.env("PYTHONPATH", pythonpath)
        .env("PYBENCH_RECORD_FD", wr.as_raw_fd().to_string())
        .env("PYBENCH_RECORD_LIB", dir.0.join("pybench_hook.so"))
        .env(
            "PYBENCH_RECORD_DOMAINS",
            (opts.domains | if opts.pace { MASK_PACE } else { 0 }).to_string(),
        );
    let wr_fd = wr.as_raw_fd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The hook's end of the pipe survives exec; the hook sets CLOEXEC again.
            if libc::fcntl(wr_fd, libc::F_SETFD, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // We ignore SIGINT while recording; the program gets the default back.
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    // Written next to the output and renamed when complete; created before the program runs,
    // so an unwritable output fails before anything else.
    let partial = opts.out.with_extension("pbt.partial");
    let file =
        File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    meta.pybench_version = super::pybench_version();
    meta.created_utc = crate::report::store::utc_timestamp();
    // Ctrl-C goes to the whole process group: the program decides what it means, and we
    // stay to write what it recorded.
    // SAFETY: setting a signal disposition.
    let old_sigint = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let started = Instant::now();
    let spawned = cmd.spawn();
    drop(wr);
    let mut child = match spawned {
        Ok(c) => c,
        Err(error) => {
            // SAFETY: restoring the previous disposition.
            unsafe { libc::signal(libc::SIGINT, old_sigint) };
            let _ = std::fs::remove_file(&partial);
            return Err(RecordError::Spawn { program, error }.into());
        }
    };
    let exited = Arc::new(AtomicBool::new(false));
    let pipe = Pipe {
        fd: rd,
        exited: exited.clone(),
        quiet_since: None,
        abandoned: false,
    };
    let pace = opts.pace;
    let worker = std::thread::spawn(move || convert(pipe, meta, file, pace));
    let status = child.wait();
    let wall = started.elapsed();
    exited.store(true, Ordering::Release);
    let converted = worker.join();
    // SAFETY: restoring the previous disposition.
    unsafe { libc::signal(libc::SIGINT, old_sigint) };
    let status = status.context("waiting for the program")?;
    let converted = match converted {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!("the conversion thread panicked")),
    };
    let (converted, abandoned) = match converted {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context("recording failed"));
        }
    };
    let mut rec = Recorded {
        status,
        wall,
        events: 0,
        complete: false,
        counters: BTreeMap::new(),
    };
    if !matches!(converted, Converted::Done { .. }) {
        let _ = std::fs::remove_file(&partial);
    }
    match converted {
        Converted::NotHooked => Ok((rec, Some(RecordError::NotHooked { program }))),
        Converted::Failed(reason) => Ok((rec, Some(RecordError::HookFailed { program, reason }))),
        Converted::Done {
            events,
            complete,
            mut counters,
        } => {
            std::fs::rename(&partial, &opts.out)
                .with_context(|| format!("cannot write {}", opts.out.display()))?;
            counters.insert("descendant_held_pipe".into(), u64::from(abandoned));
            rec.events = events;
            rec.complete = complete;
            rec.counters = counters;
            Ok((rec, None))
        }
    }
}
