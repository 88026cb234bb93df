//! Tests of compare's caveats: the notes and warnings on what the two runs do not share
//! (CPU model, free page reporting, build, the replayed stream and how it was replayed) and
//! on the comparison itself.

use super::{harness_only_note, shared_shift};
use crate::compare::streams::{cold_prime_warnings, replay_mode_warnings};
use crate::report::model::{CellKind, CellResult, RunResults};

#[test]
fn harness_only_runs_are_noted_and_runs_with_allocators_are_not() {
    let ns = vec![2.0; 3];
    let cell = |a: &str| RunResults::sampled_cell("w", a, 0, ns.clone(), ns.clone());
    let alone = RunResults::of_cells(vec![cell("null")]);
    let with = RunResults::of_cells(vec![cell("null"), cell("system")]);
    let note = harness_only_note(&alone, &alone).expect("both alone");
    assert!(
        note.starts_with("both runs measured the harness alone"),
        "{note}"
    );
    assert_eq!(harness_only_note(&alone, &with), None);
    assert_eq!(harness_only_note(&with, &with), None);
}

#[test]
fn a_shared_shift_is_every_move_one_way_and_three_beyond_the_threshold() {
    // Up: reported from the smallest move to the largest.
    assert_eq!(
        shared_shift(&[1.03, 1.10, 1.08, 1.12], 0.05),
        Some((1.03, 1.12))
    );
    // Down: from the smallest fall to the largest.
    assert_eq!(shared_shift(&[0.9, 0.93, 0.94], 0.05), Some((0.94, 0.9)));
    // One against the others, or only two beyond the threshold: not shared.
    assert_eq!(shared_shift(&[0.97, 1.10, 1.08, 1.12], 0.05), None);
    assert_eq!(shared_shift(&[1.01, 1.10, 1.08, 1.02], 0.05), None);
    // A ratio that could not be formed does not count either way.
    assert_eq!(
        shared_shift(&[f64::NAN, 1.10, 1.08, 1.12], 0.05),
        Some((1.08, 1.12))
    );
}

#[test]
fn compare_warns_when_the_cpu_models_differ() {
    let mut a = RunResults::of_cells(Vec::new());
    let mut b = RunResults::of_cells(Vec::new());
    a.machine.cpu_model = Some("AMD EPYC".into());
    b.machine.cpu_model = Some("AMD EPYC".into());
    assert_eq!(crate::compare::cpu_warning(&a, &b), None);
    b.machine.cpu_model = Some("Intel Xeon".into());
    let w = crate::compare::cpu_warning(&a, &b).unwrap();
    assert!(w.contains("AMD EPYC vs Intel Xeon"), "{w}");
}

/// A machine setting's field in a run's manifest.
type Setting = fn(&mut RunResults) -> &mut Option<String>;
/// The warning `compare` gives about one setting.
type Warning = fn(&RunResults, &RunResults) -> Option<String>;

#[test]
fn compare_warns_when_the_huge_page_modes_or_governors_differ_and_not_when_one_is_unknown() {
    use crate::compare::{governor_warning, thp_warning};
    let cases: [(Setting, Warning, [&str; 2]); 2] = [
        (
            |r| &mut r.machine.transparent_hugepages,
            thp_warning,
            ["madvise", "always"],
        ),
        (
            |r| &mut r.machine.cpu_governor,
            governor_warning,
            ["performance", "powersave"],
        ),
    ];
    for (setting, warning, [one, other]) in cases {
        let mut a = RunResults::of_cells(Vec::new());
        let mut b = RunResults::of_cells(Vec::new());
        // A run that did not record it (no sysfs file, a VM without cpufreq): nothing to
        // compare it on.
        *setting(&mut a) = Some(one.into());
        assert_eq!(warning(&a, &b), None);
        *setting(&mut b) = Some(one.into());
        assert_eq!(warning(&a, &b), None);
        *setting(&mut b) = Some(other.into());
        let w = warning(&a, &b).unwrap();
        assert!(w.contains(&format!("({one} vs {other})")), "{w}");
        assert!(crate::compare::mismatch_warnings(&a, &b).contains(&w));
    }
}

#[test]
fn compare_warns_when_the_cores_clocks_differ_by_more_than_a_quarter() {
    use crate::sys::clock_probe::ClockSpeed;
    let clock = |ghz: &[f64]| {
        Some(ClockSpeed {
            samples_ghz: ghz.to_vec(),
        })
    };
    let mut a = RunResults::of_cells(Vec::new());
    let mut b = RunResults::of_cells(Vec::new());
    // A run without the figure (saved before it was recorded, or off x86-64): silent.
    b.machine.clock = clock(&[3.0, 3.0, 3.0]);
    assert_eq!(crate::compare::clock_warning(&a, &b), None);
    // Within a quarter of each other, as one sitting's start readings are (by the medians;
    // one preempted sample does not count).
    a.machine.clock = clock(&[3.7, 0.5, 3.72]);
    assert_eq!(crate::compare::clock_warning(&a, &b), None);
    a.machine.clock = clock(&[3.9, 3.91, 3.89]);
    let w = crate::compare::clock_warning(&a, &b).expect("3.90 against 3.00 GHz");
    assert!(
        w.contains("3.90 GHz in the baseline, 3.00 GHz in the current run"),
        "{w}"
    );
    // Either way round, and among the warnings compare prints.
    assert!(crate::compare::clock_warning(&b, &a).is_some());
    assert!(crate::compare::mismatch_warnings(&a, &b).contains(&w));
}

