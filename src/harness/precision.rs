//! `run --precision`: after the planned repetitions, more throughput processes for the
//! workloads whose answer is still wider than asked, batch by batch, until every one is
//! narrow enough or has `--max-repetitions` processes. How many a batch adds, and why the
//! stopping rule leaves the intervals honest: [`crate::report::precision`].

use super::cell::CellSpec;
use super::plan::Plan;
use super::runner::{self, Outcome};
use crate::report::digits::half_width_pct;
use crate::report::model::RunResults;
use crate::report::precision::{processes_to_add, shortfalls, Precision, Shortfall};
use crate::report::store::ResultsStore;
use crate::report::verdict::judge;
use std::time::Instant;

/// Measures further (workload, repetition) groups until the run's answer is within
/// `precision`; the added repetitions are throughput processes only (memory and latency
/// were measured in the first ones) and are saved as they finish, like the planned ones.
pub fn measure_until_precise(
    plan: &Plan,
    precision: Precision,
    reference: Option<&str>,
    progress: bool,
    store: &ResultsStore,
    results: &mut RunResults,
) -> anyhow::Result<Outcome> {
    // Seconds a process took in the last batch: the only pace known for processes that
    // measure throughput alone (the planned ones also measured memory and latency).
    let mut pace: Option<f64> = None;
    loop {
        if runner::interrupted() {
            return Ok(Outcome::Interrupted);
        }
        let short = shortfalls(&judge(results, reference), precision.half_width);
        // (source, its first new repetition, how many), in the plan's workload order.
        let mut batches = Vec::new();
        // The most processes later batches could still add (those whose workloads stay wide).
        let mut later = 0u32;
        for (si, source) in plan.sources.iter().enumerate() {
            let name = source.name();
            let Some(s) = short.iter().find(|s| s.workload == name) else {
                continue;
            };
            let have = repetitions_so_far(results, &name);
            let add = processes_to_add(have, s.needed, precision.max_repetitions);
            if add > 0 {
                if progress {
                    crate::stderr_line!("{}", announcement(s, have, add, precision));
                }
                batches.push((si, have, add));
                later += precision.max_repetitions.saturating_sub(have + add);
            }
        }
        if batches.is_empty() {
            return Ok(Outcome::Completed);
        }
        let adding: u32 = batches.iter().map(|b| b.2).sum();
        if progress {
            crate::stderr_line!("{}", batch_line(adding, later, pace));
        }
        let started = Instant::now();
        let outcome = runner::run_and_save(
            &plan.runner_plan(interleave(plan, &batches), progress),
            store,
            results,
        )?;
        if outcome != Outcome::Completed {
            return Ok(outcome);
        }
        pace = Some(started.elapsed().as_secs_f64() / f64::from(adding.max(1)));
    }
}

/// The progress line before a batch: its size, and the most the rest of the run could take
/// (every workload still wide going on to `--max-repetitions`), in time at `pace` seconds a
/// process when a batch before gave one. Whether later batches happen depends on what this
/// one measures, so the rest is an upper bound, not a forecast.
fn batch_line(adding: u32, later: u32, pace: Option<f64>) -> String {
    let time = |n: u32| pace.map_or(String::new(), |p| format!(", {}", about(p * f64::from(n))));
    let rest = if later == 0 {
        "; the last batch (--max-repetitions)".to_string()
    } else {
        format!(
            "; at most {later} more after it if the answer stays wide{}",
            time(later)
        )
    };
    format!(
        "--precision: {adding} throughput process(es) in this batch{}{rest}",
        time(adding)
    )
}

/// A duration for a progress line.
fn about(secs: f64) -> String {
    format!("about {}", super::long_run::rough_duration(secs))
}

/// The batches' cells, repetitions outermost as in the planned run, so slow drift of the
/// machine spreads over every workload's new processes alike.
fn interleave(plan: &Plan, batches: &[(usize, u32, u32)]) -> Vec<CellSpec> {
    let longest = batches.iter().map(|&(_, _, add)| add).max().unwrap_or(0);
    let mut cells = Vec::new();
    for k in 0..longest {
        for &(si, first, add) in batches {
            if k < add {
                cells.extend(plan.group_cells(&plan.sources[si], first + k));
            }
        }
    }
    cells
}

/// Repetitions a workload has had so far (the next one's number): its highest repetition
/// plus one, failed ones included, so a new process never reuses a number.
fn repetitions_so_far(results: &RunResults, workload: &str) -> u32 {
    results
        .cells
        .iter()
        .filter(|c| c.workload == workload)
        .map(|c| c.repetition + 1)
        .max()
        .unwrap_or(0)
}

/// The progress line before a batch: what is wide, by how much, and what is done about it.
fn announcement(s: &Shortfall, have: u32, add: u32, p: Precision) -> String {
    let needed = match s.needed {
        Some(n) if n < u64::from(u32::MAX) => format!(", about {n} needed by its scatter"),
        _ => String::new(),
    };
    format!(
        "--precision ±{} %: {} is ±{} % over {} process(es){needed}; measuring {add} \
         more ({} of at most {})",
        half_width_pct(p.half_width),
        s.widest.what,
        half_width_pct(s.widest.half_width),
        s.widest.processes,
        have + add,
        p.max_repetitions
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_batch_has_no_pace_to_go_by() {
        assert_eq!(
            batch_line(20, 140, None),
            "--precision: 20 throughput process(es) in this batch; at most 140 more after it \
             if the answer stays wide"
        );
    }

    #[test]
    fn later_batches_are_timed_at_the_last_batchs_pace() {
        // 6 s a process: 10 take a minute, 100 ten minutes.
        assert_eq!(
            batch_line(10, 100, Some(6.0)),
            "--precision: 10 throughput process(es) in this batch, about 60 s; at most 100 \
             more after it if the answer stays wide, about 10 min"
        );
    }

    #[test]
    fn a_batch_that_reaches_the_cap_says_it_is_the_last() {
        let line = batch_line(30, 0, Some(2.0));
        assert!(
            line.ends_with("about 60 s; the last batch (--max-repetitions)"),
            "{line}"
        );
    }
}
