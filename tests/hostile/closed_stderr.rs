//! Standard streams whose reader has gone. A closed stderr (`pybench run 2>&1 | head`, a log
//! collector that died): writing to it fails with EPIPE, which `eprintln!` turned into a panic
//! — exit 101 instead of an input error's 2, and a run ended before its remaining cells. A
//! closed stdout (`compare … | head -3`): the report's broken pipe ended the command with 0,
//! a regression's exit 1 and the step summary lost.

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
    pybench_into(args, Stdio::null(), widowed_pipe())
}

/// `pybench ARGS` with the given stdout and stderr.
fn pybench_into(args: &[&str], stdout: Stdio, stderr: Stdio) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pybench"));
    cmd.args(args)
        .envs(common::QUIET_MACHINE)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
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

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_library_writes_to_stderr_only_through_the_macros_that_cannot_panic() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 100, "{} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("eprintln!(") || code.contains("eprint!(") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use pybench::stderr_line!/stderr_text!, which never panic:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_regression_piped_into_a_reader_that_has_gone_still_exits_1_and_writes_the_summary() {
    let d = tempdir("closed-stdout");
    let base = common::save(&d, "base", &common::run("base", 5, |_, _, _| 1e7));
    let slow = |w: &str, a: &str, _| {
        if (w, a) == ("churn", "system") {
            5e6
        } else {
            1e7
        }
    };
    let current = common::save(&d, "current", &common::run("current", 5, slow));
    let summary = d.join("summary.md");
    let status = pybench_into(&["compare"], widowed_pipe(), Stdio::null())
        .arg(&base)
        .arg(&current)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    assert!(text.contains("regressed"), "{text}");
}