#[test]
fn the_same_run_given_twice_is_warned_about_and_a_rerun_is_not() {
    let cell = |ops: f64| {
        let mut c = CellResult::new("dicts", "system", 0, crate::report::model::CellKind::Replay);
        c.metrics.push(crate::report::model::Metric::new(
            "ops_per_sec",
            ops,
            "ops/s",
        ));
        c
    };
    let a = RunResults::of_cells(vec![cell(1e8)]);
    let w = crate::compare::same_run_warning(&a, &a.clone()).unwrap();
    assert_eq!(
        w,
        "warning: the baseline and the current run are the same run (`t`): every row compares \
         it with itself"
    );
    // Another run of the same plan, even one named alike: different cells.
    let b = RunResults::of_cells(vec![cell(1.01e8)]);
    assert_eq!(crate::compare::same_run_warning(&a, &b), None);
    let mut c = a.clone();
    c.started_utc = "20261206T000000Z".into();
    assert_eq!(crate::compare::same_run_warning(&a, &c), None);
}

#[test]
fn compare_warns_when_only_one_machine_reports_free_pages() {
    use crate::sys::hypervisor::PageReporting;
    let mut a = RunResults::of_cells(Vec::new());
    let mut b = RunResults::of_cells(Vec::new());
    let on = |enabled| {
        Some(PageReporting {
            enabled,
            order: Some(9),
        })
    };
    // Not recorded on one side (bare metal, or a run saved before it): nothing to say.
    a.machine.free_page_reporting = on(true);
    assert_eq!(crate::compare::reporting_warning(&a, &b), None);
    b.machine.free_page_reporting = on(true);
    assert_eq!(crate::compare::reporting_warning(&a, &b), None);
    b.machine.free_page_reporting = on(false);
    let w = crate::compare::reporting_warning(&a, &b).unwrap();
    assert!(
        w.contains("on in the baseline's machine and off in the current's"),
        "{w}"
    );
}

#[test]
fn a_checked_build_is_named_in_run_and_between_builds_in_compare() {
    let (mut a, mut b) = (
        RunResults::of_cells(Vec::new()),
        RunResults::of_cells(Vec::new()),
    );
    // Runs saved before the build was recorded: no warning either way.
    assert_eq!(crate::compare::build_warning(&a, &b), None);
    assert_eq!(crate::compare::build_warning_for(&a.machine), None);
    a.machine.build = Some("release".into());
    b.machine.build = Some("release".into());
    assert_eq!(crate::compare::build_warning(&a, &b), None);
    assert_eq!(crate::compare::build_warning_for(&a.machine), None);
    b.machine.build = Some("checked".into());
    let w = crate::compare::build_warning(&a, &b).unwrap();
    assert!(w.contains("release vs checked"), "{w}");
    let w = crate::compare::build_warning_for(&b.machine).unwrap();
    assert!(w.contains("`checked` build"), "{w}");
}

/// A workload whose stream changed between the runs (another length) is named once, with
/// both lengths; one replayed alike, exec cells and failed cells are not.
#[test]
fn compare_warns_when_a_workload_replayed_a_different_stream() {
    let with = |w: &str, events: u64, kind: CellKind| {
        let mut c = CellResult::new(w, "pymalloc", 0, kind);
        c.events = events;
        c
    };
    let a = RunResults::of_cells(vec![
        with("tuples", 1_606_068, CellKind::Replay),
        with("tuples", 1_606_068, CellKind::Replay),
        with("dicts", 900, CellKind::Replay),
        with("prog", 10, CellKind::Exec),
    ]);
    let mut failed = with("dicts", 5, CellKind::Replay);
    failed.status = crate::report::model::CellStatus::Failed { reason: "x".into() };
    let b = RunResults::of_cells(vec![
        with("tuples", 1_617_581, CellKind::Replay),
        with("dicts", 900, CellKind::Replay),
        failed,
        with("prog", 11, CellKind::Exec),
    ]);
    let w = crate::compare::stream_warnings(&a, &b);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("tuples: the runs replayed different streams (1606068 vs 1617581"));
    assert!(crate::compare::stream_warnings(&a, &a).is_empty());
}

