//! Ending a measured program together with every process it started, for `exec`'s launcher
//! ([`super::spawn`]).
//!
//! Killing the program's pid alone left its children running: a program past `--timeout`
//! whose `subprocess.run(["sleep", "30"])` was under way kept the sleep (and a CI log pipe
//! it held) for 30 s more, and a busy child kept a core after pybench had exited, slowing
//! whatever was measured next. So the launcher makes itself a child subreaper (prctl(2)
//! `PR_SET_CHILD_SUBREAPER`): the program's descendants that lose their parent become the
//! launcher's children instead of init's, and once the program is dead the launcher kills
//! and reaps them until none is left ([`kill_orphans`]).
//!
//! A subreaper rather than a process group of the program's own: the program stays in the
//! terminal's foreground group, so Ctrl-C reaches it and its children as it would without
//! pybench, a program that reads `/dev/tty` (getpass) is not stopped by SIGTTIN as a
//! background group would be, and a child that left the group (`setsid`, a daemon's double
//! fork) is still caught.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The signal pybench sends the launcher to have the program's whole tree killed.
pub const KILL_TREE: libc::c_int = libc::SIGUSR1;

/// The program while it is running and not yet waited for (0: none).
static PROGRAM: AtomicI32 = AtomicI32::new(0);
/// Whether [`KILL_TREE`] has arrived.
static KILL_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Async-signal-safe: atomics and kill(2).
extern "C" fn on_kill_tree(_: libc::c_int) {
    KILL_REQUESTED.store(true, Ordering::SeqCst);
    let pid = PROGRAM.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: `pid` is this process's child and cannot have been reaped: it is cleared
        // ([`Program::wait`]) before the reaping wait.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Makes this process the subreaper of everything it starts from now on, and [`KILL_TREE`]
/// kill the program named by [`Program::watch`]. Call before starting the program.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: installing a handler that is async-signal-safe ([`on_kill_tree`]).
    unsafe {
        libc::signal(
            KILL_TREE,
            on_kill_tree as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
    Ok(())
}

/// The program the launcher started, which [`KILL_TREE`] kills.
pub struct Program(libc::pid_t);

impl Program {
    /// From now on [`KILL_TREE`] kills `pid`, this process's child.
    pub fn watch(pid: libc::pid_t) -> Self {
        PROGRAM.store(pid, Ordering::SeqCst);
        if KILL_REQUESTED.load(Ordering::SeqCst) {
            // SAFETY: our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        Program(pid)
    }

    /// Waits for the program to exit and reaps it (its wait status and rusage); then, if
    /// [`KILL_TREE`] came, kills and reaps every process it left ([`kill_orphans`]).
    pub fn wait(self) -> io::Result<(libc::c_int, libc::rusage)> {
        // Not reaped yet, so the handler's kill can only reach the program or its zombie.
        super::process::wait_unreaped(self.0 as u32)?;
        PROGRAM.store(0, Ordering::SeqCst);
        let ended = wait4(self.0)?;
        if KILL_REQUESTED.load(Ordering::SeqCst) {
            kill_orphans();
        }
        Ok(ended)
    }
}

/// `wait4` for `pid`, through interruptions.
fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for the reaped child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Kills (SIGKILL) and reaps this process's children until it has none: the processes the
/// program left, which a subreaper inherits. Killing one hands its own children to us, so
/// the sweep repeats until `waitpid` says there is no child left.
pub fn kill_orphans() {
    let me = std::process::id() as libc::pid_t;
    loop {
        for child in children_of(me) {
            // SAFETY: a child of ours, not reaped (only this loop reaps them).
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        loop {
            let mut status = 0;
            // SAFETY: reaping any child of ours, without blocking.
            match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
                -1 if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
                -1 => return, // ECHILD: none left.
                0 => break,   // Some still dying, or just handed to us: look again.
                _ => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The pids whose parent is `parent`, from `/proc/PID/stat` (its 4th field).
fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // `PID (COMM) STATE PPID …`: COMM may hold anything, so split after its last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<libc::pid_t>().ok());
            ppid == Some(parent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_children_of_a_process_are_found_by_their_parent_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = std::process::id() as libc::pid_t;
        assert!(super::children_of(me).contains(&(child.id() as libc::pid_t)));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!super::children_of(me).contains(&(child.id() as libc::pid_t)));
    }
}
