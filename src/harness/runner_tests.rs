//! The runner's tests: the order of its measurements and saves, ETA, failure lines.

use super::*;

use super::super::cell::CellOptions;
use crate::trace::Source;
use std::cell::RefCell;
use std::rc::Rc;

/// What the runner did, in order: a measurement (`T dicts 0`: throughput of dicts,
/// repetition 0; `C system 0`: a cell's process), a cell kept (`K`), a save (`S 3`: of
/// three cells kept since the last).
type Log = Rc<RefCell<Vec<String>>>;

struct StandIn(Log);
impl Measure for StandIn {
    fn throughput(&mut self, cells: &[CellSpec], _: Calibration, _: Duration) -> ThroughputBatch {
        let c = &cells[0];
        self.0
            .borrow_mut()
            .push(format!("T {} {}", c.workload, c.repetition));
        ThroughputBatch::stand_in(c)
    }
    fn cell(&mut self, spec: &CellSpec, _: Duration) -> CellResult {
        self.0
            .borrow_mut()
            .push(format!("C {} {}", spec.allocator, spec.repetition));
        CellResult::new(
            &spec.workload,
            &spec.allocator.name(),
            spec.repetition,
            CellKind::Replay,
        )
    }
}

struct Logging {
    log: Log,
    unsaved: usize,
}
impl CellSink for Logging {
    fn keep(&mut self, _: CellResult) {
        self.log.borrow_mut().push("K".into());
        self.unsaved += 1;
    }
    fn settle(&mut self) -> anyhow::Result<()> {
        if self.unsaved > 0 {
            self.log.borrow_mut().push(format!("S {}", self.unsaved));
            self.unsaved = 0;
        }
        Ok(())
    }
}

/// `run`'s plan for `workloads` × (`null` and `allocators`) × `reps`, memory in the first
/// three repetitions.
fn plan(workloads: &[&str], allocators: &[&str], reps: u32) -> Plan {
    let mut cells = Vec::new();
    for rep in 0..reps {
        for w in workloads {
            let source = Source::load(w).unwrap();
            for a in std::iter::once(&"null").chain(allocators) {
                let a = a.parse().unwrap();
                cells.push(CellSpec::new(&source, a, rep, &CellOptions::default()));
            }
        }
    }
    Plan {
        cells,
        timeout: Duration::from_secs(1),
        progress: false,
        throughput: Some(Calibration::DEFAULT),
        memory_repetitions: Some(MEMORY_REPETITIONS),
    }
}

#[test]
fn every_kept_cell_is_saved_before_the_next_measurement_and_runs_of_them_once() {
    let plan = plan(&["dicts", "json"], &["system", "jemalloc"], 5);
    let log = Log::default();
    let mut sink = Logging {
        log: log.clone(),
        unsaved: 0,
    };
    let outcome = run_measured(&plan, &mut sink, &mut StandIn(log.clone())).unwrap();
    assert_eq!(outcome, Outcome::Completed);
    let log = log.take();
    let count = |p: &str| log.iter().filter(|l| l.starts_with(p)).count();
    // Ten throughput groups (two workloads × five repetitions); a process for each
    // allocator's cell in the three memory repetitions only (null's come from its group).
    assert_eq!(count("T "), 10);
    assert_eq!(count("C "), 2 * 2 * 3);
    assert!(!log.contains(&"C null 0".to_string()), "{log:?}");
    assert_eq!(count("K"), 30);
    let mut unsaved = 0;
    for (i, step) in log.iter().enumerate() {
        match &step[..1] {
            "K" => unsaved += 1,
            "S" => {
                assert_eq!(step, &format!("S {unsaved}"));
                unsaved = 0;
            }
            _ => assert_eq!(unsaved, 0, "{step} (step {i}) with cells unsaved: {log:?}"),
        }
    }
    assert_eq!(unsaved, 0, "the last cells saved at the end: {log:?}");
    // One save per measurement that follows new cells, and the last: the run's first
    // measurement has nothing before it.
    assert_eq!(count("S "), 10 + 12 - 1 + 1);
    // The throughput-only repetitions' groups (null, system, jemalloc) go in one save.
    assert!(log.contains(&"S 3".to_string()), "{log:?}");
}

