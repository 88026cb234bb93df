//! Ctrl-C in a command that writes one file (`gen`, `gen --like`, `convert`): the previous
//! file stays as it was and nothing else is left in its folder. These commands keep SIGINT's
//! default action, so no destructor runs: the output is written to a nameless temporary that
//! gets a name only once complete (`sys::atomic_file`). Before, each interrupted command left
//! a `.NAME.<pid>-….tmp` of up to the whole output's size beside it. And `run` stopped before
//! its results folder exists: one line says nothing was saved, with the exit code of a stop.

use crate::common::{entries, tempdir};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;

/// True once process `pid` holds a descriptor on a file in `dir` other than `except` (its
/// output under construction, named or not).
fn writing_into(pid: u32, dir: &Path, except: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|p| p.parent() == Some(dir) && p != except)
}

/// Starts `args` with its output in `dir`, waits until it writes there, sends SIGINT, and
/// checks what is left. Returns false if the command finished before it could be caught,
/// after checking that it finished as it should: successfully, with its new output in place
/// and nothing else left (a command that failed at once is not "too quick to catch").
fn interrupt(dir: &Path, input: &Path, args: &[&str]) -> bool {
    let out = dir.join("out.pbt");
    std::fs::write(&out, "previous").unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"));
    // --force: the point is that an interrupted replacement leaves the previous file.
    cmd.args(args)
        .arg("--force")
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SIGINT's default action, whatever the tests were started with: a shell starts a
    // background job (`cargo test … &`, as some CI runners do) with SIGINT ignored, and a
    // child inherits that, so the command would not stop and the test would prove nothing.
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut caught = false;
    while child.try_wait().unwrap().is_none() {
        if writing_into(child.id(), dir, input) {
            // SAFETY: signalling our own child, still unreaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            caught = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    let mut want = vec!["out.pbt".to_string()];
    if input.parent() == Some(dir) {
        want.push(input.file_name().unwrap().to_string_lossy().into_owned());
        want.sort();
    }
    if caught && status.signal() == Some(libc::SIGINT) {
        assert_eq!(entries(dir), want, "{args:?}");
        assert_eq!(std::fs::read(&out).unwrap(), b"previous", "{args:?}");
        return true;
    }
    // Not caught (or finished as the signal was sent): it must have completed its work.
    assert!(status.success(), "{args:?} ended with {status}");
    assert_eq!(entries(dir), want, "{args:?}");
    assert_ne!(std::fs::read(&out).unwrap(), b"previous", "{args:?}");
    false
}

#[test]
fn an_interrupted_gen_or_convert_leaves_the_previous_file_and_nothing_else() {
    let dir = tempdir("interrupt");
    let input = dir.join("in.pbt");
    std::fs::copy("workloads/traces/pip_list.pbt", &input).unwrap();
    let i = input.to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &["gen", "-w", "dicts", "--scale", "200000000"],
        &["gen", "--like", i],
        &["convert", i],
    ];
    let mut caught = 0;
    for args in cases {
        caught += usize::from(interrupt(&dir, &input, args));
    }
    // gen at that scale writes for seconds, against a poll every 2 ms: it at least is
    // always caught mid-write.
    assert!(caught >= 1);
}

/// Whether process `pid` has a handler for `sig` (bit `sig − 1` of `SigCgt` in its status).
fn catches(pid: u32, sig: libc::c_int) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig - 1)) != 0)
}

/// Starts a small `run`, sends `sig` as soon as pybench handles it, and checks how the run
/// ended: with exit `code` and one line saying what was kept. Returns true when the signal
/// came before the results folder existed (pybench handles it from its start, before the
/// workloads are loaded and the cache probed: half a second or so); false when the folder
/// was there first.
fn stop_early(sig: libc::c_int, code: i32) -> bool {
    let tmp = tempdir("stop-early");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"));
    cmd.args(["run", "-w", "dicts", "-a", "system", "-r", "1"])
        .args(["--scale", "20000", "--no-plots", "--out"])
        .arg(&tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SIGINT's default action, whatever the tests were started with (see `interrupt`).
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    while !catches(child.id(), sig) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended without handling the signal"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // `--out` is tried with a probe folder, made and removed at once, before the run's folder.
    let folder_first = entries(&tmp)
        .iter()
        .any(|e| !e.starts_with(pybench::sys::target::PROBE_FOLDER_PREFIX));
    // SAFETY: signalling our own child, still unreaped.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    if last == "interrupted: before any result was saved; no results folder was created" {
        assert!(!folder_first, "{stderr}");
        assert_eq!(entries(&tmp), Vec::<String>::new(), "nothing written");
        return true;
    }
    // The folder was made between the look and the signal, or first: it says so, and
    // keeps a manifest that says the run did not finish.
    let dir = crate::common::run_dir(&tmp);
    assert_eq!(
        last,
        format!("interrupted: 0 cell(s) saved in {}", dir.display()),
        "{stderr}"
    );
    assert_eq!(crate::common::results_json(&tmp)["interrupted"], true);
    false
}

/// Ctrl-C or SIGTERM before `run` had saved anything used to kill it by the signal's default
/// action: no line, no exit code of its own, nothing said about what was written.
#[test]
fn a_run_stopped_before_its_results_folder_says_that_nothing_was_saved() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        // Three tries: a machine slow enough to make the folder before this test looks
        // would make one fail, never three.
        let early = (0..3).filter(|_| stop_early(sig, code)).count();
        assert!(
            early > 0,
            "signal {sig}: never caught before the results folder"
        );
    }
}
