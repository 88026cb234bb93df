//! Tests of the verdict: intervals over processes, relations, the ranking and its ties.

use super::*;

/// The verdict's row of allocator `a`.
fn entry<'a>(v: &'a WorkloadVerdict, a: &str) -> &'a Entry {
    v.entries.iter().find(|e| e.allocator == a).unwrap()
}

fn cell(a: &str, ns: Vec<f64>, null: Vec<f64>) -> CellResult {
    cell_in("w", a, 0, ns, null)
}

/// A cell of workload `w`, repetition `rep`, measured in that repetition's process.
fn cell_in(w: &str, a: &str, rep: u32, ns: Vec<f64>, null: Vec<f64>) -> CellResult {
    RunResults::sampled_cell(w, a, rep, ns, null)
}

/// 30 rounds of one process: `base` with a small deterministic wobble, the other
/// contender `factor` times slower, both over a constant null of 1 ns/event.
fn twins(factor: f64) -> RunResults {
    let base: Vec<f64> = (0..30).map(|i| 6.0 + 0.02 * f64::from(i % 5)).collect();
    let other: Vec<f64> = base.iter().map(|x| 1.0 + (x - 1.0) * factor).collect();
    let null = vec![1.0; 30];
    RunResults::of_cells(vec![
        cell("null", null.clone(), null.clone()),
        cell("a", base, null.clone()),
        cell("b", other, null),
    ])
}

#[test]
fn one_process_of_the_reference_alone_is_a_single_process_verdict() {
    // `run -a system -r 1`: no ratio (system is the reference), but its net throughput
    // carries an interval over one process's rounds, which the -r 1 warning is about.
    let null = vec![1.0; 6];
    let alone = RunResults::of_cells(vec![
        cell("null", null.clone(), null.clone()),
        cell("a", vec![6.0, 6.1, 5.9, 6.2, 6.0, 5.8], null),
    ]);
    let v = judge(&alone, None);
    let a = entry(&v[0], "a");
    assert!(
        a.speed.is_none() && a.net_ops.is_some() && a.processes == 1,
        "{a:?}"
    );
    assert!(single_process(&v));
    // With a second process it is not.
    let r = RunResults::of_cells(six_processes("w", |_| 4.0));
    assert!(!single_process(&judge(&r, None)));
}

#[test]
fn the_harness_alone_in_one_process_is_a_single_process_verdict() {
    // `run -a null -r 1`: its line's interval covers one process's rounds, as above, but no
    // entry carried it, so the -r 1 warning and legend missed it.
    let null = vec![1.0, 1.1, 0.9, 1.0];
    let one = RunResults::of_cells(vec![cell("null", null.clone(), null)]);
    let v = judge(&one, None);
    assert!(
        v[0].entries.is_empty() && v[0].harness_processes == 1,
        "{v:?}"
    );
    assert!(single_process(&v));
    let six: Vec<CellResult> = six_processes("w", |_| 4.0)
        .into_iter()
        .filter(|c| c.allocator == "null")
        .collect();
    assert!(!single_process(&judge(&RunResults::of_cells(six), None)));
}

#[test]
fn the_legend_says_what_the_intervals_run_over() {
    // With one process the table's intervals are over its rounds: the legend said "over the
    // processes, not the rounds" there too.
    let over_rounds = "where a workload had one process, over that process's rounds alone";
    let render = |r: &RunResults| crate::report::verdict_table::render(r, None, Default::default());
    let one = render(&twins(1.5));
    assert!(one.contains(over_rounds), "{one}");
    assert!(!one.contains("not the rounds"), "{one}");
    let six = render(&RunResults::of_cells(six_processes("w", |_| 4.0)));
    assert!(
        six.contains("runs over the processes (Student's t), not the rounds"),
        "{six}"
    );
    assert!(!six.contains(over_rounds), "{six}");
}

