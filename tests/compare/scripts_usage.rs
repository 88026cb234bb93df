//! The scripts in `scripts/` as a user first meets them (the eighth audit): `--help` prints
//! the script's usage and does nothing else, an argument a script would ignore and a
//! malformed setting (RUNS=abc, SHARDS=0, SIZES=-1) are one line and exit 2 before anything
//! is built or measured, a failed build or step stops the script instead of printing
//! figures, paths are read from the folder the script is started in, and an output folder
//! of the user's is not emptied. Every case here ends in seconds: a `cargo` that only leaves
//! a mark stands in for the build, so a script that would build (and then measure for
//! minutes) is caught by the mark.

use crate::common::{tempdir, QUIET_MACHINE};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "scripts", name]
        .iter()
        .collect()
}

/// `bash scripts/NAME ARGS` in `cwd`, with `env` set, the settings the scripts read cleared,
/// and a `cargo` first on PATH that writes `cargo-ran` into `fake` and fails.
fn run_in(cwd: &Path, fake: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let cargo = fake.join("cargo");
    if !cargo.exists() {
        let mark = fake.join("cargo-ran");
        std::fs::write(
            &cargo,
            format!("#!/bin/sh\ntouch '{}'\nexit 97\n", mark.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("bash");
    cmd.arg(script(name))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path);
    for k in [
        "RUNS",
        "SHARDS",
        "SPREAD",
        "ROUNDS",
        "SIZES",
        "PARTS",
        "REPS",
        "SEED",
        "TRACES",
        "OUT",
        "ANALYSE",
        "BASE",
        "NEW",
        "PYBENCH",
        "PYBENCH_BIN",
        "PYBENCH_CI_OUT",
        "SLOW_SECS",
        "GITHUB_STEP_SUMMARY",
        "PYTHON",
        "DIR",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(QUIET_MACHINE);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

fn have(tool: &str) -> bool {
    let found = Command::new("bash")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

/// Every script a user runs (lib.sh and ci-suite.sh are sourced by the others).
const SCRIPTS: [&str; 16] = [
    "ab.sh",
    "bench-sweep.sh",
    "ci-bench.sh",
    "engine-in-situ.sh",
    "fidelity-traces.sh",
    "fuzz.sh",
    "mutator-calibrate.sh",
    "record-overhead.sh",
    "record-reference.sh",
    "record-traces.sh",
    "setup.sh",
    "stability.sh",
    "standin-study.sh",
    "stream-bench.sh",
    "update-baseline.sh",
    "validate-study.sh",
];

#[test]
fn help_prints_the_scripts_opening_comment_and_runs_nothing() {
    let tmp = tempdir("usage-help");
    for name in SCRIPTS {
        for flag in ["-h", "--help"] {
            let out = run_in(&tmp, &tmp, name, &[flag], &[]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {flag}\n{}",
                stderr(&out)
            );
            // The usage is the script's opening comment, without its `#`s.
            let text = std::fs::read_to_string(script(name)).unwrap();
            let first = text.lines().nth(1).unwrap().trim_start_matches("# ");
            assert_eq!(stdout.lines().next(), Some(first), "{name}\n{stdout}");
            assert!(!stdout.contains("\n#"), "{name}\n{stdout}");
            assert!(!tmp.join("cargo-ran").exists(), "{name} {flag} built");
        }
    }
}

#[test]
fn an_argument_a_script_would_ignore_is_refused() {
    let tmp = tempdir("usage-args");
    for name in [
        "fidelity-traces.sh",
        "record-overhead.sh",
        "record-reference.sh",
        "record-traces.sh",
        "setup.sh",
        "stability.sh",
        "standin-study.sh",
        "stream-bench.sh",
        "update-baseline.sh",
    ] {
        let out = run_in(&tmp, &tmp, name, &["-r", "5"], &[]);
        assert_eq!(out.status.code(), Some(2), "{name}\n{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "{name}: takes no arguments, got '-r 5' (its settings are environment \
                 variables: {name} --help)"
            )
        );
    }
    for (name, args) in [
        ("fuzz.sh", &["1", "2", "3"][..]),
        ("validate-study.sh", &["5", "6"]),
        ("mutator-calibrate.sh", &["5", "6"]),
        ("engine-in-situ.sh", &["5", "6"]),
    ] {
        let out = run_in(&tmp, &tmp, name, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{name}\n{}", stderr(&out));
        assert!(stderr(&out).starts_with(&format!("{name}: takes at most")));
    }
    assert!(!tmp.join("cargo-ran").exists());
}

/// A script, its arguments, its settings, and the message it must refuse them with.
type Refusal<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_malformed_setting_is_one_line_and_exit_2_before_anything_runs() {
    let tmp = tempdir("usage-env");
    let cases: [Refusal; 12] = [
        (
            "stability.sh",
            &[],
            &[("RUNS", "abc")],
            "RUNS=abc is not a positive whole number",
        ),
        (
            "stability.sh",
            &[],
            &[("SHARDS", "0")],
            "SHARDS=0 is not a positive whole number",
        ),
        (
            "stability.sh",
            &[],
            &[("RUNS", "-1")],
            "RUNS=-1 is not a positive whole number",
        ),
        (
            "bench-sweep.sh",
            &[],
            &[("RUNS", "abc")],
            "RUNS=abc is not a positive whole number",
        ),
        (
            "stream-bench.sh",
            &[],
            &[("SIZES", "-1")],
            "SIZES holds -1: each size is 1e8 or 1e9",
        ),
        (
            "stream-bench.sh",
            &[],
            &[("RUNS", "1.5")],
            "RUNS=1.5 is not a positive whole number",
        ),
        (
            "stream-bench.sh",
            &[],
            &[("PARTS", "speed")],
            "PARTS holds speed: each part is rss, tput or decode",
        ),
        (
            "record-overhead.sh",
            &[],
            &[("ROUNDS", "0")],
            "ROUNDS=0 is not a positive whole number",
        ),
        (
            "standin-study.sh",
            &[],
            &[("REPS", "five")],
            "REPS=five is not a positive whole number",
        ),
        (
            "fuzz.sh",
            &["abc"],
            &[],
            "INPUTS_PER_KIND=abc is not a positive whole number",
        ),
        (
            "fuzz.sh",
            &["100", "-3"],
            &[],
            "SEED=-3 is not a whole number below 2^64",
        ),
        (
            "validate-study.sh",
            &["0"],
            &[],
            "REPEATS=0 is not a positive whole number",
        ),
    ];
    for (name, args, env, message) in cases {
        if name != "fuzz.sh" && !have("python3") {
            continue;
        }
        if matches!(name, "bench-sweep.sh" | "record-overhead.sh") && !have("bc") {
            continue;
        }
        if name == "validate-study.sh" && !have("zstd") {
            continue;
        }
        if name == "stream-bench.sh" && !Path::new("/usr/bin/time").exists() {
            continue;
        }
        let out = run_in(&tmp, &tmp, name, args, env);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} {env:?}\n{}",
            stderr(&out)
        );
        assert_eq!(stderr(&out), format!("{name}: {message}"), "{env:?}");
        assert!(!tmp.join("cargo-ran").exists(), "{name} {env:?} built");
    }
}

#[test]
fn a_failed_build_or_sweep_stops_the_sweep_timing_without_figures() {
    if !have("bc") {
        return;
    }
    let tmp = tempdir("usage-sweep");
    // The build fails: no older binary is timed instead.
    let out = run_in(&tmp, &tmp, "bench-sweep.sh", &["--bogus"], &[("RUNS", "1")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(tmp.join("cargo-ran").exists());
    assert!(
        stderr(&out).ends_with("bench-sweep.sh: cargo build --release failed: nothing measured"),
        "{}",
        stderr(&out)
    );
    // The sweep fails: its error, and no time, ratio or median for it.
    let bin = env!("CARGO_BIN_EXE_pybench");
    let out = run_in(
        &tmp,
        &tmp,
        "bench-sweep.sh",
        &["--bogus"],
        &[("RUNS", "1"), ("PYBENCH_BIN", bin)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{}", stderr(&out));
    assert!(!stdout.contains("serial/parallel"), "{stdout}");
    assert!(stderr(&out).contains("--bogus"), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .ends_with("bench-sweep.sh: pybench sweep --jobs 1 failed (exit 2): no figures"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn paths_are_read_from_the_folder_the_script_is_started_in() {
    let tmp = tempdir("usage-cwd");
    std::fs::copy(env!("CARGO_BIN_EXE_pybench"), tmp.join("pb")).unwrap();
    // BASE=./pb names the copy in the user's folder, not one in the checkout: the script
    // gets past it to the next setting.
    let out = run_in(
        &tmp,
        &tmp,
        "ab.sh",
        &["-w", "churn"],
        &[("BASE", "./pb"), ("SHARDS", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "ab.sh: SHARDS=0 is not a positive whole number"
    );
}

#[test]
fn ci_bench_refuses_to_empty_an_output_folder_of_the_users() {
    let tmp = tempdir("usage-ci-out");
    let mine = tmp.join("notes");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("todo.txt"), "keep me").unwrap();
    let bin = env!("CARGO_BIN_EXE_pybench");
    let out = run_in(
        &tmp,
        &tmp,
        "ci-bench.sh",
        &[],
        &[("PYBENCH_CI_OUT", "notes"), ("PYBENCH_BIN", bin)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "ci-bench.sh: PYBENCH_CI_OUT={} holds more than earlier ci-bench runs, and would be \
             emptied: give a new folder",
            mine.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("todo.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_failed_recording_stops_the_overhead_table() {
    if !have("python3") || !have("bc") {
        return;
    }
    let tmp = tempdir("usage-overhead");
    let out = run_in(
        &tmp,
        &tmp,
        "record-overhead.sh",
        &[],
        &[("ROUNDS", "1"), ("PYBENCH_BIN", "/bin/false")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{}", stderr(&out));
    assert!(!stdout.contains("median"), "{stdout}");
    assert!(
        stderr(&out).ends_with("failed: no figures"),
        "{}",
        stderr(&out)
    );
}

/// `python3 scripts/plot.py ARG` with a matplotlib that cannot be imported (placed in `tmp`),
/// whether or not the real one is installed.
fn plot_py_without_matplotlib(tmp: &Path, arg: &std::ffi::OsStr) -> Output {
    std::fs::write(
        tmp.join("matplotlib.py"),
        "raise ImportError('No module named matplotlib')\n",
    )
    .unwrap();
    Command::new("python3")
        .arg(script("plot.py"))
        .arg(arg)
        .env("PYTHONPATH", tmp)
        .output()
        .unwrap()
}

#[test]
fn plot_py_without_its_packages_says_which_in_one_line() {
    if !have("python3") {
        return;
    }
    let tmp = tempdir("usage-plot");
    let out = plot_py_without_matplotlib(&tmp, tmp.join("results.csv").as_os_str());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "plot.py: needs pandas and matplotlib (No module named matplotlib): pip install pandas \
         matplotlib"
    );
}

#[test]
fn plot_py_help_needs_neither_pandas_nor_matplotlib() {
    if !have("python3") {
        return;
    }
    // --help exited 2 asking for the packages, as it imported them before reading arguments.
    let tmp = tempdir("usage-plot-help");
    let out = plot_py_without_matplotlib(&tmp, "--help".as_ref());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout.starts_with("usage: plot.py"), "{stdout}");
    assert!(stdout.contains("--out"), "{stdout}");
}

#[test]
fn ci_bench_refuses_compare_options_before_measuring() {
    let tmp = tempdir("usage-ci-options");
    let bin = env!("CARGO_BIN_EXE_pybench");
    let out = run_in(
        &tmp,
        &tmp,
        "ci-bench.sh",
        &["--threshold", "abc"],
        &[("PYBENCH_CI_OUT", "ci"), ("PYBENCH_BIN", bin)],
    );
    // The typo used to be found only after the suite had run for minutes.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "ci-bench.sh: pybench compare refuses these options, so nothing was measured: "
        ) && err.contains("--threshold"),
        "{err}"
    );
    assert!(!tmp.join("ci").exists(), "the suite ran");
}
