//! CLI tests for `pybench compare` on result files built with the crate's own model types,
//! where the right verdict is known by construction. What compare notes about how the two
//! runs differ (arenas, calibration, build, stream, precision) is in `cli_compare_notes`.

use crate::common;

use crate::common::{cell, pybench, run, save, tempdir, JITTER};
use predicates::prelude::*;
use pybench::report::model::{Metric, FORMAT_VERSION};
use std::path::Path;

pub(super) fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// (workload, allocator, metric with its op, verdict) of every row of `--format csv`.
fn verdicts(base: &Path, cur: &Path, code: i32) -> Vec<(String, String, String, String)> {
    let columns = ["workload", "allocator", "metric", "op", "verdict"];
    let (rows, _) = common::compare_csv(base, cur, &[], code, columns);
    rows.into_iter()
        .map(|[w, a, m, op, v]| {
            let metric = if op.is_empty() {
                m
            } else {
                format!("{m}[{op}]")
            };
            (w, a, metric, v)
        })
        .collect()
}

#[test]
fn identical_inputs_are_all_unchanged() {
    let tmp = tempdir("compare");
    // One repetition a side too: no test can judge it, but the very same values are a
    // claim of no change that needs none (a run compared with itself).
    for reps in [1, 5] {
        let b = save(&tmp, &format!("base{reps}"), &run("base", reps, steady));
        let c = save(&tmp, &format!("cur{reps}"), &run("cur", reps, steady));
        let rows = verdicts(&b, &c, 0);
        assert!(rows.len() > 20, "{rows:?}");
        for r in &rows {
            assert_eq!(r.3, "unchanged", "{reps} repetition(s): {r:?}");
        }
        // The informational metrics are not compared.
        assert!(!rows.iter().any(|r| r.2.starts_with("timer_overhead_ns")));
    }
    let b = tmp.join("base5");
    // Markdown: the table and the geometric-mean rows, exit 0.
    common::compare(&b, b.join("results.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "| benchmark | metric | baseline | current | change | verdict |",
        ))
        .stdout(predicate::str::contains(
            "**geomean** `system` | ops_per_sec",
        ))
        .stdout(predicate::str::contains("Mann-Whitney U"));
}

#[test]
fn tight_twenty_percent_slowdown_regresses_and_appends_to_step_summary() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 5, steady));
    let slow = |w: &str, a: &str, _: u32| {
        if w == "churn" && a == "system" {
            1e7 / 1.2
        } else {
            1e7
        }
    };
    let c = save(&tmp, "cur", &run("cur", 5, slow));
    let rows = verdicts(&b, &c, 1);
    let find = |m: &str| {
        rows.iter()
            .find(|r| r.0 == "churn" && r.1 == "system" && r.2 == m)
            .unwrap()
            .3
            .clone()
    };
    assert_eq!(find("ops_per_sec"), "regressed");
    assert_eq!(find("loop_ns_per_op"), "regressed");
    let regressed: Vec<_> = rows.iter().filter(|r| r.3 == "regressed").collect();
    assert_eq!(regressed.len(), 2, "only the slowed cell: {regressed:?}");

    let summary = tmp.join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    common::compare(&b, &c)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("❌ regressed"));
    // Timing reported but not gating: still "regressed" in the report, exit 0.
    pybench()
        .args(["compare", "--fail-on", "memory,deterministic"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("❌ regressed"))
        .stdout(predicate::str::contains(
            "regressions of timing, counter metrics",
        ));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n"), "appended, not replaced");
    assert!(text.contains("churn × `system` | ops_per_sec"), "{text}");
    assert!(text.contains("-16.7 %"), "throughput change shown: {text}");
}

/// A tight 50 % speedup of one workload under both allocators is "improved" for each of
/// them (both throughput metrics), and an improvement does not fail the command. The rows
/// are counted first: a check of "every such row" holds as well when there is none.
#[test]
fn speedup_is_improved_and_exits_zero() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 5, steady));
    let fast = |w: &str, _: &str, _: u32| if w == "dicts" { 1.5e7 } else { 1e7 };
    let c = save(&tmp, "cur", &run("cur", 5, fast));
    let rows = verdicts(&b, &c, 0);
    for metric in ["ops_per_sec", "loop_ns_per_op"] {
        let sped: Vec<_> = rows
            .iter()
            .filter(|r| r.0 == "dicts" && r.2 == metric)
            .collect();
        assert_eq!(sped.len(), common::ALLOCATORS.len(), "{metric}: {rows:?}");
        for r in sped {
            assert_eq!(r.3, "improved", "{r:?}");
        }
    }
    // Nothing else changed.
    let churn: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "churn" && r.2 == "ops_per_sec")
        .collect();
    assert_eq!(churn.len(), common::ALLOCATORS.len(), "{rows:?}");
    assert!(churn.iter().all(|r| r.3 == "unchanged"), "{churn:?}");
}

#[test]
fn large_but_noisy_change_is_not_significant() {
    let tmp = tempdir("compare");
    // Baseline and current spread over a factor of 3; the current median is 40 % lower.
    let noisy_base = [1.0e7, 0.5e7, 1.5e7, 0.8e7, 1.2e7];
    let noisy_cur = [0.6e7, 1.3e7, 0.3e7, 0.5e7, 1.1e7];
    let b = save(
        &tmp,
        "base",
        &run("base", 5, |_, _, r| {
            noisy_base[r as usize] / JITTER[r as usize]
        }),
    );
    let c = save(
        &tmp,
        "cur",
        &run("cur", 5, |_, _, r| {
            noisy_cur[r as usize] / JITTER[r as usize]
        }),
    );
    let rows = verdicts(&b, &c, 0);
    for r in rows.iter().filter(|r| r.2 == "ops_per_sec") {
        assert_eq!(r.3, "not significant", "{r:?}");
    }
    // The Markdown report shows them by default: the change is beyond the threshold, the
    // test could not confirm it, and the reader should see that.
    let out = common::compare(&b, &c).assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let noisy = text
        .lines()
        .filter(|l| l.contains("| ops_per_sec |") && l.contains("not significant (p = "))
        .count();
    assert_eq!(noisy, 4, "{text}");
}

