//! Process controls for the children pybench starts.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

/// This very binary, by its inode, for re-executing it (cell children, `exec`'s launcher): a
/// path from `current_exe` goes stale when the file is rebuilt or removed while a long run
/// or validate is under way, and every later child would fail to start or run other code.
pub fn self_exe() -> &'static Path {
    Path::new("/proc/self/exe")
}

/// This process's command line as recorded in result files, each argument converted lossily:
/// `std::env::args()` panics on an argument that is not UTF-8 (a path given to `-o`,
/// `--stdin` or `--csv`), which killed a run after its results folder was created.
pub fn command_line() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// Makes the child receive SIGKILL when this process dies (prctl(2) `PR_SET_PDEATHSIG`), so a
/// killed `pybench run` leaves no cell running. The signal is tied to the thread that
/// forks, so callers spawn from a thread that lives as long as the child is waited for.
pub fn die_with_parent(cmd: &mut Command) {
    signal_on_parent_death(cmd, libc::SIGKILL);
}

/// As [`die_with_parent`], with `signal` instead of SIGKILL: for `exec`'s launcher, which
/// then kills the program and every process it started before it goes ([`super::reaper`]).
pub fn signal_on_parent_death(cmd: &mut Command, signal: libc::c_int) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would signal us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Whether a process `pid` exists (kill(2) with signal 0: no signal is sent; `EPERM` means it
/// exists but is someone else's).
pub fn is_running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Waits for `child` to exit, sending it `kill_with` (SIGKILL, or [`super::reaper::KILL_TREE`]
/// for a launcher) if it runs longer than `timeout`; returns its status and whether the
/// timeout ended it. The child is waited for without being
/// reaped (`waitid` with `WNOWAIT`) before the watchdog is called off and `before_reap` runs
/// (which may stop anything else that signals the child), so nothing can signal a process
/// that has since taken the child's pid.
pub fn wait_timed_then(
    child: &mut std::process::Child,
    timeout: Option<std::time::Duration>,
    kill_with: libc::c_int,
    before_reap: impl FnOnce(),
) -> std::io::Result<(std::process::ExitStatus, bool)> {
    let pid = child.id();
    let watchdog = timeout.map(|limit| {
        let (call_off, called_off) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let expired = matches!(
                called_off.recv_timeout(limit),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            );
            if expired {
                // SAFETY: the child is not reaped until this thread has been joined.
                unsafe { libc::kill(pid as libc::pid_t, kill_with) };
            }
            expired
        });
        (call_off, thread)
    });
    let exited = wait_unreaped(pid);
    let timed_out = watchdog.is_some_and(|(call_off, thread)| {
        drop(call_off);
        thread.join().unwrap_or(false)
    });
    before_reap();
    exited?;
    Ok((child.wait()?, timed_out))
}

