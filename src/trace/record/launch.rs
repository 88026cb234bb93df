//! Starting the recorded program with the hook in effect, and ending it: past `--timeout` or
//! after a stop, together with every process it started.
//!
//! Killing the program's pid alone left its children running: a program past `--timeout`
//! whose `subprocess.run(["sleep", "30"])` was under way kept the sleep, and with it a CI
//! log pipe it held, for 30 s after `record` had exited, and a busy child kept a core. So
//! the program is started through `exec`'s launcher ([`crate::sys::spawn`]), its subreaper,
//! which kills the tree past `--timeout` and when pybench itself is killed outright (until
//! 2026-12-07 the program's children outlived a SIGKILLed pybench: the hook's parent check
//! required pybench itself as the program's parent, so no launcher could sit between them;
//! the launcher now tells the hook its own pid). pybench is in turn the subreaper of what the
//! launcher leaves when it exits ([`Adopter`]), to end it after a stop. The program stays in
//! the terminal's foreground process group, so Ctrl-C still reaches it.

use super::{Launch, Options, RecordError};
use crate::sys::reaper::{self, Adopter};
use crate::sys::signal::StopNoted;
use crate::sys::spawn::{self, Started};
use crate::sys::stderr_tail::StderrTail;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// Bit of the hook's install mask that turns pace on (hook.c's MASK_PACE).
const MASK_PACE: u8 = 8;

/// `PYTHONPATH` for the recorded program: the hook's directory, then the user's entries
/// without empty ones (an empty entry means the current directory, so a set-but-empty
/// `PYTHONPATH` would make the program import `./sitecustomize.py`).
fn hook_pythonpath(dir: &Path, orig: Option<&OsStr>) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    let mut path = OsString::from(dir);
    for entry in orig.map_or(&[][..], |o| o.as_bytes()).split(|&b| b == b':') {
        if !entry.is_empty() {
            path.push(":");
            path.push(OsStr::from_bytes(entry));
        }
    }
    path
}

/// The program's command with the hook in effect: our private directory first on
/// `PYTHONPATH` (its `sitecustomize` loads the hook), the channel's write end kept open across
/// exec, and SIGINT back to its default in the program.
pub(super) fn hooked_command(
    opts: &Options,
    dir: &Path,
    wr_fd: i32,
    inode: u64,
) -> io::Result<(Command, Option<StderrTail>)> {
    // The hook's end of the channel survives exec, the launcher's and the program's (the
    // hook sets CLOEXEC again), and SIGINT is back to its default in the program, whatever
    // pybench's disposition was (the launcher's is a handler, which exec resets).
    let mut cmd = spawn::command(crate::sys::process::self_exe(), &opts.program);
    crate::sys::process::keep_fd_open(&mut cmd, wr_fd);
    let orig = std::env::var_os("PYTHONPATH");
    if let Some(orig) = &orig {
        cmd.env("PYBENCH_ORIG_PYTHONPATH", orig);
    }
    // The sitecustomize installs the hook only in the process whose parent is the launcher
    // (which sets PYBENCH_RECORD_PARENT to its pid) and whose channel descriptor is this
    // socket: a descendant that inherited the environment (an `sh -c` wrapper's children, a
    // `python -E` program's child interpreters) closes the descriptor and drops the
    // variables instead of recording under the program's name.
    spawn::tell_pid_as(&mut cmd, "PYBENCH_RECORD_PARENT");
    cmd.env("PYTHONPATH", hook_pythonpath(dir, orig.as_deref()))
        .env("PYBENCH_RECORD_FD", wr_fd.to_string())
        .env("PYBENCH_RECORD_INODE", inode.to_string())
        .env("PYBENCH_RECORD_LIB", dir.join("pybench_hook.so"))
        .env(
            "PYBENCH_RECORD_DOMAINS",
            (opts.domains | if opts.pace { MASK_PACE } else { 0 }).to_string(),
        );
    let tail = match &opts.launch {
        Launch::AsExec(streams) => crate::exec::measure::launch_as_exec(&mut cmd, streams)?,
        Launch::Own => None,
    };
    // A killed pybench leaves no program running, its records going nowhere, nor anything
    // it started: the launcher, told by the kernel, kills the program's tree.
    crate::sys::process::signal_on_parent_death(&mut cmd, reaper::KILL_TREE);
    Ok((cmd, tail))
}

/// The recorded program, running under its launcher, and this process as the subreaper of
/// what the launcher leaves.
pub(super) struct Running {
    started: Started,
    adopter: Adopter,
}

/// Starts the hooked program, this process a subreaper from before the fork so that nothing
/// it starts can escape. pybench's copy of the channel's write end is closed once the
/// launcher holds its own, so the reader sees the channel end when the program's copies
/// (and the launcher's, as it exits) close.
pub(super) fn start(
    cmd: Command,
    wr: OwnedFd,
    stop: &StopNoted,
    program: &str,
) -> Result<Running, RecordError> {
    let spawn_error = |error| RecordError::Spawn {
        program: program.to_string(),
        error,
    };
    let adopter = Adopter::begin().map_err(spawn_error)?;
    let started = spawn::start(cmd);
    drop(wr);
    let started = started.map_err(spawn_error)?;
    // Through the launcher, which passes it on to the program until it reaps it.
    stop.forward_sigterm_to(started.launcher_pid(), reaper::PASS_TERM);
    Ok(Running { started, adopter })
}

impl Running {
    /// The program's pid.
    pub(super) fn pid(&self) -> u32 {
        self.started.pid
    }

    /// Waits for the program to end, having its tree killed past `timeout`; returns its
    /// status and whether the timeout killed it. SIGTERM stops being passed on before the
    /// launcher is reaped, as its pid may then name another process.
    pub(super) fn wait(
        &mut self,
        timeout: Option<Duration>,
        stop: &StopNoted,
    ) -> io::Result<(ExitStatus, bool)> {
        let (end, timed_out) = self.started.wait(timeout, || stop.stop_forwarding())?;
        Ok((ExitStatus::from_raw(end.status), timed_out))
    }

    /// Once the program has been reaped: when it was cut short (`--timeout`, a stop), every
    /// process it left is killed too, as they would keep a core or a CI log pipe busy;
    /// otherwise they are left running, as they would be without pybench (what `record` did
    /// before it was their subreaper: a daemon a program starts on purpose lives on).
    pub(super) fn finish(self, cut_short: bool) {
        if cut_short {
            self.adopter.kill_adopted();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_path_never_has_an_empty_entry() {
        let d = Path::new("/tmp/hookdir");
        let p = |o: Option<&str>| hook_pythonpath(d, o.map(OsStr::new));
        assert_eq!(p(None), "/tmp/hookdir");
        assert_eq!(p(Some("")), "/tmp/hookdir");
        assert_eq!(p(Some("a::b:")), "/tmp/hookdir:a:b");
    }
}