#[test]
fn one_repetition_is_never_significant() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 1, steady));
    let c = save(&tmp, "cur", &run("cur", 1, |_, _, _| 5e6));
    let rows = verdicts(&b, &c, 0);
    let ops: Vec<_> = rows.iter().filter(|r| r.2 == "ops_per_sec").collect();
    assert!(ops.iter().all(|r| r.3 == "not significant"), "{ops:?}");
    common::compare(&b, &c)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not significant (1 repetition)"));
}

#[test]
fn one_more_pool_is_reported() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 5, steady));
    let mut cur = run("cur", 5, steady);
    for c in cur.cells.iter_mut().filter(|c| c.workload == "dicts") {
        for m in c.metrics.iter_mut().filter(|m| m.name == "pools_used") {
            m.value += 1.0;
        }
    }
    let c = save(&tmp, "cur", &cur);
    let rows = verdicts(&b, &c, 1);
    let changed: Vec<_> = rows.iter().filter(|r| r.3 != "unchanged").collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].2, "pools_used");
    assert_eq!(changed[0].3, "regressed");
    common::compare(&b, &c)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("| 13 | 14 | +1 (+7.7 %)"));
}

#[test]
fn a_size_class_appearing_counts_from_zero_pools() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    for c in cur
        .cells
        .iter_mut()
        .filter(|c| c.allocator.starts_with("pymalloc"))
    {
        c.metrics
            .push(Metric::with_op("class_pools", "48", 1.0, "count"));
    }
    let c = save(&tmp, "cur", &cur);
    let rows = verdicts(&b, &c, 1);
    let new: Vec<_> = rows.iter().filter(|r| r.2 == "class_pools[48]").collect();
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|r| r.3 == "regressed"));
}

#[test]
fn missing_cells_exit_2_and_are_named() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    cur.cells
        .retain(|c| !(c.workload == "churn" && c.allocator == "system"));
    cur.cells.push(cell("json", "system", 0, 1e7, 1.0));
    let c = save(&tmp, "cur", &cur);
    let out = common::compare(&b, &c)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(
        err.trim_end(),
        "pybench: error: 2 cell(s) are missing on one side: the current run has no successful \
         churn × system; the baseline has no successful json × system (pass --shared-only to \
         compare the cells both runs have)"
    );
}

#[test]
fn different_scale_is_refused_unless_allowed() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    cur.parameters.scale = Some(200_000);
    let c = save(&tmp, "cur", &cur);
    let out = common::compare(&b, &c).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("scale (100000 vs 200000)"), "{err}");
    pybench()
        .args(["compare", "--allow-mismatch"])
        .arg(&b)
        .arg(&c)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--allow-mismatch"));
}

#[test]
fn different_units_are_refused() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    for c in &mut cur.cells {
        for m in c.metrics.iter_mut().filter(|m| m.name == "peak_rss_bytes") {
            m.unit = "KiB".to_string();
        }
    }
    let c = save(&tmp, "cur", &cur);
    common::compare(&b, &c)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "metric peak_rss_bytes is in B in the baseline but in KiB",
        ));
}

#[test]
fn bad_files_give_one_line_naming_the_file() {
    let tmp = tempdir("compare");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let corrupt = tmp.join("corrupt.json");
    std::fs::write(&corrupt, "{\"format_version\": 1, \"cells\": [").unwrap();
    let mut newer = serde_json::to_value(run("new", 3, steady)).unwrap();
    newer["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
    let newer_path = tmp.join("newer.json");
    std::fs::write(&newer_path, newer.to_string()).unwrap();
    let not_results = tmp.join("other.json");
    std::fs::write(&not_results, "{\"hello\": 1}").unwrap();
    let empty = tmp.join("empty-folder");
    std::fs::create_dir(&empty).unwrap();
    let cases: [(&Path, &str); 5] = [
        (&corrupt, "not a pybench results file"),
        (
            &newer_path,
            "results format version 2, this pybench reads version 1",
        ),
        (&not_results, "no format_version field"),
        (&tmp.join("absent"), "cannot read"),
        (&empty, "not a results folder"),
    ];
    for (path, message) in cases {
        let out = common::compare(&b, path).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(message), "{err}");
        assert!(
            err.contains(&*path.file_name().unwrap().to_string_lossy()),
            "names the file: {err}"
        );
    }
}

/// The thresholds are printed as given: `{:.0}` turned `--threshold 2.5` into "±2 %" in one
/// build of the text and 0.1 into "±0 %", a threshold other than the one applied.
#[test]
fn thresholds_are_printed_with_their_digits() {
    let tmp = tempdir("compare-threshold");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let c = save(&tmp, "cur", &run("cur", 3, steady));
    let out = common::compare(&b, &c)
        .args(["--threshold", "2.5", "--counter-threshold", "0.1"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("Other timing (threshold ±2.5 %) and counters (±0.1 %)"),
        "{text}"
    );
    assert!(!text.contains("±2 %") && !text.contains("±0 %"), "{text}");
    // A whole number stays whole.
    let out = common::compare(&b, &c)
        .args(["--threshold", "7"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("Other timing (threshold ±7 %)"), "{text}");
}
