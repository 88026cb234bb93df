//! SIGINT dispositions: `run` turns Ctrl-C into "stop after saving what was measured";
//! `record` ignores it while the recorded program (which gets it too, as part of the process
//! group) decides what it means.

/// Calls `handler` on SIGINT instead of terminating.
///
/// `handler` must be async-signal-safe (e.g. only store to an atomic).
pub fn on_sigint(handler: extern "C" fn(libc::c_int)) {
    // SAFETY: installing a handler; the caller's contract makes the handler itself safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as *const () as libc::sighandler_t);
    }
}

/// SIGINT ignored until this is dropped, when the previous disposition comes back.
#[must_use = "SIGINT is restored when this is dropped"]
pub struct SigintIgnored(libc::sighandler_t);

/// Ignores SIGINT in this process until the returned guard is dropped.
pub fn ignore_sigint() -> SigintIgnored {
    // SAFETY: setting a signal disposition.
    SigintIgnored(unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) })
}

impl Drop for SigintIgnored {
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
