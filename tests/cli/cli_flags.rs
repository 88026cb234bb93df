//! Flags that would change nothing are refused in one line (exit 2) instead of being ignored:
//! spec knobs aimed at a recorded trace, `gen --like`'s length and version, list flags given
//! empty; and names given twice, which would be measured twice.

use crate::common::{pybench, tempdir};
use predicates::prelude::*;

/// The one line a refused command printed on stderr, after checking it exited with 2 and
/// printed nothing on stdout.
fn refusal(args: &[&str]) -> String {
    let out = pybench().args(args).assert().code(2).stdout("");
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
    err
}

#[test]
fn spec_flags_aimed_at_a_trace_are_refused() {
    let t = "workloads/traces/compileall.pbt";
    let err = refusal(&["stats", t, "--scale", "10", "--python", "3.8"]);
    assert!(
        err.contains("--python and --scale do not apply to") && err.contains("summarised"),
        "{err}"
    );
    let err = refusal(&["stats", t, "--seed", "3", "--compare", "trace:test_json"]);
    assert!(err.contains("--seed does not apply to"), "{err}");
    let err = refusal(&["sweep", "--trace", t, "--python", "3.8", "--scale", "5"]);
    assert!(
        err.contains("--python and --scale would change nothing"),
        "{err}"
    );
    // With a synthetic workload among the swept, the flags shape it: accepted.
    pybench()
        .args([
            "sweep", "-q", "-w", "dicts", "--trace", t, "--scale", "2000",
        ])
        .args(["--arena", "1M", "--pool", "16K"])
        .assert()
        .success();
    // And a workload's stats still take them.
    pybench()
        .args(["stats", "-w", "dicts", "--scale", "1000", "--python", "3.8"])
        .assert()
        .success();
}

#[test]
fn a_stand_in_refuses_another_length_or_version_but_takes_a_seed() {
    let dir = tempdir("like-flags");
    let out = dir.join("x.pbt");
    let out_s = out.to_str().unwrap();
    for (flag, value) in [("--scale", "1000"), ("--python", "3.8")] {
        let args = [
            "gen",
            "--like",
            "trace:compileall",
            flag,
            value,
            "-o",
            out_s,
        ];
        let err = refusal(&args);
        assert!(
            err.contains(&format!("{flag} cannot be used with --like")),
            "{err}"
        );
        assert!(!out.exists(), "nothing written");
    }
    pybench()
        .args([
            "gen",
            "--like",
            "trace:compileall",
            "--seed",
            "2",
            "-o",
            out_s,
        ])
        .assert()
        .success();
}

#[test]
fn list_flags_given_empty_are_refused() {
    for flag in ["--arena", "--pool", "--spare", "--preset"] {
        let err = refusal(&["sweep", "-w", "dicts", "--scale", "1000", flag, ""]);
        assert!(err.contains(&format!("{flag} is empty")), "{err}");
    }
    let err = refusal(&[
        "stats",
        "-w",
        "dicts",
        "--compare",
        "trace:compileall",
        "--figures",
        "",
    ]);
    assert!(err.contains("--figures is empty"), "{err}");
}

