//! `run --mutator` (issue 14 item 2) from the command line: a paced trace replays with the
//! mutator, sources without pace are refused in one line (exit 2), and traces without pace
//! still replay in the plain mode.

use crate::common;

use pybench::trace::{Meta, TraceWriter};
use pybench::workload::{Domain, Event};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn meta() -> Meta {
    Meta {
        source: "recorded".into(),
        name: "small".into(),
        python: "3.11".into(),
        ..Meta::default()
    }
}

/// A small stream: objects of a few sizes, most freed soon, some kept to the end.
fn events() -> Vec<Event> {
    let mut ev = Vec::new();
    for i in 0..3000u32 {
        ev.push(Event::Alloc {
            slot: i % 40,
            size: [16, 32, 48, 100][i as usize % 4],
            domain: if i % 9 == 0 { Domain::Raw } else { Domain::Obj },
            thread: 0,
        });
        if i % 40 == 39 {
            ev.push(Event::Alloc {
                slot: 40 + i / 40,
                size: 24,
                domain: Domain::Obj,
                thread: 0,
            });
        }
        ev.push(Event::Free {
            slot: i % 40,
            thread: 0,
        });
    }
    ev
}

/// Writes the events as a trace, with a pace of `pace` cycles per event when given.
fn trace(dir: &std::path::Path, name: &str, pace: Option<u64>) -> PathBuf {
    let path = dir.join(format!("{name}.pbt"));
    let f = std::fs::File::create(&path).unwrap();
    let mut w = match pace {
        Some(_) => TraceWriter::with_pace(f, &meta()).unwrap(),
        None => TraceWriter::new(f, &meta()).unwrap(),
    };
    for e in events() {
        w.push_paced(&e, pace.unwrap_or(0)).unwrap();
    }
    w.finish(BTreeMap::new()).unwrap();
    path
}

fn run(args: &[&str], out: &std::path::Path) -> assert_cmd::assert::Assert {
    common::pybench()
        .args(["run", "-q", "--no-plots", "-r", "1", "--rounds", "2"])
        .args(["--min-time", "0.001", "-a", "system"])
        .arg("--out")
        .arg(out)
        .args(args)
        .assert()
}

fn throughput_of(out: &std::path::Path) -> Vec<(String, f64)> {
    let r = common::results_json(out);
    r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ns = c["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "loop_ns_per_op")
                .map_or(f64::NAN, |m| m["value"].as_f64().unwrap());
            (c["allocator"].as_str().unwrap().to_string(), ns)
        })
        .collect()
}

/// `--mutator-params` alone puts a run in mutator mode (it implies `--mutator`): the
/// `system` cell was measured with the mutator (it carries the fit's note, the mark
/// `is_mutator_cell` reads), and results.json records the parameters given, not the
/// defaults. A plain replay also gives finite throughput figures, so those alone would not
/// tell the two modes apart.
#[test]
fn a_paced_trace_replays_with_the_mutator_end_to_end() {
    use pybench::harness::mutator::MutatorParams;
    use pybench::report::model::RunResults;
    let dir = common::tempdir("mutator-e2e");
    let t = trace(&dir, "paced", Some(2000));
    let out = dir.join("out");
    let params = ["--mutator-params", "recent=0.8,ring=8,alu=4"];
    run(
        &[&params[..], &["--trace", t.to_str().unwrap()]].concat(),
        &out,
    )
    .success();
    let got = throughput_of(&out);
    // Both contenders of the throughput process measured.
    for who in ["null", "system"] {
        assert!(
            got.iter()
                .any(|(a, ns)| a == who && ns.is_finite() && *ns > 0.0),
            "{who}: {got:?}"
        );
    }
    let r: RunResults = serde_json::from_value(common::results_json(&out)).unwrap();
    assert_eq!(
        r.parameters.mutator,
        Some(MutatorParams {
            recent: 0.8,
            ring: 8,
            alu: 4
        }),
        "the parameters given are recorded"
    );
    let system: Vec<_> = r.cells.iter().filter(|c| c.allocator == "system").collect();
    assert_eq!(system.len(), 1, "one system cell: {:?}", r.cells);
    assert!(
        pybench::harness::mutator_fit::is_mutator_cell(system[0]),
        "the system cell was measured in mutator mode: {:?}",
        system[0].notes
    );
}

