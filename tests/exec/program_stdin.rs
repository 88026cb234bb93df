//! A program that reads its standard input, under `exec` and `validate`: every run (and the
//! recording) reads the `--stdin` file from its start; input piped to pybench without it is
//! not passed on, and a warning says so (it used to run the program on `/dev/null` without a
//! word, measuring other work than the user meant).

use crate::common::{have_python, pybench, refusal, tempdir};

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn every_exec_run_reads_the_stdin_file_from_its_start() {
    let tmp = tempdir("stdin-file");
    let input = tmp.join("input.txt");
    std::fs::write(&input, "fed-to-every-run\n").unwrap();
    let a = pybench()
        .args(["exec", "--no-plots", "-r", "2", "-a", "system", "--stdin"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.join("out"))
        .args(["--", "cat"])
        .assert()
        .success();
    let err = stderr(&a);
    assert_eq!(err.matches("fed-to-every-run").count(), 2, "{err}");
    assert!(!err.contains("not passed on"), "{err}");
}

const NOT_PASSED_ON: &str = "warning: the input piped or redirected to pybench is not passed \
     on: every run of the program reads /dev/null; give it with --stdin FILE";

/// `exec -- cat` with pybench's standard input set to `stdin`; `feed` runs once pybench has
/// started (writing a pipe's input late, as a shell's writer may). Returns stderr.
fn exec_cat_with_stdin(name: &str, stdin: std::process::Stdio, feed: impl FnOnce()) -> String {
    let tmp = tempdir(name);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args(["exec", "--no-plots", "-r", "1", "-a", "system", "--out"])
        .arg(&*tmp)
        .args(["--", "cat"])
        .envs(crate::common::QUIET_MACHINE)
        .stdin(stdin)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    feed();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

#[test]
fn input_piped_to_exec_is_not_passed_on_and_a_warning_says_so() {
    // The writer starts late, as `slow | pybench exec …` would: CI once ran pybench's check
    // before assert_cmd's writer thread had filled the pipe, and the warning went missing.
    let (reader, mut writer) = std::io::pipe().unwrap();
    let err = exec_cat_with_stdin("stdin-piped", reader.into(), move || {
        std::thread::sleep(std::time::Duration::from_millis(60));
        // An old pybench that asked at once has exited by now: the write then fails, and the
        // assertion below says why.
        let _ = std::io::Write::write_all(&mut writer, b"piped-to-pybench\n");
    });
    assert!(err.contains(NOT_PASSED_ON), "{err}");
    assert!(!err.contains("piped-to-pybench"), "{err}");
}

#[test]
fn a_file_redirected_to_exec_is_not_passed_on_and_a_warning_says_so() {
    let tmp = tempdir("stdin-redirected-src");
    let input = tmp.join("input.txt");
    std::fs::write(&input, "redirected-to-pybench\n").unwrap();
    let file = std::fs::File::open(&input).unwrap();
    let err = exec_cat_with_stdin("stdin-redirected", file.into(), || {});
    assert!(err.contains(NOT_PASSED_ON), "{err}");
    assert!(!err.contains("redirected-to-pybench"), "{err}");
}

#[test]
fn an_empty_pipe_or_file_on_exec_input_gives_no_warning() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(writer);
    let err = exec_cat_with_stdin("stdin-empty-pipe", reader.into(), || {});
    assert!(!err.contains("not passed on"), "{err}");
    let err = exec_cat_with_stdin("stdin-null", std::process::Stdio::null(), || {});
    assert!(!err.contains("not passed on"), "{err}");
}

#[test]
fn a_stdin_that_is_no_regular_file_is_refused_before_any_run() {
    let tmp = tempdir("stdin-refused");
    let fifo = tmp.join("fifo");
    crate::common::mkfifo(&fifo);
    for (stdin, says) in [
        (fifo.clone(), "a FIFO, not a regular file"),
        (tmp.join("missing"), "No such file or directory"),
        (tmp.to_path_buf(), "a directory, not a regular file"),
    ] {
        for command in ["exec", "validate"] {
            let line = refusal(
                pybench()
                    .args([command, "-r", "1", "-a", "system", "--stdin"])
                    .arg(&stdin)
                    .arg("--out")
                    .arg(tmp.join("out"))
                    .args(["--", "cat"]),
            );
            assert!(line.contains("--stdin") && line.contains(says), "{line}");
        }
    }
    assert!(!tmp.join("out").exists());
}

#[test]
fn validate_records_and_runs_the_program_on_the_stdin_file() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("stdin-validate");
    let input = tmp.join("input.txt");
    std::fs::write(&input, "x\n").unwrap();
    // Exits 5 unless it read the file: a recording that fails stops validate with 2, a real
    // run that fails makes it exit 3.
    pybench()
        .args(["validate", "-q", "--no-plots", "-r", "1", "-a", "pymalloc,system"])
        .args(["--rounds", "2", "--no-mutator", "--stdin"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.join("out"))
        .args(["--", "python3", "-c"])
        .arg("import sys; x = [str(i) for i in range(1000)]; sys.exit(0 if sys.stdin.read() == 'x\\n' else 5)")
        .assert()
        .success();
}

#[test]
fn a_stdin_path_that_is_not_utf8_is_read_and_recorded_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempdir("stdin-not-utf8");
    let input = tmp.join(std::ffi::OsStr::from_bytes(b"h\xffi.txt"));
    std::fs::write(&input, "fed\n").unwrap();
    // It panicked while writing the command line into results.json (exit 101).
    pybench()
        .args([
            "exec",
            "-q",
            "--no-plots",
            "-r",
            "1",
            "-a",
            "system",
            "--stdin",
        ])
        .arg(&input)
        .arg("--out")
        .arg(tmp.join("out"))
        .args(["--", "cat"])
        .assert()
        .success();
    let json = crate::common::results_json(&tmp.join("out"));
    let line = json["command_line"].as_array().unwrap();
    assert!(
        line.iter()
            .any(|a| a.as_str().unwrap().ends_with("h\u{fffd}i.txt")),
        "{line:?}"
    );
}
