//! `pybench exec` on a real Python program: every allocator's cells, the preload really in
//! effect inside the Python process, peak RSS above the bare interpreter's, failures reported.

mod common;

use common::{pybench, tempdir};
use predicates::prelude::*;
use std::path::Path;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/python/alloc_heavy.py"
);

fn results(root: &Path) -> serde_json::Value {
    common::results_json(root)
}

fn peak_rss(json: &serde_json::Value, allocator: &str) -> f64 {
    json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["allocator"] == allocator)
        .and_then(|c| {
            c["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "peak_rss_bytes")
        })
        .and_then(|m| m["value"].as_f64())
        .unwrap()
}

#[test]
fn every_allocator_runs_with_its_preload_in_effect() {
    let tmp = tempdir("all");
    let out = pybench()
        .args(["exec", "-r", "1", "--out"])
        .arg(&tmp)
        .args(["--", "python3", SCRIPT])
        .assert()
        .success();
    // The program's own output goes to stderr, next to the progress lines (stdout is
    // pybench's table only).
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.contains("PYTHONMALLOC="), "{stdout}");
    let program_output = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let json = results(&tmp);
    let names: Vec<&str> = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["allocator"].as_str().unwrap())
        .collect();
    assert!(names.starts_with(&["pymalloc", "system"]), "{names:?}");
    // What the Python process itself saw, one line per run, in run order.
    let seen: Vec<&str> = program_output
        .lines()
        .filter(|l| l.starts_with("PYTHONMALLOC="))
        .collect();
    assert_eq!(seen.len(), names.len(), "{program_output}");
    for (name, line) in names.iter().zip(&seen) {
        let expected_env = if *name == "pymalloc" {
            "PYTHONMALLOC= "
        } else {
            "PYTHONMALLOC=malloc "
        };
        assert!(line.starts_with(expected_env), "{name}: {line}");
        match *name {
            "pymalloc" | "system" => assert!(line.ends_with("preloaded=-"), "{name}: {line}"),
            // pybench's own build of the allocator the replay links (preload/).
            other => assert!(
                line.contains(&format!("libpybench_preload_{other}.so")),
                "{name}: {line}"
            ),
        }
    }
    for c in json["cells"].as_array().unwrap() {
        assert_eq!(c["kind"], "exec");
        assert_eq!(c["status"], "ok");
    }
}

#[test]
fn peak_rss_is_above_the_bare_interpreter() {
    let (busy, bare) = (tempdir("busy"), tempdir("bare"));
    for (dir, args) in [
        (&busy, vec!["python3", SCRIPT]),
        (&bare, vec!["python3", "-c", "pass"]),
    ] {
        pybench()
            .args(["exec", "-a", "pymalloc,system", "-r", "1", "-q", "--out"])
            .arg(dir)
            .arg("--")
            .args(&args)
            .assert()
            .success();
    }
    for a in ["pymalloc", "system"] {
        let (b, base) = (peak_rss(&results(&busy), a), peak_rss(&results(&bare), a));
        assert!(b > base + 4.0 * 1024.0 * 1024.0, "{a}: {b} vs bare {base}");
    }
}

#[test]
fn a_failing_program_is_reported_with_its_exit_code() {
    let tmp = tempdir("fail");
    pybench()
        .args(["exec", "-a", "pymalloc,system", "-r", "1", "-q", "--out"])
        .arg(&tmp)
        .args(["--", "python3", SCRIPT, "3"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("the program exited with code 3"));
    let json = results(&tmp);
    for c in json["cells"].as_array().unwrap() {
        assert_eq!(c["status"], "failed");
        assert!(
            c["metrics"].as_array().unwrap().is_empty(),
            "a failed run is never timed"
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempdir("bad");
    for (args, needle) in [
        (
            vec!["exec", "--", "no-such-python-xyz"],
            "cannot start `no-such-python-xyz`",
        ),
        (
            vec!["exec", "-a", "hoard", "--", "python3", "-c", "pass"],
            "unknown exec allocator `hoard`",
        ),
        (
            vec![
                "exec",
                "--preload",
                "x=/nonexistent.so",
                "--",
                "python3",
                "-c",
                "pass",
            ],
            "/nonexistent.so not found",
        ),
        (
            vec![
                "exec",
                "--preload",
                "m=/usr/lib/x86_64-linux-gnu/libm.so.6",
                "--",
                "python3",
                "-c",
                "pass",
            ],
            "is not an allocator",
        ),
    ] {
        // A preload that cannot be used concerns that allocator only: the others still run
        // and are written (issue 13); usage errors stop everything before any run.
        let local = args.contains(&"--preload");
        let dir = tmp.join(if local { "local" } else { "usage" });
        let mut cmd = pybench();
        cmd.arg(args[0])
            .arg("--out")
            .arg(&dir)
            .args(["-r", "1", "-q", "--no-plots"]);
        if local {
            cmd.args(["-a", "pymalloc"]);
        }
        let out = cmd.args(&args[1..]).assert().code(2);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(err.contains(needle), "{args:?}: {err}");
        let written = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert_eq!(
            written,
            usize::from(local),
            "{args:?}: runs written only when some could run"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    pybench().args(["exec"]).assert().code(2);
}
