//! Stopping a program: `--timeout SECS` of `exec`, `validate` and `record` (a program that
//! runs past it is killed and the run reported for what it is; a bad value is a usage
//! error), and SIGTERM sent to pybench alone, as a CI job's time limit does.

use crate::common;

use crate::common::{have_python, pybench, tempdir};
use std::process::Command;

/// A program that allocates a little, then sleeps far longer than any timeout below.
const SLEEPER: &str = "import time\nx = [str(i) for i in range(20000)]\ntime.sleep(300)\n";

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn an_exec_run_past_its_timeout_is_killed_and_reported_failed() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("exec-timeout");
    let a = common::quick_exec("system", &tmp.join("out"))
        .args(["--timeout", "1"])
        .args(["--", "python3", "-c", SLEEPER])
        .assert()
        .code(3);
    let err = stderr(&a);
    assert!(
        err.contains("failed: ") && err.contains("ran longer than --timeout 1 s and was killed"),
        "{err}"
    );
    let json = common::results_json(&tmp.join("out"));
    let cell = &json["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell}");
    assert!(
        cell["reason"]
            .as_str()
            .unwrap_or("")
            .contains("--timeout 1 s"),
        "{cell}"
    );
}

/// Whether `pid` names a live process (a zombie is dead).
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    (unsafe { libc::kill(pid, 0) }) == 0
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
}

/// Starts two children that outlive any timeout below, one of them in a session of its own
/// (as a daemon's would be), writes their pids to `argv[1]`, then sleeps. A child that lives
/// out its 300 s writes `argv[1]` + `.done-N`: how the test tells a child that was killed from
/// one that pybench waited for until it ended by itself, without timing the run.
const PARENT: &str = "import subprocess, sys, os, time\n\
    child = 'import sys, time; time.sleep(300); open(sys.argv[1], \"w\")'\n\
    a = subprocess.Popen([sys.executable, '-c', child, sys.argv[1] + '.done-a'])\n\
    b = subprocess.Popen([sys.executable, '-c', child, sys.argv[1] + '.done-b'], start_new_session=True)\n\
    open(sys.argv[1] + '.tmp', 'w').write(f'{a.pid} {b.pid}')\n\
    os.rename(sys.argv[1] + '.tmp', sys.argv[1])\ntime.sleep(300)\n";

#[test]
fn a_timeout_kills_the_programs_children_too() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("exec-timeout-tree");
    let pids = tmp.join("pids");
    common::quick_exec("system", &tmp.join("out"))
        .args(["--timeout", "2"])
        .args(["--", "python3", "-c", PARENT])
        .arg(&pids)
        .assert()
        .code(3);
    assert_children_killed(&pids);
}

/// Checks that the children [`PARENT`] started, their pids in `pids`, were killed: none is
/// alive, and neither lived out its sleep (pybench did not wait for them to end).
fn assert_children_killed(pids: &std::path::Path) {
    let text = std::fs::read_to_string(pids).expect("the program wrote its children's pids");
    for pid in text.split_whitespace().map(|p| p.parse::<i32>().unwrap()) {
        assert!(!alive(pid), "child {pid} outlived the killed program");
    }
    for side in ["a", "b"] {
        let done = pids.with_extension(format!("done-{side}"));
        assert!(
            !done.exists(),
            "child {side} ran to its end: pybench waited for it"
        );
    }
}

/// [`PARENT`], allocating enough first that the hook sends records before it is killed.
fn recorded_parent() -> String {
    format!("x = [str(i) for i in range(20000)]\n{PARENT}")
}

/// `record` (and `validate`, which records first) started its program itself and killed only
/// its pid past `--timeout`: the children lived on, holding a CI log pipe and a core.
#[test]
fn a_recording_past_its_timeout_kills_the_programs_children_too() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("record-timeout-tree");
    let pids = tmp.join("pids");
    let mut record = pybench();
    record.args(["record", "-q", "-o"]).arg(tmp.join("t.pbt"));
    let validate = common::quick_validate(&tmp.join("out"));
    for (mut cmd, code) in [(record, 137), (validate, 2)] {
        let _ = std::fs::remove_file(&pids);
        cmd.args(["--timeout", "2", "--", "python3", "-c", &recorded_parent()])
            .arg(&pids)
            .assert()
            .code(code);
        assert_children_killed(&pids);
    }
}