#[test]
fn the_harness_is_read_from_the_allocators_cells_when_null_has_none() {
    // `validate` keeps no `null` cells, but every allocator's cell carries the null rounds
    // of its process: the line said "0 samples per allocator; harness (null) not measured".
    let with_null = RunResults::of_cells(six_processes("w", |_| 4.0));
    let without = RunResults::of_cells(
        six_processes("w", |_| 4.0)
            .into_iter()
            .filter(|c| c.allocator != "null")
            .collect(),
    );
    let (a, b) = (&judge(&with_null, None)[0], &judge(&without, None)[0]);
    assert_eq!(
        b.samples, 72,
        "6 processes of 12 rounds, counted once per process"
    );
    assert_eq!((a.samples, a.harness_ns), (b.samples, b.harness_ns));
    assert!(b.harness_ns.is_some());
}

#[test]
fn a_gap_under_the_resolution_is_indistinguishable_though_its_interval_excludes_one() {
    // Twins 1.5 % apart, paired round by round in one process: the interval is tight and
    // excludes 1, yet the gap is inside what null against itself shows (RESOLUTION).
    let sp = speed(&twins(1.015), "w", "a", "b").unwrap();
    assert!(sp.paired && sp.processes == 1, "{sp:?}");
    assert!(sp.ratio.lo > 1.0, "the interval should exclude 1: {sp:?}");
    assert_eq!(sp.relation(), Relation::Indistinguishable, "{sp:?}");
    assert!(sentence("a", "b", &sp).contains("indistinguishable"));
    // Past the resolution the same tight interval is a verdict, in both directions.
    let sp = speed(&twins(1.04), "w", "a", "b").unwrap();
    assert_eq!(sp.relation(), Relation::Faster, "{sp:?}");
    let sp = speed(&twins(1.04), "w", "b", "a").unwrap();
    assert_eq!(sp.relation(), Relation::Slower, "{sp:?}");
}

#[test]
fn the_star_is_shared_by_allocators_the_fastest_cannot_be_told_from() {
    let stars = |r: &RunResults| -> Vec<String> {
        judge(r, None)[0]
            .entries
            .iter()
            .filter(|e| e.winner)
            .map(|e| e.allocator.clone())
            .collect()
    };
    // b 1.5 % slower than a: under the resolution, so both are starred.
    assert_eq!(stars(&twins(1.015)), ["a", "b"]);
    // 4 % slower with a tight paired interval: a alone, and a alone whichever is faster.
    assert_eq!(stars(&twins(1.04)), ["a"]);
    assert_eq!(stars(&twins(1.0 / 1.04)), ["b"]);
    // A wide interval holds 1 although the points differ by 10 %: shared.
    let null = vec![1.0; 6];
    let r = RunResults::of_cells(vec![
        cell("null", null.clone(), null.clone()),
        cell("a", vec![5.0, 7.0, 4.0, 8.0, 5.5, 6.5], null.clone()),
        cell("b", vec![8.0, 5.0, 7.5, 4.5, 7.0, 6.6], null),
    ]);
    assert_eq!(stars(&r), ["a", "b"]);
}

#[test]
fn a_clear_difference_gets_a_ratio_and_its_direction() {
    let null = vec![2.0, 2.1, 1.9, 2.0, 2.05, 1.95, 2.0, 2.0];
    let fast: Vec<f64> = null.iter().map(|n| n + 4.0).collect();
    let slow: Vec<f64> = null.iter().map(|n| n + 8.0 + n * 0.01).collect();
    let r = RunResults::of_cells(vec![
        cell("null", null.clone(), null.clone()),
        cell("pymalloc:cpython-3.11", fast, null.clone()),
        cell("system", slow, null.clone()),
    ]);
    let v = judge(&r, None);
    assert_eq!(v[0].reference, "pymalloc:cpython-3.11");
    let sys = entry(&v[0], "system");
    let sp = sys.speed.unwrap();
    assert_eq!(sp.relation(), Relation::Slower);
    assert!((sp.ratio.point - 0.5).abs() < 0.01, "{sp:?}");
    assert!(sentence("system", "pymalloc:cpython-3.11", &sp)
        .starts_with("pymalloc:cpython-3.11 is 2.0"));
    assert!(v[0].entries[0].winner && !sys.winner);
    // With the other reference, the ratio turns over.
    let v = judge(&r, Some("system"));
    let py = &v[0].entries[0];
    assert!((py.speed.unwrap().ratio.point - 2.0).abs() < 0.05);
    // Tight, paired data: nothing to warn about.
    assert!(wide_intervals(&v, 0.05).is_empty());
}

