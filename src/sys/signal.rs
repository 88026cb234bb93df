//! Stop signals. `run`, `exec` and `validate` turn Ctrl-C (SIGINT), SIGTERM, which a CI
//! job's time limit or cancel button sends first, and SIGHUP, which a closed terminal or a
//! dropped ssh session sends, into "stop after saving what was measured"
//! ([`on_stop_signals`]), and before their results folder exists into "say that nothing was
//! saved, and exit" ([`exit_on_stop_signals`]); `record` notes them without stopping while the
//! recorded program decides what they mean, and forwards SIGTERM to it ([`note_stop_signals`]). Either way the
//! signal that asked for the stop is kept in one process-wide place ([`stop_requested`]), so a
//! `validate` stopped while recording exits as one stopped while measuring.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// How a process killed by `sig` died, for a failure line: `signal 6 (SIGABRT)`, with the
/// name of every signal a crashing allocator, a time limit or a resource limit sends (the
/// number alone for others). `run`'s cells and `exec`'s runs say it alike.
pub fn describe(sig: libc::c_int) -> String {
    let name = match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGKILL => "SIGKILL",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    format!("signal {sig} ({name})")
}

/// The signals that stop a command after it saved what it measured, rather than killing it
/// with the results of a long run unsaved: Ctrl-C, a CI job's time limit, a hangup.
pub const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The first stop signal that arrived (one of [`STOP_SIGNALS`]; 0: none).
static STOPPED_BY: AtomicI32 = AtomicI32::new(0);

/// The process [`note_stop_signals`] passes SIGTERM on to (0: none yet), and the signal it
/// sends it (SIGTERM itself, or the launcher's [`super::reaper::PASS_TERM`]).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
static FORWARD_AS: AtomicI32 = AtomicI32::new(libc::SIGTERM);

/// Async-signal-safe: stores to atomics and calls kill(2).
extern "C" fn stop(sig: libc::c_int) {
    let _ = STOPPED_BY.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let pid = FORWARD_TO.load(Ordering::SeqCst);
    if sig == libc::SIGTERM && pid > 0 {
        // SAFETY: kill is async-signal-safe; `pid` is a child not yet reaped (the guard that
        // set it clears it before the child is reaped).
        unsafe { libc::kill(pid, FORWARD_AS.load(Ordering::SeqCst)) };
    }
}

/// The signal that asked this process to stop, if one has.
pub fn stop_requested() -> Option<libc::c_int> {
    match STOPPED_BY.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Makes the [`STOP_SIGNALS`] request a stop ([`stop_requested`]) instead of terminating;
/// the caller checks between and during its steps.
pub fn on_stop_signals() {
    for sig in STOP_SIGNALS {
        // SAFETY: installing a handler that is async-signal-safe ([`stop`]).
        unsafe { libc::signal(sig, stop as *const () as libc::sighandler_t) };
    }
}

/// What [`exit_on_stop_signals`] writes on stderr before ending the process (empty: none).
static EXIT_NOTE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static EXIT_NOTE_LEN: AtomicUsize = AtomicUsize::new(0);

/// Async-signal-safe: atomics, write(2) and _exit(2).
extern "C" fn exit_now(sig: libc::c_int) {
    let note = EXIT_NOTE.load(Ordering::SeqCst);
    let len = EXIT_NOTE_LEN.load(Ordering::SeqCst);
    // SAFETY: `note` and `len` describe a `&'static str` (set together before the handler
    // was installed); write and _exit are async-signal-safe.
    unsafe {
        if !note.is_null() {
            libc::write(libc::STDERR_FILENO, note as *const libc::c_void, len);
        }
        libc::_exit(128 + sig);
    }
}

/// Makes the [`STOP_SIGNALS`] end the process at once, with `note` (a whole line, its newline
/// included) on stderr and the exit status a shell gives a process the signal killed (128 +
/// the signal: 130, 143, 129) — for a command's steps before it has written anything, which have
/// nothing to save but may take a while (workloads loaded, the cache probe). The command
/// switches to [`on_stop_signals`] before it creates its first file.
pub fn exit_on_stop_signals(note: &'static str) {
    EXIT_NOTE_LEN.store(note.len(), Ordering::SeqCst);
    EXIT_NOTE.store(note.as_ptr().cast_mut(), Ordering::SeqCst);
    for sig in STOP_SIGNALS {
        // SAFETY: installing a handler that is async-signal-safe ([`exit_now`]).
        unsafe { libc::signal(sig, exit_now as *const () as libc::sighandler_t) };
    }
}

/// Runs `f` with the [`STOP_SIGNALS`] held back from this thread, then lets any that came
/// meanwhile be handled: for a step that must finish once begun, such as a probe folder made
/// and removed, which a stop between the two would leave behind. Only for a step that runs
/// before the command starts threads of its own (a held process-wide signal would otherwise
/// go to one of them).
pub fn holding_stop_signals<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset before use, and
    // pthread_sigmask only changes this thread's mask, restored below.
    unsafe {
        let mut held: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut held);
        for sig in STOP_SIGNALS {
            libc::sigaddset(&mut held, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &held, &mut before);
        let out = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        out
    }
}

