//! Starting the recorded program with the hook in effect.

use super::{Launch, Options, RecordError};
use crate::sys::signal::StopNoted;
use crate::sys::stderr_tail::StderrTail;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command};

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
    // The hook's end of the channel survives exec (the hook sets CLOEXEC again), and SIGINT
    // is back to its default in the program, whatever pybench's disposition was.
    let mut cmd = crate::sys::process::command_keeping_fd(&opts.program, wr_fd);
    let orig = std::env::var_os("PYTHONPATH");
    if let Some(orig) = &orig {
        cmd.env("PYBENCH_ORIG_PYTHONPATH", orig);
    }
    // The sitecustomize installs the hook only in the process whose parent is this one and
    // whose channel descriptor is this socket: a descendant that inherited the environment
    // (an `sh -c` wrapper's children, a `python -E` program's child interpreters) closes the
    // descriptor and drops the variables instead of recording under the program's name.
    cmd.env("PYTHONPATH", hook_pythonpath(dir, orig.as_deref()))
        .env("PYBENCH_RECORD_FD", wr_fd.to_string())
        .env("PYBENCH_RECORD_INODE", inode.to_string())
        .env("PYBENCH_RECORD_PARENT", std::process::id().to_string())
        .env("PYBENCH_RECORD_LIB", dir.join("pybench_hook.so"))
        .env(
            "PYBENCH_RECORD_DOMAINS",
            (opts.domains | if opts.pace { MASK_PACE } else { 0 }).to_string(),
        );
    let tail = match &opts.launch {
        Launch::AsExec(streams) => crate::exec::measure::launch_as_exec(&mut cmd, streams)?,
        Launch::Own => None,
    };
    // A killed pybench leaves no program running, its records going nowhere.
    crate::sys::process::die_with_parent(&mut cmd);
    Ok((cmd, tail))
}

/// Starts the hooked program. pybench's copy of the channel's write end is closed once the
/// program holds its own, so the reader sees the channel end when the program's copies close.
pub(super) fn spawn(
    cmd: &mut Command,
    wr: OwnedFd,
    stop: &StopNoted,
    program: &str,
) -> Result<Child, RecordError> {
    let spawned = cmd.spawn();
    drop(wr);
    let child = spawned.map_err(|error| RecordError::Spawn {
        program: program.to_string(),
        error,
    })?;
    stop.forward_sigterm_to(child.id());
    Ok(child)
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
