//! A pybench killed outright takes its children with it (issue 16, part of the smaller
//! defects in `hardening`): a `run` cell and an `exec` program must not outlive their parent.

use crate::common::tempdir;
use std::time::Duration;

/// The pids of `pid`'s children.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Waits (up to a minute) for `parent`'s first child (`what`), kills `parent` outright, and
/// checks that the child is gone within ten seconds.
fn killing_the_parent_ends_its_child(mut parent: std::process::Child, what: &str) {
    let until = |secs| std::time::Instant::now() + Duration::from_secs(secs);
    let deadline = until(60);
    let child = loop {
        if let Some(&c) = children(parent.id()).first() {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "no {what} started");
        std::thread::sleep(Duration::from_millis(20));
    };
    parent.kill().unwrap();
    parent.wait().unwrap();
    let deadline = until(10);
    while alive(child) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} {child} still runs after its parent was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cell_dies_with_its_parent() {
    let d = tempdir("orphan");
    let parent = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "run", "-w", "churn", "-a", "system", "-r", "50", "--scale", "3000000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(d.join("results"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    killing_the_parent_ends_its_child(parent, "cell");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_exec_program_dies_with_its_parent() {
    let d = tempdir("orphan-exec");
    let parent = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "exec",
            "-a",
            "system",
            "-r",
            "1",
            "--quiet",
            "--no-plots",
            "--out",
        ])
        .arg(d.join("results"))
        .args(["--", "sleep", "300"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    killing_the_parent_ends_its_child(parent, "program");
    let _ = std::fs::remove_dir_all(&d);
}