#[test]
fn refused_command_lines_are_one_line_too() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["stats", "-w", "dicts", "--scale", "0"],
            "pybench: error: invalid value '0' for '--scale <SCALE>'",
        ),
        (
            &["stats", "-w", "dicts", "--python", "3.7"],
            "pybench: error: invalid value '3.7' for '--python <3.X>'",
        ),
        (
            &["engine", "--steps", "0"],
            "pybench: error: invalid value '0' for '--steps <STEPS>'",
        ),
        (
            &["run", "-w", "dicts", "--min-time", "0"],
            "pybench: error: invalid value '0' for '--min-time <SECONDS>': `0` is not a \
             duration in seconds from 0.000001 to 60",
        ),
        (
            &["run", "-w", "dicts", "--min-time", "NaN"],
            "pybench: error: invalid value 'NaN' for '--min-time <SECONDS>'",
        ),
        (
            &["gen", "-w", "dicts"],
            "pybench: error: the following required arguments were not provided: --out <FILE>",
        ),
    ];
    for (args, start) in cases {
        let err = refusal(args);
        assert!(err.starts_with(start), "{args:?}: {err}");
    }
    // Help is still help.
    pybench()
        .args(["stats", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Usage: pybench stats"));
}

/// A workload or allocator named twice would be laid out as duplicate cells, counted as
/// more processes than ran (falsely narrow intervals): refused before measuring, also when
/// two names resolve to one allocator or two specs share a workload name.
#[test]
fn a_name_given_twice_is_refused_before_measuring() {
    let tmp = tempdir("twice");
    let spec = tmp.join("dicts.toml");
    let other = include_str!("../../workloads/dicts.toml").replace("seed = ", "seed = 7 # ");
    std::fs::write(&spec, other).unwrap();
    // Two traces of one stem in different folders: both are `trace:t`.
    for folder in ["a", "b"] {
        std::fs::create_dir_all(tmp.join(folder)).unwrap();
        std::fs::copy(
            "workloads/traces/test_json.pbt",
            tmp.join(folder).join("t.pbt"),
        )
        .unwrap();
    }
    let out = tmp.join("out");
    let cases: [(&str, &str, &str); 5] = [
        ("dicts", "system,system", "`system` is named twice"),
        (
            "dicts",
            "pymalloc,pymalloc:cpython-3.11",
            "are the same allocator",
        ),
        ("dicts,dicts", "system", "workload `dicts` is named twice"),
        ("dicts,SPEC", "system", "give one spec another `name`"),
        (
            "A/t.pbt,B/t.pbt",
            "system",
            "copy or link one trace under another",
        ),
    ];
    for (w, a, says) in cases {
        let w = w
            .replace("SPEC", spec.to_str().unwrap())
            .replace("A/", &format!("{}/a/", tmp.display()))
            .replace("B/", &format!("{}/b/", tmp.display()));
        pybench()
            .args(["run", "-w", &w, "-a", a])
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    assert!(!out.exists(), "nothing measured, nothing written");
}

#[test]
fn a_negative_number_reaches_the_option_that_was_given_it() {
    // clap took `-1` for an unknown flag and advised `-- -1`, which gives an option nothing.
    let err = refusal(&["compare", "--threshold", "-1", "a", "b"]);
    assert_eq!(
        err.trim_end(),
        "pybench: error: --threshold must be a percentage in [0, 100), got -1"
    );
    let err = refusal(&["run", "-r", "-1"]);
    assert!(
        err.contains("invalid value '-1' for '--repetitions <REPETITIONS>'"),
        "{err}"
    );
    assert!(!err.contains("-- -1"), "{err}");
}

#[test]
fn a_subject_swallowed_by_compare_is_named_with_the_fix() {
    // --compare takes every name after it, so the trace meant as the subject became a
    // reference, and clap said only that a required argument was missing.
    let err = refusal(&[
        "stats",
        "--compare",
        "trace:pip_list",
        "workloads/traces/json_tool.pbt",
    ]);
    assert_eq!(
        err.trim_end(),
        "pybench: error: no stream to report on: --compare took every name after it \
         (trace:pip_list, workloads/traces/json_tool.pbt); put the trace to report on before \
         --compare (`stats workloads/traces/json_tool.pbt --compare …`), or give --workload"
    );
    let err = refusal(&["stats"]);
    assert_eq!(
        err.trim_end(),
        "pybench: error: give a TRACE (a .pbt file or trace:NAME) or --workload NAME to report on"
    );
}

#[test]
fn an_output_folder_that_is_not_utf8_is_written_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempdir("run-not-utf8");
    let out = tmp.join(std::ffi::OsStr::from_bytes(b"r\xffs"));
    // It panicked while writing the command line into results.json (exit 101), leaving an
    // empty results folder.
    pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "5000",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let json = crate::common::results_json(&out);
    assert!(
        json["command_line"].to_string().contains("r\u{fffd}s"),
        "{json}"
    );
}