/// SIGTERM sent to `record` alone is passed on to the program, which dies of it: the children
/// it left were not, and lived on.
#[test]
fn sigterm_to_record_alone_kills_what_the_program_left() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("record-sigterm-tree");
    let pids = tmp.join("pids");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args(["record", "-q", "-o"])
        .arg(tmp.join("t.pbt"))
        .args(["--", "python3", "-c", &recorded_parent()])
        .arg(&pids)
        .spawn()
        .unwrap();
    common::wait_while_running(&mut child, "the program never started", || pids.exists());
    // SAFETY: signalling our own child, still unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(143));
    assert_children_killed(&pids);
}

#[test]
fn a_recording_past_its_timeout_keeps_what_it_recorded_and_exits_as_killed() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("record-timeout");
    let trace = tmp.join("t.pbt");
    let a = pybench()
        .args(["record", "-q", "--timeout", "1", "-o"])
        .arg(&trace)
        .args(["--", "python3", "-c", SLEEPER])
        .assert()
        .code(137);
    assert!(
        stderr(&a).contains("--timeout 1 s and was killed"),
        "{}",
        stderr(&a)
    );
    // The trace is whole: `stats` reads it.
    pybench().arg("stats").arg(&trace).assert().success();
}

#[test]
fn validate_stops_when_the_recording_runs_past_its_timeout() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("validate-timeout");
    let a = common::quick_validate(&tmp.join("out"))
        .args(["--timeout", "1", "--", "python3", "-c", SLEEPER])
        .assert()
        .code(2);
    let err = stderr(&a);
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("while being recorded and was killed"),
        "{err}"
    );
    // Nothing was measured: no run folder is left to be taken for a result.
    assert_eq!(common::entries(&tmp.join("out")), Vec::<String>::new());
}

#[test]
fn a_timeout_out_of_range_is_a_usage_error() {
    for (command, bad) in [("exec", "0"), ("validate", "1.5"), ("record", "604801")] {
        let a = pybench()
            .args([command, "--timeout", bad, "--", "python3", "-c", "pass"])
            .assert()
            .code(2);
        assert!(
            stderr(&a).contains("from 1 to 604800"),
            "{command}: {}",
            stderr(&a)
        );
    }
}

#[test]
fn sigterm_to_exec_alone_stops_the_program_and_saves_what_finished() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("exec-sigterm");
    let pidfile = tmp.join("pid");
    let script = tmp.join("s.py");
    std::fs::write(
        &script,
        "import os, subprocess, sys, time\nc = subprocess.Popen(['sleep', '300'])\n\
         open(sys.argv[1] + '.c', 'w').write(str(c.pid))\n\
         open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n\
         os.rename(sys.argv[1] + '.tmp', sys.argv[1])\ntime.sleep(300)\n",
    )
    .unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "exec",
            "-q",
            "--no-plots",
            "-r",
            "2",
            "-a",
            "system",
            "--out",
        ])
        .arg(tmp.join("out"))
        .arg("--")
        .arg("python3")
        .arg(&script)
        .arg(&pidfile)
        .spawn()
        .unwrap();
    let program = common::program_pid(&mut child, &pidfile);
    // SAFETY: signalling our own child, still unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(!alive(program), "the program outlived the stopped exec");
    let c = std::fs::read_to_string(pidfile.with_extension("c")).unwrap();
    assert!(
        !alive(c.parse().unwrap()),
        "its child outlived the stopped exec"
    );
    let json = common::results_json(&tmp.join("out"));
    assert_eq!(json["interrupted"], true);
    assert_eq!(
        json["cells"].as_array().map(Vec::len),
        Some(0),
        "the cut run is not kept"
    );
}
