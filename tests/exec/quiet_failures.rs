//! What a user of the ground-truth commands sees when the program fails under `-q`, which
//! discards the program's output: the failure quotes the last line of its standard error
//! (a traceback's last line says why), where it used to say only "exited with code N".

use crate::common::{self, have_python, pybench, tempdir};

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// `pybench exec -q` of one run of `sh -c SCRIPT` under glibc, results under `out`.
fn quiet_exec(out: &std::path::Path, script: &str) -> assert_cmd::assert::Assert {
    pybench()
        .args([
            "exec",
            "-q",
            "--no-plots",
            "-r",
            "1",
            "-a",
            "system",
            "--out",
        ])
        .arg(out)
        .args(["--", "sh", "-c", script])
        .assert()
}

#[test]
fn a_quiet_exec_run_that_fails_says_what_the_program_last_said() {
    let tmp = tempdir("quiet-fail");
    let script = "echo noise; echo 'Traceback:' >&2; echo 'ValueError: bad input' >&2; exit 3";
    let a = quiet_exec(&tmp, script).code(3);
    let err = stderr(&a);
    let failed: Vec<&str> = err.lines().filter(|l| l.starts_with("failed:")).collect();
    assert_eq!(
        failed,
        ["failed: sh-inline × system rep 0: the program exited with code 3; its last words on stderr: ValueError: bad input"],
        "{err}"
    );
    // Its output stays discarded, and the reason is kept with the failed run.
    assert!(
        !err.contains("noise") && !err.contains("Traceback"),
        "{err}"
    );
    let json = common::results_json(&tmp);
    let reason = json["cells"][0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.ends_with("its last words on stderr: ValueError: bad input"),
        "{json}"
    );
}

#[test]
fn a_quiet_exec_run_that_fails_silently_says_only_how_it_ended() {
    let tmp = tempdir("quiet-fail-silent");
    let a = quiet_exec(&tmp, "exit 4").code(3);
    assert!(
        stderr(&a).contains("rep 0: the program exited with code 4\n"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_quiet_validate_whose_recording_fails_says_what_the_program_last_said() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("quiet-validate-fail");
    let a = common::quick_validate(&tmp.join("out"))
        .args([
            "--no-mutator",
            "--",
            "python3",
            "-c",
            "import no_such_module_here",
        ])
        .assert()
        .code(2);
    let err = stderr(&a);
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains(
            "(exit status 1); its last words on stderr: ModuleNotFoundError: No module named 'no_such_module_here'; nothing to validate"
        ),
        "{err}"
    );
}
