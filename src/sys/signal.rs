//! SIGINT dispositions: `run` turns Ctrl-C (and SIGTERM, which a CI job's time limit or
//! cancel button sends) into "stop after saving what was measured";
//! `record` notes it without stopping while the recorded program (which gets it too, as part
//! of the process group) decides what it means.

use std::sync::atomic::{AtomicBool, Ordering};

/// Calls `handler` on SIGINT and SIGTERM instead of terminating.
///
/// `handler` must be async-signal-safe (e.g. only store to an atomic).
pub fn on_stop_signals(handler: extern "C" fn(libc::c_int)) {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installing a handler; the caller's contract makes the handler itself safe.
        unsafe {
            libc::signal(sig, handler as *const () as libc::sighandler_t);
        }
    }
}

/// Set by [`note_sigint`]'s handler.
static SIGINT_NOTED: AtomicBool = AtomicBool::new(false);

extern "C" fn noted(_: libc::c_int) {
    SIGINT_NOTED.store(true, Ordering::SeqCst);
}

/// SIGINT does not stop this process but is remembered, until the guard is dropped, when the
/// previous disposition comes back. A handler, unlike `SIG_IGN`, is reset to the default by
/// `exec`, so a program started meanwhile gets Ctrl-C as usual.
#[must_use = "SIGINT is restored when this is dropped"]
pub struct SigintNoted(libc::sighandler_t);

/// Notes SIGINT instead of dying until the returned guard is dropped ([`SigintNoted`]).
pub fn note_sigint() -> SigintNoted {
    SIGINT_NOTED.store(false, Ordering::SeqCst);
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    SigintNoted(unsafe { libc::signal(libc::SIGINT, noted as *const () as libc::sighandler_t) })
}

impl SigintNoted {
    /// Whether SIGINT arrived since the guard was made.
    pub fn received(&self) -> bool {
        SIGINT_NOTED.load(Ordering::SeqCst)
    }
}

impl Drop for SigintNoted {
    fn drop(&mut self) {
        // SAFETY: restoring the disposition saved when the guard was made.
        unsafe { libc::signal(libc::SIGINT, self.0) };
    }
}

/// Gives SIGINT its default disposition back (ignored dispositions survive exec).
///
/// # Safety
/// Meant for `Command::pre_exec`: async-signal-safe, but it changes process-wide state.
pub unsafe fn default_sigint() {
    libc::signal(libc::SIGINT, libc::SIG_DFL);
}