/// Blocks until process `pid` (a child) has exited, leaving it to be reaped.
pub(crate) fn wait_unreaped(pid: u32) -> std::io::Result<()> {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child, writing into `info`.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Starts the child with address-space layout randomisation off (personality(2)
/// `ADDR_NO_RANDOMIZE`), so every such child places its code, heap and mappings at the same
/// addresses. Why: an allocator's speed can depend on where its memory lands relative to
/// its own address-keyed structures — a jemalloc configured for 57-bit addresses ran
/// `webapp` at 4.5 or 7 ns/event by process, decided by where ASLR put the mmap base
/// (README "Stability") — and a fixed layout removes that variance at the price of
/// measuring one layout only.
pub fn fixed_layout(cmd: &mut Command) {
    // SAFETY: personality is async-signal-safe, as pre_exec requires; the persona survives
    // the exec that follows.
    unsafe {
        cmd.pre_exec(|| {
            let current = libc::personality(0xffff_ffff);
            if current == -1
                || libc::personality(
                    (current as libc::c_ulong) | libc::ADDR_NO_RANDOMIZE as libc::c_ulong,
                ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Whether this process runs with address-space layout randomisation off.
pub fn layout_is_fixed() -> bool {
    // SAFETY: querying the persona (0xffffffff) changes nothing.
    let current = unsafe { libc::personality(0xffff_ffff) };
    current != -1 && (current as libc::c_ulong) & libc::ADDR_NO_RANDOMIZE as libc::c_ulong != 0
}

/// Where `Command::new(name)` would find the program: `name` itself when it holds a `/`, else
/// the first `PATH` directory with an executable file of that name (`execvp` skips the
/// others). `None` when no `PATH` entry has one.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    if name.contains('/') {
        return Some(std::path::PathBuf::from(name));
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|d| d.join(name))
        .find(|p| p.is_file() && is_executable(p))
}

/// Why `name` cannot be started, if it cannot: not found, a directory, a file this process
/// may not execute, or a script whose `#!` interpreter is missing or not executable (`exec`
/// then fails with ENOENT, which said "cannot start ./s.py: No such file or directory" of a
/// script that exists, once a run under every allocator).
pub fn cannot_start(name: &str) -> Option<String> {
    let Some(path) = find_program(name) else {
        return Some("no such program".to_string());
    };
    let why = match std::fs::metadata(&path) {
        Err(_) => "no such program",
        Ok(m) if m.is_dir() => "it is a directory, not a program",
        Ok(m) if !m.is_file() => "it is not a regular file",
        Ok(_) if !is_executable(&path) => "it is not executable (no permission to run it)",
        Ok(_) => return missing_interpreter(&path),
    };
    Some(why.to_string())
}

/// Why the `#!` interpreter of the script at `path` cannot run it, if it is a script and that
/// interpreter cannot: the kernel reads the line from the file's first 256 bytes and runs its
/// first word as a path, as is (relative to the working directory when relative).
fn missing_interpreter(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|f| f.take(256).read(&mut head))
        .ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let line = String::from_utf8_lossy(line);
    let Some(interpreter) = line.split([' ', '\t']).find(|w| !w.is_empty()) else {
        return Some("its #! line names no interpreter".to_string());
    };
    let interpreter = Path::new(interpreter);
    let why = match std::fs::metadata(interpreter) {
        Err(_) => "does not exist",
        Ok(m) if !m.is_file() => "is not a regular file",
        Ok(_) if !is_executable(interpreter) => "is not executable",
        Ok(_) => return None,
    };
    Some(format!(
        "its #! interpreter `{}` {why}",
        interpreter.display()
    ))
}

/// Whether this process may execute `path` (`access(2)` with `X_OK`).
fn is_executable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// Runs `program` with `args` to its end and collects its output (stdin closed): for the
/// short queries pybench asks of other tools (`python3.X-config`, `dpkg-query`).
pub fn output_of(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> std::io::Result<Output> {
    Command::new(program).args(args).output()
}

/// Runs this binary's `--version` with `lib` in `LD_PRELOAD` and collects its output: a
/// throwaway process in which the dynamic loader says whether it takes the library, without
/// the library's code running in this one.
pub fn self_version_with_preload(lib: &Path) -> std::io::Result<Output> {
    Command::new(self_exe())
        .arg("--version")
        .env("LD_PRELOAD", lib)
        .stdin(Stdio::null())
        .output()
}

/// Keeps descriptor `fd` open across `cmd`'s exec and starts it with SIGINT's default
/// disposition (an ignored one would survive exec): for a program that reports to pybench on
/// `fd`, and that Ctrl-C must reach.
pub fn keep_fd_open(cmd: &mut Command, fd: RawFd) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            super::pipe::inherit_across_exec(fd)?;
            super::signal::default_sigint();
            Ok(())
        });
    }
}

/// What a child run by [`capture_self`] left: how it ended (`None`: `stop` asked for it to be
/// killed) or why it could not be waited for, and everything it wrote to stdout and stderr.
pub struct Captured {
    pub ended: std::io::Result<Option<ExitStatus>>,
    pub stdout: String,
    pub stderr: String,
}

/// Re-executes this binary with `args` (stdin closed, stdout and stderr captured), dying with
/// this process, with address-space randomisation off when `fixed` ([`fixed_layout`]), and
/// waits for it, polling `stop` every 20 ms: when `stop` says so the child is killed. Both
/// pipes are drained on threads so a chatty child never blocks on a full one. `Err`: it could
/// not be started.
pub fn capture_self(
    args: &[&str],
    fixed: bool,
    mut stop: impl FnMut() -> bool,
) -> std::io::Result<Captured> {
    let mut cmd = Command::new(self_exe());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    if fixed {
        fixed_layout(&mut cmd);
    }
    let mut child = cmd.spawn()?;
    let out_reader = drain(child.stdout.take().expect("piped"));
    let err_reader = drain(child.stderr.take().expect("piped"));
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(Some(status)),
            Ok(None) if stop() => {
                let _ = child.kill();
                let _ = child.wait();
                break Ok(None);
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => break Err(e),
        }
    };
    Ok(Captured {
        ended,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Reads `from` to its end on a thread of its own.
fn drain(mut from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = from.read_to_string(&mut s);
        s
    })
}

#[cfg(test)]
mod tests {
    use super::cannot_start;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    #[test]
    fn a_child_past_its_timeout_is_killed_and_one_within_it_is_not() {
        use std::os::unix::process::ExitStatusExt;
        use std::time::{Duration, Instant};
        let mut slow = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let t = Instant::now();
        let (status, timed_out) = super::wait_timed_then(
            &mut slow,
            Some(Duration::from_millis(100)),
            libc::SIGKILL,
            || {},
        )
        .unwrap();
        assert!(
            timed_out && status.signal() == Some(libc::SIGKILL),
            "{status:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(20));
        let mut quick = std::process::Command::new("true").spawn().unwrap();
        let (status, timed_out) = super::wait_timed_then(
            &mut quick,
            Some(Duration::from_secs(30)),
            libc::SIGKILL,
            || {},
        )
        .unwrap();
        assert!(!timed_out && status.success());
        // `before_reap` runs once the child has exited and before it is reaped (a zombie,
        // so its pid cannot yet name another process).
        let mut plain = std::process::Command::new("false").spawn().unwrap();
        let stat = format!("/proc/{}/stat", plain.id());
        let mut state = None;
        let (status, _) = super::wait_timed_then(&mut plain, None, libc::SIGKILL, || {
            let s = std::fs::read_to_string(&stat).unwrap_or_default();
            state = s
                .rsplit(')')
                .next()
                .and_then(|r| r.trim_start().chars().next());
        })
        .unwrap();
        assert_eq!(status.code(), Some(1));
        assert_eq!(state, Some('Z'));
    }

    #[test]
    fn a_program_that_cannot_start_says_why() {
        let dir = std::env::temp_dir().join(format!("pybench-cannot-start-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.py");
        std::fs::write(&script, "print(1)\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = |p: &Path| cannot_start(p.to_str().unwrap());
        assert_eq!(s(&dir.join("missing")).as_deref(), Some("no such program"));
        assert_eq!(s(&dir).as_deref(), Some("it is a directory, not a program"));
        assert_eq!(
            s(&script).as_deref(),
            Some("it is not executable (no permission to run it)")
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(s(&script), None);
        std::fs::write(&script, "#! /nonexistent/interp -u\nprint(1)\n").unwrap();
        assert_eq!(
            s(&script).as_deref(),
            Some("its #! interpreter `/nonexistent/interp` does not exist")
        );
        std::fs::write(&script, "#!\nprint(1)\n").unwrap();
        assert_eq!(
            s(&script).as_deref(),
            Some("its #! line names no interpreter")
        );
        std::fs::write(&script, "#!/bin/sh\necho 1\n").unwrap();
        assert_eq!(s(&script), None);
        assert_eq!(cannot_start("sh"), None, "found on PATH");
        assert_eq!(
            cannot_start("no-such-program-xyz").as_deref(),
            Some("no such program")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
