//! The second replay of `validate` (issue 14 item 2): the recorded trace replayed with the
//! program's own work between allocator calls (`run --mutator`), throughput only, so that
//! `validate` can put each mode's predicted difference next to the observed one.
//!
//! Only throughput differs between the modes, so no memory or latency cell is measured again:
//! each repetition is one throughput process per group (as `run`), and each allocator gets a
//! cell with those figures alone, named `WORKLOAD (mutator)` so that summaries keep the modes
//! apart, and marked by its fit's note (`harness::mutator_fit::is_mutator_cell`).

use super::program::ProgramRequest;
use crate::alloc::AllocatorSpec;
use crate::harness::cell::{CellOptions, CellSpec};
use crate::harness::mutator::MutatorParams;
use crate::harness::mutator_fit::MAX_ITERATIONS;
use crate::harness::paired::ThroughputBatch;
use crate::harness::runner;
use crate::harness::throughput::Calibration;
use crate::report::model::{CellKind, CellResult, RunResults};
use crate::report::store::ResultsStore;
use crate::trace::source::Source;
use std::time::Duration;

/// The mutator replay's calibration when the plain replay takes `plain`: a mutator pass
/// lasts as long as the program's own work, so a quarter of the plain replay's rounds (5 of
/// the default 20), at least 2, each sample at least one pass.
pub fn calibration(plain: Calibration) -> Calibration {
    Calibration {
        rounds: (plain.rounds / 4).max(2),
        ..plain
    }
}

/// The workload name of a mutator-mode cell.
pub fn workload_name(workload: &str) -> String {
    format!("{workload} (mutator)")
}

/// How many times one repetition replays the program's work when a pass lasts at least a
/// sample's minimum (20 ms; a shorter program takes more passes, but little time): up to
/// [`MAX_ITERATIONS`] fitting passes, then each contender's and `null`'s passes
/// ([`Calibration::passes_per_contender`]).
fn passes_per_repetition(contenders: usize, cal: Calibration) -> u64 {
    u64::from(MAX_ITERATIONS) + (contenders as u64 + 1) * cal.passes_per_contender()
}

/// What the first repetition's line adds, before any repetition has been timed: how often a
/// repetition replays the program's work, and the time that takes at the recorded run's
/// wall time: an upper bound, since the recording ran the program with the hook's cost on top
/// (alloc_heavy, five validations on 2026-12-03: bound 2.6 – 4.3× the repetition's 23 – 27 s).
/// Empty when a repetition would take under a second by that bound.
fn first_estimate(contenders: usize, recorded: Duration, cal: Calibration) -> String {
    let (passes, each) = (
        passes_per_repetition(contenders, cal),
        recorded.as_secs_f64(),
    );
    let secs = each * passes as f64;
    if secs < 1.0 {
        return String::new();
    }
    format!(
        "; a repetition replays the program's work about {passes} times (a pass shorter than \
         the recorded run's {each:.1} s, which carried the recorder's cost): under ~{secs:.0} s"
    )
}

/// Replays `source` in mutator mode against `replays`, the request's repetitions times with
/// the calibration `cal` ([`calibration`]), saving each cell into `results` as it is
/// measured; `recorded` is the recorded run's wall time, for the estimate the first line
/// gives. Returns true when Ctrl-C stopped it.
pub fn replay(
    source: &Source,
    replays: &[AllocatorSpec],
    recorded: Duration,
    req: &ProgramRequest,
    cal: Calibration,
    store: &ResultsStore,
    results: &mut RunResults,
) -> anyhow::Result<bool> {
    let (repetitions, quiet) = (req.repetitions, req.quiet);
    let opts = CellOptions {
        mutator: Some(MutatorParams::default()),
        ..CellOptions::default()
    };
    if replays.is_empty() {
        return Ok(false);
    }
    // Each repetition replays the program's recorded work for every allocator, several times
    // the program's own run: the first line says about how long one takes, and from the
    // second on the line says how long the rest will take, as measured.
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
            crate::stderr_line!(
                "[{}/{repetitions}] {} throughput with the program's work between calls \
                 (mutator){}",
                rep + 1,
                source.name(),
                if rep == 0 {
                    first_estimate(replays.len(), recorded, cal)
                } else {
                    runner::eta(started.elapsed(), rep as usize, repetitions as usize)
                }
            );
        }
        let batch = ThroughputBatch::measure(&specs, cal, Duration::from_secs(3600));
        // A batch the stop cut short is neither a measurement nor the allocator's failure:
        // not kept, as an interrupted `run` keeps no cut cell.
        if runner::interrupted() {
            return Ok(true);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repetition_counts_the_fit_and_eleven_passes_a_contender() {
        // A cold pass and five rounds of switch-in + timed pass (the first round's switch-in
        // is the warm-up): 11 a contender; two allocators and null, after at most six fitting
        // passes.
        let cal = calibration(Calibration::DEFAULT);
        assert_eq!(passes_per_repetition(2, cal), 6 + 3 * 11);
        assert_eq!(
            passes_per_repetition(5, cal) - passes_per_repetition(4, cal),
            11,
            "each contender adds its own passes"
        );
    }

    #[test]
    fn the_mutator_replay_takes_a_quarter_of_the_rounds_and_at_least_two() {
        let with = |rounds| Calibration {
            rounds,
            ..Calibration::DEFAULT
        };
        assert_eq!(calibration(Calibration::DEFAULT).rounds, 5);
        assert_eq!(calibration(with(40)).rounds, 10);
        assert_eq!(calibration(with(4)).rounds, 2);
        assert_eq!(calibration(with(2)).rounds, 2);
        assert_eq!(
            calibration(with(9)).min_time_ns,
            Calibration::DEFAULT.min_time_ns
        );
    }

    #[test]
    fn the_first_line_estimates_from_the_recorded_run_or_says_nothing() {
        let cal = calibration(Calibration::DEFAULT);
        let line = first_estimate(2, Duration::from_secs(10), cal);
        assert!(line.contains("about 39 times"), "{line}");
        assert!(line.contains("under ~390 s"), "{line}");
        assert!(line.contains("recorded run's 10.0 s"), "{line}");
        assert_eq!(first_estimate(2, Duration::from_millis(5), cal), "");
        // Two rounds: a cold pass and two (switch-in or warm-up + sample) = 5 a contender.
        let quick = first_estimate(
            2,
            Duration::from_secs(10),
            calibration(Calibration {
                rounds: 8,
                ..Calibration::DEFAULT
            }),
        );
        assert!(quick.contains("about 21 times"), "{quick}");
    }
}
