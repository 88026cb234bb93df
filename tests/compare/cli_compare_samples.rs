//! CLI tests for `pybench compare` on runs that carry per-pass throughput samples (issue 12
//! item 4): the per-process test reaching significance with the default three repetitions,
//! the fallback for files without samples, `--shared-only`, the default of changed rows only,
//! the CPU-model warning, and the note on a shift every allocator shares. The result files are built here, with the right verdict known
//! by construction.

use crate::common;

use crate::common::{give_samples, pybench, run, save, tempdir, throughput_samples};
use predicates::prelude::*;
use pybench::report::model::RunResults;
use pybench::stats::SplitMix64;
use std::path::Path;

/// Samples per process, as a default `--min-time` gives on a small workload.
const SAMPLES: usize = 20;

/// Gives every cell of `r` per-pass samples: `null` costs 2 ns/event, the allocator `net`
/// ns/event times its process's offset (`offsets[rep]`, the slow per-process noise) times
/// ±3 % per-pass noise drawn from `seed`; the cell's throughput metrics are recomputed from
/// them as the harness does.
fn with_samples(mut r: RunResults, net: f64, offsets: [f64; 3], seed: u64) -> RunResults {
    let mut rng = SplitMix64::new(seed);
    let mut noise = move || 0.97 + 0.06 * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    for c in &mut r.cells {
        let offset = offsets[c.repetition as usize % 3];
        let null: Vec<f64> = (0..SAMPLES).map(|_| 2.0 * noise()).collect();
        let gross: Vec<f64> = null.iter().map(|n| n + net * offset * noise()).collect();
        give_samples(
            c,
            throughput_samples(&c.workload, c.repetition, gross, null),
        );
    }
    r
}

/// The same run written by a pybench from before issue 12: no `throughput` in any cell.
fn save_without_samples(dir: &Path, name: &str, r: &RunResults) -> std::path::PathBuf {
    let mut v = serde_json::to_value(r).unwrap();
    for c in v["cells"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("throughput");
    }
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("results.json"), v.to_string()).unwrap();
    d
}

fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// (workload, allocator, metric, verdict, test) of every row of `--format csv`, and stderr.
fn rows(base: &Path, cur: &Path, extra: &[&str], code: i32) -> (Vec<[String; 5]>, String) {
    let columns = ["workload", "allocator", "metric", "verdict", "test"];
    common::compare_csv(base, cur, extra, code, columns)
}

fn verdict_of<'a>(rows: &'a [[String; 5]], w: &str, a: &str, metric: &str) -> &'a [String; 5] {
    rows.iter()
        .find(|r| r[0] == w && r[1] == a && r[2] == metric)
        .unwrap_or_else(|| panic!("no row {w} {a} {metric}: {rows:?}"))
}

/// Processes of one run differ by about 1 % (sd); the same spread on both sides.
const BASE_OFFSETS: [f64; 3] = [1.0, 1.012, 0.99];
const CUR_OFFSETS: [f64; 3] = [0.995, 1.008, 1.003];

#[test]
fn a_real_ten_percent_with_three_repetitions_is_significant() {
    let tmp = tempdir("cmp-samples");
    let b = save(
        &tmp,
        "base",
        &with_samples(run("base", 3, steady), 8.0, BASE_OFFSETS, 1),
    );
    let slower = with_samples(run("cur", 3, steady), 8.8, CUR_OFFSETS, 2);
    let c = save(&tmp, "cur", &slower);
    let (rows, _) = rows(&b, &c, &[], 1);
    for w in ["dicts", "churn"] {
        for a in common::ALLOCATORS {
            // A net time is a difference (it can be ≤ 0): tested as one, never as a ratio.
            for (m, test) in [
                ("net_loop_ns_per_op", "welch_difference_per_process"),
                ("net_ops_per_sec", "welch_log_per_process"),
            ] {
                let r = verdict_of(&rows, w, a, m);
                assert_eq!(r[3], "regressed", "{r:?}");
                assert_eq!(r[4], test, "{r:?}");
            }
        }
        // The harness did not change: null's own cost is not called different. It is
        // judged once a workload (every allocator carries the same null rounds).
        let h: Vec<_> = rows
            .iter()
            .filter(|r| r[0] == w && r[2] == "harness_ns_per_op")
            .collect();
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0][3] == "unchanged" || h[0][3] == "not significant",
            "{h:?}"
        );
    }
    // The Markdown report says how: processes, not passes, and the change with its interval.
    common::compare(&b, &c)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Welch's t-test"))
        .stdout(predicate::str::contains("3 + 3 processes of ≥ 20 samples"))
        .stdout(predicate::str::contains("| net_loop_ns_per_op |"));
}