#[test]
fn scattered_samples_are_flagged_as_wide() {
    let null = vec![2.0; 6];
    let noisy = vec![4.0, 9.0, 5.0, 12.0, 3.0, 8.0];
    let r = RunResults::of_cells(vec![
        cell("pymalloc:cpython-3.11", vec![6.0; 6], null.clone()),
        cell("system", noisy, null),
    ]);
    let v = judge(&r, None);
    let wide = wide_intervals(&v, 0.05);
    assert!(
        wide.iter().any(|f| f.what.starts_with("system")),
        "{wide:?}"
    );
}

/// Six processes of 12 rounds: pymalloc at 6 ns/event net (±1 % by round), and an
/// allocator whose per-process speed is `mode(p)` ns/event (±1 % by round).
fn six_processes(w: &str, mode: impl Fn(u32) -> f64) -> Vec<CellResult> {
    let wobble = |i: usize| 1.0 + 0.01 * ((i * 7 % 5) as f64 - 2.0) / 2.0;
    let mut cells = Vec::new();
    for p in 0..6 {
        let null = vec![2.0; 12];
        let py: Vec<f64> = (0..12).map(|i| 2.0 + 6.0 * wobble(i)).collect();
        let other: Vec<f64> = (0..12).map(|i| 2.0 + mode(p) * wobble(i + 3)).collect();
        cells.push(cell_in(w, "null", p, null.clone(), null.clone()));
        cells.push(cell_in(w, "pymalloc:cpython-3.11", p, py, null.clone()));
        cells.push(cell_in(w, "jemalloc", p, other, null));
    }
    cells
}

#[test]
fn bimodal_processes_get_a_wide_interval_and_are_indistinguishable() {
    // Layout modes: jemalloc 1.5× pymalloc's speed in four processes, 0.8× in two
    // (README "Stability": 0.55 – 0.77 vs 0.89 – 1.06 on webapp). Every round agrees with
    // its process to 1 %, so pooling the 72 rounds' ratios gives a tight interval that
    // excludes 1 — the old verdict's "faster" — while the processes disagree by 1.9×.
    let r = RunResults::of_cells(six_processes("w", |p| if p % 3 == 0 { 7.5 } else { 4.0 }));
    let v = judge(&r, None);
    let je = entry(&v[0], "jemalloc");
    let sp = je.speed.unwrap();
    assert!(sp.paired && sp.processes == 6, "{sp:?}");
    assert!(sp.ratio.lo < 1.0 && sp.ratio.hi > 1.0, "{sp:?}");
    assert!(sp.rel_half_width() > 0.15, "{sp:?}");
    assert_eq!(sp.relation(), Relation::Indistinguishable);
    assert!(sentence("jemalloc", "pymalloc:cpython-3.11", &sp).contains("indistinguishable"));
    assert!(!single_process(&v));
    let wide = wide_intervals(&v, 0.05);
    assert!(
        wide.iter()
            .any(|f| f.what.starts_with("jemalloc vs") && f.processes == 6),
        "{wide:?}"
    );
    // What pooling the rounds would have said.
    let (mut je_ns, mut py_ns) = (Vec::new(), Vec::new());
    for c in &r.cells {
        let net = c.throughput.as_ref().unwrap().net_ns_per_op();
        match c.allocator.as_str() {
            "jemalloc" => je_ns.extend(net),
            "null" => {}
            _ => py_ns.extend(net),
        }
    }
    let bs = crate::stats::Bootstrap::new(1);
    let pooled = crate::stats::paired_ratio(&py_ns, &je_ns, &bs).unwrap();
    assert!(!pooled.contains(1.0), "{pooled:?}");
    // The overall ranking inherits the processes' spread.
    let stand = ranking(&r, &v);
    let g = stand.iter().find(|s| s.allocator == "jemalloc").unwrap();
    assert!(g.geomean.contains(1.0) && g.processes == 6, "{g:?}");
    // ... so it shares its place with the reference instead of being ordered against it.
    assert_eq!(stand[0].rank, 1, "{stand:?}");
    assert_eq!(stand[1].rank, 1, "{stand:?}");
}

