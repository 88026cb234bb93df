//! What a run's figures warrant saying beside the table: how far its intervals can be
//! trusted. One place for the lines `run` prints on stderr, so their rules are tested here
//! rather than only through the command.

use super::model::RunResults;
use super::per_process::round_ratios;
use super::verdict::{
    answer_figures, judge, single_process, wide_intervals, WideFigure, WorkloadVerdict,
};
use crate::stats::{median, processes_for_half_width, ratio_median, slope};
use crate::sys::procfs::MachineInfo;
use std::collections::{BTreeMap, HashMap};

/// Every caveat of a saved run, as `summary.md` and `index.html` keep them: the machine's,
/// then its throughput figures' (relative to the run's own `--reference`).
pub fn run_caveats(results: &RunResults) -> Vec<String> {
    let reference = results.parameters.reference.as_deref();
    let mut lines = machine_caveats(&results.machine);
    lines.extend(throughput_caveats(results, reference));
    // The op-order warning `run` prints after the table (until 2026-12-07 summary.md left it
    // out, found in review).
    let workloads = super::summary::workload_warnings(results);
    lines.extend(workloads.into_iter().map(|w| format!("warning: {w}")));
    lines
}

/// The lines about the machine a run was measured on: a shared cache others held much of
/// as it started (`sys::cache_probe`), a load average at or above the core count. `run`
/// prints them as it starts, and `summary.md` keeps them beside the figures they qualify.
pub fn machine_caveats(machine: &MachineInfo) -> Vec<String> {
    let mut lines: Vec<String> = machine
        .cache_share
        .as_ref()
        .and_then(|c| c.warning())
        .into_iter()
        .collect();
    if let Some(load) = machine.load_average.filter(|l| *l >= machine.cores as f64) {
        lines.push(format!(
            "warning: load average {load:.2} is at or above the {} cores: figures will be \
             noisy (intervals say how much)",
            machine.cores
        ));
    }
    lines
}

/// Interval half-width (relative) above which a figure is reported as noisy (issue 12: "warn
/// when a figure's interval is wider than ±5 %").
pub const NOISY_INTERVAL: f64 = 0.05;

/// The caveats of a run's throughput figures, each a whole line (`warning: …` or `note: …`);
/// empty for a run without throughput samples. `reference` is `--reference`.
pub fn throughput_caveats(results: &RunResults, reference: Option<&str>) -> Vec<String> {
    if !results.cells.iter().any(|c| c.throughput.is_some()) {
        return Vec::new();
    }
    let verdicts = judge(results, reference);
    let asked = results.parameters.repetitions;
    let mut lines = Vec::new();
    if single_process(&verdicts) && asked < 2 {
        lines.push(
            "warning: one throughput process per workload: its intervals cover the rounds of \
             that process only, not the spread between processes (address layout, page \
             placement), which is usually larger; use -r 2 or more"
                .to_string(),
        );
    } else if single_process(&verdicts) {
        // -r 2 or more was asked: a shard's share of the run, or the other processes failed
        // or were interrupted. The advice to raise -r would be wrong.
        let why = if results.interrupted {
            "the run was interrupted before the others"
        } else {
            "a shard's share, or the others failed"
        };
        lines.push(format!(
            "note: this table holds one throughput process per workload of the {asked} the \
             run asked for ({why}): its intervals cover that process's rounds only; `pybench \
             merge` joins a sharded run's processes"
        ));
    }
    lines.extend(super::precision::precision_line(results, &verdicts));
    lines.extend(super::pass_caveats::warm_fault_lines(results));
    lines.extend(super::pass_caveats::arena_span_lines(results));
    lines.extend(super::pass_caveats::arena_failure_lines(results));
    lines.extend(super::outliers::outlier_lines(results));
    lines.extend(memory_speed_line(results, &verdicts));
    let noisy = wide_intervals(&verdicts, NOISY_INTERVAL);
    if let Some(worst) = noisy
        .iter()
        .max_by(|a, b| a.half_width.total_cmp(&b.half_width))
    {
        lines.push(format!(
            "warning: {} figure(s) have a 95 % interval wider than ±{:.0} % (widest: {}, \
             ±{} % over {} process(es)); a difference within such an interval is not \
             resolved — more repetitions (-r: throughput processes) narrow them most{}, then a \
             quieter machine{}",
            noisy.len(),
            NOISY_INTERVAL * 100.0,
            worst.what,
            super::digits::half_width_pct(worst.half_width),
            worst.processes,
            processes_needed(worst),
            precision_hint(results, &verdicts)
        ));
    }
    lines
}

/// A slope at least this many standard errors from 0 is named: a run has a dozen ratios, and
/// at two a run would name one by chance about every second time. At three, ten default runs
/// on the AMD EPYC VM (2026-12-04) named `cpython:3.11` on json twice with opposite signs
/// (+0.43 ± 0.12, −0.62 ± 0.17) beside the consistent glibc and jemalloc slopes; at four only
/// those remain.
pub const FOLLOWS_MEMORY_T: f64 = 4.0;

