//! CLI tests of what `pybench compare` says about how the two runs differ beyond their
//! figures: pymalloc's arenas released or held, calibrations and builds, a workload replayed
//! as another stream (by length or by fingerprint), and a run sized by `--precision`.

use super::cli_compare::steady;
use crate::common;
use crate::common::{pybench, run, save, tempdir};
use predicates::prelude::*;
use pybench::report::model::RunResults;
use std::path::Path;

/// What a successful `pybench compare BASE CUR` printed, stdout then stderr.
fn compare_output(base: &Path, cur: &Path) -> String {
    let out = common::compare(base, cur).assert().code(0);
    let o = out.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Two runs with the default calibration, the baseline's saved without the calibration
/// field `field` (as a results file written before the field existed): the old file's
/// path, the baseline as it is, and the saved current run.
fn runs_one_without(
    tmp: &Path,
    field: &str,
) -> (
    std::path::PathBuf,
    pybench::report::model::RunResults,
    std::path::PathBuf,
) {
    use pybench::harness::throughput::Calibration;
    let mut base = run("base", 3, steady);
    base.parameters.calibration = Some(Calibration::DEFAULT);
    let mut json = serde_json::to_value(&base).unwrap();
    json["parameters"]["calibration"]
        .as_object_mut()
        .unwrap()
        .remove(field);
    let old = tmp.join("old.json");
    std::fs::write(&old, json.to_string()).unwrap();
    let mut cur = run("cur", 3, steady);
    cur.parameters.calibration = Some(Calibration::DEFAULT);
    let c = save(tmp, "cur", &cur);
    (old, base, c)
}

/// A baseline from before pymalloc's arenas were mapped side by side (its calibration has no
/// such field) against a run that mapped them so: a warning and the calibration note name
/// the difference; two runs alike say neither.
#[test]
fn runs_with_arenas_scattered_and_side_by_side_are_told_apart() {
    let tmp = tempdir("compare-span");
    let (old, base, c) = runs_one_without(&tmp, "arenas_side_by_side");
    let all = compare_output(&old, &c);
    assert!(
        all.contains(
            "arenas were mapped wherever mmap found room in the baseline and side by side in a \
             span of their own, one page past a pool boundary in the current run"
        ),
        "{all}"
    );
    assert!(all.contains("arenas wherever mmap found room vs"), "{all}");
    let b = save(&tmp, "base", &base);
    let all = compare_output(&b, &c);
    assert!(!all.contains("wherever mmap found room"), "{all}");
}

/// A baseline from before arenas in the span started one page past a pool boundary (its
/// calibration has no such field): the warning names the change and that arena and pool
/// counts move with it, and the calibration note says where the span put them.
#[test]
fn runs_with_arenas_on_and_past_pool_boundaries_are_told_apart() {
    let tmp = tempdir("compare-pool-boundary");
    let (old, _, c) = runs_one_without(&tmp, "arenas_past_pool_boundary");
    let all = compare_output(&old, &c);
    assert!(
        all.contains(
            "arenas were mapped side by side in a span of their own in the baseline and side by \
             side in a span of their own, one page past a pool boundary in the current run"
        ),
        "{all}"
    );
    assert!(all.contains("arena and pool counts differ"), "{all}");
    assert!(all.contains("arenas where the span put them vs"), "{all}");
}

/// A baseline whose cleanups let pymalloc release its arenas (a run from before 2026-12-04,
/// whose calibration has no such field, reads as one) against a run that held them: a
/// warning names the difference, and the calibration note says it too.
#[test]
fn runs_that_released_and_held_pymalloc_arenas_between_passes_are_told_apart() {
    let tmp = tempdir("compare-arenas");
    let (old, base, c) = runs_one_without(&tmp, "release_between_passes");
    let all = compare_output(&old, &c);
    assert!(
        all.contains(
            "arenas were released between throughput passes in the baseline and held in the \
             current run"
        ),
        "{all}"
    );
    assert!(all.contains("arenas released between passes vs"), "{all}");
    // A run from before calibrations were recorded (2026-11-30) but with per-pass samples
    // released too: the warning, without the calibration note.
    let mut older = base.clone();
    older.parameters.calibration = None;
    for c in &mut older.cells {
        c.throughput = Some(pybench::report::model::ThroughputSamples {
            group: "g".into(),
            min_time_ns: 1,
            passes_per_sample: 1,
            cold_ns_per_op: 10.0,
            ns_per_op: vec![10.0; 3],
            null_ns_per_op: vec![1.0; 3],
            warm_faults_per_pass: None,
            arenas_outside_span: 0,
            streamed: None,
            cold_primed_bytes: None,
        });
    }
    let o = save(&tmp, "older", &older);
    let all = compare_output(&o, &c);
    assert!(
        all.contains("released between throughput passes in the baseline"),
        "{all}"
    );
    // Both held: neither line.
    let b = save(&tmp, "base", &base);
    let all = compare_output(&b, &c);
    assert!(
        !all.contains("between throughput passes") && !all.contains("released between"),
        "{all}"
    );
}

#[test]
fn different_calibrations_and_builds_are_compared_with_a_note_each() {
    use pybench::harness::throughput::Calibration;
    let tmp = tempdir("compare");
    let mut base = run("base", 3, steady);
    base.parameters.calibration = Some(Calibration::DEFAULT);
    base.machine.build = Some("release".into());
    let mut cur = run("cur", 3, steady);
    cur.parameters.calibration = Some(Calibration {
        rounds: 5,
        fixed_layout: true,
        ..Calibration::DEFAULT
    });
    cur.machine.build = Some("checked".into());
    let (b, c) = (save(&tmp, "base", &base), save(&tmp, "cur", &cur));
    let all = compare_output(&b, &c);
    assert!(
        all.contains(
            "throughput was measured differently (min-time 0.02 s, 20 rounds, 1 warm-up \
             pass(es) vs min-time 0.02 s, 5 rounds, 1 warm-up pass(es), fixed layout)"
        ),
        "{all}"
    );
    assert!(
        all.contains("different builds of pybench (release vs checked)"),
        "{all}"
    );
    // The same calibration and build on both sides: neither note.
    let (b2, c2) = (save(&tmp, "base2", &base), save(&tmp, "cur2", &base));
    let all = compare_output(&b2, &c2);
    assert!(
        !all.contains("measured differently") && !all.contains("different builds"),
        "{all}"
    );
}

/// A workload whose stream changed between the two runs (a different number of allocator
/// events a pass: a changed built-in model, scale or trace) is named on stderr; the other
/// is not, and the comparison still runs.
#[test]
fn a_workload_replayed_as_a_different_stream_is_named() {
    let tmp = tempdir("compare");
    let base = run("base", 3, steady);
    let mut cur = run("cur", 3, steady);
    for c in cur.cells.iter_mut().filter(|c| c.workload == "churn") {
        c.events += 7;
    }
    let (b, c) = (save(&tmp, "base", &base), save(&tmp, "cur", &cur));
    let all = compare_output(&b, &c);
    assert!(
        all.contains("warning: churn: the runs replayed different streams (1000 vs 1007"),
        "{all}"
    );
    assert!(!all.contains("dicts: the runs replayed"), "{all}");
}

/// End to end: two traces of one name and one length that differ in a single request
/// size replay as different streams, and `compare` says so by their fingerprints; the same
/// trace run twice draws no such warning.
#[test]
fn compare_names_a_stream_changed_at_the_same_length() {
    use pybench::workload::{Domain, Event};
    let dir = tempdir("cmp-fingerprint");
    let events = |odd_size: u32| -> Vec<Event> {
        let mut v = Vec::new();
        for round in 0..20u32 {
            for slot in 0..500u32 {
                let size = if round == 7 && slot == 3 {
                    odd_size
                } else {
                    32
                };
                v.push(Event::Alloc {
                    slot,
                    size,
                    domain: Domain::Obj,
                    thread: 0,
                });
            }
            v.extend((0..500u32).map(|slot| Event::Free { slot, thread: 0 }));
        }
        v
    };
    let traces = [("a", 32), ("b", 48)].map(|(sub, size)| {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        common::write_trace(&d, "t", &events(size))
    });
    let run = |trace: &Path, out: &str| {
        let out = dir.join(out);
        pybench()
            .args(["run", "--trace"])
            .arg(trace)
            .args([
                "-a",
                "system",
                "-r",
                "1",
                "--rounds",
                "2",
                "--min-time",
                "0.001",
            ])
            .args(["--no-plots", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success();
        common::run_dir(&out)
    };
    let (first, again, changed) = (
        run(&traces[0], "first"),
        run(&traces[0], "again"),
        run(&traces[1], "changed"),
    );
    let stderr = |base: &Path, cur: &Path| {
        let out = common::compare(base, cur).output().unwrap();
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let warned = stderr(&first, &changed);
    assert!(
        warned.contains("t: the runs replayed different streams (fingerprints ")
            && warned.contains("both 20000 allocator events a pass"),
        "{warned}"
    );
    let same = stderr(&first, &again);
    assert!(!same.contains("different streams"), "{same}");
}

/// A side measured with `run --precision` is described with it: its `-r` is then the fewest
/// processes a workload got, not how many it had.
#[test]
fn a_precision_run_is_described_with_its_precision_not_only_its_r() {
    let tmp = tempdir("compare-precision");
    let b = save(&tmp, "base", &run("base", 5, steady));
    let mut cur = run("cur", 5, steady);
    cur.parameters.precision = Some(pybench::report::precision::Precision {
        half_width: 0.025,
        max_repetitions: 200,
    });
    let c = save(&tmp, "cur", &cur);
    common::compare(&b, &c)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("pybench 0.1.0, 5 rep., "))
        .stdout(predicate::str::contains(
            "pybench 0.1.0, ≥ 5 rep. to ±2.5 %, ",
        ));
}

/// `run`'s latency figures come from its first three repetitions (`--memory-repetitions`),
/// and a rank test over 3 + 3 values cannot reach p < 0.05: such rows are counted, not
/// listed, by default (until 2026-12-06 they were most of a default report), and the note
/// says how to get enough. With 4 a side the same change is a verdict.
#[test]
fn rows_no_test_could_confirm_are_counted_not_listed_and_four_a_side_judge_them() {
    let tmp = tempdir("cmp-reach");
    let slower = |reps: u32, name: &str| {
        let mut r = run(name, reps, steady);
        for m in r.cells.iter_mut().flat_map(|c| c.metrics.iter_mut()) {
            if m.name == "lat_p50" {
                m.value *= 1.4;
            }
        }
        r
    };
    let table_rows = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("| ") && l.contains("lat_p50"))
            .map(str::to_string)
            .collect()
    };
    let b = save(&tmp, "b3", &run("b3", 3, steady));
    let c = save(&tmp, "c3", &slower(3, "c3"));
    let out = compare_output(&b, &c);
    assert!(table_rows(&out).is_empty(), "{out}");
    // Every (workload, allocator) pair's lat_p50 moved; the CSV lists them all.
    let csv = common::compare_csv(&b, &c, &[], 0, ["metric", "verdict"]).0;
    let moved = csv
        .iter()
        .filter(|r| r[0] == "lat_p50" && r[1] == "not significant")
        .count();
    assert!(moved >= 4, "{csv:?}");
    assert!(
        out.contains(&format!(
            "{moved} not significant whose repetitions could not have made them so"
        )),
        "{out}"
    );
    assert!(
        out.contains("record 4 or more a side (`run` measures latency and memory in its first --memory-repetitions, 3 by default, however many -r; 8 for one row to stand out among a hundred judged together)"),
        "{out}"
    );
    // --all-rows lists them.
    let all = pybench()
        .args(["compare", "--all-rows"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(0);
    let all = String::from_utf8_lossy(&all.get_output().stdout).into_owned();
    assert_eq!(table_rows(&all).len(), moved, "{all}");
    // Four a side: the same change regresses every one of them (exit 1), and no note.
    let b = save(&tmp, "b4", &run("b4", 4, steady));
    let c = save(&tmp, "c4", &slower(4, "c4"));
    let a = common::compare(&b, &c).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let listed = table_rows(&out);
    assert_eq!(listed.len(), moved, "{out}");
    assert!(listed.iter().all(|l| l.contains("regressed")), "{listed:?}");
    assert!(!out.contains("could not have made them so"), "{out}");
    assert!(
        !out.contains("smallest p-value the rank test can give"),
        "{out}"
    );
}

/// A throughput regression between two runs made one after the other: compare notes that
/// the runs were measured apart in time, when each started, and how to tell drift from a
/// change; the same runs as shards that took turns in time (merged, `scripts/ab.sh`) get
/// the same verdicts and no such note.
#[test]
fn a_timing_change_between_runs_made_apart_is_noted_and_interleaved_runs_are_not() {
    let tmp = tempdir("compare-apart");
    let slow = |w: &str, a: &str, _: u32| {
        if w == "churn" && a == "system" {
            1e7 / 1.2
        } else {
            1e7
        }
    };
    let (mut base, mut cur) = (run("base", 5, steady), run("cur", 5, slow));
    base.started_utc = "20261206T140000Z".into();
    cur.started_utc = "20261206T141500Z".into();
    let note = "changed between runs measured apart in time (the baseline started 2026-12-06 \
                14:00:00 UTC, the current run 2026-12-06 14:15:00 UTC), not interleaved";
    let output = |b: &RunResults, c: &RunResults, name: &str| {
        let (b, c) = (
            save(&tmp, &format!("{name}-b"), b),
            save(&tmp, &format!("{name}-c"), c),
        );
        let out = common::compare(&b, &c).assert().code(1);
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let apart = output(&base, &cur, "apart");
    assert!(apart.contains(note), "{apart}");
    assert!(apart.contains("scripts/ab.sh"), "{apart}");
    // Interleaved: the baseline's shards started at 14:00 and 14:10, the current run's at
    // 14:05 and 14:15.
    base.shard_starts_utc = vec!["20261206T140000Z".into(), "20261206T141000Z".into()];
    cur.shard_starts_utc = vec!["20261206T140500Z".into(), "20261206T141500Z".into()];
    let interleaved = output(&base, &cur, "interleaved");
    assert!(interleaved.contains("regressed"), "{interleaved}");
    assert!(!interleaved.contains("measured apart"), "{interleaved}");
}