#[test]
fn processes_that_agree_give_a_narrow_interval_and_a_verdict() {
    // Both workloads: jemalloc 1.5× in every process (±1 % between processes).
    let mut cells = six_processes("a", |p| 4.0 * (1.0 + 0.01 * (f64::from(p % 3) - 1.0)));
    cells.extend(six_processes("b", |p| {
        3.0 * (1.0 + 0.01 * (f64::from(p % 2) - 0.5))
    }));
    let r = RunResults::of_cells(cells);
    let v = judge(&r, None);
    for wv in &v {
        let sp = entry(wv, "jemalloc").speed.unwrap();
        assert_eq!(sp.relation(), Relation::Faster, "{sp:?}");
        assert!(sp.rel_half_width() < 0.02, "{sp:?}");
    }
    assert!(
        wide_intervals(&v, 0.05).is_empty(),
        "{:?}",
        wide_intervals(&v, 0.05)
    );
    // Geometric mean of 1.5 and 2.0 over the two workloads, narrow; the reference at 1.
    let stand = ranking(&r, &v);
    assert_eq!(stand[0].allocator, "jemalloc");
    let g = stand[0].geomean;
    assert!((g.point - 3f64.sqrt()).abs() < 0.02, "{g:?}");
    assert!(g.lo > 1.65 && g.hi < 1.8, "{g:?}");
    assert_eq!(stand[1].geomean.point, 1.0);
    assert_eq!(
        (stand[0].rank, stand[1].rank),
        (1, 2),
        "told apart: {stand:?}"
    );
}

#[test]
fn allocators_in_different_processes_are_compared_unpaired_over_processes() {
    // cpython:3.12 in processes of its own (as a second interpreter is): Welch's t on
    // the processes' medians, not on the rounds.
    let mut cells = six_processes("w", |_| 4.0);
    for p in 0..4 {
        let mut c = cell_in(
            "w",
            "cpython:3.12",
            p,
            vec![2.0 + 3.0 * (1.0 + 0.02 * f64::from(p)); 5],
            vec![2.0; 5],
        );
        c.throughput.as_mut().unwrap().group = format!("w/rep{}/g1", p + 1);
        cells.push(c);
    }
    let r = RunResults::of_cells(cells);
    let sp = speed(&r, "w", "cpython:3.12", "pymalloc:cpython-3.11").unwrap();
    assert!(!sp.paired && sp.processes == 4, "{sp:?}");
    assert!((sp.ratio.point - 6.0 / 3.09).abs() < 0.03, "{sp:?}");
    assert_eq!(sp.relation(), Relation::Faster);
}

/// The overall ranking as printed: allocators the run cannot tell apart share a place ("1="),
/// told-apart ones are numbered in order ("1.", "2.").
#[test]
fn the_printed_ranking_shares_a_place_only_between_allocators_it_cannot_tell_apart() {
    use crate::report::verdict_table::{render, TableFormat};
    let overall = |r: &RunResults| -> Vec<String> {
        let text = render(r, None, TableFormat::Table);
        let at = text.find("overall —").expect("an overall ranking");
        text[at..].lines().map(|l| l.trim().to_string()).collect()
    };
    // jemalloc bimodal by process on both workloads: its interval straddles the reference's.
    let mut cells = six_processes("a", |p| if p % 3 == 0 { 7.5 } else { 4.0 });
    cells.extend(six_processes("b", |p| if p % 2 == 0 { 7.5 } else { 4.5 }));
    let lines = overall(&RunResults::of_cells(cells));
    assert!(lines[0].contains("N= : not told apart"), "{lines:?}");
    assert!(lines[1].starts_with("1= "), "{lines:?}");
    assert!(lines[2].starts_with("1= "), "{lines:?}");
    // jemalloc clearly faster on both: numbered, no tie note.
    let mut cells = six_processes("a", |_| 4.0);
    cells.extend(six_processes("b", |_| 3.0));
    let lines = overall(&RunResults::of_cells(cells));
    assert!(!lines[0].contains("N="), "{lines:?}");
    assert!(lines[1].starts_with("1. jemalloc"), "{lines:?}");
    assert!(lines[2].starts_with("2. pymalloc"), "{lines:?}");
}