/// The fewest throughput processes a slope is fitted over.
const MEMORY_SLOPE_PROCESSES: usize = 8;

/// One note naming the ratios that follow the host's memory speed across this run's
/// throughput processes. The speed is read from the process's other allocators (neither the
/// ratio's allocator nor the reference: their mean log net cost), since `null` touches no heap;
/// the slope is that of the process's log ratio on it. Five runs in one sitting showed why it
/// matters: glibc's and jemalloc's ratios to pymalloc moved with the memory's speed between
/// runs (slopes −0.35 … −0.6) by more than any run's interval, and moved to one memory speed
/// the runs agreed within ±2.8 – 4.5 % (README "Stability"). `None` without such a ratio, or
/// without a third allocator to read the speed from.
fn memory_speed_line(results: &RunResults, verdicts: &[WorkloadVerdict]) -> Option<String> {
    let null = crate::alloc::AllocatorSpec::Null.to_string();
    let mut named = Vec::new();
    for v in verdicts {
        let per = net_rounds_by_process(results, &v.workload);
        for a in per.keys() {
            if *a == null || *a == v.reference {
                continue;
            }
            let (xs, ys) = memory_points(&per, a, &[null.as_str(), a, &v.reference]);
            if xs.len() < MEMORY_SLOPE_PROCESSES {
                continue;
            }
            if let Some(s) = slope(&xs, &ys).filter(|s| s.t().abs() >= FOLLOWS_MEMORY_T) {
                named.push(format!(
                    "{a} on {}: slope {:+.2} ± {:.2}",
                    v.workload, s.b, s.se
                ));
            }
        }
    }
    (!named.is_empty()).then(|| {
        format!(
            "note: {} ratio(s) to the reference follow the host's memory speed across this \
             run's processes ({}; the change of the log ratio per log of the other \
             allocators' cost in the same process): a sitting whose memory is faster or slower \
             moves them by more than their intervals show (README \"Stability\")",
            named.len(),
            named.join("; ")
        )
    })
}

/// Each allocator's net rounds on workload `w`, by process (group id).
type NetByProcess<'a> = BTreeMap<&'a str, HashMap<&'a str, Vec<f64>>>;

fn net_rounds_by_process<'a>(results: &'a RunResults, w: &str) -> NetByProcess<'a> {
    let mut per = NetByProcess::new();
    for c in results
        .cells
        .iter()
        .filter(|c| c.workload == w && c.is_ok())
    {
        if let Some(t) = &c.throughput {
            per.entry(&c.allocator)
                .or_default()
                .insert(&t.group, t.net_ns_per_op());
        }
    }
    per
}

/// Per process both `a` and the reference (`apart[2]`) ran in: the mean log net cost of the
/// allocators not in `apart` (the memory's speed), and the log of `a`'s paired ratio to the
/// reference. A process where some other allocator has no positive figure is left out.
fn memory_points(per: &NetByProcess, a: &str, apart: &[&str; 3]) -> (Vec<f64>, Vec<f64>) {
    let (Some(groups), Some(reference)) = (per.get(a), per.get(apart[2])) else {
        return (Vec::new(), Vec::new());
    };
    let others: Vec<_> = per
        .iter()
        .filter(|(b, _)| !apart.contains(*b))
        .map(|(_, g)| g)
        .collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    if others.is_empty() {
        return (xs, ys);
    }
    for (g, rounds) in groups {
        let ratio = (reference.get(g))
            .and_then(|r| ratio_median(&round_ratios(rounds, r)))
            .filter(|r| *r > 0.0);
        let costs: Option<Vec<f64>> = others
            .iter()
            .map(|o| o.get(g).and_then(|v| median(v)).filter(|m| *m > 0.0))
            .collect();
        if let (Some(ratio), Some(costs)) = (ratio, costs) {
            xs.push(costs.iter().map(|c| c.ln()).sum::<f64>() / costs.len() as f64);
            ys.push(ratio.ln());
        }
    }
    (xs, ys)
}

/// "; `--precision 5` …" where a ratio (what `--precision` narrows) is among the wide figures
/// of a run made without it: the flag finds the processes the clause before it estimates.
/// Without ratios (one allocator, or `-a null` alone) the figures it judges are the net
/// throughput or the harness's cost.
fn precision_hint(results: &RunResults, verdicts: &[WorkloadVerdict]) -> &'static str {
    let wide_answer = verdicts
        .iter()
        .flat_map(answer_figures)
        .any(|f| f.half_width > NOISY_INTERVAL);
    let ratios = verdicts
        .iter()
        .flat_map(|v| &v.entries)
        .any(|e| e.speed.is_some());
    match (
        results.parameters.precision.is_none() && wide_answer,
        ratios,
    ) {
        (false, _) => "",
        (true, true) => "; `run --precision 5` measures processes until the ratios are within ±5 %",
        (true, false) => {
            "; `run --precision 5` measures processes until the figures are within ±5 %"
        }
    }
}

