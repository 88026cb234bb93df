//! `--csv/--json/--markdown` targets that could only fail or clobber each other at the end of
//! a run are refused before anything is measured: one line, exit 2, no results folder.

use crate::common::{pybench, tempdir};
use predicates::prelude::*;

#[test]
fn export_targets_are_checked_before_measuring() {
    let tmp = tempdir("exports");
    let out = tmp.join("out");
    let file = tmp.join("a.x");
    let same = tmp.join(".").join("a.x");
    let missing = tmp.join("no-such-folder").join("a.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--csv".into(), "-".into(), "--json".into(), "-".into()],
            "--csv and --json both write to stdout",
        ),
        (
            vec![
                "--json".into(),
                file.display().to_string(),
                "--markdown".into(),
                same.display().to_string(),
            ],
            "--json and --markdown both write to",
        ),
        (
            vec!["--csv".into(), missing.display().to_string()],
            "does not exist",
        ),
        (
            vec!["--csv".into(), tmp.display().to_string()],
            "is a directory",
        ),
        (
            // A folder that does not exist yet, named with a trailing slash: Rust's `Path`
            // calls `tmp` its parent, so only the spelling tells it is no file name.
            vec!["--json".into(), format!("{}/new-folder/", tmp.display())],
            "names a folder (it ends in /)",
        ),
        (
            // A folder that takes no new file (as read-only or another user's do, whatever
            // the user running the tests): the export used to fail after the whole run.
            vec!["--markdown".into(), "/proc/pybench-export.md".into()],
            "--markdown /proc/pybench-export.md cannot be written: ",
        ),
    ];
    for (flags, says) in cases {
        let a = pybench()
            .args(["run", "-w", "churn", "-a", "system", "--scale", "20000"])
            .args(&flags)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{flags:?}: {err}");
    }
    assert!(!out.exists(), "nothing measured, nothing written");
    assert!(!file.exists());
}
