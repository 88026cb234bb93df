//! `exec`, `validate` and `record` against programs that misbehave or are stopped: Ctrl-C in
//! the middle, a killed pybench, a program that reads stdin or prints on stdout, allocators
//! named twice, programs that cannot start. Each must end with a true one-line message and
//! the right exit code, keep what was measured, and leave no program running.

use crate::common;

use crate::common::{have_python, pybench, tempdir};
use predicates::prelude::*;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A script that appends one `x` to the file `argv[1]` when it starts, then sleeps
/// `argv[2]` seconds once that file holds at least `argv[3]` of them (0 otherwise).
const MARKING: &str = "import sys, time\n\
m, secs, after = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])\n\
keep = [str(i) for i in range(20000)]\n\
with open(m, 'a') as f: f.write('x')\n\
time.sleep(secs if len(open(m).read()) >= after else 0)\n";

/// Writes [`MARKING`] into `dir` and returns its marker file and the command that runs it: a
/// Python program that marks its start and sleeps a minute from its `sleep_from`-th run on.
/// It makes 20,000 objects before its mark, so a recording stopped at the mark has sent
/// events (the hook sends every 8192 calls; a recording of none writes no trace).
fn marking_program(dir: &Path, sleep_from: usize) -> (PathBuf, Vec<String>) {
    let (script, marker) = (dir.join("s.py"), dir.join("marks"));
    std::fs::write(&script, MARKING).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let program = vec![
        "python3".to_string(),
        path(&script),
        path(&marker),
        "60".to_string(),
        sleep_from.to_string(),
    ];
    (marker, program)
}

/// Starts pybench with `args` in a process group of its own (as a shell starts a job), so
/// that SIGINT can go to the whole group as Ctrl-C does.
fn start_in_group(args: &[&str], out: &Path, program: &[String]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--")
        .args(program)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

/// Waits until `marker` holds `n` marks (failing if `child` ends first).
fn wait_for_marks(child: &mut Child, marker: &Path, n: usize) {
    common::wait_while_running(child, "never started", || {
        std::fs::read(marker).map_or(0, |m| m.len()) >= n
    });
}

/// Ctrl-C: SIGINT to the whole process group of `child`.
fn ctrl_c(child: &Child) {
    // SAFETY: signalling the group of our own, still unreaped child.
    assert_eq!(unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) }, 0);
}

fn finish(child: Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_during_exec_keeps_the_finished_runs_and_saves_no_cut_run_as_failed() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("exec-int");
    let (marker, program) = marking_program(&tmp, 2);
    let out = tmp.join("out");
    let mut child = start_in_group(
        &["exec", "-r", "3", "-a", "pymalloc,system", "--no-plots"],
        &out,
        &program,
    );
    // The second run sleeps: Ctrl-C cuts it short.
    wait_for_marks(&mut child, &marker, 2);
    ctrl_c(&child);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: 1 cell(s) saved"), "{stderr}");
    assert!(!stderr.contains("failed:"), "{stderr}");
    let json = common::results_json(&out);
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0]["status"], "ok");
}

#[test]
fn ctrl_c_while_validate_records_is_an_interruption_not_a_failed_program() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("validate-int");
    let (marker, program) = marking_program(&tmp, 1);
    let out = tmp.join("out");
    let mut child = start_in_group(
        &["validate", "-r", "1", "-a", "pymalloc,system", "--no-plots"],
        &out,
        &program,
    );
    wait_for_marks(&mut child, &marker, 1);
    ctrl_c(&child);
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: 0 cell(s) saved"), "{stderr}");
    assert!(!stderr.contains("failed while being recorded"), "{stderr}");
    assert_eq!(stdout, "", "nothing measured, nothing to compare");
}

/// What the program saw, one line per run: its standard input and `PYTHONMALLOC`.
const SEEING: &str = "import os, sys\n\
print('PROGRAM-STDOUT')\n\
seen = '%r %s\\n' % (sys.stdin.read(), os.environ.get('PYTHONMALLOC', '-'))\n\
open(sys.argv[1], 'a').write(seen)\n";

