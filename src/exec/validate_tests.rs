//! Tests of `validate`'s agreement: significance-aware tau, predicted against observed
//! differences, and the words it prints.

use super::*;
use crate::report::model::{CellResult, Metric, Ranged};

/// Five repetitions of one allocator, each figure jittered by under 1 %: far apart
/// figures are significant, equal ones are not.
fn cell(kind: CellKind, allocator: &str, metrics: &[(&str, f64)], events: u64) -> Vec<CellResult> {
    (0..5u32)
        .map(|rep| {
            let mut c = CellResult::new("p", allocator, rep, kind);
            c.events = events;
            let jitter = 1.0 + [0.0, 0.004, -0.003, 0.008, -0.006][rep as usize];
            c.metrics = metrics
                .iter()
                .map(|(n, v)| Metric::new(n, *v * jitter, ""))
                .collect();
            c
        })
        .collect()
}

/// A replay cell of 1000 events: its speed and its peak RSS.
fn replay(allocator: &str, ops_per_sec: f64, peak_rss: f64) -> Vec<CellResult> {
    let m = [("ops_per_sec", ops_per_sec), ("peak_rss_bytes", peak_rss)];
    cell(CellKind::Replay, allocator, &m, 1000)
}

/// A real (exec) cell: its wall time and its peak RSS.
fn real(allocator: &str, wall_ns: f64, peak_rss: f64) -> Vec<CellResult> {
    cell(
        CellKind::Exec,
        allocator,
        &[("wall_ns", wall_ns), ("peak_rss_bytes", peak_rss)],
        0,
    )
}

fn results(cells: Vec<CellResult>) -> RunResults {
    let mut r: RunResults = serde_json::from_value(serde_json::json!({
        "format_version": 1, "pybench_version": "t", "git_commit": null, "run": "r",
        "started_utc": "", "command_line": [], "machine": {"cpu_model": null, "cores": 1,
        "kernel": null, "transparent_hugepages": null, "cpu_governor": null, "libc": null},
        "parameters": {"workloads": [], "allocators": [], "repetitions": 1, "scale": null,
        "seed": null, "python": null, "touch": "header", "sample_every": 1},
        "allocators": [], "cells": []
    }))
    .unwrap();
    r.cells = cells;
    r
}

