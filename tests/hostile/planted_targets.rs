//! Outputs a command finds already planted where it writes: a `plots` link inside the folder
//! `plot` writes to, and a `$GITHUB_STEP_SUMMARY` that is a FIFO nothing reads or one of the
//! results files `compare` reads (fuzzing of results folders, 2026-12-07).

use crate::common::{self, pybench, run, save, tempdir};
use std::time::Duration;

fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// Only a guard against a hang (the bug being tested), not a timing assertion: a compare of
/// two small files takes milliseconds, and a hung one would otherwise stall the suite.
const HANG_GUARD: Duration = Duration::from_secs(300);

#[test]
fn a_step_summary_fifo_that_nothing_reads_is_an_error_not_a_wait() {
    let tmp = tempdir("summary-fifo");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let c = save(&tmp, "cur", &run("cur", 3, steady));
    let fifo = tmp.join("summary");
    common::mkfifo(&fifo);
    let out = common::compare(&b, &c)
        .env("GITHUB_STEP_SUMMARY", &fifo)
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Nothing regressed, so the summary's failure is the exit code (2), said in one line.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("it is a FIFO that nothing reads"), "{err}");
    // The report itself was printed before.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("## pybench compare"));
}

#[test]
fn a_step_summary_naming_an_input_is_refused_before_comparing() {
    let tmp = tempdir("summary-input");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let c = save(&tmp, "cur", &run("cur", 3, steady));
    for (input, summary) in [(&b, b.join("results.json")), (&c, c.join("results.json"))] {
        let before = std::fs::read(&summary).unwrap();
        let err = common::refusal(common::compare(&b, &c).env("GITHUB_STEP_SUMMARY", &summary));
        assert!(
            err.contains("GITHUB_STEP_SUMMARY is")
                && err.contains("a results file this comparison reads"),
            "{input:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&summary).unwrap(),
            before,
            "{input:?} untouched"
        );
    }
    // Another file is appended to, as before.
    let summary = tmp.join("summary.md");
    common::compare(&b, &c)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(0);
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert!(appended.starts_with("## pybench compare"), "{appended}");
}

#[test]
fn a_plots_link_in_the_plotted_folder_is_refused_and_its_target_untouched() {
    let tmp = tempdir("plots-link");
    let dir = save(&tmp, "run", &run("run", 3, steady));
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("plots")).unwrap();
    let err = common::refusal(pybench().arg("plot").arg(&dir));
    assert!(
        err.contains("plots is a symbolic link") && err.contains("elsewhere"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(!dir.join("index.html").exists(), "nothing half written");
    // With the link gone the same command plots.
    std::fs::remove_file(dir.join("plots")).unwrap();
    pybench().arg("plot").arg(&dir).assert().success();
    assert!(dir.join("plots").is_dir() && dir.join("index.html").is_file());
}