/// A workload's heading line names the stream its memory cells replayed — events and
/// fingerprint — so a reader can match a table to the trace or workload behind it; results
/// from before fingerprints keep the line without it.
#[test]
fn the_workload_line_names_the_stream_when_the_cells_recorded_one() {
    let mut a = cell("pymalloc", vec![10.0; 5], vec![1.0; 5]);
    let mut b = cell("system", vec![20.0; 5], vec![1.0; 5]);
    for c in [&mut a, &mut b] {
        c.events = 30_814;
        c.stream_fingerprint = Some("c0a290d3a567bc04".to_string());
    }
    let with = RunResults::of_cells(vec![a.clone(), b.clone()]);
    let text = crate::report::verdict_table::render(&with, None, Default::default());
    assert!(
        text.contains("w — 30814 allocator events a pass (stream c0a290d3a567bc04); 1 throughput"),
        "{text}"
    );
    a.stream_fingerprint = None;
    b.stream_fingerprint = None;
    let without = RunResults::of_cells(vec![a, b]);
    let text = crate::report::verdict_table::render(&without, None, Default::default());
    assert!(text.contains("w — 1 throughput"), "{text}");
    assert!(!text.contains("stream"), "{text}");
}

/// `--format wide` adds the detail columns, the warm passes' page faults among them, each
/// allocator's median over its processes.
#[test]
fn the_wide_table_adds_the_detail_columns_with_warm_faults() {
    let cells = [
        ("pymalloc", 10.0, 0.0),
        ("system", 20.0, 2390.0),
        ("jemalloc", 15.0, 0.0033),
        ("mimalloc", 12.0, 3.1667),
    ]
    .into_iter()
    .map(|(a, ns, faults)| {
        let mut c = cell(a, vec![ns; 5], vec![1.0; 5]);
        let t = c.throughput.as_mut().unwrap();
        t.warm_faults_per_pass = Some(faults);
        let t = t.clone();
        crate::harness::paired::push_throughput_metrics(&mut c.metrics, &t);
        c
    })
    .collect();
    let r = RunResults::of_cells(cells);
    let table = crate::report::verdict_table::TableFormat::Table;
    let wide = crate::report::verdict_table::TableFormat::Wide;
    let narrow = crate::report::verdict_table::render(&r, None, table);
    assert!(!narrow.contains("warm faults"), "{narrow}");
    let text = crate::report::verdict_table::render(&r, None, wide);
    let header = text.lines().find(|l| l.starts_with("allocator")).unwrap();
    for h in ["ops/s", "null ns/op", "cold ns/op", "warm faults", "frag"] {
        assert!(header.contains(h), "{h}: {header}");
    }
    let row = |a: &str| text.lines().find(|l| l.starts_with(a)).unwrap().to_string();
    assert!(row("system").contains(" 2390 "), "{}", row("system"));
    assert!(row("pymalloc").contains(" 0 "), "{}", row("pymalloc"));
    // A small mean is its digits, not "0.00" beside another allocator's "0"; no column of
    // counts mixes whole numbers with two-decimal ones.
    assert!(row("jemalloc").contains(" 0.0033 "), "{}", row("jemalloc"));
    assert!(row("mimalloc").contains(" 3.2 "), "{}", row("mimalloc"));
    assert!(!text.contains(" 0.00 "), "{text}");
}

