//! CLI tests for `pybench engine` and `pybench list presets`.

use crate::common::pybench;
use predicates::prelude::*;

/// Value of a `name = value` line of the debugmallocstats layout.
fn value(out: &str, name: &str) -> usize {
    let line = out
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no line `{name}` in:\n{out}"));
    line.split('=')
        .nth(1)
        .unwrap()
        .trim()
        .replace(',', "")
        .parse()
        .unwrap()
}

#[test]
fn engine_prints_consistent_debugmallocstats() {
    let out = pybench()
        .args(["engine", "--steps", "50000"])
        .assert()
        .success();
    let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(out.starts_with("Small block threshold = 512, in 32 size classes.\n"));
    let arenas = value(&out, "# arenas allocated current");
    assert!(arenas >= 1);
    let arena_line = format!("{arenas} arenas * 1048576 bytes/arena");
    let total_arena_bytes = value(&out, &arena_line);
    assert_eq!(total_arena_bytes, arenas << 20);
    // The first "Total" line closes the byte lines, which add up to arenas × arena size.
    assert_eq!(value(&out, "Total"), total_arena_bytes);
    let in_use: usize = value(&out, "# bytes in allocated blocks");
    assert!(
        in_use > 0,
        "the mixed scenario leaves about half its slots live"
    );
}

/// The `name = value` lines line up as in CPython: `=` in column 36, 57 characters wide.
/// Checked against a real interpreter's output when one is installed.
#[test]
fn stats_lines_have_cpython_layout() {
    let out = pybench()
        .args(["engine", "--steps", "1000"])
        .assert()
        .success();
    let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let ours: Vec<&str> = out
        .lines()
        .filter(|l| l.contains('=') && !l.starts_with("Small block"))
        .collect();
    assert!(ours.len() >= 14, "{out}");
    let mut expected = (35, 57);
    let real = ["python3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"]
        .iter()
        .filter_map(|py| {
            std::process::Command::new(py)
                .args(["-c", "import sys; sys._debugmallocstats()"])
                .output()
                .ok()
        })
        .find(|r| r.status.success());
    match real {
        Some(r) => {
            let text = String::from_utf8_lossy(&r.stderr).into_owned();
            let line = text
                .lines()
                .find(|l| l.starts_with("# arenas allocated total"))
                .expect("CPython prints the arena counters");
            expected = (line.find('=').unwrap(), line.len());
        }
        _ => eprintln!("CPython 3.11 not found: checking against the recorded layout"),
    }
    for l in ours {
        assert_eq!((l.find('=').unwrap(), l.len()), expected, "line `{l}`");
    }
}

#[test]
fn thrash_counts_arenas_like_the_spec_per_version() {
    // pymalloc.md §4: 3.8 maps 2 arenas in each of 200 rounds; 3.9 keeps a spare: 2 + 199.
    for (preset, total) in [
        ("cpython-3.8", 400),
        ("cpython-3.9", 201),
        ("cpython-3.11", 1),
    ] {
        let out = pybench()
            .args(["engine", "-s", "thrash", "-p", preset])
            .assert()
            .success();
        let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert_eq!(value(&out, "# arenas allocated total"), total, "{preset}");
    }
}

#[test]
fn compare_system_reports_a_ratio() {
    pybench()
        .args(["engine", "--steps", "20000", "--compare-system"])
        .assert()
        .success()
        .stderr(predicate::str::contains("pymalloc / system time ratio:"));
}

#[test]
fn bad_presets_and_geometries_fail_with_one_line() {
    for (arg, needle) in [
        ("cpython-2.7", "valid presets: cpython-3.8, cpython-3.9"),
        (
            "arena=500K,pool=8K",
            "arena size 512000 is not a power of two",
        ),
        ("arena=16K,pool=8K", "fewer than 4 pools"),
        ("arena=1M", "expected comma-separated keys"),
        (
            "arena=256K,arena=1M,pool=4K",
            "`arena` is given more than once",
        ),
    ] {
        let out = pybench().args(["engine", "-p", arg]).assert().code(2);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(err.contains(needle), "{arg}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{arg}: one line, got {err}"
        );
    }
}

#[test]
fn zero_steps_are_refused() {
    for scenario in ["mixed", "thrash"] {
        pybench()
            .args(["engine", "-s", scenario, "--steps", "0"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--steps"));
    }
}

#[test]
fn unknown_scenario_lists_the_valid_ones() {
    pybench()
        .args(["engine", "-s", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("valid scenarios: mixed, thrash"));
}

#[test]
fn list_presets_names_every_preset() {
    let out = pybench().args(["list", "presets"]).assert().success();
    let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for v in 8..=13 {
        assert!(out.contains(&format!("cpython-3.{v} ")), "{out}");
    }
}
