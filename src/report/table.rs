//! The end-of-run table on the terminal: per workload, allocators × headline figures, each
//! relative to the reference allocator (see [`super::summary`]).

use super::model::RunResults;
use super::summary::{cell_text, summarize};
use crate::stats::median;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Repetitions of `workload` with at least one finished cell: after Ctrl-C, fewer than the
/// run asked for, and the table says so.
fn repetitions_measured(results: &RunResults, workload: &str) -> usize {
    results
        .cells
        .iter()
        .filter(|c| c.workload == workload)
        .map(|c| c.repetition)
        .collect::<BTreeSet<u32>>()
        .len()
}

/// The table as text, one block per workload.
pub fn render(results: &RunResults) -> String {
    let mut out = String::new();
    let overheads: Vec<f64> = results
        .cells
        .iter()
        .filter_map(|c| c.metric(crate::metrics::Id::TimerOverheadNs, None))
        .collect();
    if let Some(t) = median(&overheads) {
        let _ = writeln!(
            out,
            "ops/s from an untimed pass; latencies from a timed pass and include ~{t:.0} ns of timer overhead per op"
        );
    }
    for s in summarize(results) {
        let measured = repetitions_measured(results, &s.workload);
        let asked = results.parameters.repetitions as usize;
        let of = if measured < asked {
            format!("{measured} of {asked} repetitions (interrupted)")
        } else {
            format!("{measured} repetition(s)")
        };
        // No reference when no run of any allocator finished (a program that fails under
        // every one): there is nothing to be relative to.
        let relative = if s.reference.is_empty() {
            "no allocator has a finished run".to_string()
        } else {
            format!("(×) relative to {}", s.reference)
        };
        let _ = writeln!(out, "\n{} — medians of {of}, {relative}", s.workload);
        let mut rows: Vec<Vec<String>> = vec![std::iter::once("allocator".to_string())
            .chain(s.columns.iter().map(|c| c.heading().to_string()))
            .collect()];
        for r in &s.rows {
            let name = if r.failed_reps > 0 {
                format!("{} ({} failed)", r.allocator, r.failed_reps)
            } else {
                r.allocator.clone()
            };
            let is_ref = r.allocator == s.reference;
            rows.push(
                std::iter::once(name)
                    .chain(
                        (0..s.columns.len())
                            .map(|i| cell_text(&s.columns[i], r.values[i], r.relative[i], is_ref)),
                    )
                    .collect(),
            );
        }
        out.push_str(&super::verdict_table::aligned(&rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{CellKind, CellResult, Metric, RunParameters, RunResults};

    fn results(reps_asked: u32, reps_done: u32) -> RunResults {
        let mut cells = Vec::new();
        for rep in 0..reps_done {
            for a in ["system", "pymalloc:cpython-3.11"] {
                let mut c = CellResult::new("dicts", a, rep, CellKind::Replay);
                c.metrics.push(Metric::new("ops_per_sec", 1e6, "ops/s"));
                cells.push(c);
            }
        }
        let mut r = RunResults::of_cells(cells);
        r.run = "r".into();
        r.parameters = RunParameters {
            repetitions: reps_asked,
            ..RunParameters::default()
        };
        r.interrupted = reps_done < reps_asked;
        r
    }

    #[test]
    fn the_header_states_the_repetitions_measured() {
        let full = render(&results(3, 3));
        assert!(full.contains("medians of 3 repetition(s)"), "{full}");
        // Interrupted after two of five: the medians are of two.
        let cut = render(&results(5, 2));
        assert!(
            cut.contains("medians of 2 of 5 repetitions (interrupted)"),
            "{cut}"
        );
        assert!(!cut.contains("medians of 5"), "{cut}");
    }
}
