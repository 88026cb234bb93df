//! `compare` on runs that hold nothing to compare, on workload names that would break the
//! Markdown table, and on flag values that used to be clamped silently or never finish.
//! (cli_compare.rs is at its size limit.)

use crate::common::compare_refused as refused;
use crate::common::{self, pybench, run, save, tempdir};
use pybench::report::model::CellStatus;

fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// A run whose every cell failed.
fn all_failed(name: &str) -> pybench::report::model::RunResults {
    let mut r = run(name, 3, steady);
    for c in &mut r.cells {
        c.status = CellStatus::Failed {
            reason: "killed by signal 9 (SIGKILL)".to_string(),
        };
        c.metrics.clear();
    }
    r
}

#[test]
fn runs_without_a_successful_cell_are_not_comparable() {
    let tmp = tempdir("cmp-nothing");
    let good = save(&tmp, "good", &run("good", 3, steady));
    let failed = save(&tmp, "failed", &all_failed("failed"));
    let failed2 = save(&tmp, "failed2", &all_failed("failed2"));
    // Two runs that measured nothing used to give an empty report and exit 0: a CI gate
    // passed on a run whose every cell had failed.
    let err = refused(&failed, &failed2);
    assert!(err.contains("neither run has a successful cell"), "{err}");
    let err = refused(&good, &failed);
    assert!(
        err.contains("the current run has no successful cell"),
        "{err}"
    );
    let err = refused(&failed, &good);
    assert!(err.contains("the baseline has no successful cell"), "{err}");
    // Even comparing only the shared cells.
    let a = pybench()
        .args(["compare", "--shared-only"])
        .arg(&failed)
        .arg(&failed2)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(2);
    assert!(a.get_output().stdout.is_empty());
}

/// Runs without a cell in common name the cells each has (a few, then how many more), as
/// the line about cells missing on one side does: "share no cell" alone left the user to
/// open both files to see that the suites differ.
#[test]
fn runs_sharing_no_cell_name_the_cells_of_each() {
    let tmp = tempdir("cmp-disjoint");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut other = run("other", 3, steady);
    for c in &mut other.cells {
        c.workload = format!("{}2", c.workload);
    }
    let o = save(&tmp, "other", &other);
    for shared_only in [false, true] {
        let mut cmd = common::compare(&b, &o);
        if shared_only {
            cmd.arg("--shared-only");
        }
        let a = cmd.assert().code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(
                "the runs share no cell (workload × allocator with a successful repetition): \
                 the baseline has dicts × pymalloc:cpython-3.11, dicts × system, \
                 churn × pymalloc:cpython-3.11, churn × system; the current run has \
                 dicts2 × pymalloc:cpython-3.11, dicts2 × system, \
                 churn2 × pymalloc:cpython-3.11, churn2 × system: nothing to compare"
            ),
            "{err}"
        );
    }
}

#[test]
fn a_workload_name_with_a_pipe_or_html_stays_text_in_its_table_cell() {
    let tmp = tempdir("cmp-names");
    let mut base = run("base", 3, steady);
    for c in &mut base.cells {
        if c.workload == "dicts" {
            // (A line break is refused as the file is read: cli_results_input.)
            c.workload = "my|load".to_string();
        }
        // Raw HTML, a link and a code span: `index.html` escapes them, and so must the
        // Markdown (it goes to $GITHUB_STEP_SUMMARY, which renders HTML).
        if c.workload == "churn" {
            c.workload = "<img src=x onerror=alert(1)> [l](u) `c`".to_string();
        }
    }
    let b = save(&tmp, "base", &base);
    let out = common::compare(&b, &b).arg("--all-rows").assert().success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // Every table line has the header's seven column bars, escaped ones not counted.
    let bars = |l: &str| l.replace("\\|", "").matches('|').count();
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(table.len() > 4, "{md}");
    for l in &table {
        assert_eq!(bars(l), 7, "{l}");
    }
    assert!(md.contains("| my\\|load × `system` |"), "{md}");
    assert!(
        md.contains("| \\<img src=x onerror=alert(1)\\> \\[l\\](u) \\`c\\` × `system` |"),
        "{md}"
    );
    assert!(!md.replace("\\<img", "").contains("<img"), "{md}");
    // A note that quotes the name (a cell only in the baseline) shows it as text as well: the
    // link and the code span were live there.
    let mut cur = base.clone();
    cur.cells
        .retain(|c| !(c.workload.starts_with("<img") && c.allocator == "system"));
    let c = save(&tmp, "cur", &cur);
    let out = common::compare(&b, &c)
        .arg("--shared-only")
        .assert()
        .success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        md.contains(
            "only in the baseline (1): \\<img src=x onerror=alert(1)\\> \\[l\\](u) \\`c\\` × system"
        ),
        "{md}"
    );
}

