//! Process controls for the children pybench starts.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child receive SIGKILL when this process dies (prctl(2) `PR_SET_PDEATHSIG`), so a
/// killed `pybench run` leaves no cell running. The signal is tied to the thread that
/// forks, so callers spawn from a thread that lives as long as the child is waited for.
pub fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
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