/// The clause naming how many processes would bring `figure` to ±[`NOISY_INTERVAL`] if they
/// scatter as this run's did (" (if the processes scatter …, about -r N brings …)"); empty
/// where that cannot be said: one process, or an answer past any sensible run.
fn processes_needed(figure: &WideFigure) -> String {
    match processes_for_half_width(figure.half_width, figure.processes, NOISY_INTERVAL) {
        Some(m) if m <= 100_000 => format!(
            " (if the processes scatter as in this run, about -r {m} brings the widest to \
             ±{:.0} %)",
            NOISY_INTERVAL * 100.0
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{CellKind, CellResult};

    /// Processes `0..processes` of workload `w`, each with `rounds` of `null`, pymalloc and
    /// jemalloc; jemalloc's speed in process `p` is `jemalloc(p)` ns/event over the harness.
    fn run(processes: u32, asked: u32, jemalloc: impl Fn(u32) -> f64) -> RunResults {
        let mut cells = Vec::new();
        for p in 0..processes {
            let wobble = |i: usize| 1.0 + 0.002 * (i % 3) as f64;
            let null = vec![1.0; 10];
            let py: Vec<f64> = (0..10).map(|i| 1.0 + 5.0 * wobble(i)).collect();
            let je: Vec<f64> = (0..10).map(|i| 1.0 + jemalloc(p) * wobble(i)).collect();
            for (a, ns) in [("null", null.clone()), ("pymalloc", py), ("jemalloc", je)] {
                cells.push(RunResults::sampled_cell("w", a, p, ns, null.clone()));
            }
        }
        let mut r = RunResults::of_cells(cells);
        r.parameters.repetitions = asked;
        r
    }

    #[test]
    fn one_process_asked_for_is_told_to_raise_r() {
        let lines = throughput_caveats(&run(1, 1, |_| 4.0), None);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("warning: one throughput process per workload"));
        assert!(lines[0].ends_with("use -r 2 or more"));
    }

    #[test]
    fn one_process_of_several_asked_for_is_a_note_without_the_advice() {
        // A shard's share: raising -r would not help, merging would.
        let lines = throughput_caveats(&run(1, 4, |_| 4.0), None);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("note: ") && lines[0].contains("of the 4 the run asked"));
        assert!(!lines[0].contains("-r 2"), "{}", lines[0]);
    }

    #[test]
    fn steady_processes_say_nothing_and_disagreeing_ones_name_the_widest_figure() {
        assert_eq!(
            throughput_caveats(&run(5, 5, |_| 4.0), None),
            Vec::<String>::new()
        );
        // jemalloc 4 or 8 ns/event by process: its figures' intervals are far wider than ±5 %.
        let lines = throughput_caveats(&run(5, 5, |p| if p % 2 == 0 { 4.0 } else { 8.0 }), None);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("warning: "), "{}", lines[0]);
        assert!(lines[0].contains("(widest: jemalloc "), "{}", lines[0]);
        assert!(lines[0].contains("over 5 process(es)"), "{}", lines[0]);
        // It names how many processes would narrow the widest to ±5 %: many more than five
        // for processes two-fold apart.
        assert!(
            lines[0].ends_with(
                "; `run --precision 5` measures processes until the ratios are within ±5 %"
            ),
            "a wide ratio in a run without --precision: {}",
            lines[0]
        );
        let r_needed: u64 = (lines[0].split("about -r ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no -r named: {}", lines[0]));
        assert!(r_needed > 50, "{}", lines[0]);
    }

    /// `-a null` alone: null's cells only, its cost `null(p)` ns/event in process `p`.
    fn harness_only(processes: u32, null: impl Fn(u32) -> f64) -> RunResults {
        let cells = (0..processes)
            .map(|p| {
                let ns = vec![null(p); 10];
                RunResults::sampled_cell("w", "null", p, ns.clone(), ns)
            })
            .collect();
        let mut r = RunResults::of_cells(cells);
        r.parameters.repetitions = processes;
        r
    }

    /// One process of the three asked for: the note gives the cause the run records (an
    /// interruption), not a shard's share or failures.
    #[test]
    fn one_process_of_several_asked_is_blamed_on_the_interruption_when_there_was_one() {
        let mut r = harness_only(1, |_| 2.0);
        r.cells.push(RunResults::sampled_cell(
            "w",
            "system",
            0,
            vec![5.0; 10],
            vec![2.0; 10],
        ));
        r.parameters.repetitions = 3;
        let note = |r: &RunResults| {
            let lines = throughput_caveats(r, None);
            lines
                .into_iter()
                .find(|l| l.starts_with("note: this table holds one"))
        };
        let plain = note(&r).expect("a note on one process of three");
        assert!(
            plain.contains("(a shard's share, or the others failed)"),
            "{plain}"
        );
        r.interrupted = true;
        let cut = note(&r).expect("a note on one process of three");
        assert!(
            cut.contains("(the run was interrupted before the others)"),
            "{cut}"
        );
    }

    #[test]
    fn the_harness_figure_is_flagged_where_it_is_the_only_one() {
        assert_eq!(
            throughput_caveats(&harness_only(5, |_| 2.0), None),
            Vec::<String>::new()
        );
        let lines = throughput_caveats(&harness_only(5, |p| 2.0 + f64::from(p % 2)), None);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("(widest: harness (null) on w, ±")
                && lines[0].contains("over 5 process(es)"),
            "{}",
            lines[0]
        );
        // No ratio to narrow: the hint names the figures.
        assert!(
            lines[0].ends_with("until the figures are within ±5 %"),
            "{}",
            lines[0]
        );
        // A run made with --precision is not told about it.
        let mut asked = harness_only(5, |p| 2.0 + f64::from(p % 2));
        asked.parameters.precision = Some(super::super::precision::Precision {
            half_width: 0.01,
            max_repetitions: 5,
        });
        let lines = throughput_caveats(&asked, None);
        assert!(
            lines.iter().all(|l| !l.contains("`run --precision")),
            "{lines:?}"
        );
        // Beside allocators it is not (the net figures carry its noise): null differing by
        // process while pymalloc and jemalloc keep a steady net cost says nothing.
        let mut r = run(5, 5, |_| 4.0);
        for c in &mut r.cells {
            let t = c.throughput.as_mut().unwrap();
            let shift = f64::from(c.repetition % 2);
            t.ns_per_op.iter_mut().for_each(|x| *x += shift);
            t.null_ns_per_op.iter_mut().for_each(|x| *x += shift);
        }
        assert_eq!(throughput_caveats(&r, None), Vec::<String>::new());
    }

    /// Twelve processes whose memory speed `m` varies; pymalloc costs 10·m, mimalloc 5·m (its
    /// ratio holds), and jemalloc's ratio to pymalloc is `jemalloc(m, p)`.
    fn memory_run(jemalloc: impl Fn(f64, u32) -> f64) -> RunResults {
        let mut cells = Vec::new();
        for p in 0..12u32 {
            let m = 1.0 + 0.03 * f64::from(p % 6) - 0.01 * f64::from(p % 4);
            let null = vec![1.0; 5];
            let cost = |net: f64| vec![1.0 + net; 5];
            let py = 10.0 * m;
            for (a, net) in [
                ("null", 0.0),
                ("pymalloc", py),
                ("mimalloc", 5.0 * m),
                ("jemalloc", py / jemalloc(m, p)),
            ] {
                let ns = if a == "null" { null.clone() } else { cost(net) };
                cells.push(RunResults::sampled_cell("w", a, p, ns, null.clone()));
            }
        }
        let mut r = RunResults::of_cells(cells);
        r.parameters.repetitions = 12;
        r
    }

    #[test]
    fn a_ratio_that_follows_the_memory_speed_is_named_and_a_steady_one_is_not() {
        // (Its slope's standard error is about 0.01 here, far past FOLLOWS_MEMORY_T.)
        // jemalloc loses 0.6 % against pymalloc for each 1 % the memory slows, give or take
        // 0.2 % by process.
        let follows = memory_run(|m, p| 0.8 * m.powf(-0.6) * (1.0 + 0.002 * f64::from(p % 3)));
        let lines = throughput_caveats(&follows, None);
        let note = lines
            .iter()
            .find(|l| l.contains("memory speed"))
            .unwrap_or_else(|| panic!("{lines:?}"));
        assert!(note.starts_with("note: 1 ratio(s)"), "{note}");
        let b: f64 = (note.split("(jemalloc on w: slope ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|b| b.parse().ok())
            .unwrap_or_else(|| panic!("{note}"));
        assert!((-0.7..=-0.5).contains(&b), "{note}");
        assert!(!note.contains("mimalloc on w"), "{note}");
        // The same scatter by process, no dependence on the memory: no note.
        let steady = memory_run(|_, p| 0.8 * (1.0 + 0.002 * f64::from(p % 3)));
        let lines = throughput_caveats(&steady, None);
        assert!(
            lines.iter().all(|l| !l.contains("memory speed")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_run_without_throughput_samples_has_no_caveats() {
        let r = RunResults::of_cells(vec![CellResult::new("w", "system", 0, CellKind::Replay)]);
        assert!(throughput_caveats(&r, None).is_empty());
    }
}
