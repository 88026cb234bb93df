//! Tests of which row a run's ratios are taken against, of the ranking when a bare
//! `pymalloc` became a different preset on workloads of different Pythons, and of what a
//! table with no allocator row says.

use super::*;

/// Six processes of workload `w`: the engine row `engine` at 6 ns/event net, `system` at
/// 12 (half as fast), over a constant `null` of 2.
fn processes(w: &str, engine: &str) -> Vec<CellResult> {
    let wobble = |i: usize| 1.0 + 0.002 * (i % 3) as f64;
    let mut cells = Vec::new();
    for p in 0..6 {
        let null = vec![2.0; 12];
        let fast: Vec<f64> = (0..12).map(|i| 2.0 + 6.0 * wobble(i)).collect();
        let slow: Vec<f64> = (0..12).map(|i| 2.0 + 12.0 * wobble(i + 1)).collect();
        cells.push(RunResults::sampled_cell(
            w,
            "null",
            p,
            null.clone(),
            null.clone(),
        ));
        cells.push(RunResults::sampled_cell(w, engine, p, fast, null.clone()));
        cells.push(RunResults::sampled_cell(w, "system", p, slow, null));
    }
    cells
}

#[test]
fn a_bare_pymalloc_reference_is_the_workloads_preset_not_the_first_engine_row() {
    let rows = [
        "system",
        "pymalloc:arena=512K,pool=8K",
        "pymalloc:cpython-3.8",
    ];
    let rows_with = |extra: &'static str| {
        let mut r = rows.to_vec();
        r.push(extra);
        r
    };
    let r = rows_with("pymalloc:cpython-3.11");
    // Recorded: the preset the bare name became here, wherever it is listed.
    let pick = |asked| pick_reference(&r, asked, Some("pymalloc:cpython-3.11"));
    assert_eq!(pick(None), Some("pymalloc:cpython-3.11"));
    assert_eq!(pick(Some("pymalloc")), Some("pymalloc:cpython-3.11"));
    // Named exactly, the name wins; another allocator named is that one.
    assert_eq!(
        pick(Some("pymalloc:cpython-3.8")),
        Some("pymalloc:cpython-3.8")
    );
    assert_eq!(pick(Some("system")), Some("system"));
    // Not recorded (older runs): a preset before a custom geometry listed first.
    assert_eq!(
        pick_reference(&rows, None, None),
        Some("pymalloc:cpython-3.8")
    );
    // No preset: any engine row; none: the first row.
    let custom = ["system", "pymalloc:arena=512K,pool=8K"];
    assert_eq!(
        pick_reference(&custom, None, None),
        Some("pymalloc:arena=512K,pool=8K")
    );
    assert_eq!(
        pick_reference(&["system", "jemalloc"], None, None),
        Some("system")
    );
    assert_eq!(pick_reference(&[], None, None), None);
}

fn two_pythons() -> RunResults {
    let mut cells = processes("dicts", "pymalloc:cpython-3.11");
    cells.extend(processes("dicts39", "pymalloc:cpython-3.9"));
    let mut r = RunResults::of_cells(cells);
    r.parameters.allocators = [
        "null",
        "pymalloc:cpython-3.11",
        "system",
        "pymalloc:cpython-3.9",
    ]
    .map(String::from)
    .to_vec();
    r.parameters.pymalloc_presets = [
        ("dicts", "pymalloc:cpython-3.11"),
        ("dicts39", "pymalloc:cpython-3.9"),
    ]
    .into_iter()
    .map(|(w, p)| (w.to_string(), p.to_string()))
    .collect();
    r
}

#[test]
fn the_ranking_joins_each_workloads_preset_into_one_pymalloc() {
    let r = two_pythons();
    let verdicts = judge(&r, None);
    let refs: Vec<&str> = verdicts.iter().map(|v| v.reference.as_str()).collect();
    assert_eq!(refs, ["pymalloc:cpython-3.11", "pymalloc:cpython-3.9"]);
    let standings = ranking(&r, &verdicts);
    let names: Vec<&str> = standings.iter().map(|s| s.allocator.as_str()).collect();
    assert_eq!(names, ["pymalloc", "system"], "{standings:?}");
    assert_eq!(standings[0].geomean.point, 1.0);
    assert_eq!(standings[1].workloads, 2);
    assert!(
        (standings[1].geomean.point - 0.5).abs() < 0.01,
        "{standings:?}"
    );
    assert_eq!(
        ranking_reference(&r, &verdicts),
        "pymalloc (each workload's Python version's engine preset)"
    );
    // Without the record, two presets are two allocators, each on one workload: neither
    // ranks, and the heading names both references.
    let mut old = r.clone();
    old.parameters.pymalloc_presets.clear();
    let verdicts = judge(&old, None);
    let names: Vec<String> = (ranking(&old, &verdicts).into_iter())
        .map(|s| s.allocator)
        .collect();
    assert_eq!(names, ["system"]);
    assert!(ranking_reference(&old, &verdicts).contains("each workload's own"));
}

#[test]
fn a_preset_that_only_some_workloads_were_measured_with_is_refused_as_reference() {
    let p = two_pythons().parameters;
    let err = check_reference("pymalloc:cpython-3.11", &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("measured only on dicts "), "{err}");
    assert!(err.contains("pymalloc:cpython-3.9 on dicts39"), "{err}");
    assert!(
        err.contains("--reference pymalloc takes each workload's own"),
        "{err}"
    );
    for fine in ["pymalloc", "system"] {
        assert!(check_reference(fine, &p).is_ok(), "{fine}");
    }
    // One Python for every workload: its preset is on all of them.
    let mut one = p.clone();
    one.pymalloc_presets
        .values_mut()
        .for_each(|v| *v = "pymalloc:cpython-3.11".into());
    assert!(check_reference("pymalloc:cpython-3.11", &one).is_ok());
}

/// A run of `system` and `jemalloc` interrupted before either's cell was saved has `null`'s
/// figures only: its legend said "-a null alone", as if nothing else had been asked.
#[test]
fn a_table_without_allocator_rows_says_why() {
    let legend = |r: &RunResults| {
        let text = crate::report::verdict_table::render(r, None, Default::default());
        text.lines().next().unwrap_or_default().to_string()
    };
    let null = vec![2.0; 10];
    let mut r = RunResults::of_cells(vec![RunResults::sampled_cell(
        "w",
        "null",
        0,
        null.clone(),
        null,
    )]);
    r.parameters.allocators = vec!["null".into()];
    assert!(
        legend(&r).starts_with("-a null alone: only the harness was measured;"),
        "{}",
        legend(&r)
    );
    r.parameters.allocators = ["null", "system", "jemalloc"].map(String::from).to_vec();
    r.interrupted = true;
    let cut = legend(&r);
    assert!(
        cut.starts_with("the run was interrupted before any allocator's throughput was saved"),
        "{cut}"
    );
    assert!(!cut.contains("null alone"), "{cut}");
    r.interrupted = false;
    assert!(
        legend(&r).starts_with("no allocator's throughput was saved (their cells failed)"),
        "{}",
        legend(&r)
    );
}
