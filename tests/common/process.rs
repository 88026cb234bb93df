//! Waiting on a pybench a test started, without a clock.

use std::path::Path;

/// Polls until `ready()` holds, failing (with its exit status) as soon as `child` ends
/// without it. No time bound: what is awaited follows from the child's own progress, so a
/// child that cannot get there ends and fails the test, and no clock decides on a busy
/// machine.
pub fn wait_while_running(
    child: &mut std::process::Child,
    what: &str,
    mut ready: impl FnMut() -> bool,
) {
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what}: pybench ended first ({status})");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The process id a test program writes to `file` (written, then renamed into place) once it
/// runs; see [`wait_while_running`].
pub fn program_pid(child: &mut std::process::Child, file: &Path) -> i32 {
    let mut pid = None;
    wait_while_running(child, "the program never started", || {
        pid = std::fs::read_to_string(file).ok();
        pid.is_some()
    });
    pid.unwrap().trim().parse().unwrap()
}