/// The [`STOP_SIGNALS`] do not stop this process while the guard lives but are remembered
/// ([`stop_requested`]); when it is dropped the previous dispositions come back. A handler,
/// unlike `SIG_IGN`, is reset to the default by `exec`, so a program started meanwhile gets
/// Ctrl-C as usual (it is in the terminal's process group); SIGTERM, sent to pybench alone,
/// is passed on to the program named by [`StopNoted::forward_sigterm_to`]. SIGHUP is not
/// passed on: a hangup already reaches the program, as a closed terminal's goes to the
/// foreground process group and a shell passes its own to each job's group, so forwarding
/// it would deliver it twice.
#[must_use = "the dispositions are restored when this is dropped"]
pub struct StopNoted([libc::sighandler_t; STOP_SIGNALS.len()]);

/// Notes the [`STOP_SIGNALS`] instead of dying until the returned guard is dropped.
pub fn note_stop_signals() -> StopNoted {
    // SAFETY: the handler is async-signal-safe ([`stop`]).
    let install = |sig| unsafe { libc::signal(sig, stop as *const () as libc::sighandler_t) };
    StopNoted(STOP_SIGNALS.map(install))
}

impl StopNoted {
    /// From now on SIGTERM is passed on to `pid` as `signal` (a launcher is sent its
    /// [`super::reaper::PASS_TERM`], which it passes on to its program), a child of this
    /// process that the caller does not reap before dropping the guard or calling
    /// [`Self::stop_forwarding`]. A SIGTERM that came before this call is passed on at once.
    pub fn forward_sigterm_to(&self, pid: u32, signal: libc::c_int) {
        FORWARD_AS.store(signal, Ordering::SeqCst);
        FORWARD_TO.store(pid as i32, Ordering::SeqCst);
        if stop_requested() == Some(libc::SIGTERM) {
            // SAFETY: `pid` is the caller's unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, signal) };
        }
    }

    /// No more forwarding (call before the child is reaped: its pid may then be reused).
    pub fn stop_forwarding(&self) {
        FORWARD_TO.store(0, Ordering::SeqCst);
    }
}

impl Drop for StopNoted {
    fn drop(&mut self) {
        FORWARD_TO.store(0, Ordering::SeqCst);
        for (sig, was) in STOP_SIGNALS.into_iter().zip(self.0) {
            // SAFETY: restoring the dispositions saved when the guard was made.
            unsafe { libc::signal(sig, was) };
        }
    }
}

/// Makes a write past the file-size limit (`ulimit -f`, RLIMIT_FSIZE) an error, `File too
/// large`, which the writer reports in one line and cleans up after, instead of SIGXFSZ,
/// whose default action kills pybench without a word (exit 153) and with results unsaved.
/// A handler that does nothing rather than `SIG_IGN`: a handler is reset by `exec`, so a
/// program pybench runs meets the limit as it would alone.
pub fn file_size_limit_as_error() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: installing a handler that does nothing (async-signal-safe).
    unsafe {
        libc::signal(
            libc::SIGXFSZ,
            nothing as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
}

/// Gives SIGINT its default disposition back (ignored dispositions survive exec).
///
/// # Safety
/// Meant for `Command::pre_exec`: async-signal-safe, but it changes process-wide state.
pub unsafe fn default_sigint() {
    libc::signal(libc::SIGINT, libc::SIG_DFL);
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_signal_is_described_by_number_and_name() {
        assert_eq!(super::describe(libc::SIGABRT), "signal 6 (SIGABRT)");
        assert_eq!(super::describe(libc::SIGSEGV), "signal 11 (SIGSEGV)");
        assert_eq!(super::describe(libc::SIGHUP), "signal 1 (SIGHUP)");
        // A cell past a CPU-time limit (`ulimit -t`) is named as such.
        assert_eq!(super::describe(libc::SIGXCPU), "signal 24 (SIGXCPU)");
        assert_eq!(super::describe(63), "signal 63");
    }

    /// Set in the process of its own that runs [`held_stop_alone`].
    const ALONE: &str = "PYBENCH_SIGNAL_TEST_ALONE";

    /// A stop signal sent while held is not handled inside the held step, and is handled as
    /// soon as it ends. The noted stop would reach every other test of this binary, so the
    /// check runs in a process of its own: this test binary run again with that test alone
    /// (as the reaper's test does). Until 2026-12-08 it forked without exec, and for those
    /// microseconds the child shared every descriptor of the test process, a lock another
    /// test had just given up among them (`sys::private_dir`'s test failed once so).
    #[test]
    fn a_stop_held_back_is_handled_when_the_step_ends() {
        crate::sys::run_test_alone("sys::signal::tests::held_stop_alone", ALONE);
    }

    #[test]
    #[ignore = "run alone by a_stop_held_back_is_handled_when_the_step_ends"]
    fn held_stop_alone() {
        crate::sys::assert_run_alone(ALONE);
        let _noted = super::note_stop_signals();
        let inside = super::holding_stop_signals(|| {
            // SAFETY: raise sends the signal to this thread, which holds it back.
            unsafe { libc::raise(libc::SIGTERM) };
            super::stop_requested()
        });
        assert_eq!(inside, None, "handled inside the held step");
        assert_eq!(
            super::stop_requested(),
            Some(libc::SIGTERM),
            "not handled after it"
        );
    }
}
