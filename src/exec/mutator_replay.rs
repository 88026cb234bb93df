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
    // the program's own run (pprint's 2.6 s run: over 15 minutes for the first of five), so
    // from the second on the line says about how long the rest will take.
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
                time_left(started.elapsed(), rep, repetitions)
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

/// ", about T left" once `done` of `total` repetitions took `elapsed`; nothing before the
/// first is done (no figure to go on).
fn time_left(elapsed: Duration, done: u32, total: u32) -> String {
    if done == 0 {
        return String::new();
    }
    let secs = elapsed.as_secs_f64() / f64::from(done) * f64::from(total.saturating_sub(done));
    if secs >= 90.0 {
        format!(", about {:.0} min left", secs / 60.0)
    } else {
        format!(", about {secs:.0} s left")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_repetitions_done() {
        // Nothing to go on before the first repetition ends.
        assert_eq!(time_left(Duration::from_secs(7), 0, 5), "");
        // One of five took 15 minutes: four more take about an hour.
        assert_eq!(
            time_left(Duration::from_secs(900), 1, 5),
            ", about 60 min left"
        );
        // Four of five took 80 s: one more, about 20 s.
        assert_eq!(
            time_left(Duration::from_secs(80), 4, 5),
            ", about 20 s left"
        );
    }
}