/// Fingerprints decide where both runs have them: a stream changed at the same length is
/// named (with both fingerprints), the same fingerprint is not; where one run predates
/// them, equal lengths say nothing, as before.
#[test]
fn compare_tells_a_same_length_stream_change_by_its_fingerprint() {
    let with = |print: Option<&str>| {
        let mut c = CellResult::new("dicts", "pymalloc", 0, CellKind::Replay);
        c.events = 2_580_947;
        c.stream_fingerprint = print.map(str::to_string);
        RunResults::of_cells(vec![c])
    };
    let (a, b) = (
        with(Some("321444d2fe79713c")),
        with(Some("0197ae4daaadaaa8")),
    );
    let w = crate::compare::stream_warnings(&a, &b);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "dicts: the runs replayed different streams (fingerprints 321444d2fe79713c vs \
             0197ae4daaadaaa8, both 2580947 allocator events a pass)"
        ),
        "{w:?}"
    );
    assert!(crate::compare::stream_warnings(&a, &with(Some("321444d2fe79713c"))).is_empty());
    assert!(crate::compare::stream_warnings(&a, &with(None)).is_empty());
    assert!(crate::compare::stream_warnings(&with(None), &b).is_empty());
}

#[test]
fn compare_warns_per_workload_replayed_streamed_in_one_run_only() {
    let ns = vec![2.0; 3];
    let cell = |w: &str, a: &str, streamed: Option<bool>| {
        let mut c = RunResults::sampled_cell(w, a, 0, ns.clone(), ns.clone());
        c.throughput.as_mut().unwrap().streamed = streamed;
        c
    };
    let run = |dicts: Option<bool>, json: Option<bool>| {
        RunResults::of_cells(vec![
            cell("dicts", "null", dicts),
            cell("dicts", "system", dicts),
            cell("json", "system", json),
        ])
    };
    // Same modes, or a run that did not record its mode (older results): nothing to say.
    let both_memory = run(Some(false), Some(false));
    assert!(replay_mode_warnings(&both_memory, &both_memory).is_empty());
    assert!(replay_mode_warnings(&run(None, None), &run(Some(true), Some(true))).is_empty());
    // dicts streamed in the current run only: one warning, naming dicts and both modes.
    let w = replay_mode_warnings(&both_memory, &run(Some(true), Some(false)));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        w[0],
        "warning: dicts: the baseline replayed its events from memory and the current run \
         streamed (--stream): `null` reads streamed events at another speed than events held in \
         memory, so net figures differ by a few per cent for that reason alone; compare runs of \
         one mode"
    );
    // A workload replayed both ways within one run is named as such.
    let mut mixed = run(Some(false), Some(false));
    mixed.cells.push(cell("json", "mimalloc", Some(true)));
    let w = replay_mode_warnings(&mixed, &both_memory);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("json: the baseline replayed its events streamed in some processes and from memory in others"), "{}", w[0]);
    // A workload only one run has (json here) is the row matcher's business: only dicts is
    // named.
    let only_dicts = RunResults::of_cells(vec![cell("dicts", "system", Some(true))]);
    let w = replay_mode_warnings(&only_dicts, &both_memory);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("warning: dicts:"), "{}", w[0]);
}

#[test]
fn compare_warns_per_workload_whose_cold_passes_were_primed_in_one_run_only() {
    let ns = vec![2.0; 3];
    let cell = |w: &str, primed: Option<u64>| {
        let mut c = RunResults::sampled_cell(w, "system", 0, ns.clone(), ns.clone());
        c.throughput.as_mut().unwrap().cold_primed_bytes = primed;
        c
    };
    let run = |dicts: Option<u64>, json: Option<u64>| {
        RunResults::of_cells(vec![cell("dicts", dicts), cell("json", json)])
    };
    let primed = run(Some(64 << 20), Some(1 << 30));
    assert!(cold_prime_warnings(&primed, &primed).is_empty());
    // Nothing primed on either side (older results, or a machine without reporting).
    assert!(cold_prime_warnings(&run(None, None), &run(Some(0), Some(0))).is_empty());
    // json primed in the current run only: one warning, naming json and which side did.
    let w = cold_prime_warnings(&run(Some(64 << 20), None), &primed);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "warning: json: the baseline's cold passes did not and the current run's had \
             memory backed first (a machine that reports free pages to its hypervisor;"
        ),
        "{}",
        w[0]
    );
    assert!(
        w[0].ends_with("its cold_ns_per_op rows differ for that reason"),
        "{}",
        w[0]
    );
}

/// A mutator run against a plain one differs, as do two with different parameters; a run
/// from before the parameters were recorded matches any mutator run (nothing to compare).
#[test]
fn mutator_modes_differ_by_mode_and_by_recorded_parameters_only() {
    use super::MutatorMode::{Off, On, Unrecorded};
    use crate::harness::mutator::MutatorParams;
    let p = MutatorParams::default();
    let q = MutatorParams { alu: 4, ..p };
    assert!(!Off.differs_from(&Off));
    assert!(Off.differs_from(&On(p)) && Unrecorded.differs_from(&Off));
    assert!(!On(p).differs_from(&On(p)) && On(p).differs_from(&On(q)));
    assert!(!Unrecorded.differs_from(&On(q)) && !On(p).differs_from(&Unrecorded));
    assert_eq!(Unrecorded.to_string(), "on, parameters not recorded");
}
