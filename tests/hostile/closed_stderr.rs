//! A standard error whose reader has gone (`pybench run 2>&1 | head`, a log collector that
//! died): writing to it fails with EPIPE, which `eprintln!` turned into a panic — exit 101
//! instead of an input error's 2, and a run ended before its remaining cells.

use crate::common::{self, tempdir};
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};

/// A pipe's write end whose read end is already closed.
fn widowed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors this function then owns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    unsafe { Stdio::from_raw_fd(fds[1]) }
}

fn pybench(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pybench"));
    cmd.args(args)
        .env(
            pybench::sys::cache_probe::FAKE_CACHE_PROBE_ENV,
            common::QUIET_CACHE,
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(widowed_pipe());
    cmd
}

#[test]
fn an_input_error_keeps_its_exit_code_when_stderr_is_gone() {
    let status = pybench(&["stats", "-w", "no_such_workload"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn a_run_whose_stderr_is_gone_still_measures_every_cell_and_saves_them() {
    let d = tempdir("closed-stderr");
    let out = d.join("results");
    let status = pybench(&[
        "run", "-w", "dicts", "--scale", "2000", "-a", "system", "-r", "2",
    ])
    .args(["--no-plots", "--out"])
    .arg(&out)
    .status()
    .unwrap();
    // Progress lines and the closing `results:` line all failed to be written.
    assert_eq!(status.code(), Some(0));
    let json = common::results_json(&out);
    assert_eq!(json["interrupted"], false);
    let cells = json["cells"].as_array().unwrap();
    assert!(cells.len() >= 2, "{} cells", cells.len());
    assert!(cells.iter().all(|c| c["status"] == "ok"), "{cells:?}");
}