#[test]
fn nonsense_memory_floors_and_endless_resampling_are_refused() {
    let tmp = tempdir("cmp-flags");
    let b = save(&tmp, "base", &run("base", 3, steady));
    for (flag, value, says) in [
        (
            "--memory-floor",
            "-5",
            "--memory-floor must be a size in KiB, 0 or more",
        ),
        (
            "--memory-floor",
            "nan",
            "--memory-floor must be a size in KiB, 0 or more",
        ),
        (
            "--memory-floor",
            "inf",
            "--memory-floor must be a size in KiB, 0 or more",
        ),
        ("--resamples", "4000000000", "is not in 100..=1000000"),
    ] {
        let a = common::compare(&b, &b)
            .arg(format!("{flag}={value}"))
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{flag} {value}: {err}");
        assert!(err.contains(says), "{flag} {value}: {err}");
        assert!(a.get_output().stdout.is_empty());
    }
    common::compare(&b, &b)
        .arg("--memory-floor=0")
        .assert()
        .success();
}

#[test]
fn an_interrupted_run_is_named_in_the_report() {
    let tmp = tempdir("cmp-interrupted");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cut = run("cut", 3, steady);
    cut.cells.truncate(4 * 2); // two of three repetitions of the four cells
    cut.interrupted = true;
    let c = save(&tmp, "cut", &cut);
    let out = common::compare(&b, &c).assert().success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        md.contains("> **Note:** the current run was interrupted (or merged without all its shards): some of its cells have fewer than the 3 repetitions it asked for"),
        "{md}"
    );
    assert!(!md.contains("the baseline was interrupted"), "{md}");
}

#[test]
fn a_zero_or_negative_throughput_sample_is_refused_naming_its_cell() {
    let tmp = tempdir("cmp-samples");
    let b = save(&tmp, "base", &run("base", 3, steady));
    for bad in [0.0, -5.0, -0.0] {
        let mut r = run("bad", 3, steady);
        for c in &mut r.cells {
            c.throughput = Some(common::throughput_samples(
                &c.workload,
                c.repetition,
                vec![100.0, 101.0, 99.0],
                vec![2.0; 3],
            ));
        }
        let last = r.cells.last_mut().unwrap();
        last.throughput.as_mut().unwrap().ns_per_op[1] = bad;
        let (w, a, rep) = (
            last.workload.clone(),
            last.allocator.clone(),
            last.repetition,
        );
        let c = save(&tmp, &format!("bad{bad}"), &r);
        // Before: "-118.5 %" figures or an infinite speed, judged "not significant".
        let err = refused(&b, &c);
        assert!(
            err.contains(&format!(
                "not a pybench results file: {w} × {a} rep {rep}: a throughput sample of {bad:?} ns/event"
            )),
            "{bad}: {err}"
        );
    }
}

/// A steady run whose every `pools_used` figure is `f` of the steady one: a deterministic
/// metric, so any change is a regression or an improvement.
fn pools_changed(f: impl Fn(f64) -> f64) -> pybench::report::model::RunResults {
    let mut cur = run("cur", 3, steady);
    for c in &mut cur.cells {
        for m in c.metrics.iter_mut().filter(|m| m.name == "pools_used") {
            m.value = f(m.value);
        }
    }
    cur
}

