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

#[test]
fn input_piped_to_exec_is_not_passed_on_and_a_warning_says_so() {
    let tmp = tempdir("stdin-piped");
    let a = pybench()
        .args(["exec", "--no-plots", "-r", "1", "-a", "system", "--out"])
        .arg(&*tmp)
        .args(["--", "cat"])
        .write_stdin("piped-to-pybench\n")
        .assert()
        .success();
    let err = stderr(&a);
    assert!(
        err.contains(
            "warning: the input piped or redirected to pybench is not passed on: every run of \
             the program reads /dev/null; give it with --stdin FILE"
        ),
        "{err}"
    );
    assert!(!err.contains("piped-to-pybench"), "{err}");
}

#[test]
fn a_stdin_that_is_no_regular_file_is_refused_before_any_run() {
    let tmp = tempdir("stdin-refused");
    let fifo = tmp.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
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
        .args(["validate", "-q", "--no-plots", "-r", "1", "-a", "system"])
        .args(["--rounds", "2", "--no-mutator", "--stdin"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.join("out"))
        .args(["--", "python3", "-c"])
        .arg("import sys; x = [str(i) for i in range(1000)]; sys.exit(0 if sys.stdin.read() == 'x\\n' else 5)")
        .assert()
        .success();
}
