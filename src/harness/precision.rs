//! `run --precision`: after the planned repetitions, more throughput processes for the
//! workloads whose answer is still wider than asked, batch by batch, until every one is
//! narrow enough or has `--max-repetitions` processes. How many a batch adds, and why the
//! stopping rule leaves the intervals honest: [`crate::report::precision`].

use super::cell::CellSpec;
use super::plan::Plan;
use super::runner::{self, Outcome};
use crate::report::model::RunResults;
use crate::report::precision::{processes_to_add, shortfalls, Precision, Shortfall};
use crate::report::store::ResultsStore;
use crate::report::verdict::judge;

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
    loop {
        if runner::interrupted() {
            return Ok(Outcome::Interrupted);
        }
        let short = shortfalls(&judge(results, reference), precision.half_width);
        // (source, its first new repetition, how many), in the plan's workload order.
        let mut batches = Vec::new();
        for (si, source) in plan.sources.iter().enumerate() {
            let name = source.name();
            let Some(s) = short.iter().find(|s| s.workload == name) else {
                continue;
            };
            let have = repetitions_so_far(results, &name);
            let add = processes_to_add(have, s.needed, precision.max_repetitions);
            if add > 0 {
                if progress {
                    eprintln!("{}", announcement(s, have, add, precision));
                }
                batches.push((si, have, add));
            }
        }
        if batches.is_empty() {
            return Ok(Outcome::Completed);
        }
        let outcome = runner::run_and_save(
            &plan.runner_plan(interleave(plan, &batches), progress),
            store,
            results,
            |_| {},
        )?;
        if outcome != Outcome::Completed {
            return Ok(outcome);
        }
    }
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
        "--precision ±{:.1} %: {} is ±{:.1} % over {} process(es){needed}; measuring {add} \
         more ({} of at most {})",
        p.half_width * 100.0,
        s.widest.what,
        s.widest.half_width * 100.0,
        s.widest.processes,
        have + add,
        p.max_repetitions
    )
}