#[test]
fn a_step_summary_that_cannot_be_written_does_not_hide_a_regression() {
    let tmp = tempdir("cmp-summary");
    let base = run("base", 3, steady);
    let b = save(&tmp, "base", &base);
    let c = save(&tmp, "cur", &pools_changed(|v| v + 1.0));
    let same = save(&tmp, "same", &run("same", 3, steady));
    // A folder where the summary file should be: it cannot be appended to.
    let summary = tmp.join("summary-is-a-folder");
    std::fs::create_dir(&summary).unwrap();
    let compare = |cur: &std::path::Path, code: i32| {
        let a = common::compare(&b, cur)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .assert()
            .code(code);
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    // The regression's exit code stands, the failed summary said in one line…
    let err = compare(&c, 1);
    assert!(err.contains("cannot append to"), "{err}");
    // …and without a regression the failure is the exit code.
    let err = compare(&same, 2);
    assert!(err.contains("cannot append to"), "{err}");
}

/// A planted huge figure (a damaged or hand-edited file) used to print as hundreds of digits
/// in the value, change and ratio columns; the largest a file may now hold (1e18) prints in
/// scientific notation.
#[test]
fn a_huge_planted_figure_prints_in_scientific_notation() {
    let tmp = tempdir("cmp-huge");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let c = save(&tmp, "cur", &pools_changed(|_| 1e18));
    for format in ["markdown", "csv"] {
        let a = pybench()
            .args(["compare", "--format", format])
            .arg(&b)
            .arg(&c)
            .env_remove("GITHUB_STEP_SUMMARY")
            .assert()
            .code(1);
        let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
        let longest_number = out
            .split(|ch: char| !ch.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_number < 30, "{format}: {out}");
        if format == "markdown" {
            assert!(out.contains("1.00e18"), "{out}");
        }
    }
}

/// Figures no run can measure (1e308, 5e-324) made every ratio to them infinite: "+inf %"
/// rows, a verdict and exit 1. The file is refused in one line naming cell and metric, by
/// compare and plot alike.
#[test]
fn a_figure_beyond_any_measurement_makes_the_file_unreadable() {
    let tmp = tempdir("cmp-absurd");
    let b = save(&tmp, "base", &run("base", 3, steady));
    for (name, planted, why) in [
        ("huge", 1e308, "beyond any figure a run measures"),
        ("tiny", 5e-324, "too small for any figure a run measures"),
    ] {
        let c = save(&tmp, name, &pools_changed(|_| planted));
        let err = refused(&b, &c);
        assert!(err.contains("pools_used is") && err.contains(why), "{err}");
        let err = common::refusal(pybench().arg("plot").arg(&c));
        assert!(err.contains(why), "{err}");
    }
}

/// A cell copied in a results file used to count as two samples; now the file is refused,
/// naming the cell, by every command that reads results.
#[test]
fn a_cell_written_twice_makes_the_file_unreadable() {
    let tmp = tempdir("cmp-dup");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    let copy = cur.cells[0].clone();
    cur.cells.push(copy.clone());
    let c = save(&tmp, "cur", &cur);
    let err = refused(&b, &c);
    let cell = format!(
        "{} × {} rep {} appears twice",
        copy.workload, copy.allocator, copy.repetition
    );
    assert!(err.contains(&cell), "{err}");
    let err = common::refusal(pybench().arg("plot").arg(&c));
    assert!(err.contains(&cell), "plot names the cell too: {err}");
    assert!(!c.join("index.html").exists(), "nothing plotted");
}

/// The folder given to `run --out` holds one timestamped run folder per run: with one run in
/// it, `compare` and `plot` read that run (the plots go into the run folder, beside its
/// results.json); with several, the choice is refused in one line naming the newest.
#[test]
fn an_out_folder_stands_for_its_only_run_and_is_refused_with_several() {
    let tmp = tempdir("cmp-outdir");
    let one = tmp.join("one");
    let run_dir = save(&one, "20260101T000000Z-dicts", &run("base", 3, steady));
    let other = save(&tmp, "other", &run("cur", 3, steady));
    common::compare(&one, &other).assert().success();
    pybench()
        .args(["plot", "--quiet"])
        .arg(&one)
        .assert()
        .success();
    assert!(
        run_dir.join("index.html").is_file(),
        "plots in the run folder"
    );
    assert!(!one.join("index.html").exists(), "not beside it");

    save(&one, "20260102T000000Z-dicts", &run("later", 3, steady));
    let err = refused(&one, &other);
    assert!(
        err.contains("holds no results.json but 2 run folders"),
        "{err}"
    );
    assert!(
        err.contains("20260102T000000Z-dicts"),
        "names the newest: {err}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A run of three repetitions whose `dicts` × system `retained_rss_bytes` takes `kib(rep)`.
fn with_retained(name: &str, kib: impl Fn(u32) -> f64) -> pybench::report::model::RunResults {
    let mut r = run(name, 3, steady);
    for c in &mut r.cells {
        if c.workload == "dicts" && c.allocator == "system" {
            let m = pybench::report::model::Metric::new(
                "retained_rss_bytes",
                kib(c.repetition) * 1024.0,
                "B",
            );
            c.metrics.push(m);
        }
    }
    r
}

#[test]
fn memory_that_flips_between_modes_passes_and_a_real_rise_fails() {
    let tmp = tempdir("compare-memory");
    // Identical builds whose retained RSS falls on modes 128 KiB apart: the medians differ
    // by 5.7 % (beyond the threshold and the floor) but the processes overlap.
    let b = save(
        &tmp,
        "base",
        &with_retained("base", |r| [2232.0, 2360.0, 2232.0][r as usize]),
    );
    let same = save(
        &tmp,
        "same",
        &with_retained("same", |r| [2360.0, 2232.0, 2360.0][r as usize]),
    );
    let columns = ["workload", "allocator", "metric", "verdict", "test"];
    let (rows, _) = common::compare_csv(&b, &same, &[], 0, columns);
    let retained = |rows: &[[String; 5]]| {
        rows.iter()
            .find(|r| r[0] == "dicts" && r[1] == "system" && r[2] == "retained_rss_bytes")
            .cloned()
            .unwrap()
    };
    let r = retained(&rows);
    assert_eq!(r[3], "not significant", "{r:?}");
    assert_eq!(r[4], "welch_log", "{r:?}");
    // A quarter more in every process: a regression, exit 1.
    let up = |r: u32| 1.25 * [2232.0, 2360.0, 2296.0][r as usize];
    let worse = save(&tmp, "worse", &with_retained("worse", up));
    let (rows, _) = common::compare_csv(&b, &worse, &[], 1, columns);
    assert_eq!(retained(&rows)[3], "regressed");
}

#[test]
fn latency_maxima_are_counted_not_listed_by_default() {
    let tmp = tempdir("compare-lat-max");
    // `lat_max` is one op's value: it moves by tens of percent between identical runs and
    // is never judged, so the default report counts it among the hidden rows.
    let with_max = |name: &str, ns: f64| {
        let mut r = run(name, 3, steady);
        for c in &mut r.cells {
            let m = pybench::report::model::Metric::with_op("lat_max", "all", ns, "ns");
            c.metrics.push(m);
        }
        save(&tmp, name, &r)
    };
    let (b, c) = (with_max("base", 30_000.0), with_max("cur", 52_000.0));
    let out = common::compare(&b, &c).assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!text.contains("lat_max[all]"), "{text}");
    assert!(
        text.contains("4 latency percentile(s) with too few timed ops above them to judge"),
        "{text}"
    );
    // Every row is still there on request, with its reason.
    pybench()
        .args(["compare", "--all-rows"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "not significant (0 timed op(s) above this percentile)",
        ));
    // JSON readers get the count as a field, not only inside the reason's text.
    let out = pybench()
        .args(["compare", "--all-rows", "--format", "json"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rows = json["rows"].as_array().expect("rows");
    let thin: Vec<_> = rows.iter().filter(|r| r["metric"] == "lat_max").collect();
    assert_eq!(thin.len(), 4, "{rows:?}");
    assert!(thin.iter().all(|r| r["thin_tail"] == 0), "{thin:?}");
    assert!(
        rows.iter()
            .filter(|r| r["metric"] != "lat_max")
            .all(|r| r["thin_tail"].is_null()),
        "{rows:?}"
    );
}

/// Times, rates, sizes and counts below zero are no measurement: a hand-edited run with every
/// figure at -1e300 was judged "0 regressed, 33 improved" (exit 0) and passed a CI gate. It is
/// refused in one line naming the file, the cell and the metric, by `plot` too; a difference
/// (net of null) below zero still loads.
#[test]
fn impossible_figures_are_refused_naming_file_cell_and_metric() {
    let tmp = tempdir("cmp-impossible");
    let mut base = run("base", 3, steady);
    for c in &mut base.cells {
        let net = pybench::report::model::Metric::new("net_loop_ns_per_op", -0.5, "ns");
        c.metrics.push(net);
    }
    let b = save(&tmp, "base", &base);
    common::compare(&b, &b).assert().success();
    let mut edited = base.clone();
    edited
        .cells
        .iter_mut()
        .flat_map(|c| &mut c.metrics)
        .for_each(|m| m.value = -1e300);
    let e = save(&tmp, "edited", &edited);
    let says = format!(
        "{}: not a pybench results file: dicts × pymalloc:cpython-3.11 rep 0: ops_per_sec is \
         -1e300 ops/s; only a difference can be negative",
        e.join("results.json").display()
    );
    let err = refused(&b, &e);
    assert!(err.contains(&says), "{err}");
    let a = pybench().arg("plot").arg(&e).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&says), "{err}");
}