/// The fit's note of the `system` cell: (steps, cycles per step, pace in ticks, mutator
/// time ÷ pace).
fn fit_of(out: &std::path::Path) -> (u64, f64, u64, Option<f64>) {
    let r = common::results_json(out);
    let cell = r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["allocator"] == "system")
        .unwrap();
    let note = cell["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .find(|n| n.starts_with("mutator fit on "))
        .unwrap_or_else(|| panic!("no fit note in {cell}"))
        .to_string();
    let word_before = |w: &str| -> String {
        let words: Vec<&str> = note.split_whitespace().collect();
        let i = words.iter().position(|x| *x == w).unwrap();
        words[i - 1].to_string()
    };
    let word_after = |w: &str| -> String {
        let words: Vec<&str> = note.split_whitespace().collect();
        let i = words.iter().position(|x| *x == w).unwrap();
        words[i + 1].to_string()
    };
    let cps: f64 = note
        .split(": ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let ratio = note
        .split("over the pace ")
        .nth(1)
        .and_then(|r| r.split('×').next())
        .and_then(|r| r.parse().ok());
    (
        word_before("steps").parse().unwrap(),
        cps,
        word_after("for").parse().unwrap(),
        ratio,
    )
}

/// The mutator's work comes from the trace's recorded pace: no pace gives no steps and no
/// fitting pass; a pace of 20 000 cycles an event reaches the fit whole and is divided into
/// steps by the fitted cost of a step. Only the deterministic parts are checked: the fitted
/// cost itself comes from timed passes on a shared machine (the fit's convergence is checked
/// on a modelled cost by `harness::mutator_fit`'s unit tests).
#[test]
fn the_work_follows_the_recorded_pace_and_is_fitted_in_the_replay() {
    let dir = common::tempdir("mutator-fit");
    let mut fits = Vec::new();
    for pace in [0u64, 20_000] {
        let t = trace(&dir, &format!("pace{pace}"), Some(pace));
        let out = dir.join(format!("out{pace}"));
        run(&["--mutator", "--trace", t.to_str().unwrap()], &out).success();
        fits.push(fit_of(&out));
    }
    // No recorded work, no steps, nothing to fit.
    assert_eq!(fits[0].0, 0, "{fits:?}");
    // Large pace: all of it reaches the mutator (stored quantised: within 5 %), and the steps
    // are the pace ÷ the fitted cost of a step (the division is deterministic, whatever cost
    // the timed fitting passes settled on).
    let (steps, cps, pace, ratio) = fits[1];
    let recorded = events().len() as f64 * 20_000.0;
    assert!(
        (pace as f64 / recorded - 1.0).abs() < 0.05,
        "{pace} ticks of pace for {recorded}"
    );
    let expected = pace as f64 / cps;
    assert!(
        (steps as f64 - expected).abs() <= expected * 0.005 + 1.0,
        "{steps} steps for {expected:.0}"
    );
    // The fit measured at least one pass (its ratio is reported), and with no pace none
    // (nothing to fit). How close the measured ratio came to 1 is a timing, not checked here.
    let ratio = ratio.expect("the last fitting pass was measured");
    assert!(
        ratio.is_finite() && ratio >= 0.0,
        "mutator time {ratio}× the pace"
    );
    assert_eq!(fits[0].3, None, "no pace, no fitting pass: {fits:?}");
}

#[test]
fn sources_without_pace_are_refused_in_one_line() {
    let dir = common::tempdir("mutator-refuse");
    let plain = trace(&dir, "plain", None);
    for args in [
        vec!["--mutator", "-w", "dicts"],
        vec!["--mutator", "--trace", plain.to_str().unwrap()],
    ] {
        let a = run(&args, &dir.join("out")).code(2);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("record --pace"), "{err}");
    }
    assert!(
        !dir.join("out").exists(),
        "nothing measured, nothing written"
    );
    // A paced trace with a flag the mutator cannot follow: refused before measuring.
    let paced = trace(&dir, "paced", Some(4000));
    let paced = paced.to_str().unwrap();
    for (flag, why) in [
        ("--allow-malformed", "cannot replay a repaired trace"),
        ("--stream=always", "cannot --stream always"),
    ] {
        let a = run(&["--mutator", flag, "--trace", paced], &dir.join("out")).code(2);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{flag}: {err}");
    }
    assert!(!dir.join("out").exists());
    let bad = common::pybench()
        .args(["run", "--mutator-params", "ring=3", "-w", "dicts"])
        .assert()
        .code(2);
    let err = String::from_utf8(bad.get_output().stderr.clone()).unwrap();
    assert!(err.contains("power of two"), "{err}");
}

#[test]
fn traces_without_pace_still_replay_in_the_plain_mode() {
    let dir = common::tempdir("mutator-plain");
    let plain = trace(&dir, "plain", None);
    let out = dir.join("out");
    run(&["--trace", plain.to_str().unwrap()], &out).success();
    let t = throughput_of(&out);
    assert!(t.iter().any(|(a, ns)| a == "system" && *ns > 0.0), "{t:?}");
}

/// A run records whether it replayed the mutator and with which parameters: `merge` refuses
/// shards measured one way and the other (it pooled a mutator shard's repetitions with a
/// plain shard's as one experiment until 2026-12-07, exit 0), and `compare` calls the runs
/// incomparable unless `--allow-mismatch`, naming the difference.
#[test]
fn shards_and_runs_with_and_without_the_mutator_do_not_mix() {
    let dir = common::tempdir("mutator-merge");
    let t = trace(&dir, "paced", Some(2000));
    let t = t.to_str().unwrap();
    let shard = |extra: &[&str], k: u32, out: &str| {
        common::pybench()
            .args(["run", "-q", "--no-plots", "-r", "2", "--rounds", "2"])
            .args(["--min-time", "0.001", "-a", "system", "--trace", t])
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(dir.join(out))
            .args(extra)
            .assert()
            .success();
    };
    shard(&["--mutator"], 1, "m1");
    shard(&[], 2, "p2");
    shard(&["--mutator-params", "alu=4"], 2, "m2");
    let merge = |a: &str, b: &str, out: &str| {
        common::pybench()
            .args(["merge", "-q", "-o"])
            .arg(dir.join(out))
            .args(
                [a, b]
                    .iter()
                    .map(|p| common::run_dir(&dir.join(p)).into_os_string()),
            )
            .assert()
    };
    for (other, why) in [
        ("p2", "mutator (alu=8,recent=0.9,ring=16 vs none)"),
        ("m2", "mutator.alu (8 vs 4)"),
    ] {
        let a = merge("m1", other, "merged").code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!dir.join("merged").exists(), "nothing written");
    }
    // compare: a mutator run against a plain one times different loops.
    let compare = |extra: &[&str]| {
        common::pybench()
            .arg("compare")
            .args(extra)
            .arg(common::run_dir(&dir.join("m1")))
            .arg(common::run_dir(&dir.join("p2")))
            .assert()
    };
    let a = compare(&[]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("mutator (recent=0.9,ring=16,alu=8 vs off)"),
        "{err}"
    );
}
