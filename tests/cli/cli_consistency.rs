//! One command line: the same flag means the same thing in every command, repetitions are
//! numbered alike everywhere, no command panics on a closed pipe, listings align, `exec`
//! keeps the program's output off stdout, and its RSS plot's axis says milliseconds.

use crate::common;
use crate::common::{pybench, tempdir};
use predicates::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

fn python3() -> Option<&'static str> {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success())
        .then_some("python3")
}

#[test]
fn stats_and_gen_take_dash_w_like_run() {
    let dir = tempdir("w");
    let out = pybench()
        .args(["stats", "-w", "dicts", "--scale", "2000", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["stream"]["workload"], "dicts");
    let file = dir.join("d.pbt");
    pybench()
        .args(["gen", "-w", "dicts", "--scale", "2000", "-o"])
        .arg(&file)
        .assert()
        .success();
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dash_r_is_repetitions_in_every_command() {
    for cmd in ["run", "exec", "validate"] {
        let out = pybench().args([cmd, "--help"]).assert().success();
        let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(help.contains("-r, --repetitions"), "{cmd}: {help}");
    }
}

/// `gen` takes `-w` or `--like`, `stats` a trace or `-w`: with neither, the error names
/// both (it named only the first, as if it were the one way).
#[test]
fn a_missing_source_is_refused_naming_every_way_to_give_one() {
    let dir = tempdir("source");
    let out = dir.join("x.pbt");
    pybench()
        .args(["gen", "-o"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--workload").and(predicates::str::contains("--like")));
    pybench()
        .arg("stats")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("TRACE").and(predicates::str::contains("--workload")));
    // Both at once is still one too many.
    pybench()
        .args(["gen", "-w", "dicts", "--like", "trace:compileall", "-o"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be used with"));
    assert!(!out.exists());
}

/// Closing the reading end before pybench writes: every write fails with EPIPE, which must
/// end the command quietly, not with a panic.
#[test]
fn a_closed_pipe_is_a_quiet_exit() {
    for args in [
        &["stats", "-w", "dicts", "--scale", "2000"][..],
        &["stats", "-w", "dicts", "--scale", "2000", "--json"][..],
        &["list", "workloads"][..],
        &["list", "allocators"][..],
        // println! of a whole report (not a writer whose error reaches main).
        &[
            "stats",
            "-w",
            "dicts",
            "--scale",
            "2000",
            "--compare",
            "trace:compileall",
            "--json",
        ][..],
    ] {
        let exe = assert_cmd::cargo::cargo_bin("pybench");
        let mut child = std::process::Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
    }
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE, before
/// or after the command starts writing (no race with the child).
fn closed_pipe() -> Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { libc::close(fds[0]) };
    Stdio::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) })
}

/// CSV goes through the `csv` crate, whose errors hid the closed pipe behind
/// `ErrorKind::Other`: `compare --format csv | head` and `run --csv - | head` ended with
/// "error: Broken pipe" and exit 2 while every other output ended quietly.
#[test]
fn csv_to_a_closed_pipe_is_a_quiet_exit() {
    let dir = tempdir("csv-pipe");
    let base = common::save(&dir, "base", &common::run("base", 3, |_, _, _| 1e7));
    let cur = common::save(&dir, "cur", &common::run("cur", 3, |_, _, _| 1e7));
    let out = dir.join("runs");
    std::fs::create_dir(&out).unwrap();
    let compare = |format: &str| -> Vec<std::ffi::OsString> {
        vec![
            "compare".into(),
            "--format".into(),
            format.into(),
            base.clone().into(),
            cur.clone().into(),
        ]
    };
    let run: Vec<std::ffi::OsString> = [
        "run",
        "-w",
        "dicts",
        "--scale",
        "2000",
        "-a",
        "system",
        "-r",
        "2",
        "--rounds",
        "2",
        "-q",
        "--no-plots",
        "--csv",
        "-",
        "--out",
    ]
    .iter()
    .map(Into::into)
    .chain([out.clone().into()])
    .collect();
    for args in [compare("csv"), compare("json"), compare("markdown"), run] {
        let got = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
            .args(&args)
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert!(got.status.success(), "{args:?}: {:?} {stderr}", got.status);
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn list_workloads_rows_align() {
    let out = pybench().args(["list", "workloads"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    let desc = header.find("description").unwrap();
    let rows: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("a spec file"))
        .collect();
    assert!(rows.iter().any(|r| r.starts_with("trace:")), "{text}");
    for row in rows {
        let chars: Vec<char> = row.chars().collect();
        assert!(chars.len() > desc, "{row}");
        // The scale column ends just before two spaces, then the description, in every row.
        assert_eq!(&chars[desc - 2..desc], &[' ', ' '], "{row}\n{text}");
        assert_ne!(chars[desc - 3], ' ', "{row}\n{text}");
        assert_ne!(chars[desc], ' ', "{row}\n{text}");
    }
}

fn rss_svg(run_root: &Path) -> String {
    let run = std::fs::read_dir(run_root)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let plots = run.join("plots");
    let svg = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("rss-"))
        .unwrap_or_else(|| panic!("no rss plot in {plots:?}"));
    std::fs::read_to_string(svg).unwrap()
}

/// `exec`: progress on stderr, the program's own output on stderr too, stdout only the CSV;
/// repetitions numbered from 0 in both; the RSS plot's x axis in milliseconds.
#[test]
fn exec_keeps_stdout_for_results_and_numbers_repetitions_like_the_csv() {
    let Some(python) = python3() else {
        eprintln!("skipping: no python3");
        return;
    };
    let dir = tempdir("exec");
    let out = pybench()
        .args(["exec", "-a", "system", "-r", "2", "--csv", "-", "--out"])
        .arg(&dir)
        .args([
            "--",
            python,
            "-c",
            "import time; print('program-output-marker'); time.sleep(0.2)",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(!stdout.contains("program-output-marker"), "{stdout}");
    assert_eq!(
        stderr.matches("program-output-marker").count(),
        2,
        "{stderr}"
    );
    let mut r = csv::Reader::from_reader(stdout.as_bytes());
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "repetition")
        .unwrap();
    let in_csv: BTreeSet<String> = r
        .records()
        .map(|rec| rec.unwrap()[col].to_string())
        .collect();
    assert_eq!(in_csv, BTreeSet::from(["0".to_string(), "1".to_string()]));
    for rep in in_csv {
        assert!(
            stderr.contains(&format!("under system rep {rep}")),
            "{stderr}"
        );
    }
    let svg = rss_svg(&dir);
    assert!(
        svg.contains("milliseconds since the program started"),
        "{svg}"
    );
    assert!(!svg.contains("allocator events replayed"));
    std::fs::remove_dir_all(&dir).unwrap();
}