#[test]
fn the_saving_sink_writes_only_when_a_cell_is_new() {
    let root = std::env::temp_dir().join(format!("pybench-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let store = ResultsStore::create(&root, "run").unwrap();
    let json = store.dir().join("results.json");
    let cells = |n: usize| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v["cells"].as_array().unwrap().len(), n);
    };
    let cell = |a: &str| CellResult::new("dicts", a, 0, CellKind::Replay);
    // One cell saved by an earlier plan (`--precision` adds its processes as plans of their own).
    let mut results = RunResults::of_cells(vec![cell("pymalloc")]);
    let mut sink = SavingSink::new(&store, &mut results, 4);
    sink.keep(cell("null"));
    sink.keep(cell("system"));
    assert!(!json.exists(), "kept, not yet saved");
    sink.settle().unwrap();
    cells(3);
    std::fs::remove_file(&json).unwrap();
    sink.settle().unwrap();
    assert!(!json.exists(), "nothing new: nothing written");
    sink.keep(cell("jemalloc"));
    sink.settle().unwrap();
    cells(4);
    // A save that fails counts every cell of the results, the earlier plan's included.
    std::fs::remove_dir_all(store.dir()).unwrap();
    sink.keep(cell("mimalloc"));
    let err = format!("{:#}", sink.settle().unwrap_err());
    assert!(
        err.starts_with("results could not be saved after cell 5 of 5; stopped there: "),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_eta_follows_the_steps_done() {
    // Nothing to go on before the first step ends.
    assert_eq!(eta(Duration::from_secs(7), 0, 5), "");
    // One of five took 15 minutes: four more at that pace.
    assert_eq!(eta(Duration::from_secs(900), 1, 5), ", ETA 60 min");
    // Hours and days in their own units.
    assert_eq!(eta(Duration::from_secs(3600), 1, 5), ", ETA 4 hours");
    assert_eq!(eta(Duration::from_secs(86_400), 1, 3), ", ETA 2 days");
    // Four of five took 80 s: one more, 20 s; none left after the last.
    assert_eq!(eta(Duration::from_secs(80), 4, 5), ", ETA 20 s");
    assert_eq!(eta(Duration::from_secs(80), 5, 5), ", ETA 0 s");
}

#[test]
fn the_failure_reason_is_the_cause_not_the_backtrace_note() {
    let err = "thread 'main' panicked at src/harness/child.rs:10:5:\n\
               the allocator returned NULL\n\
               stack backtrace:\n   0: std::panicking::begin_panic\n             \
               at /rustc/library/std/src/panicking.rs:1:1\n   1: pybench::main\n\
               note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n";
    assert_eq!(failure_line(err), Some("the allocator returned NULL"));
    let err = "pybench: error: cannot load libjemalloc.so.2\n\
               Stack backtrace:\n   0: anyhow::error\nnote: run with RUST_BACKTRACE=full\n";
    assert_eq!(
        failure_line(err),
        Some("pybench: error: cannot load libjemalloc.so.2")
    );
    assert_eq!(
        failure_line("warning\nsegfault here\n\n"),
        Some("segfault here")
    );
    assert_eq!(failure_line(""), None);
}

#[test]
fn a_huge_timeout_is_no_deadline_and_the_child_still_runs() {
    // `true` stands in for pybench: run_child runs this binary, so use the test binary's
    // own failure path instead: an unknown subcommand exits non-zero promptly.
    let r = run_child(
        "--definitely-not-a-subcommand",
        "",
        Duration::from_secs(u64::MAX),
    );
    assert!(r.is_err(), "the test binary rejects the argument");
}
