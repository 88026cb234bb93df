//! `pybench record`'s bad input: no program, a program that is not Python, and a CPython
//! the recording hook cannot serve (older than 3.8), a TMPDIR that does not exist. Each is
//! refused with nothing written.

use super::trace_record::python;
use crate::common::{pybench, tempdir};
use std::path::Path;

#[test]
fn no_program_is_a_usage_error() {
    pybench()
        .arg("record")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no program to record"));
}

#[test]
fn a_program_that_is_not_python_is_refused() {
    let dir = tempdir("notpy");
    let cases = [
        (
            "/bin/true",
            2,
            "no allocator hook was installed: `/bin/true` is not a CPython 3.8+",
        ),
        (
            "/bin/false",
            1,
            "`/bin/false` exited with status 1 before pybench's allocator hook",
        ),
    ];
    for (prog, code, why) in cases {
        pybench()
            .args(["record", "-o"])
            .arg(dir.join("t.pbt"))
            .args(["--", prog])
            .assert()
            .code(code)
            .stderr(predicates::str::contains(why));
        assert!(!dir.join("t.pbt").exists());
        assert!(!dir.join("t.pbt.partial").exists());
    }
    // Refused before anything starts, alone: on a busy machine the note about the live
    // conversion used to come first, and the program was only found missing when started.
    for (prog, why) in [
        ("/nonexistent/python", "no such program"),
        (
            "/etc/passwd",
            "it is not executable (no permission to run it)",
        ),
    ] {
        let a = pybench()
            .args(["record", "--", prog])
            .env(pybench::sys::procfs::FAKE_BUSY_CORES_ENV, "2")
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err, format!("pybench: error: cannot run `{prog}`: {why}\n"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Python refusing its own command line (`python3 -c` with no command) ends before it reads
/// its site files: the error is its exit, not "not a CPython interpreter".
#[test]
fn a_python_that_rejects_its_own_arguments_is_named_by_its_exit() {
    let Some(py) = python(11) else {
        eprintln!("skipped: no CPython 3.11 on this machine");
        return;
    };
    let dir = tempdir("badargs");
    let out = pybench()
        .args(["record", "-o"])
        .arg(dir.join("t.pbt"))
        .arg("--")
        .arg(&py)
        .arg("-c")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Argument expected for the -c option"), "{err}");
    assert!(
        err.contains("exited with status 2 before pybench's allocator hook was installed"),
        "{err}"
    );
    assert!(!err.contains("no allocator hook was installed"), "{err}");
    assert!(!dir.join("t.pbt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_cpython_the_hook_cannot_serve_is_refused() {
    let py27 = Path::new("/root/.pyenv/versions/2.7.18/bin/python2.7");
    let cases = [
        (python(7), "CPython 3.7 is older than 3.8"),
        (
            py27.exists().then(|| py27.to_path_buf()),
            "Python 2.7 is too old (3.8 or later is needed)",
        ),
    ];
    for (py, why) in cases {
        let Some(py) = py else {
            eprintln!("skipped: no interpreter for `{why}` on this machine");
            continue;
        };
        let dir = tempdir("old");
        pybench()
            .args(["record", "-o"])
            .arg(dir.join("t.pbt"))
            .arg("--")
            .arg(&py)
            .args(["-c", "print('ran')"])
            .assert()
            .code(2)
            .stdout("ran\n")
            .stderr(predicates::str::contains("could not be installed in"))
            .stderr(predicates::str::contains(why));
        assert!(!dir.join("t.pbt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The recording's private folder goes under TMPDIR; a TMPDIR that does not exist is named
/// in the error, where "No such file or directory" alone did not say which one.
#[test]
fn a_missing_tmpdir_is_named() {
    let dir = tempdir("tmpdir");
    pybench()
        .env("TMPDIR", dir.join("missing"))
        .args(["record", "-o"])
        .arg(dir.join("t.pbt"))
        .args(["--", "/bin/true"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "in {} (TMPDIR): No such file or directory",
            dir.join("missing").display()
        )));
    assert!(!dir.join("t.pbt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A program whose allocator calls never reach pybench (it leaves through `os._exit` before
/// the hook's first buffer, or `--timeout` stops it first) is an error, and no trace is put
/// at `-o`: with `--force` an empty trace replaced the good one there (until 2026-12-07).
#[test]
fn a_recording_of_no_event_writes_nothing_and_keeps_the_old_trace() {
    let Some(py) = python(11).or_else(|| python(9)) else {
        eprintln!("skipped: no CPython 3.9 or 3.11 on this machine");
        return;
    };
    let dir = tempdir("empty-record");
    let t = dir.join("t.pbt");
    pybench()
        .args(["record", "-q", "-o"])
        .arg(&t)
        .arg("--")
        .arg(&py)
        .args(["-c", "x = [str(i) for i in range(20000)]"])
        .assert()
        .success();
    let good = std::fs::read(&t).unwrap();
    // Each an error (README, `record`): exit 2, or 137 as the shell reports the program
    // `--timeout` killed; in one line either way.
    let record = |extra: &[&str], code: &str, exit: i32| {
        let a = pybench()
            .args(["record", "-q", "--force"])
            .args(extra)
            .arg("-o")
            .arg(&t)
            .arg("--")
            .arg(&py)
            .args(["-c", code])
            .assert()
            .code(exit);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    };
    let err = record(&[], "import os; os._exit(0)", 2);
    assert!(err.contains("so no trace was written"), "{err}");
    let err = record(&["--timeout", "1"], "import time; time.sleep(30)", 137);
    assert!(err.contains("was stopped"), "{err}");
    assert_eq!(std::fs::read(&t).unwrap(), good, "the old trace is kept");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary left: {names:?}");
}

/// A file that appears at `-o` while the program runs (the program writes it, or a second
/// `record` into the same folder finishes first) is kept: the trace goes to the next free
/// numbered name and a warning says where. Until 2026-12-07 the final rename replaced it.
#[test]
fn a_file_that_appears_at_the_output_while_recording_is_kept() {
    let Some(py) = python(11).or_else(|| python(9)) else {
        eprintln!("skipped: no CPython 3.9 or 3.11 on this machine");
        return;
    };
    let dir = tempdir("appeared");
    let a = pybench()
        .current_dir(&dir)
        .args(["record", "-q", "-o", "out.pbt", "--"])
        .arg(&py)
        .args([
            "-c",
            "open('out.pbt', 'w').write('my data'); x = [str(i) for i in range(20000)]",
        ])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("out.pbt appeared while the program ran")
            && err.contains("this trace is saved as out.1.pbt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.pbt")).unwrap(),
        "my data"
    );
    pybench()
        .args(["stats"])
        .arg(dir.join("out.1.pbt"))
        .assert()
        .success();
}
