//! Ending a measured program together with every process it started, for the launcher that
//! `exec` and `record` start their programs through ([`super::spawn`]), and for what
//! `record`'s program leaves once that launcher has gone ([`Adopter`]).
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

/// The signal pybench sends the launcher to have SIGTERM passed on to the program alone
/// (`record` passes on a SIGTERM sent to pybench; the launcher ignores SIGTERM itself, as a
/// job's group-wide one must not end it before it has reported).
pub const PASS_TERM: libc::c_int = libc::SIGUSR2;

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

/// Async-signal-safe: an atomic load and kill(2).
extern "C" fn on_pass_term(_: libc::c_int) {
    let pid = PROGRAM.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: as in [`on_kill_tree`]: our child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
}

/// Makes this process the subreaper of everything it starts from now on, [`KILL_TREE`] kill
/// the program named by [`Program::watch`] and [`PASS_TERM`] send it SIGTERM. Call before
/// starting the program.
pub fn become_subreaper() -> io::Result<()> {
    set_subreaper(true)?;
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 2] =
        [(KILL_TREE, on_kill_tree), (PASS_TERM, on_pass_term)];
    for (sig, handler) in handlers {
        // SAFETY: installing handlers that are async-signal-safe.
        unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    }
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
/// program left, which a subreaper inherits (the launcher has no other child once the program
/// is reaped).
pub fn kill_orphans() {
    kill_children_but(&[]);
}

/// Kills (SIGKILL) and reaps this process's children but `keep`, until none is left. Killing
/// one hands its own children to us (a subreaper), so the sweep repeats until `/proc` shows
/// no other child. Each is reaped by its pid, never by `waitpid(-1)`, which could take the
/// exit of a child in `keep` from the code that waits for it.
fn kill_children_but(keep: &[libc::pid_t]) {
    loop {
        let doomed = children_but(keep);
        if doomed.is_empty() {
            return;
        }
        for &pid in &doomed {
            // SAFETY: a child of ours, not reaped (only [`reap`] reaps the children found here).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        doomed.into_iter().for_each(reap);
    }
}

/// This process as the subreaper of what `record`'s program leaves behind. The launcher
/// between them ([`super::spawn`]) is the program's subreaper while it runs, and kills its
/// tree when pybench dies; when the launcher has exited (the program ended, or was ended by
/// a stop) the processes it had adopted pass to this one, which ends them after a stop
/// ([`Adopter::kill_adopted`]) and otherwise leaves them running. While an `Adopter` lives,
/// descendants that lose their parent become this process's children.
///
/// They are told from pybench's own children by the children it already had when adoption
/// began, which are never killed: pybench starts no other process while it records, so
/// every child that appears meanwhile is the program or one of its descendants.
#[must_use = "adoption ends when this is dropped"]
pub struct Adopter {
    /// This process's children when adoption began.
    own: Vec<libc::pid_t>,
    /// Whether this process was a subreaper already (restored when dropped).
    was: bool,
}

impl Adopter {
    /// Makes this process a child subreaper until the returned guard is dropped. Call just
    /// before starting the program, so that nothing it starts can escape.
    pub fn begin() -> io::Result<Self> {
        let was = is_subreaper()?;
        let own = children_of(std::process::id() as libc::pid_t);
        set_subreaper(true)?;
        Ok(Adopter { own, was })
    }

    /// Kills (SIGKILL) and reaps every process the program left, until none is left: past
    /// `--timeout` or after a stop, where they would keep a core or a CI log pipe. Call once
    /// the program itself has been reaped: until then it is one of the children killed.
    pub fn kill_adopted(&self) {
        kill_children_but(&self.own);
    }
}

impl Drop for Adopter {
    /// Stops adopting, then leaves running what a program that ended by itself left behind,
    /// as without pybench, but reaps each on a thread once it ends: as this process's
    /// children their zombies would otherwise pile up for the rest of a long `validate`.
    /// Adoption stops first, so the list is complete: nothing can become our child after it.
    fn drop(&mut self) {
        let _ = set_subreaper(self.was);
        let left = children_but(&self.own);
        if !left.is_empty() {
            let _ = std::thread::Builder::new()
                .name("reap-left".into())
                .spawn(move || left.into_iter().for_each(reap));
        }
    }
}

/// This process's children, but `keep`.
fn children_but(keep: &[libc::pid_t]) -> Vec<libc::pid_t> {
    let mut children = children_of(std::process::id() as libc::pid_t);
    children.retain(|pid| !keep.contains(pid));
    children
}

/// Waits for child `pid` to end and reaps it, through interruptions.
fn reap(pid: libc::pid_t) {
    loop {
        let mut status = 0;
        // SAFETY: waiting for a child of ours.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r != -1 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// prctl(2) `PR_SET_CHILD_SUBREAPER`: whether orphaned descendants become this process's
/// children rather than init's.
fn set_subreaper(on: bool) -> io::Result<()> {
    // SAFETY: prctl with plain integer arguments.
    if unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this process is a child subreaper (prctl(2) `PR_GET_CHILD_SUBREAPER`).
fn is_subreaper() -> io::Result<bool> {
    let mut on: libc::c_int = 0;
    // SAFETY: the kernel writes one int at the address given.
    if unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut on as *mut libc::c_int,
            0,
            0,
            0,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(on != 0)
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
    use std::process::Command;
    use std::time::{Duration, Instant};

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

    /// Set in the process of its own that runs [`adopter_alone`].
    const ALONE: &str = "PYBENCH_REAPER_TEST_ALONE";

    /// An [`super::Adopter`] changes the whole process (it adopts orphans and kills children),
    /// so its test runs in a process of its own, this test binary run again with that test
    /// alone: the children other tests start meanwhile are neither adopted nor killed.
    #[test]
    fn an_adopter_kills_what_the_program_left_and_spares_its_own_children() {
        crate::sys::run_test_alone("sys::reaper::tests::adopter_alone", ALONE);
    }

    #[test]
    #[ignore = "run alone by an_adopter_kills_what_the_program_left_and_spares_its_own_children"]
    fn adopter_alone() {
        crate::sys::assert_run_alone(ALONE);
        let me = std::process::id() as libc::pid_t;
        let mut own = Command::new("sleep").arg("30").spawn().unwrap();
        let adopter = super::Adopter::begin().unwrap();
        let killed = orphan();
        assert!(super::children_of(me).contains(&killed), "adopted");
        adopter.kill_adopted();
        assert!(!exists(killed), "killed and reaped");
        assert!(own.try_wait().unwrap().is_none(), "our own child is spared");
        let left = orphan();
        drop(adopter);
        assert!(!super::is_subreaper().unwrap());
        assert!(
            exists(left) && !is_zombie(left),
            "what a program left when it ended is left running"
        );
        // SAFETY: our child (adopted), not reaped: the reaping thread waits for it to end.
        unsafe { libc::kill(left, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while exists(left) {
            assert!(Instant::now() < deadline, "{left} was never reaped");
            std::thread::sleep(Duration::from_millis(10));
        }
        own.kill().unwrap();
        own.wait().unwrap();
    }

    /// Starts a `sleep 30` whose parent `sh` exits at once, so that it is orphaned; its pid.
    fn orphan() -> libc::pid_t {
        let out = Command::new("sh")
            .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Whether `pid` exists, as a zombie too (gone once reaped).
    fn exists(pid: libc::pid_t) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    fn is_zombie(pid: libc::pid_t) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    }
}
