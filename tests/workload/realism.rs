//! The realism report (`stats --compare`) and fitted stand-ins (`gen --like`): a trace is
//! perfectly like itself, `numbers` is nothing like a real program, and a stand-in is
//! deterministic, close to its source on every figure, and holds none of its sequence.

use crate::common::{pybench, tempdir as tmp};
use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::{contains, is_match};
use pybench::trace::source::read_all;
use pybench::workload::fit::{shared_run, synthesize, tokens, Model, LONG_RUN, MIN_ALLOCS};
use pybench::workload::likeness::trace_profile;
use pybench::workload::profile::Profile;
use pybench::workload::realism::{compare, Figure};
use pybench::workload::{stream_hash, Domain, Event};
use std::path::{Path, PathBuf};

/// The smallest shipped trace: fast enough to fit and profile in a test.
fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/traces/compileall.pbt")
}

fn stand_in(events: &[Event], seed: u64) -> Vec<Event> {
    let model = Model::fit(events).unwrap();
    let mut out = Vec::new();
    synthesize(&model, seed, &mut |e| {
        out.push(e);
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn a_trace_against_itself_scores_one() {
    let p = trace_profile(&source()).unwrap();
    let c = compare(&p, &p, "self", &Figure::ALL);
    assert_eq!(c.score, 1.0);
    assert!(c.figures.iter().all(|f| f.1 == 0.0), "{:?}", c.figures);
    pybench()
        .args(["stats", "trace:compileall", "--compare", "trace:compileall"])
        .assert()
        .success()
        .stdout(contains("score").and(contains("1.000")));
}

#[test]
fn numbers_against_a_real_trace_scores_poorly() {
    let real = trace_profile(&source()).unwrap();
    let w = pybench::workload::Workload::builtin("numbers").unwrap();
    let numbers = Profile::from_events(w.stream());
    let c = compare(&numbers, &real, "compileall", &Figure::ALL);
    assert!(c.score < 0.6, "numbers scored {}", c.score);
    // Even calibrated to a program's live heap, its requests are all 24-36 B ints and
    // floats in the object domain, with no realloc, calloc or collection.
    for (figure, at_least) in [
        ("size_classes", 0.5),
        ("domain_mix", 0.5),
        ("gc_bursts", 1.0),
    ] {
        let f = c.figures.iter().find(|f| f.0 == figure).unwrap();
        assert!(f.1 >= at_least, "{f:?}");
    }
}

#[test]
fn a_stand_in_is_deterministic_for_a_seed() {
    let (events, _, _) = read_all(&source()).unwrap();
    let a = stand_in(&events, 3);
    let b = stand_in(&events, 3);
    let c = stand_in(&events, 4);
    assert_eq!(
        stream_hash(a.iter().copied()),
        stream_hash(b.iter().copied())
    );
    assert_ne!(
        stream_hash(a.iter().copied()),
        stream_hash(c.iter().copied())
    );
    pybench::workload::validate(a.iter().copied(), 0).expect("a well-formed stream");
}

/// Tolerances a stand-in must meet against its source: the overall score, and a ceiling per
/// figure. The live-set figures and the phase shape used to need 0.25 and 0.3: lifetimes
/// drawn alone melted compileall's module-by-module peaks (35 k live blocks against 48 k);
/// with deaths placed where the trace's blocks born nearby died they reach 0.01 – 0.07 and
/// are held to the default.
/// The score is over every figure but `op_order`, which the model did not fit when the
/// score's floor was set (its ceiling below holds it).
const MIN_SCORE: f64 = 0.9;
fn tolerance(figure: &str) -> f64 {
    match figure {
        // compileall has 7 collections: a KS distance between two 5-10 sample sets moves
        // by 1/7 steps (0.26 for seed 1 today, 0.09 with the previous model's draws).
        "gc_bursts" => 0.3,
        // Figures added after the model: what it reaches on compileall today (0.11 and 0.14),
        // held so it cannot get worse. The stand-in reuses freed blocks sooner than the trace
        // (51 % against 44 % within 16 allocations: lifetimes are drawn per size group, not
        // per size), and its chains order 86 % of long-lived frees against the trace's 90 %.
        "block_reuse" | "free_gaps" => 0.15,
        // Added after the model too: the stand-in leaves full pools more often than the trace
        // (12 per 1,000 small frees): its blocks die one at a time across the heap where
        // compileall's die in the pool being filled. Distances 0.30 - 0.56 over seeds 1 - 3
        // with loop bodies (0.45 for seed 1), 0.24 - 0.38 before them.
        "pool_churn" => 0.5,
        // Drawn block by block, a predictor of "malloc or free?" missed 35 % of the
        // stand-in's operations against compileall's 9.9 % (distance 0.71 - 0.72); drawn in
        // loop bodies, 12 - 13 % (0.18 - 0.21 over seeds 1 - 3).
        "op_order" => 0.3,
        _ => 0.12,
    }
}

#[test]
fn a_stand_in_matches_its_source_without_copying_it() {
    let (events, _, _) = read_all(&source()).unwrap();
    let synth = stand_in(&events, 1);
    let (subject, source) = (
        Profile::from_events(synth.iter().copied()),
        Profile::from_events(events.iter().copied()),
    );
    let fitted: Vec<Figure> = (Figure::ALL.into_iter())
        .filter(|f| *f != Figure::OpOrder)
        .collect();
    let score = compare(&subject, &source, "compileall", &fitted).score;
    assert!(score >= MIN_SCORE, "score {score} < {MIN_SCORE}");
    let c = compare(&subject, &source, "compileall", &Figure::ALL);
    for (f, d, a, b) in &c.figures {
        assert!(*d <= tolerance(f), "{f}: distance {d} ({a} vs {b})");
    }
    let (ts, tr) = (tokens(&synth), tokens(&events));
    assert!(
        !shared_run(&tr, &ts, LONG_RUN),
        "a run of {LONG_RUN} requests was copied"
    );
    // The check itself can fail: the trace shares its own runs.
    assert!(shared_run(&tr, &tr[1000..3000], LONG_RUN));
}

#[test]
fn a_too_short_trace_says_how_many_events_it_needs() {
    let events: Vec<Event> = (0..100)
        .map(|i| Event::Alloc {
            slot: i,
            size: 32,
            domain: Domain::Obj,
            thread: 0,
        })
        .collect();
    let err = Model::fit(&events).unwrap_err().to_string();
    assert!(
        err.contains("100 allocations") && err.contains(&MIN_ALLOCS.to_string()),
        "{err}"
    );

    let dir = tmp("short");
    let small = dir.join("small.pbt");
    pybench()
        .args(["gen", "--workload", "numbers", "--scale", "300", "-o"])
        .arg(&small)
        .assert()
        .success();
    let out = dir.join("like.pbt");
    let assert = pybench()
        .args(["gen", "--like"])
        .arg(&small)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("needs at least").and(contains(MIN_ALLOCS.to_string())));
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stderr)
            .lines()
            .count(),
        1
    );
    assert!(!out.exists(), "no stand-in file is left behind");
}

#[test]
fn gen_like_writes_a_trace_that_replays_and_compares() {
    let dir = tmp("like");
    let out = dir.join("like.pbt");
    pybench()
        .args(["gen", "--like", "trace:compileall", "--seed", "5", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(
            is_match(r"\d+ allocations and \d+ reallocs asked again to share no 64-run").unwrap(),
        );
    pybench()
        .arg("stats")
        .arg(&out)
        .args([
            "--compare",
            "trace:compileall",
            "--figures",
            "size_classes,domain_mix",
        ])
        .assert()
        .success()
        .stdout(
            contains("size_classes")
                .and(contains("domain_mix"))
                .and(contains("lifetime_allocs").not()),
        );
}

#[test]
fn an_unknown_figure_is_one_line_and_exit_2() {
    let assert = pybench()
        .args([
            "stats",
            "--workload",
            "numbers",
            "--compare",
            "trace:compileall",
        ])
        .args(["--figures", "size_classes,heapiness"])
        .assert()
        .code(2)
        .stderr(contains("unknown figure `heapiness`"));
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stderr)
            .lines()
            .count(),
        1
    );
}
