//! CLI tests for `pybench compare --relative-to ALLOC`: throughput judged as each allocator's
//! ratio to a reference measured in the same processes. A host that slows every allocator
//! alike fails an absolute gate and passes a relative one; one allocator's own change fails
//! both; a change of the reference itself is named; bad references are one-line errors.
//! The result files are built here, their verdicts known by construction.

use crate::common;

use crate::common::{cell, give_samples, pybench, save, tempdir, throughput_samples};
use pybench::report::model::RunResults;
use pybench::stats::SplitMix64;
use std::path::Path;

/// Rounds per process.
const ROUNDS: usize = 10;
const REPS: u32 = 5;
/// Net ns/event of each allocator; `null` costs 2.
const NET: [(&str, f64); 4] = [
    ("pymalloc:cpython-3.11", 8.0),
    ("system", 12.0),
    ("jemalloc", 7.0),
    ("mimalloc", 5.0),
];

/// A run of dicts: every allocator of [`NET`] and `null` in each of [`REPS`] processes,
/// taking turns over [`ROUNDS`] rounds. Each round has a host speed factor all contenders of
/// that round share (0.8 – 1.2: the noise pairing cancels) times `host`; each sample adds its
/// own ±1 %; allocator `a` takes `own(a)` times its [`NET`] cost.
fn paired_run(name: &str, seed: u64, host: f64, own: impl Fn(&str) -> f64) -> RunResults {
    let mut rng = SplitMix64::new(seed);
    let mut unit = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut r = common::run(name, 0, |_, _, _| 1e7);
    for rep in 0..REPS {
        let speed: Vec<f64> = (0..ROUNDS).map(|_| host * (0.8 + 0.4 * unit())).collect();
        let null: Vec<f64> = speed
            .iter()
            .map(|s| 2.0 * s * (0.99 + 0.02 * unit()))
            .collect();
        let mut contenders: Vec<(&str, f64)> = vec![("null", 0.0)];
        contenders.extend(NET);
        for (a, net) in contenders {
            let gross: Vec<f64> = (speed.iter().zip(&null))
                .map(|(s, n)| n + net * own(a) * s * (0.99 + 0.02 * unit()))
                .collect();
            let ns = if a == "null" { null.clone() } else { gross };
            let mut t = throughput_samples("dicts", rep, ns, null.clone());
            (t.min_time_ns, t.cold_ns_per_op) = (20_000_000, t.ns_per_op[0] * 1.5);
            let mut c = cell("dicts", a, rep, 1e7, 1.0);
            give_samples(&mut c, t);
            r.cells.push(c);
        }
    }
    r.parameters.repetitions = REPS;
    r.parameters.allocators = std::iter::once("null")
        .chain(NET.iter().map(|(a, _)| *a))
        .map(String::from)
        .collect();
    r
}

fn same(_: &str) -> f64 {
    1.0
}

/// (allocator, metric, verdict, relative_to) of every row of `--format csv`, and stderr.
fn rows(base: &Path, cur: &Path, extra: &[&str], code: i32) -> (Vec<[String; 4]>, String) {
    let columns = ["allocator", "metric", "verdict", "relative_to"];
    common::compare_csv(base, cur, extra, code, columns)
}

fn row<'a>(rows: &'a [[String; 4]], allocator: &str, metric: &str) -> Option<&'a [String; 4]> {
    rows.iter().find(|r| r[0] == allocator && r[1] == metric)
}