/// The ± form only where the interval is about symmetric, and then with its larger side; a
/// lopsided interval (few or scattered processes) is given as its ends, whichever way the
/// sentence turns the ratio.
#[test]
fn a_lopsided_interval_is_given_as_its_ends_not_a_half_width() {
    let speed = |point, lo, hi| Speed {
        ratio: Estimate { point, lo, hi },
        paired: true,
        processes: 3,
    };
    let even = sentence("a", "b", &speed(1.42, 1.39, 1.451));
    assert_eq!(even, "a is 1.42 ± 0.03× faster than b");
    let lopsided = sentence("a", "b", &speed(4.49, 1.17, 17.28));
    assert_eq!(
        lopsided,
        "a is 4.49× (95 % interval 1.17–17.28) faster than b"
    );
    // Slower: the sentence turns to the reference, and the ends turn over with it.
    let turned = sentence("system", "p", &speed(0.28, 0.12, 0.64));
    assert_eq!(
        turned,
        "p is 3.57× (95 % interval 1.56–8.33) faster than system"
    );
}

/// A reference whose every cell failed leaves no ratio: one sentence says so instead of
/// the rows' bare dashes.
#[test]
fn a_failed_reference_is_named_as_the_reason_for_no_ratios() {
    let null = vec![2.0, 2.1, 1.9, 2.0];
    let mut broken = cell("test-crash:5", vec![6.0; 4], null.clone());
    broken.status = crate::report::model::CellStatus::Failed {
        reason: "killed by signal 6 (SIGABRT)".into(),
    };
    let r = RunResults::of_cells(vec![
        cell("null", null.clone(), null.clone()),
        cell("system", vec![8.0, 8.1, 7.9, 8.0], null.clone()),
        broken,
    ]);
    let v = judge(&r, Some("test-crash:5"));
    let lines = super::super::verdict_table::sentences(&v[0]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("every cell of the reference test-crash:5 failed"));
    let v = judge(&r, Some("system"));
    let lines = super::super::verdict_table::sentences(&v[0]);
    assert!(lines.iter().all(|l| !l.contains("no ratios")), "{lines:?}");
}

#[test]
fn the_ratio_of_b_to_a_is_the_reciprocal_of_a_to_b_so_star_and_sentence_agree() {
    // Two processes of two rounds each whose rounds disagree widely (b 2× slower, then 4×
    // faster): the median of two round ratios was their arithmetic mean, so a/b and b/a
    // were no reciprocals, and the ★ (judged as top/other) contradicted the sentence
    // (judged as other/reference) on a 3.13 trace (2026-12-05 audit).
    let null = vec![1.0, 1.0];
    let r = RunResults::of_cells(vec![
        cell_in("w", "null", 0, null.clone(), null.clone()),
        cell_in("w", "null", 1, null.clone(), null.clone()),
        cell_in("w", "a", 0, vec![11.0, 11.0], null.clone()),
        cell_in("w", "a", 1, vec![11.0, 11.0], null.clone()),
        cell_in("w", "b", 0, vec![21.0, 3.5], null.clone()),
        cell_in("w", "b", 1, vec![31.0, 5.0], null),
    ]);
    let (ab, ba) = (
        speed(&r, "w", "a", "b").unwrap(),
        speed(&r, "w", "b", "a").unwrap(),
    );
    assert!(
        (ab.ratio.point * ba.ratio.point - 1.0).abs() < 1e-9,
        "{ab:?} {ba:?}"
    );
    assert!(
        (ab.ratio.lo * ba.ratio.hi - 1.0).abs() < 1e-9,
        "{ab:?} {ba:?}"
    );
    assert!(
        (ab.ratio.hi * ba.ratio.lo - 1.0).abs() < 1e-9,
        "{ab:?} {ba:?}"
    );
    assert_eq!(
        ab.relation() == Relation::Faster,
        ba.relation() == Relation::Slower
    );
}

