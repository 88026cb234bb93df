//! Starting a measured program so that the peak RSS the kernel reports for it is its own.
//!
//! Linux carries a process's resident high-water mark across `execve`: fs/exec.c folds the
//! replaced address space's peak into `signal->maxrss`, which `wait4` reports as
//! `ru_maxrss`. A child forked straight from pybench replaces a *copy of pybench's* address
//! space, so its reported peak is at least pybench's own RSS at the fork. Seen on
//! 2026-11-30: `/bin/true` forked from a 200 MB process reported a 214 MB peak, and under
//! `validate` (whose process holds the trace) pymalloc, glibc and jemalloc all "peaked" at
//! exactly 22.0 MiB on deltablue, where `exec` measured 19.9 MiB.
//!
//! So the program is started by a launcher: this binary re-executed as `pybench __spawn --
//! PROGRAM…` (a fresh, small address space), which forks the program from there, waits for
//! it, and sends its pid, wall time and rusage back on a pipe. The program's floor is then the
//! launcher's RSS (a few MiB), not pybench's. The launcher itself does not load the
//! program's `LD_PRELOAD` (it is handed over in `PRELOAD_VAR`), so a preloaded allocator or
//! the engine library never runs in it.
//!
//! `record` starts its program through the launcher too, so that a pybench killed outright
//! takes the program's children with it (the launcher is their subreaper and hears of
//! pybench's death); the recording hook, which installs itself only in a process whose parent
//! is the one that started it, is told the launcher's pid ([`tell_pid_as`]).

use super::procfs::Usage;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The launcher's hidden subcommand.
pub const SUBCOMMAND: &str = "__spawn";
/// Names the pipe's write end in the launcher.
const FD_VAR: &str = "PYBENCH_SPAWN_FD";
/// The program's `LD_PRELOAD`, held back from the launcher ("" = none).
const PRELOAD_VAR: &str = "PYBENCH_SPAWN_PRELOAD";
/// Names the variable the launcher sets to its own pid in the program's environment.
const PID_AS_VAR: &str = "PYBENCH_SPAWN_PID_AS";

/// A command that runs `program` through the launcher at `launcher` (pybench's own binary):
/// set its environment, stdio and `pre_exec` hooks as for the program, then [`start`] it.
pub fn command(launcher: &Path, program: &[impl AsRef<OsStr>]) -> Command {
    let mut cmd = Command::new(launcher);
    // The launcher's own settings come from [`start`] and [`tell_pid_as`] alone, never from
    // pybench's environment, where they would set the program's `LD_PRELOAD` or a variable
    // of the user's naming.
    cmd.arg(SUBCOMMAND)
        .arg("--")
        .args(program)
        .env_remove(PRELOAD_VAR)
        .env_remove(PID_AS_VAR);
    cmd
}

/// Has the launcher of `cmd` set `var` to its own pid in the program's environment: the
/// program's parent, which `record`'s hook checks it was started by.
pub fn tell_pid_as(cmd: &mut Command, var: &str) {
    cmd.env(PID_AS_VAR, var);
}

/// A program running under the launcher.
pub struct Started {
    launcher: Child,
    /// The program's own pid (for `/proc` readings and per-process reports).
    pub pid: u32,
    reports: BufReader<File>,
}

/// How the program ended, as its launcher saw it.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// The raw wait status (`WIFEXITED` …).
    pub status: libc::c_int,
    /// From just before the fork to the reaping wait.
    pub wall: Duration,
    pub usage: Usage,
}

/// Starts `cmd` (made by [`command`]); returns once the program itself has been forked.
pub fn start(mut cmd: Command) -> io::Result<Started> {
    let preload = cmd
        .get_envs()
        .find(|(k, _)| *k == "LD_PRELOAD")
        .map(|(_, v)| v.map(|v| v.to_os_string()).unwrap_or_default());
    if let Some(value) = preload {
        cmd.env_remove("LD_PRELOAD").env(PRELOAD_VAR, value);
    }
    let (read, write) = super::pipe::pipe()?;
    let fd = write.as_raw_fd();
    cmd.env(FD_VAR, fd.to_string());
    // SAFETY: fcntl is async-signal-safe and `write` stays open until after the spawn.
    unsafe { cmd.pre_exec(move || super::pipe::inherit_across_exec(fd)) };
    let launcher = cmd.spawn()?;
    drop(write);
    let mut reports = BufReader::new(File::from(read));
    let mut line = String::new();
    reports.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("pid"), Some(pid)) => Ok(Started {
            launcher,
            pid: pid.parse().map_err(|_| bad_report(&line))?,
            reports,
        }),
        (Some("error"), Some(code)) => {
            let _ = reap(launcher);
            let code: i32 = code.parse().map_err(|_| bad_report(&line))?;
            Err(io::Error::from_raw_os_error(code))
        }
        _ => {
            let _ = reap(launcher);
            Err(bad_report(&line))
        }
    }
}

fn reap(mut launcher: Child) -> io::Result<()> {
    launcher.wait().map(|_| ())
}

fn bad_report(line: &str) -> io::Error {
    let what = if line.is_empty() {
        "it ended without a word"
    } else {
        line.trim()
    };
    io::Error::other(format!("pybench's program launcher failed: {what}"))
}

impl Started {
    /// Has the launcher kill the program and every process it started (SIGKILL), as past
    /// `--timeout` or when pybench is stopped: killing the program alone left its children
    /// running ([`super::reaper`]). Ends promptly; [`Self::poll`] then reports the end.
    pub fn kill_tree(&mut self) {
        // SAFETY: the launcher is our child and not yet reaped: `poll` reaps it, and is not
        // called again once it has reported the end.
        unsafe { libc::kill(self.launcher.id() as libc::pid_t, super::reaper::KILL_TREE) };
    }