#[test]
fn a_host_that_slows_everyone_alike_fails_absolute_and_passes_relative() {
    let tmp = tempdir("cmp-rel");
    let b = save(&tmp, "base", &paired_run("base", 1, 1.0, same));
    let c = save(&tmp, "cur", &paired_run("cur", 2, 1.15, same));
    // Absolute: every allocator 15 % slower, and called so; the note on the shared shift
    // gives null's own move from its harness row (its throughput rows repeat that one).
    let (abs, err) = rows(&b, &c, &[], 1);
    assert!(err.contains("`null` -1"), "{err}");
    let r = row(&abs, "system", "net_ops_per_sec").unwrap();
    assert_eq!((r[2].as_str(), r[3].as_str()), ("regressed", ""), "{r:?}");
    // Relative to system: the ratios did not move.
    let (rel, err) = rows(&b, &c, &["--relative-to", "system"], 0);
    for (a, _) in NET.iter().filter(|(a, _)| *a != "system") {
        for m in [
            "ops_per_sec",
            "net_ops_per_sec",
            "loop_ns_per_op",
            "net_loop_ns_per_op",
        ] {
            let r = row(&rel, a, m).unwrap_or_else(|| panic!("no {a} {m}: {rel:?}"));
            assert_eq!(r[3], "system", "{r:?}");
            assert!(r[2] == "unchanged" || r[2] == "not significant", "{r:?}");
        }
    }
    // The reference's own throughput and null's are not judged; its memory still is.
    assert!(row(&rel, "system", "ops_per_sec").is_none(), "{rel:?}");
    assert!(row(&rel, "null", "loop_ns_per_op").is_none(), "{rel:?}");
    let mem = row(&rel, "system", "peak_rss_bytes").unwrap();
    assert_eq!(mem[3], "", "memory stays absolute: {mem:?}");
    // The harness's cost relative to the reference: null ÷ system, on system's row only —
    // every allocator of the process carries the same null rounds, so another's row would
    // repeat it (and count one change as several regressions).
    assert_eq!(
        row(&rel, "system", "harness_ns_per_op").unwrap()[3],
        "system"
    );
    assert!(
        row(&rel, "jemalloc", "harness_ns_per_op").is_none(),
        "{rel:?}"
    );
    assert!(!err.contains("not judged relative"), "{err}");
    // A bare `pymalloc` names the engine preset.
    let (rel, _) = rows(&b, &c, &["--relative-to", "pymalloc"], 0);
    let r = row(&rel, "jemalloc", "ops_per_sec").unwrap();
    assert_eq!(r[3], "pymalloc:cpython-3.11", "{r:?}");
}

#[test]
fn one_allocators_own_change_is_found_relative_to_another() {
    let tmp = tempdir("cmp-rel");
    let b = save(&tmp, "base", &paired_run("base", 3, 1.0, same));
    // jemalloc 20 % dearer, on a host 10 % faster than the baseline's.
    let dearer = |a: &str| if a == "jemalloc" { 1.2 } else { 1.0 };
    let c = save(&tmp, "cur", &paired_run("cur", 4, 0.9, dearer));
    let (rel, _) = rows(&b, &c, &["--relative-to", "system"], 1);
    assert_eq!(
        row(&rel, "jemalloc", "net_ops_per_sec").unwrap()[2],
        "regressed"
    );
    let m = row(&rel, "mimalloc", "net_ops_per_sec").unwrap();
    assert!(m[2] == "unchanged" || m[2] == "not significant", "{m:?}");
    // The Markdown report labels the ratio and says how it was formed.
    let out = pybench()
        .args(["compare", "--relative-to", "system"])
        .arg(&b)
        .arg(&c)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("| dicts × `jemalloc` | net_ops_per_sec ÷ `system` |"),
        "{text}"
    );
    assert!(
        text.contains("Throughput relative to `system` (`--relative-to`)"),
        "{text}"
    );
    assert!(
        text.contains("ops_per_sec ÷ `system` (1 workload)"),
        "{text}"
    );
}

#[test]
fn a_change_of_the_reference_itself_is_named() {
    let tmp = tempdir("cmp-rel");
    let b = save(&tmp, "base", &paired_run("base", 5, 1.0, same));
    // system 25 % faster: every other allocator's ratio to it falls alike.
    let faster = |a: &str| if a == "system" { 0.75 } else { 1.0 };
    let c = save(&tmp, "cur", &paired_run("cur", 6, 1.0, faster));
    let (_, err) = rows(&b, &c, &["--relative-to", "system"], 1);
    assert!(
        err.contains(
            "note: dicts: every allocator's throughput relative to `system` moved the same way"
        ) && err.contains("most likely `system`'s own"),
        "{err}"
    );
}

#[test]
fn references_that_cannot_serve_are_one_line_errors() {
    let tmp = tempdir("cmp-rel");
    let b = save(&tmp, "base", &paired_run("base", 7, 1.0, same));
    let c = save(&tmp, "cur", &paired_run("cur", 8, 1.0, same));
    let error = |base: &Path, reference: &str| -> String {
        let out = pybench()
            .args(["compare", "--relative-to", reference])
            .arg(base)
            .arg(&c)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    assert!(error(&b, "snmalloc").contains(
        "--relative-to snmalloc: not an allocator of either run (jemalloc, mimalloc, \
         pymalloc:cpython-3.11, system)"
    ));
    assert!(error(&b, "null").contains("harness's own cost"));
    // A baseline without per-pass samples: nothing can be paired, so nothing was gated.
    let mut v = serde_json::to_value(paired_run("old", 9, 1.0, same)).unwrap();
    for cell in v["cells"].as_array_mut().unwrap() {
        cell.as_object_mut().unwrap().remove("throughput");
    }
    let old = tmp.join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("results.json"), v.to_string()).unwrap();
    assert!(error(&old, "system").contains("no throughput figure could be paired with it"));
}

