//! A Python script that does not exist, named to `record`, `exec` or `validate`: refused in
//! one line before anything starts. Before, `record` kept a trace of the interpreter's
//! start-up and its failure to open the file as if it were the program's, and `exec` timed
//! that failure under every allocator.

use crate::common::{entries, have_python, pybench, tempdir};

#[test]
fn a_script_that_does_not_exist_is_refused_before_anything_starts() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("missing-script");
    let why = "the script missing.py does not exist, so python3 would exit with status 2 \
               before running anything";
    let one_line = |out: &std::process::Output| {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let record = pybench()
        .args(["record", "-o", "t.pbt", "--", "python3", "missing.py"])
        .current_dir(&tmp)
        .output()
        .unwrap();
    assert_eq!(
        one_line(&record),
        format!("pybench: error: cannot record: {why}\n")
    );
    assert_eq!(
        entries(&tmp),
        Vec::<String>::new(),
        "no trace, no temporary"
    );
    for command in ["exec", "validate"] {
        let out = pybench()
            .args([command, "-r", "1", "-a", "pymalloc", "--out", "results"])
            .args(["--", "python3", "missing.py"])
            .current_dir(&tmp)
            .output()
            .unwrap();
        assert_eq!(
            one_line(&out),
            format!("pybench: error: cannot run the program: {why}\n"),
            "{command}"
        );
        assert_eq!(
            entries(&tmp),
            Vec::<String>::new(),
            "{command}: no results folder"
        );
    }
    // Once it exists, it runs: the check looks at the file, not at the name.
    std::fs::write(
        tmp.join("missing.py"),
        "x = [str(i) for i in range(1000)]\n",
    )
    .unwrap();
    pybench()
        .args(["record", "-q", "-o", "t.pbt", "--", "python3", "missing.py"])
        .current_dir(&tmp)
        .assert()
        .success();
    assert!(tmp.join("t.pbt").is_file());
}

#[test]
fn a_script_whose_interpreter_is_missing_is_refused_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempdir("missing-interpreter");
    let script = tmp.join("s.py");
    std::fs::write(&script, "#!/nonexistent/interp\nprint(1)\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for command in ["exec", "validate"] {
        // Before: "cannot start ./s.py: No such file or directory" once a run, exit 3.
        let out = pybench()
            .args([command, "-r", "2", "-a", "system,pymalloc", "--out", "out"])
            .args(["--", "./s.py"])
            .current_dir(&tmp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.ends_with(
                "pybench: error: cannot start `./s.py`: its #! interpreter \
                 `/nonexistent/interp` does not exist\n"
            ),
            "{command}: {err}"
        );
        assert_eq!(entries(&tmp), ["s.py"], "{command}: nothing measured");
    }
}