/// a is 2.01 % faster than b in every process: a against b is 1.0201, beyond the ±2 %
/// resolution, and b against a 0.9803, which `|r − 1| < 2 %` called within it — so b's
/// sentence (against the reference a) said indistinguishable while the star (a against b)
/// left b out (review, 2026-12-07). On the log scale both say b is slower.
#[test]
fn the_resolution_judges_a_to_b_and_b_to_a_alike_just_past_its_edge() {
    let null = vec![1.0; 4];
    let mut cells = Vec::new();
    for (p, f) in [1.0200, 1.0201, 1.0202].into_iter().enumerate() {
        let p = p as u32;
        cells.push(cell_in("w", "null", p, null.clone(), null.clone()));
        cells.push(cell_in("w", "a", p, vec![11.0; 4], null.clone()));
        cells.push(cell_in("w", "b", p, vec![1.0 + 10.0 * f; 4], null.clone()));
    }
    let r = RunResults::of_cells(cells);
    let (ab, ba) = (
        speed(&r, "w", "a", "b").unwrap(),
        speed(&r, "w", "b", "a").unwrap(),
    );
    assert_eq!(ab.relation(), Relation::Faster, "{ab:?}");
    assert_eq!(ba.relation(), Relation::Slower, "{ba:?}");
    let v = judge(&r, Some("a"));
    let b = entry(&v[0], "b");
    assert!(!b.winner);
    let said = sentence("b", "a", &b.speed.unwrap());
    assert!(!said.contains("indistinguishable"), "{said}");
}

/// A review's case (2026-12-07): per round, pymalloc 1.00, 1.06, 1.06 ns net and system 1.03,
/// 1.03, 1.09 in each of three processes. The per-process medians put system ahead in net
/// ops/s, the paired rounds put pymalloc 1.03× ahead with a tight interval — and the ★ went
/// to system beside a ratio column and sentence calling it slower. The star follows ×.
#[test]
fn the_star_follows_the_ratio_column_when_the_two_estimators_disagree() {
    let mut cells = Vec::new();
    for p in 0..3u32 {
        let k = 1.0 + 0.002 * f64::from(p);
        let of = |net: [f64; 3]| net.iter().map(|x| 0.5 + x * k).collect::<Vec<f64>>();
        let null = vec![0.5; 3];
        cells.push(cell_in("w", "null", p, null.clone(), null.clone()));
        cells.push(cell_in(
            "w",
            "pymalloc:cpython-3.11",
            p,
            of([1.0, 1.06, 1.06]),
            null.clone(),
        ));
        cells.push(cell_in("w", "system", p, of([1.03, 1.03, 1.09]), null));
    }
    let v = judge(&RunResults::of_cells(cells), None);
    let (py, sys) = (
        entry(&v[0], "pymalloc:cpython-3.11"),
        entry(&v[0], "system"),
    );
    assert!(
        sys.net_ops.unwrap().point > py.net_ops.unwrap().point,
        "the estimators disagree"
    );
    let s = sys.speed.as_ref().unwrap();
    assert!(
        s.ratio.hi < 1.0 && s.relation() == Relation::Slower,
        "{s:?}"
    );
    assert!(py.winner && !sys.winner);
}

/// A run stopped during its second process saved `null`'s cell there but not system's: the
/// workload line counted that process's rounds ("1 throughput process(es), 6 samples per
/// allocator") and its null figure in the harness. Only processes with another allocator's
/// cell count now; `-a null` alone keeps all of its own.
#[test]
fn a_process_where_only_null_was_saved_is_left_out_of_the_workload_line() {
    let null = vec![1.0; 3];
    let cells = vec![
        cell_in("w", "null", 0, null.clone(), null.clone()),
        cell_in("w", "system", 0, vec![5.0; 3], null.clone()),
        cell_in("w", "null", 1, vec![4.0; 3], vec![4.0; 3]),
    ];
    let v = judge(&RunResults::of_cells(cells.clone()), None);
    assert_eq!((v[0].samples, v[0].harness_processes), (3, 1));
    assert!(
        (v[0].harness_ns.unwrap().point - 1.0).abs() < 1e-9,
        "{:?}",
        v[0].harness_ns
    );
    let alone: Vec<CellResult> = cells
        .into_iter()
        .filter(|c| c.allocator == "null")
        .collect();
    let v = judge(&RunResults::of_cells(alone), None);
    assert_eq!((v[0].samples, v[0].harness_processes), (6, 2));
}