#[test]
fn validate_records_the_program_as_its_real_runs_start_it() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("validate-launch");
    let (script, seen) = (tmp.join("s.py"), tmp.join("seen"));
    std::fs::write(&script, SEEING).unwrap();
    let out = pybench()
        .args([
            "validate",
            "-r",
            "1",
            "-a",
            "pymalloc,system",
            "--no-mutator",
            "--no-plots",
        ])
        .arg("--out")
        .arg(tmp.join("out"))
        .args(["--csv", "-", "--", "python3"])
        .arg(&script)
        .arg(&seen)
        .env("PYTHONMALLOC", "debug")
        .write_stdin("typed by the user\n")
        .assert()
        .success();
    // Before, the recording read pybench's stdin and ran under the user's PYTHONMALLOC while
    // the real runs got neither, and its output went into pybench's stdout (the CSV here).
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(
        seen, "'' -\n'' -\n'' malloc\n",
        "recording, then the real runs (system's sets its own PYTHONMALLOC)"
    );
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(stdout.starts_with("run,workload,"), "{stdout}");
    assert!(!stdout.contains("PROGRAM-STDOUT"), "{stdout}");
    // The CSV alone: the comparison, which followed it, is in summary.md.
    assert!(!stdout.contains("rank agreement"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert_eq!(stderr.matches("PROGRAM-STDOUT").count(), 3, "{stderr}");
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn a_killed_record_or_validate_leaves_no_program_running() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("killed");
    let (script, pidfile) = (tmp.join("s.py"), tmp.join("pid"));
    // A program that outlives pybench says so when its sleep ends.
    std::fs::write(
        &script,
        "import os, sys, time\nopen(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n\
         os.rename(sys.argv[1] + '.tmp', sys.argv[1])\ntime.sleep(20)\n\
         open(sys.argv[1] + '.survived', 'w').close()\n",
    )
    .unwrap();
    let survived = tmp.join("pid.survived");
    let trace = tmp.join("t.pbt");
    let out = tmp.join("out");
    let cases: [Vec<&std::ffi::OsStr>; 2] = [
        vec!["record".as_ref(), "-o".as_ref(), trace.as_os_str()],
        vec![
            "validate".as_ref(),
            "-r".as_ref(),
            "1".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    ];
    for args in cases {
        let _ = std::fs::remove_file(&pidfile);
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pybench"))
            .args(&args)
            .arg("--")
            .arg("python3")
            .arg(&script)
            .arg(&pidfile)
            // A SIGKILLed pybench cannot remove its private folder: keep it in ours.
            .env("TMPDIR", &*tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = common::program_pid(&mut child, &pidfile);
        child.kill().unwrap();
        child.wait().unwrap();
        // Gone at once when pybench's death takes it along; else when its sleep ends,
        // leaving its mark.
        while !gone(pid) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!survived.exists(), "{args:?}: the program outlived pybench");
    }
    // What the killed ones left is removed by the next recording, which leaves nothing.
    let private = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("pybench-record-"))
            .collect()
    };
    assert!(!private(&tmp).is_empty(), "a SIGKILL leaves its folder");
    let again = tmp.join("again.pbt");
    pybench()
        .args(["record", "-q", "-o"])
        .arg(&again)
        .args(["--", "python3", "-c", "pass"])
        .env("TMPDIR", &*tmp)
        .assert()
        .success();
    assert_eq!(private(&tmp), Vec::<String>::new());
}

#[test]
fn a_program_that_cannot_start_is_refused_before_any_run_with_the_true_reason() {
    let tmp = tempdir("cannot-start");
    let script = tmp.join("s.py");
    std::fs::write(&script, "print(1)\n").unwrap();
    let (dir, file) = (tmp.to_str().unwrap(), script.to_str().unwrap());
    for (command, program, why) in [
        ("exec", dir, "it is a directory, not a program"),
        ("validate", dir, "it is a directory, not a program"),
        ("exec", file, "it is not executable"),
        ("validate", file, "it is not executable"),
    ] {
        let out = tmp.join("out");
        pybench()
            .args([command, "-r", "1", "-a", "pymalloc", "--out"])
            .arg(&out)
            .args(["--", program])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "cannot start `{program}`: {why}"
            )));
        // Before, a script without the execute bit passed the check and every run failed.
        assert!(!out.exists(), "{command} {program}: nothing measured");
    }
}

#[test]
fn an_allocator_named_twice_is_refused_before_any_run() {
    let tmp = tempdir("twice");
    for (a, preload, said) in [
        (
            "pymalloc,system,pymalloc",
            None,
            "`pymalloc` is named twice",
        ),
        (
            "pymalloc",
            Some("pymalloc=/usr/lib/libc.so.6"),
            "would both be reported as `pymalloc`",
        ),
    ] {
        let mut cmd = pybench();
        cmd.args(["exec", "-r", "1", "-a", a, "--out"]).arg(&*tmp);
        if let Some(p) = preload {
            cmd.args(["--preload", p]);
        }
        cmd.args(["--", "python3", "-c", "pass"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(said));
        assert_eq!(common::entries(&tmp), Vec::<String>::new(), "{a}");
    }
}

#[test]
fn a_program_ending_without_python_shutdown_under_the_engine_is_not_the_engines_fault() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("engine-exit");
    // os._exit(0): a success, measured, with a note that there is no accounting.
    let out = tmp.join("zero");
    pybench()
        .args([
            "exec",
            "-r",
            "2",
            "-q",
            "--no-plots",
            "-a",
            "pymalloc:cpython-3.11",
        ])
        .arg("--out")
        .arg(&out)
        .args(["--", "python3", "-c", "import os; os._exit(0)"])
        .assert()
        .success();
    let json = common::results_json(&out);
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "both repetitions ran");
    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        assert!(
            c["notes"].to_string().contains("no accounting at exit"),
            "{c}"
        );
    }
    // os._exit(3): the program's failure, in every repetition; the engine is not blamed.
    let out = tmp.join("three");
    pybench()
        .args([
            "exec",
            "-r",
            "2",
            "-q",
            "--no-plots",
            "-a",
            "pymalloc:cpython-3.11",
        ])
        .arg("--out")
        .arg(&out)
        .args(["--", "python3", "-c", "import os; os._exit(3)"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("the program exited with code 3").count(2))
        .stderr(predicate::str::contains("engine was not installed").not());
}