#[test]
fn an_allocator_that_never_shared_a_process_with_the_reference_is_named() {
    let tmp = tempdir("cmp-rel");
    // mimalloc measured in processes of its own (as another CPython's `cpython:3.X` is).
    let apart = |mut r: RunResults| {
        for c in r.cells.iter_mut().filter(|c| c.allocator == "mimalloc") {
            let t = c.throughput.as_mut().unwrap();
            t.group = format!("{}/apart", t.group);
        }
        r
    };
    let b = save(&tmp, "base", &apart(paired_run("base", 10, 1.0, same)));
    let c = save(&tmp, "cur", &apart(paired_run("cur", 11, 1.0, same)));
    let (rel, err) = rows(&b, &c, &["--relative-to", "system"], 0);
    assert!(row(&rel, "mimalloc", "ops_per_sec").is_none(), "{rel:?}");
    assert_eq!(row(&rel, "jemalloc", "ops_per_sec").unwrap()[3], "system");
    // One entry for the cell, its metrics listed, in one note (not the harness's: that row
    // is the reference's alone).
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("not judged relative to the reference"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(
        notes[0].ends_with(
            "dicts × mimalloc (ops_per_sec, loop_ns_per_op, net_loop_ns_per_op, \
             net_ops_per_sec, cold_ns_per_op)"
        ),
        "{err}"
    );
}

/// `r` with `null`'s time per event raised by `extra` ns in every round, and so every
/// allocator's gross time (its loop includes the harness's); without `null`'s own cells
/// unless `keep_null`.
fn harness_costs(mut r: RunResults, extra: f64, keep_null: bool) -> RunResults {
    use pybench::metrics::Id;
    r.cells.retain(|c| keep_null || c.allocator != "null");
    for c in &mut r.cells {
        let Some(mut t) = c.throughput.clone() else {
            continue;
        };
        t.null_ns_per_op.iter_mut().for_each(|x| *x += extra);
        t.ns_per_op.iter_mut().for_each(|x| *x += extra);
        // give_samples writes every figure the samples give afresh.
        let given = [
            Id::HarnessNsPerOp,
            Id::NetLoopNsPerOp,
            Id::NetOpsPerSec,
            Id::ColdNsPerOp,
            Id::ThroughputSamples,
            Id::WarmFaultsPerPass,
        ];
        c.metrics
            .retain(|m| !given.iter().any(|id| id.name() == m.name));
        give_samples(c, t);
    }
    r
}

/// Review, 2026-12-07 (`t5_harness.py`): only the harness got slower, and an absolute compare
/// said so once per allocator — `harness_ns_per_op` regressed on every allocator's row, each
/// carrying the same `null` rounds. It is judged once a workload: on `null`'s row, or on the
/// first allocator's where `null` was not compared.
#[test]
fn a_slower_harness_is_one_row_judged_absolutely() {
    let tmp = tempdir("cmp-harness");
    for (keep_null, owner) in [(true, "null"), (false, "pymalloc:cpython-3.11")] {
        let b = harness_costs(paired_run("base", 7, 1.0, same), 0.0, keep_null);
        let c = harness_costs(paired_run("cur", 8, 1.0, same), 0.6, keep_null);
        let b = save(&tmp, &format!("base-{keep_null}"), &b);
        let c = save(&tmp, &format!("cur-{keep_null}"), &c);
        let (abs, _) = rows(&b, &c, &[], 1);
        let harness: Vec<_> = abs.iter().filter(|r| r[1] == "harness_ns_per_op").collect();
        assert_eq!(harness.len(), 1, "{harness:?}");
        assert_eq!(
            (harness[0][0].as_str(), harness[0][2].as_str()),
            (owner, "regressed"),
            "{harness:?}"
        );
        // null's other throughput rows repeated that one (its samples are the harness's
        // rounds): a slower harness was three regressions on null's row alone.
        let repeated = [
            "ops_per_sec",
            "loop_ns_per_op",
            "net_loop_ns_per_op",
            "net_ops_per_sec",
        ];
        for m in repeated {
            assert!(row(&abs, "null", m).is_none(), "{m}: {abs:?}");
        }
        assert!(row(&abs, "system", "loop_ns_per_op").is_some(), "{abs:?}");
    }
}
