//! The second replay of `validate` (issue 14 item 2): the recorded trace replayed with the
//! program's own work between allocator calls (`run --mutator`), throughput only, so that
//! `validate` can put each mode's predicted difference next to the observed one.
//!
//! Only throughput differs between the modes, so no memory or latency cell is measured again:
//! each repetition is one throughput process per group (as `run`), and each allocator gets a
//! cell with those figures alone, named `WORKLOAD (mutator)` so that summaries keep the modes
//! apart, and marked by its fit's note (`harness::mutator_fit::is_mutator_cell`).

use crate::alloc::AllocatorSpec;
use crate::harness::cell::{CellOptions, CellSpec};
use crate::harness::mutator::MutatorParams;
use crate::harness::paired::ThroughputBatch;
use crate::harness::runner;
use crate::harness::throughput::Calibration;
use crate::report::model::{CellKind, CellResult, RunResults};
use crate::report::store::ResultsStore;
use crate::trace::source::Source;
use std::time::Duration;

/// A mutator pass lasts as long as the program's own work: fewer rounds than the plain
/// replay's 20, each at least one pass.
pub const CALIBRATION: Calibration = Calibration {
    rounds: 5,
    ..Calibration::DEFAULT
};

/// The workload name of a mutator-mode cell.
pub fn workload_name(workload: &str) -> String {
    format!("{workload} (mutator)")
}

/// Replays `source` in mutator mode against `replays`, `repetitions` times, saving each cell
/// into `results` as it is measured. Returns true when Ctrl-C stopped it.
pub fn replay(
    source: &Source,
    replays: &[AllocatorSpec],
    repetitions: u32,
    quiet: bool,
    store: &ResultsStore,
    results: &mut RunResults,
) -> anyhow::Result<bool> {
    let opts = CellOptions {
        mutator: Some(MutatorParams::default()),
        ..CellOptions::default()
    };
    if replays.is_empty() {
        return Ok(false);
    }
    // Each repetition replays the program's recorded work for every allocator, several times
    // the program's own run, so from the second on the line says how long the rest will take.
    let started = std::time::Instant::now();
    for rep in 0..repetitions {
        if runner::interrupted() {
            return Ok(true);
        }
        // `null` leads every throughput process without a cell of its own here.
        let specs: Vec<CellSpec> = replays
            .iter()
            .map(|a| CellSpec::new(source, a.clone(), rep, &opts))
            .collect();
        if !quiet {
            eprintln!(
                "[{}/{repetitions}] {} throughput with the program's work between calls \
                 (mutator){}",
                rep + 1,
                source.name(),
                runner::eta(started.elapsed(), rep as usize, repetitions as usize)
            );
        }
        let batch = ThroughputBatch::measure(&specs, CALIBRATION, Duration::from_secs(3600));
        for spec in &specs {
            let mut cell = CellResult::new(
                &workload_name(&spec.workload),
                &spec.allocator.name(),
                rep,
                CellKind::Replay,
            );
            batch.attach(&mut cell);
            results.cells.push(cell);
            store.save(results)?;
        }
    }
    Ok(runner::interrupted())
}