/// A script whose name is as long as a file name may be (240 chars and `.py`): its cell is
/// measured and its RSS plot written, under a name short enough for the file system. Before,
/// the plot's file name (rss-LABEL.svg) was too long: exit 2 after measuring.
#[test]
fn a_script_with_a_long_name_is_measured_and_plotted() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("long-name");
    let script = tmp.join(format!("{}.py", "a".repeat(240)));
    std::fs::write(&script, "pass\n").unwrap();
    pybench()
        .args(["exec", "-r", "1", "-q", "-a", "pymalloc", "--out"])
        .arg(tmp.join("out"))
        .args(["--", "python3"])
        .arg(&script)
        .assert()
        .success();
    let cells = common::results_json(&tmp.join("out"))["cells"].clone();
    let cells = cells.as_array().unwrap();
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0]["allocator"], "pymalloc", "{cells:?}");
    assert_eq!(cells[0]["status"], "ok", "{cells:?}");
    let plots = common::run_dir(&tmp.join("out")).join("plots");
    let names = common::entries(&plots);
    let rss: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("rss-") && n.ends_with(".svg"))
        .collect();
    assert_eq!(rss.len(), 1, "one RSS plot: {names:?}");
    let svg = std::fs::read_to_string(plots.join(rss[0])).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
}

#[test]
fn a_program_failing_under_every_allocator_has_no_reference_in_its_table() {
    let tmp = tempdir("all-failed");
    pybench()
        .args([
            "exec",
            "-r",
            "1",
            "-a",
            "pymalloc,system",
            "--no-plots",
            "--out",
        ])
        .arg(&*tmp)
        .args(["--", "sh", "-c", "exit 3"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "medians of 1 repetition(s), no allocator has a finished run",
        ));
}

#[test]
fn record_warns_when_pythonmalloc_replaces_pymalloc() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("record-env");
    for (value, warned) in [("debug", true), ("malloc", true), ("pymalloc", false)] {
        let a = pybench()
            .args(["record", "-q", "-o"])
            .arg(tmp.join(format!("{value}.pbt")))
            .args(["--", "python3", "-c", "x = [str(i) for i in range(100)]"])
            .env("PYTHONMALLOC", value)
            .assert()
            .success();
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(
            err.contains(&format!("PYTHONMALLOC={value} is set")),
            warned,
            "{value}: {err}"
        );
    }
}

/// SIGTERM, sent to pybench alone (by a CI time limit or `kill`), stops record and validate's
/// recording as Ctrl-C does: passed on to the program, whose trace so far is kept by
/// `record`; `validate` stops there, interrupted. Before, pybench died of it at once, the
/// trace lost and the program killed only by the parent-death signal.
#[test]
fn sigterm_while_recording_is_passed_on_and_what_was_recorded_kept() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("record-term");
    let (marker, program) = marking_program(&tmp, 1);
    let trace = tmp.join("t.pbt");
    let out = tmp.join("out");
    let record = ["record", "-q", "-o", trace.to_str().unwrap()];
    let validate = ["validate", "-r", "1", "-a", "pymalloc,system", "--no-plots"];
    for (args, with_out) in [(&record[..], false), (&validate[..], true)] {
        let _ = std::fs::remove_file(&marker);
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pybench"));
        cmd.args(args);
        if with_out {
            cmd.arg("--out").arg(&out);
        }
        let mut child = cmd
            .arg("--")
            .args(&program)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_marks(&mut child, &marker, 1);
        // SAFETY: signalling our own, still unreaped child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        let (code, stdout, stderr) = finish(child);
        assert_eq!(code, Some(143), "{args:?}: {stderr}");
        if with_out {
            assert!(stderr.contains("interrupted: 0 cell(s) saved"), "{stderr}");
            assert_eq!(stdout, "", "nothing measured, nothing to compare");
        } else {
            assert!(
                stderr.contains("without Python's normal shutdown"),
                "{stderr}"
            );
            pybench()
                .arg("stats")
                .arg(&trace)
                .assert()
                .success()
                .stdout(predicate::str::contains("events"));
        }
    }
}