#[test]
fn agreement_and_disagreement_are_computed_from_both_sides() {
    // Replay: engine 1 s, system 2 s, jemalloc 1.5 s (events / ops_per_sec).
    // Real: pymalloc 10 s, system 12 s, jemalloc 9 s — jemalloc and pymalloc swap.
    let r = results(
        [
            replay("pymalloc:cpython-3.11", 1000.0, 100.0),
            replay("system", 500.0, 200.0),
            replay("jemalloc", 1000.0 / 1.5, 300.0),
            real("pymalloc", 10e9, 1000.0),
            real("system", 12e9, 2000.0),
            real("jemalloc", 9e9, 3000.0),
            real("tcmalloc", 11e9, 1500.0),
        ]
        .concat(),
    );
    let pairing: Pairing = vec![
        ("pymalloc".into(), Some("pymalloc:cpython-3.11".into())),
        ("system".into(), Some("system".into())),
        ("jemalloc".into(), Some("jemalloc".into())),
        ("tcmalloc".into(), None),
    ];
    let v = validate(&r, "p", "t", &pairing, Prediction::Warm);
    // Time: replay order pymalloc < jemalloc < system; real jemalloc < pymalloc < system.
    // Pairs: (py, sys) agree, (py, je) disagree, (sys, je) agree → (2 − 1) / 3.
    assert!((v.tau_time.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(v.tau_memory, Some(1.0));
    assert_eq!(v.disagreements.len(), 1, "{:?}", v.disagreements);
    assert!(v.disagreements[0].starts_with("time: the replay finds pymalloc faster than jemalloc"));
    let je = &v.rows[2];
    assert!((je.predicted_delta_s.unwrap() - 0.5).abs() < 0.01);
    assert!((je.observed_delta_s.unwrap() + 1.0).abs() < 0.1);
    let ratio = je.observed_time_ratio.unwrap();
    let [lo, hi] = ratio.interval.unwrap();
    assert!((ratio.point - 0.9).abs() < 0.01 && lo <= ratio.point && ratio.point <= hi);
    assert_eq!(v.tau_time_significant, Some(1.0 / 3.0));
    assert!(v.indistinguishable.is_empty(), "{:?}", v.indistinguishable);
    let tc = &v.rows[3];
    assert_eq!(
        (tc.replay_time_s, tc.real_time_rank),
        (None, None),
        "one-sided rows are not ranked"
    );
    assert_eq!(tc.real_wall_s, Some(11.0));
}

/// Replay cells of the mutator mode: same allocator names, told apart by the fit note.
fn mutator_cells(allocator: &str, ops_per_sec: f64, events: u64) -> Vec<CellResult> {
    cell(
        CellKind::Replay,
        allocator,
        &[("ops_per_sec", ops_per_sec)],
        events,
    )
    .into_iter()
    .map(|mut c| {
        c.workload = "p (mutator)".into();
        c.notes.push(format!(
            "{}engine: 50 ticks per step",
            crate::harness::mutator_fit::FIT_NOTE
        ));
        c
    })
    .collect()
}

/// `cells` whose first pass over their 1000 events took `seconds` (the cold pass).
fn with_cold(mut cells: Vec<CellResult>, seconds: f64) -> Vec<CellResult> {
    for c in &mut cells {
        let ns = seconds * 1e9 / c.events as f64;
        c.metrics
            .push(Metric::new(Id::ColdNsPerOp.name(), ns, "ns"));
    }
    cells
}

/// Plain: pymalloc 1 s, system 1.2 s warm; 1.5 s and 2.1 s cold. Mutator: 3 s and 4 s
/// warm; 3.5 s and 4.3 s cold. Real CPU: 10 s, 11 s; wall 12 s, 14 s.
fn plain_and_mutator() -> (RunResults, Pairing) {
    use CellKind::Exec;
    let r = results(
        [
            with_cold(replay("cpython:3.11", 1000.0, 100.0), 1.5),
            with_cold(replay("system", 1000.0 / 1.2, 200.0), 2.1),
            with_cold(mutator_cells("cpython:3.11", 1000.0 / 3.0, 1000), 3.5),
            with_cold(mutator_cells("system", 1000.0 / 4.0, 1000), 4.3),
            cell(
                Exec,
                "pymalloc",
                &[("wall_ns", 12e9), ("cpu_ns", 10e9), ("peak_rss_bytes", 1e3)],
                0,
            ),
            cell(
                Exec,
                "system",
                &[("wall_ns", 14e9), ("cpu_ns", 11e9), ("peak_rss_bytes", 2e3)],
                0,
            ),
        ]
        .concat(),
    );
    let pairing: Pairing = vec![
        ("pymalloc".into(), Some("cpython:3.11".into())),
        ("system".into(), Some("system".into())),
    ];
    (r, pairing)
}

/// Under `render`'s system line, the ratios (predicted ÷ observed CPU) of the row of replay
/// mode `mode`: warm, then cold.
fn mode_ratios(text: &str, mode: &str) -> Vec<String> {
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("time difference from pymalloc by replay mode"))
        .skip_while(|l| !l.starts_with("system"))
        .find(|l| l.trim_start().starts_with(mode))
        .unwrap_or_else(|| panic!("no {mode} row: {text}"));
    line.split_whitespace()
        .filter(|w| w.starts_with("0.") || w.starts_with("1."))
        .map(str::to_string)
        .collect()
}

#[test]
fn both_replay_modes_are_set_against_the_observed_differences() {
    let (r, pairing) = plain_and_mutator();
    let v = validate(&r, "p", "t", &pairing, Prediction::Warm);
    let sys = &v.rows[1];
    // The plain replay's figures are untouched by the mutator's cells.
    assert!((sys.replay_time_s.unwrap() - 1.2).abs() < 0.02);
    assert!((sys.predicted_delta_s.unwrap() - 0.2).abs() < 0.02);
    assert!((sys.mutator_time_s.unwrap() - 4.0).abs() < 0.05);
    let near = |d: Option<Ranged>, want: f64, tol: f64| {
        let (p, [lo, hi]) = (d.unwrap().point, d.unwrap().interval.unwrap());
        assert!(
            (p - want).abs() < tol && lo <= p && p <= hi,
            "{d:?} vs {want}"
        );
    };
    near(sys.plain_delta, 0.2, 0.02);
    near(sys.mutator_delta, 1.0, 0.05);
    near(sys.plain_cold_delta, 0.6, 0.001);
    near(sys.mutator_cold_delta, 0.8, 0.001);
    near(sys.observed_cpu_delta, 1.0, 0.1);
    near(sys.observed_wall_delta, 2.0, 0.15);
    // The reference's own differences are zero on every side.
    near(v.rows[0].mutator_delta, 0.0, 1e-9);
}

#[test]
fn each_replay_mode_gets_a_row_of_predicted_over_observed_differences() {
    let (r, pairing) = plain_and_mutator();
    let text =
        crate::report::validation::render(&validate(&r, "p", "t", &pairing, Prediction::Warm));
    // Plain predicts 0.2 of the observed 1 s warm and 0.6 cold; the mutator 1.0 and 0.8.
    assert_eq!(mode_ratios(&text, "plain"), ["0.20", "0.60"], "{text}");
    assert_eq!(mode_ratios(&text, "mutator"), ["1.00", "0.80"], "{text}");
    // Without mutator cells, the table keeps the plain replay's row and has no mutator row.
    let plain = results(
        r.cells
            .iter()
            .filter(|c| !is_mutator_cell(c))
            .cloned()
            .collect(),
    );
    let text =
        crate::report::validation::render(&validate(&plain, "p", "t", &pairing, Prediction::Warm));
    assert_eq!(mode_ratios(&text, "plain"), ["0.20", "0.60"], "{text}");
    assert!(!text.contains("  mutator"), "{text}");
}

proptest::proptest! {
    /// The difference's interval holds its point, and moving one sample moves it alike.
    #[test]
    fn a_difference_of_medians_holds_its_point_and_shifts_with_its_sample(
        x in proptest::collection::vec(-1e3f64..1e3, 1..12),
        y in proptest::collection::vec(-1e3f64..1e3, 1..12),
        shift in -1e3f64..1e3,
    ) {
        let b = Bootstrap { resamples: 500, ..Bootstrap::new(7) };
        let d = difference_of_medians(&x, &y, &b).unwrap();
        let p = d.point;
        // One value on a side has no spread to resample: no interval rather than a point-wide one.
        proptest::prop_assert_eq!(d.interval.is_some(), x.len() > 1 && y.len() > 1);
        let [lo, hi] = d.interval.unwrap_or([p, p]);
        proptest::prop_assert!(lo <= p && p <= hi);
        proptest::prop_assert!((p - (median(&x).unwrap() - median(&y).unwrap())).abs() < 1e-9);
        let moved: Vec<f64> = x.iter().map(|v| v + shift).collect();
        let d2 = difference_of_medians(&moved, &y, &b).unwrap();
        let (p2, [lo2, hi2]) = (d2.point, d2.interval.unwrap_or([d2.point, d2.point]));
        for (a, b) in [(p, p2), (lo, lo2), (hi, hi2)] {
            proptest::prop_assert!((a + shift - b).abs() < 1e-6, "{a} + {shift} vs {b}");
        }
        proptest::prop_assert!(difference_of_medians(&[], &y, &b).is_none());
    }
}

#[test]
fn without_pymalloc_the_first_allocator_on_both_sides_is_the_reference_on_both() {
    // tcmalloc is real-only, so system (the first on both sides) is the reference.
    let r = results(
        [
            real("tcmalloc", 5e9, 10.0),
            replay("system", 500.0, 200.0),
            real("system", 12e9, 2000.0),
            replay("jemalloc", 1000.0, 300.0),
            real("jemalloc", 9e9, 3000.0),
        ]
        .concat(),
    );
    let pairing: Pairing = vec![
        ("tcmalloc".into(), None),
        ("system".into(), Some("system".into())),
        ("jemalloc".into(), Some("jemalloc".into())),
    ];
    let v = validate(&r, "p", "t", &pairing, Prediction::Warm);
    assert_eq!(v.reference.as_deref(), Some("system"));
    let je = &v.rows[2];
    // Replay 1 s against 2 s, real 9 s against 12 s: both against system.
    assert!((je.predicted_time_ratio.unwrap().point - 0.5).abs() < 0.01);
    assert!((je.observed_time_ratio.unwrap().point - 0.75).abs() < 0.01);
    assert!((je.predicted_memory_ratio.unwrap().point - 1.5).abs() < 0.02);
    assert!((je.observed_memory_ratio.unwrap().point - 1.5).abs() < 0.02);
    assert_eq!(
        v.rows[0].predicted_time_ratio, None,
        "tcmalloc has no replay"
    );
}

/// A validation of pymalloc against system, replay 2× apart, real runs 10 % apart at five
/// a side: jittered by under 1 %, or (`wide`) spread by tens of percent.
fn resolution_case(wide: bool) -> Validation {
    let pairing = three_pairs()[..2].to_vec();
    let spread_out = |mut cells: Vec<CellResult>| {
        for (c, k) in cells.iter_mut().zip([1.0, 1.3, 0.8, 1.2, 0.75]) {
            for m in c.metrics.iter_mut().filter(|m| m.name == "wall_ns") {
                m.value *= k;
            }
        }
        cells
    };
    let (a, b) = (real("pymalloc", 10e9, 1000.0), real("system", 11e9, 2000.0));
    let (a, b) = if wide {
        (spread_out(a), spread_out(b))
    } else {
        (a, b)
    };
    let cells = [
        replay("pymalloc:cpython-3.11", 1000.0, 100.0),
        replay("system", 500.0, 200.0),
        a,
        b,
    ]
    .concat();
    validate(&results(cells), "p", "t", &pairing, Prediction::Warm)
}

/// An indistinguishable pair may be no difference or too few runs: the validation says how
/// finely the real runs resolve. Runs jittered by under 1 % resolve about 1 %.
#[test]
fn tight_real_runs_resolve_about_one_percent() {
    let tight = resolution_case(false);
    let [time, memory] = tight.resolution.unwrap();
    let time = time.unwrap();
    assert_eq!(time.runs, 5);
    assert!(time.spread < 0.01 && time.detectable < 0.02, "{time:?}");
    assert!(memory.unwrap().detectable < 0.02);
    assert_eq!(
        tight.pair_counts.unwrap()[0],
        [1, 0, 0],
        "10 % apart: told apart"
    );
    let text = crate::report::validation::render(&tight);
    assert!(
        text.contains("real runs resolve (about 4 times in 5, p < 0.05): time ±0.59 % a run"),
        "{text}"
    );
    assert!(!text.contains("5 % needs"), "{text}");
}

/// Runs spread by tens of percent cannot see a 10 % difference at five a side, and the
/// validation says how many runs would.
#[test]
fn scattered_real_runs_say_how_many_runs_a_five_percent_difference_needs() {
    let wide = resolution_case(true);
    let time = wide.resolution.unwrap()[0].unwrap();
    assert!(time.spread > 0.15 && time.detectable > 0.1, "{time:?}");
    assert!(time.runs_for_5_percent > 50, "{time:?}");
    assert_eq!(
        wide.pair_counts.unwrap()[0],
        [0, 0, 1],
        "10 % apart, unresolved"
    );
    let text = crate::report::validation::render(&wide);
    assert!(
        text.contains(&format!(
            "at 5 runs a side (5 % needs -r {})",
            time.runs_for_5_percent
        )),
        "{text}"
    );
}

/// Warm replay: mimalloc fastest; cold replay: mimalloc slowest (its huge pages faulted
/// in, `cold_mi` seconds), as the real runs find it. Real: pymalloc 10 s, system 12 s,
/// mimalloc 14 s.
fn warm_and_cold_disagree(cold_mi: f64) -> RunResults {
    results(
        [
            with_cold(replay("pymalloc:cpython-3.11", 1000.0, 100.0), 1.5),
            with_cold(replay("system", 500.0, 200.0), 2.5),
            with_cold(replay("mimalloc", 2000.0, 300.0), cold_mi),
            real("pymalloc", 10e9, 1000.0),
            real("system", 12e9, 2000.0),
            real("mimalloc", 14e9, 3000.0),
        ]
        .concat(),
    )
}

fn three_pairs() -> Pairing {
    vec![
        ("pymalloc".into(), Some("pymalloc:cpython-3.11".into())),
        ("system".into(), Some("system".into())),
        ("mimalloc".into(), Some("mimalloc".into())),
    ]
}

#[test]
fn the_warm_pass_predicts_when_chosen_and_the_cold_one_gets_its_own_line() {
    // Warm: (py, sys) agree, (py, mi) and (sys, mi) disagree → −1/3; cold: all agree.
    let warm = validate(
        &warm_and_cold_disagree(3.0),
        "p",
        "t",
        &three_pairs(),
        Prediction::Warm,
    );
    assert_eq!(warm.prediction, Prediction::Warm);
    assert!((warm.tau_time_significant.unwrap() + 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(warm.time_cold.unwrap().pairs, [3, 0, 0]);
    assert_eq!(warm.time_warm.unwrap().pairs, [1, 2, 0]);
    let text = crate::report::validation::render(&warm);
    assert!(
        text.contains("time predicted by the replay's warm figure"),
        "{text}"
    );
    assert!(
        text.contains("with the cold figure (") && text.contains("instead: time +1.00 over"),
        "{text}"
    );
    assert!(warm.disagreements.iter().any(|d| d.contains("mimalloc")));
}

#[test]
fn the_cold_pass_predicts_when_chosen_and_the_warm_one_gets_its_own_line() {
    // The headline, the table's replay column, its ranks and the disagreements.
    let cold = validate(
        &warm_and_cold_disagree(3.0),
        "p",
        "t",
        &three_pairs(),
        Prediction::Cold,
    );
    assert_eq!(cold.prediction, Prediction::Cold);
    assert_eq!(cold.tau_time_significant, Some(1.0));
    assert_eq!(cold.pair_counts.unwrap()[0], [3, 0, 0]);
    assert!(cold.disagreements.iter().all(|d| !d.starts_with("time")));
    let mi = cold
        .rows
        .iter()
        .find(|r| r.allocator == "mimalloc")
        .unwrap();
    assert_eq!(mi.replay_time_rank, Some(3.0));
    let text = crate::report::validation::render(&cold);
    assert!(text.contains("replay (cold)"), "{text}");
    assert!(
        text.contains("with the warm figure (") && text.contains("instead: time -0.33 over"),
        "{text}"
    );
    // A cold pass that ranks as the warm one does gets the warm one's verdict.
    let same = validate(
        &warm_and_cold_disagree(1.0),
        "p",
        "t",
        &three_pairs(),
        Prediction::Cold,
    );
    assert_eq!(same.pair_counts.unwrap()[0], [1, 2, 0]);
}

#[test]
fn without_cold_figures_the_warm_ones_predict_and_no_line_names_the_missing_one() {
    // Runs saved before cold figures existed.
    let r = results(
        [
            replay("pymalloc:cpython-3.11", 1000.0, 100.0),
            replay("system", 500.0, 200.0),
            real("pymalloc", 10e9, 1000.0),
            real("system", 12e9, 2000.0),
        ]
        .concat(),
    );
    let v = validate(&r, "p", "t", &three_pairs()[..2].to_vec(), Prediction::Cold);
    assert_eq!(v.prediction, Prediction::Warm);
    assert_eq!(v.time_cold, None);
    let text = crate::report::validation::render(&v);
    assert!(
        text.contains("replay (warm)") && !text.contains("with the cold figure"),
        "{text}"
    );
}

/// One run a side (`-r 1`): each median and difference keeps its point, but no interval (a
/// single value resamples to itself: the interval would be the point, a false precision), and
/// the table says `[n/a]`. Two runs a side have intervals.
#[test]
fn one_run_a_side_gives_points_without_intervals() {
    let all = [
        replay("pymalloc:cpython-3.11", 1000.0, 100.0),
        replay("system", 500.0, 200.0),
        real("pymalloc", 10e9, 1000.0),
        real("system", 12e9, 2000.0),
    ]
    .concat();
    let runs = |n: u32| results(all.iter().filter(|c| c.repetition < n).cloned().collect());
    let pairing: Pairing = vec![
        ("pymalloc".into(), Some("pymalloc:cpython-3.11".into())),
        ("system".into(), Some("system".into())),
    ];
    let v = validate(&runs(1), "p", "t", &pairing, Prediction::Warm);
    let sys = &v.rows[1];
    assert_eq!((sys.real_wall_s, sys.real_wall_ci), (Some(12.0), None));
    assert_eq!(sys.replay_time_ci, None);
    assert_eq!(sys.observed_time_ratio, Some(Ranged::new(1.2, None)));
    assert_eq!(sys.observed_wall_delta, Some(Ranged::new(2.0, None)));
    let text = crate::report::validation::render(&v);
    let row = text.lines().find(|l| l.starts_with("system ")).unwrap();
    assert!(
        row.contains("12.00 s [n/a]") && row.contains("+20.0 % [n/a]"),
        "{text}"
    );
    assert!(!text.contains("[12.00 s–12.00 s]"), "{text}");
    let v = validate(&runs(2), "p", "t", &pairing, Prediction::Warm);
    assert!(v.rows[1].real_wall_ci.is_some());
    assert!(v.rows[1].observed_wall_delta.unwrap().interval.is_some());
}