#[test]
fn identical_distributions_are_not_called_different() {
    let tmp = tempdir("cmp-samples");
    let b = save(
        &tmp,
        "base",
        &with_samples(run("base", 3, steady), 8.0, BASE_OFFSETS, 3),
    );
    let c = save(
        &tmp,
        "cur",
        &with_samples(run("cur", 3, steady), 8.0, CUR_OFFSETS, 4),
    );
    let (rows, _) = rows(&b, &c, &[], 0);
    let timed: Vec<_> = rows
        .iter()
        .filter(|r| r[4].starts_with("welch_") && r[4].ends_with("_per_process"))
        .collect();
    assert_eq!(
        timed.len(),
        2 * (2 * 4 + 1),
        "four sampled metrics per cell and the harness once a workload: {rows:?}"
    );
    for r in timed {
        assert!(r[3] != "regressed" && r[3] != "improved", "{r:?}");
    }
}

#[test]
fn a_file_without_samples_still_compares_per_repetition_and_says_so() {
    let tmp = tempdir("cmp-samples");
    let base = with_samples(run("base", 3, steady), 8.0, BASE_OFFSETS, 1);
    let b = save_without_samples(&tmp, "base", &base);
    let c = save(
        &tmp,
        "cur",
        &with_samples(run("cur", 3, steady), 8.8, CUR_OFFSETS, 2),
    );
    let (rows, _) = rows(&b, &c, &[], 0);
    let net = verdict_of(&rows, "dicts", "system", "net_loop_ns_per_op");
    // The same 10 % as above, but one figure per repetition and a rank test: 3 + 3 values
    // cannot reach α = 0.05.
    assert_eq!(net[3], "not significant", "{net:?}");
    assert!(net[4].starts_with("mann_whitney"), "{net:?}");
    common::compare(&b, &c)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "the baseline has no per-pass throughput samples",
        ))
        .stdout(predicate::str::contains(
            "smallest p-value the rank test can give",
        ));
    // Both sides without: one note naming both, in the plural.
    let c = save_without_samples(&tmp, "cur-plain", &run("cur", 3, steady));
    common::compare(&b, &c)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "the baseline and the current run have no per-pass throughput samples",
        ));
}