    /// The launcher's pid, for [`super::signal::StopNoted::forward_sigterm_to`] with
    /// [`super::reaper::PASS_TERM`] (the launcher is this process's child until [`Self::wait`]
    /// or [`Self::poll`] reaps it).
    pub fn launcher_pid(&self) -> u32 {
        self.launcher.id()
    }

    /// Waits for the program to end, having its whole tree killed past `timeout`; returns how
    /// it ended and whether the timeout ended it. `before_reap` runs once the launcher has
    /// exited and before it is reaped (as [`super::process::wait_timed_then`]).
    pub fn wait(
        &mut self,
        timeout: Option<Duration>,
        before_reap: impl FnOnce(),
    ) -> io::Result<(Ended, bool)> {
        let kill = super::reaper::KILL_TREE;
        let (_, timed_out) =
            super::process::wait_timed_then(&mut self.launcher, timeout, kill, before_reap)?;
        let mut line = String::new();
        self.reports.read_line(&mut line)?;
        let end = parse_end(&line).ok_or_else(|| bad_report(&line))?;
        Ok((end, timed_out))
    }

    /// `Some` once the program has ended and its launcher reported it; never blocks long.
    pub fn poll(&mut self) -> io::Result<Option<Ended>> {
        if self.launcher.try_wait()?.is_none() {
            return Ok(None);
        }
        let mut line = String::new();
        self.reports.read_line(&mut line)?;
        parse_end(&line).map(Some).ok_or_else(|| bad_report(&line))
    }
}

/// `exit STATUS WALL_NS MINFLT MAJFLT MAXRSS_KB UTIME_NS STIME_NS`.
fn parse_end(line: &str) -> Option<Ended> {
    let mut words = line.split_whitespace();
    if words.next()? != "exit" {
        return None;
    }
    let status: libc::c_int = words.next()?.parse().ok()?;
    let n: Vec<u64> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
    let [wall, minor, major, rss_kb, user, system] = n[..] else {
        return None;
    };
    Some(Ended {
        status,
        wall: Duration::from_nanos(wall),
        usage: Usage {
            minor_faults: minor,
            major_faults: major,
            max_rss_bytes: rss_kb * 1024,
            user_ns: user,
            system_ns: system,
        },
    })
}

/// Does nothing: installed for the terminal's signals so that Ctrl-C ends the program (whose
/// handlers exec resets to the default) and not its launcher, which still has to report.
extern "C" fn ignore(_: libc::c_int) {}

/// The launcher (`pybench __spawn -- PROGRAM…`): forks the program, reports its pid, waits,
/// reports how it ended. Returns only on a usage error (no report pipe).
pub fn launcher_main(program: &[OsString]) -> anyhow::Result<()> {
    let fd: RawFd = std::env::var(FD_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{SUBCOMMAND} is internal: it is started by exec"))?;
    // SAFETY: the parent passed this descriptor open for us alone; it is closed on exec, so
    // the program does not inherit it.
    let mut out = unsafe { File::from_raw_fd(fd) };
    // SAFETY: plain fcntl on the descriptor just taken over.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    let Some((name, args)) = program.split_first() else {
        anyhow::bail!("{SUBCOMMAND}: no program given");
    };
    let mut cmd = Command::new(name);
    cmd.args(args)
        .env_remove(FD_VAR)
        .env_remove(PRELOAD_VAR)
        .env_remove(PID_AS_VAR);
    if let Some(var) = std::env::var_os(PID_AS_VAR).filter(|v| !v.is_empty()) {
        cmd.env(var, std::process::id().to_string());
    }
    match std::env::var_os(PRELOAD_VAR) {
        Some(v) if !v.is_empty() => cmd.env("LD_PRELOAD", v),
        Some(_) => cmd.env_remove("LD_PRELOAD"),
        None => &mut cmd,
    };
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: installing a handler that does nothing.
        unsafe {
            libc::signal(
                sig,
                ignore as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
    super::process::die_with_parent(&mut cmd);
    // Before the fork, so that nothing the program starts can escape a kill (reaper.rs).
    super::reaper::become_subreaper()?;
    let start = Instant::now();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            writeln!(
                out,
                "error {} {e}",
                e.raw_os_error().unwrap_or(libc::ENOENT)
            )?;
            return Ok(());
        }
    };
    let pid = child.id() as libc::pid_t;
    let program = super::reaper::Program::watch(pid);
    // Waited for even if pybench is gone (the write fails): its KILL_TREE has killed the
    // program, and the wait kills what the program left.
    let _ = writeln!(out, "pid {pid}");
    let (status, ru) = program.wait()?;
    let wall = start.elapsed();
    std::mem::forget(child);
    let u = Usage::from_rusage(&ru);
    // pybench gone (killed: the kernel's KILL_TREE ended the program): nobody to report to.
    let report = writeln!(
        out,
        "exit {status} {} {} {} {} {} {}",
        wall.as_nanos(),
        u.minor_faults,
        u.major_faults,
        u.max_rss_bytes / 1024,
        u.user_ns,
        u.system_ns
    );
    match report {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_report_round_trips_and_garbage_is_refused() {
        let e = parse_end("exit 256 1500 10 2 2048 700 800\n").unwrap();
        assert_eq!(e.status, 256);
        assert_eq!(e.wall, Duration::from_nanos(1500));
        assert_eq!(e.usage.max_rss_bytes, 2048 * 1024);
        assert_eq!((e.usage.user_ns, e.usage.system_ns), (700, 800));
        assert_eq!((e.usage.minor_faults, e.usage.major_faults), (10, 2));
        assert!(parse_end("exit 0 1 2 3").is_none(), "too few fields");
        assert!(parse_end("pid 12").is_none());
        assert!(parse_end("").is_none());
    }
}