#[test]
fn shared_only_names_the_missing_cells_and_compares_the_rest() {
    let tmp = tempdir("cmp-samples");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    cur.cells
        .retain(|c| !(c.workload == "churn" && c.allocator == "system"));
    cur.cells.push(common::cell("json", "system", 0, 1e7, 1.0));
    let c = save(&tmp, "cur", &cur);
    // Without the flag: refused, and the error says the flag exists.
    common::compare(&b, &c)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--shared-only"));
    let (rows, err) = rows(&b, &c, &["--shared-only"], 0);
    // (CSV's stderr also carries the report's other notes, after these.)
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("note: not compared"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per side: {err}");
    assert!(
        lines[0].contains("only in the baseline (1): churn × system"),
        "{err}"
    );
    assert!(
        lines[1].contains("only in the current run (1): json × system"),
        "{err}"
    );
    // The three shared cells are compared, the others are not.
    let cells: std::collections::BTreeSet<(String, String)> =
        rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(cells.len(), 3, "{cells:?}");
    assert!(!cells.contains(&("churn".into(), "system".into())));
    assert!(!cells.contains(&("json".into(), "system".into())));
    // Nothing in common: refused even with the flag.
    let mut other = run("other", 3, steady);
    for c in &mut other.cells {
        c.workload = format!("{}-other", c.workload);
    }
    let o = save(&tmp, "other", &other);
    pybench()
        .args(["compare", "--shared-only"])
        .arg(&b)
        .arg(&o)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the runs share no cell"));
    // The Markdown report names them too.
    pybench()
        .args(["compare", "--shared-only"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "not compared, only in the current run (1): json × system",
        ));
}

#[test]
fn only_changed_rows_are_shown_unless_all_rows_is_asked() {
    let tmp = tempdir("cmp-samples");
    let b = save(&tmp, "base", &run("base", 5, steady));
    let mut cur = run("cur", 5, steady);
    for c in cur.cells.iter_mut().filter(|c| c.workload == "dicts") {
        for m in c.metrics.iter_mut().filter(|m| m.name == "pools_used") {
            m.value += 1.0;
        }
    }
    let c = save(&tmp, "cur", &cur);
    let (all, _) = rows(&b, &c, &[], 1);
    let table = |extra: &[&str]| -> Vec<String> {
        let out = pybench()
            .arg("compare")
            .args(extra)
            .arg(&b)
            .arg(&c)
            .env_remove("GITHUB_STEP_SUMMARY")
            .assert()
            .code(1);
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .filter(|l| l.starts_with("| ") && !l.contains("**geomean**"))
            .skip(1) // the header
            .map(str::to_string)
            .collect()
    };
    let shown = table(&[]);
    assert_eq!(shown.len(), 1, "only the changed row: {shown:?}");
    assert!(shown[0].contains("| pools_used |") && shown[0].contains("regressed"));
    let out = common::compare(&b, &c).assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let hidden = format!(
        "{} row(s) hidden: {} unchanged",
        all.len() - 1,
        all.len() - 1
    );
    assert!(text.contains(&hidden), "{hidden}\n{text}");
    assert!(text.contains("`--all-rows` shows them"));
    // --all-rows: every row, regressed first.
    let every = table(&["--all-rows"]);
    assert_eq!(every.len(), all.len(), "{every:?}");
    assert!(every[0].contains("| pools_used |"), "{every:?}");
    assert!(every.iter().filter(|l| l.contains("| unchanged |")).count() == all.len() - 1);
}

#[test]
fn runs_from_different_cpu_models_are_warned_about_in_one_line() {
    let tmp = tempdir("cmp-samples");
    let mut base = run("base", 3, steady);
    base.machine.cpu_model = Some("AMD EPYC 7B13".to_string());
    let mut cur = run("cur", 3, steady);
    cur.machine.cpu_model = Some("Intel Xeon Platinum 8375C".to_string());
    let b = save(&tmp, "base", &base);
    let c = save(&tmp, "cur", &cur);
    // With CSV the report's notes go to stderr too (`note: …`); the warning is one line.
    let warnings = |err: &str| -> Vec<String> {
        let w: Vec<String> = err
            .lines()
            .filter(|l| !l.starts_with("note: "))
            .map(String::from)
            .collect();
        w
    };
    let (_, err) = rows(&b, &c, &[], 0);
    assert_eq!(warnings(&err).len(), 1, "{err}");
    assert!(
        warnings(&err)[0].contains("different CPUs (AMD EPYC 7B13 vs Intel Xeon Platinum 8375C)"),
        "{err}"
    );
    // Same CPU: no warning.
    let same = save(&tmp, "same", &{
        let mut r = run("same", 3, steady);
        r.machine.cpu_model = Some("AMD EPYC 7B13".to_string());
        r
    });
    let (_, err) = rows(&b, &same, &[], 0);
    assert!(warnings(&err).is_empty(), "{err}");
    // The same CPU with huge pages for every heap: a line of its own.
    let thp = |name: &str, mode: &str| {
        let mut r = run(name, 3, steady);
        r.machine.cpu_model = Some("AMD EPYC 7B13".to_string());
        r.machine.transparent_hugepages = Some(mode.to_string());
        save(&tmp, name, &r)
    };
    let (_, err) = rows(&thp("madvise", "madvise"), &thp("always", "always"), &[], 0);
    assert_eq!(warnings(&err).len(), 1, "{err}");
    assert!(
        warnings(&err)[0].contains("different transparent huge page modes (madvise vs always)"),
        "{err}"
    );
}

/// The core's clock as a run starts is recorded (here through the probe's fake) and
/// `compare` names two runs whose cores ran a quarter or more apart; a fake that is not a
/// list of numbers records nothing rather than a made-up clock.
#[test]
fn a_runs_clock_is_recorded_and_runs_whose_clocks_differ_are_warned_about() {
    let tmp = tempdir("cmp-clock");
    let quick_run = |name: &str, clock: &str| {
        let out = tmp.join(name);
        common::quick_churn_run(&out)
            .env(pybench::sys::clock_probe::FAKE_CLOCK_PROBE_ENV, clock)
            .assert()
            .success();
        out
    };
    let slow = quick_run("slow", "3.0,3.1,2.9");
    let fast = quick_run("fast", "4.0,4.1,3.9");
    let garbled = quick_run("garbled", "3.0,fast");
    let recorded = common::results_json(&slow)["machine"]["clock"].clone();
    assert_eq!(
        recorded,
        serde_json::json!({ "samples_ghz": [3.0, 3.1, 2.9] })
    );
    let none = common::results_json(&garbled)["machine"].clone();
    assert!(none.get("clock").is_none(), "{none}");
    let warned = |base: &Path, cur: &Path| {
        let a = common::compare(base, cur).assert();
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    let err = warned(&slow, &fast);
    assert!(
        err.contains("warning: the runs' cores ran at different clocks as each started (3.00 GHz in the baseline, 4.00 GHz in the current run)"),
        "{err}"
    );
    // No figure on one side: nothing to hold against the other.
    assert!(!warned(&slow, &garbled).contains("clocks"));
}

/// `r` with every cell copied for three more allocators, `null` among them.
fn with_more_allocators(mut r: RunResults) -> RunResults {
    let extra = ["jemalloc", "mimalloc", "null"];
    let copies: Vec<_> = r
        .cells
        .iter()
        .filter(|c| c.allocator == common::ALLOCATORS[0])
        .flat_map(|c| {
            extra.map(|a| {
                let mut c = c.clone();
                c.allocator = a.to_string();
                c
            })
        })
        .collect();
    r.cells.extend(copies);
    r.parameters.allocators.extend(extra.map(String::from));
    r
}

/// `r` with the throughput of the named workload's cells multiplied by `by(allocator)`.
fn faster(mut r: RunResults, workload: &str, by: impl Fn(&str) -> f64) -> RunResults {
    for c in r.cells.iter_mut().filter(|c| c.workload == workload) {
        let k = by(&c.allocator);
        for m in c.metrics.iter_mut().filter(|m| m.name == "ops_per_sec") {
            m.value *= k;
        }
    }
    r
}

#[test]
fn a_shift_every_allocator_shares_is_named_as_such() {
    let tmp = tempdir("cmp-shift");
    let base = with_more_allocators(run("base", 5, steady));
    let b = save(&tmp, "base", &base);
    let report = |cur: &RunResults, name: &str| -> String {
        let c = save(&tmp, name, cur);
        let out = common::compare(&b, &c).assert();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    // On dicts every allocator ran 8 – 12 % faster (null 4 %), as when the host sped up.
    let shift = |a: &str| match a {
        "null" => 1.04,
        "jemalloc" => 1.12,
        "mimalloc" => 1.10,
        _ => 1.08,
    };
    let text = report(&faster(base.clone(), "dicts", shift), "shifted");
    let note = "dicts: every allocator's throughput moved the same way (+8.0 % to +12.0 %; \
                `null` +4.0 %)";
    assert!(text.contains(note), "{text}");
    assert!(
        !text.contains("churn: every allocator"),
        "churn did not move:\n{text}"
    );
    // CSV carries rows only: the note goes to stderr.
    let csv = pybench()
        .args(["compare", "--format", "csv"])
        .arg(&b)
        .arg(tmp.join("shifted"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert();
    let err = String::from_utf8_lossy(&csv.get_output().stderr).to_string();
    assert!(err.contains(&format!("note: {note}")), "{err}");
    // One allocator faster and the rest not: its own change, no note.
    let one = |a: &str| if a == "jemalloc" { 1.12 } else { 1.0 };
    let text = report(&faster(base.clone(), "dicts", one), "one");
    assert!(!text.contains("every allocator's throughput"), "{text}");
    // One allocator within the threshold but the same way: still a shared shift.
    let within = |a: &str| if a == "system" { 1.03 } else { 1.10 };
    let text = report(&faster(base.clone(), "dicts", within), "within");
    assert!(
        text.contains("moved the same way (+3.0 % to +10.0 %"),
        "{text}"
    );
    // All faster but one slower: not a shift they share.
    let against = |a: &str| if a == "system" { 0.97 } else { 1.10 };
    let text = report(&faster(base.clone(), "dicts", against), "against");
    assert!(!text.contains("every allocator's throughput"), "{text}");
    // Every allocator slower: the note says so, with its signs.
    let slower = |a: &str| if a == "null" { 1.0 } else { 0.9 };
    let text = report(&faster(base, "dicts", slower), "slower");
    assert!(
        text.contains("moved the same way (-10.0 % to -10.0 %; `null` 0.0 %)"),
        "{text}"
    );
}
