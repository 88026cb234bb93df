//! `run --precision`: how precise a run's answer is against what was asked, and how many more
//! throughput processes each workload would need.
//!
//! Why a precision rather than a fixed `-r`: the processes a ratio needs for a given interval
//! depend on the host and the hour. On one 2-core VM twenty processes gave ±2.2 – 4.0 % standard
//! errors, and ±3 % over five runs needed 65 – 220 processes a run depending on the cell
//! (README "Stability", attempts 24 and 25); no default fits every machine, and a user should
//! not have to find the budget by hand. So the run measures its `-r` processes, estimates from
//! their scatter how many the widest ratio needs, and measures more until every ratio is as
//! narrow as asked or the cap is reached. Stopping on an interval's *width* (not on whether it
//! excludes 1) leaves its coverage close to the nominal 95 %: the width carries almost no
//! information about where the point lies.

use super::digits::half_width_pct;
use super::model::RunResults;
use super::verdict::{answer_figures, WideFigure, WorkloadVerdict};
use crate::stats::processes_for_half_width;
use serde::{Deserialize, Serialize};

/// What `--precision` and `--max-repetitions` ask, as results.json records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    /// Half-width wanted of every answer figure's 95 % interval, relative (0.025: ±2.5 %).
    pub half_width: f64,
    /// Throughput processes a workload may get at most.
    pub max_repetitions: u32,
}

/// A workload whose answer is wider than asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub workload: String,
    /// Its widest answer figure.
    pub widest: WideFigure,
    /// Throughput processes its wide figures would need if further processes scatter as
    /// these did (the most any of them needs); `None` when that cannot be estimated (one
    /// process: no scatter between processes to go on).
    pub needed: Option<u64>,
}

/// The workloads whose answer figures ([`answer_figures`]) are wider than ±`half_width`.
pub fn shortfalls(verdicts: &[WorkloadVerdict], half_width: f64) -> Vec<Shortfall> {
    let mut out = Vec::new();
    for v in verdicts {
        let wide: Vec<WideFigure> = answer_figures(v)
            .into_iter()
            .filter(|f| f.half_width.is_nan() || f.half_width > half_width)
            .collect();
        let Some(widest) = wide
            .iter()
            .max_by(|a, b| a.half_width.total_cmp(&b.half_width))
            .cloned()
        else {
            continue;
        };
        let needs: Vec<Option<u64>> = wide
            .iter()
            .map(|f| processes_for_half_width(f.half_width, f.processes, half_width))
            .collect();
        let needed = if needs.iter().any(Option::is_none) {
            None
        } else {
            needs.into_iter().flatten().max()
        };
        out.push(Shortfall {
            workload: v.workload.clone(),
            widest,
            needed,
        });
    }
    out
}

/// How many throughput processes to add to a workload that has `have` and, by its scatter,
/// needs `needed`, without passing `max`. At most doubling at a time: an estimate from few
/// processes is itself noisy (the scatter of 20 processes' sd is about ±16 %, so the count it
/// implies ±30 %), and a run should not commit to hundreds of processes on the word of a few.
/// At least a quarter more (and 2), so a shortfall the estimate puts at one process more still
/// narrows the figure visibly. Unknown (`None`): double.
pub fn processes_to_add(have: u32, needed: Option<u64>, max: u32) -> u32 {
    let room = max.saturating_sub(have);
    let step = match needed {
        Some(n) => n
            .saturating_sub(u64::from(have))
            .min(u64::from(have.max(1))) as u32,
        None => have.max(1),
    };
    step.max((have / 4).max(2)).min(room)
}

/// The note or warning for a run made with `--precision`, from its `verdicts`: which workloads
/// reached it after how many processes, or which did not and why (the cap, or an
/// interruption). `None` for a run without it.
pub fn precision_line(results: &RunResults, verdicts: &[WorkloadVerdict]) -> Option<String> {
    let p = results.parameters.precision?;
    let short = shortfalls(verdicts, p.half_width);
    let pct = half_width_pct(p.half_width);
    if short.is_empty() {
        let counts: Vec<String> = verdicts
            .iter()
            .map(|v| format!("{} {}", v.workload, processes_of(v)))
            .collect();
        return Some(format!(
            "note: --precision ±{pct} % reached: every answer figure's 95 % interval is \
             within it (throughput processes: {})",
            counts.join(", ")
        ));
    }
    let worst = short
        .iter()
        .max_by(|a, b| a.widest.half_width.total_cmp(&b.widest.half_width))?;
    let why = if results.interrupted {
        "the run was interrupted".to_string()
    } else {
        format!("--max-repetitions {} reached", p.max_repetitions)
    };
    let more = match worst.needed {
        Some(n) if n < u64::from(u32::MAX) => format!("; about {n} processes would reach it"),
        _ => String::new(),
    };
    Some(format!(
        "warning: --precision ±{pct} % not reached on {} workload(s) ({why}): widest {}, \
         ±{} % over {} process(es){more}",
        short.len(),
        worst.widest.what,
        half_width_pct(worst.widest.half_width),
        worst.widest.processes
    ))
}

/// The throughput processes behind a workload's answer: the most any of its figures runs
/// over.
fn processes_of(v: &WorkloadVerdict) -> usize {
    answer_figures(v)
        .iter()
        .map(|f| f.processes)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::verdict::judge;
    use proptest::prelude::*;

    /// The closing line of `r`, relative to the default reference.
    fn closing(r: &RunResults) -> Option<String> {
        precision_line(r, &judge(r, None))
    }

    /// `processes` processes of workload `w`, ten rounds each of `null` (1 ns/event),
    /// pymalloc and jemalloc; in process `p` the host runs `host(p)` times slower (every
    /// contender alike) and jemalloc costs `jemalloc(p)` ns/event over the harness
    /// (pymalloc 5).
    fn run(
        processes: u32,
        host: impl Fn(u32) -> f64,
        jemalloc: impl Fn(u32) -> f64,
        precision: Option<Precision>,
    ) -> RunResults {
        let mut cells = Vec::new();
        for p in 0..processes {
            let wobble = |i: usize| 1.0 + 0.002 * (i % 3) as f64;
            let h = host(p);
            let null = vec![h; 10];
            let py: Vec<f64> = (0..10).map(|i| h * (1.0 + 5.0 * wobble(i))).collect();
            let je: Vec<f64> = (0..10)
                .map(|i| h * (1.0 + jemalloc(p) * wobble(i)))
                .collect();
            for (a, ns) in [("null", null.clone()), ("pymalloc", py), ("jemalloc", je)] {
                cells.push(RunResults::sampled_cell("w", a, p, ns, null.clone()));
            }
        }
        let mut r = RunResults::of_cells(cells);
        r.parameters.repetitions = processes;
        r.parameters.precision = precision;
        r
    }

    fn asked(pct: f64) -> Option<Precision> {
        Some(Precision {
            half_width: pct / 100.0,
            max_repetitions: 40,
        })
    }

    #[test]
    fn a_host_that_slows_every_contender_alike_is_not_a_shortfall() {
        // Processes 1.5× apart in speed, the ratio the same in each: the absolute figures are
        // wide, the answer (the ratio) is not.
        let r = run(6, |p| if p % 2 == 0 { 1.0 } else { 1.5 }, |_| 4.0, None);
        let v = judge(&r, None);
        let net = v[0].entries[0].net_ops.expect("net throughput");
        assert!(net.rel_half_width() > 0.1, "{net:?}");
        assert_eq!(shortfalls(&v, 0.01), Vec::new());
    }

    #[test]
    fn a_scattered_ratio_is_a_shortfall_naming_the_processes_it_needs() {
        // jemalloc 4.0 or 4.4 ns/event by process: a ratio ±4 % or so over six processes.
        let r = run(6, |_| 1.0, |p| if p % 2 == 0 { 4.0 } else { 4.4 }, None);
        let v = judge(&r, None);
        let short = shortfalls(&v, 0.01);
        assert_eq!(short.len(), 1, "{short:?}");
        let s = &short[0];
        assert_eq!(s.workload, "w");
        assert!(s.widest.what.starts_with("jemalloc vs pymalloc"), "{s:?}");
        assert_eq!(s.widest.processes, 6);
        let needed = s.needed.expect("six processes to estimate from");
        assert!(needed > 6 && needed < 1000, "{s:?}");
        // Asked for less than it has: nothing short.
        let loose = s.widest.half_width * 1.01;
        assert_eq!(shortfalls(&v, loose), Vec::new());
    }

    #[test]
    fn the_closing_line_says_reached_or_what_stopped_it() {
        assert_eq!(closing(&run(6, |_| 1.0, |_| 4.0, None)), None);
        let steady = run(6, |_| 1.0, |_| 4.0, asked(1.0));
        let line = closing(&steady).unwrap();
        assert!(
            line.starts_with("note: --precision ±1.0 % reached"),
            "{line}"
        );
        assert!(line.ends_with("(throughput processes: w 6)"), "{line}");
        let mut scattered = run(6, |_| 1.0, |p| 4.0 + 0.4 * f64::from(p % 2), asked(1.0));
        let line = closing(&scattered).unwrap();
        assert!(
            line.starts_with("warning: --precision ±1.0 % not reached on 1 workload(s) (--max-repetitions 40 reached): widest jemalloc vs pymalloc on w"),
            "{line}"
        );
        assert!(line.contains("over 6 process(es); about "), "{line}");
        scattered.interrupted = true;
        let line = closing(&scattered).unwrap();
        assert!(line.contains("(the run was interrupted)"), "{line}");
    }

    #[test]
    fn the_step_follows_the_estimate_within_its_bounds() {
        // Needs 30 with 20: ten more.
        assert_eq!(processes_to_add(20, Some(30), 200), 10);
        // Needs 500 with 20: doubles, no more.
        assert_eq!(processes_to_add(20, Some(500), 200), 20);
        // Needs 21 with 20: still a quarter more, so the figure moves.
        assert_eq!(processes_to_add(20, Some(21), 200), 5);
        // One process: nothing to estimate from, so it doubles, and at least 2 are added.
        assert_eq!(processes_to_add(1, None, 200), 2);
        // The cap holds.
        assert_eq!(processes_to_add(190, Some(400), 200), 10);
        assert_eq!(processes_to_add(200, Some(400), 200), 0);
    }

    proptest! {
        #[test]
        fn a_step_never_passes_the_cap_and_always_moves_below_it(
            have in 1u32..1000,
            needed in proptest::option::of(0u64..100_000),
            max in 1u32..2000,
        ) {
            let add = processes_to_add(have, needed, max);
            prop_assert!(have.saturating_add(add) <= max.max(have));
            if have < max {
                prop_assert!(add >= 1);
                // Never more than doubling.
                prop_assert!(add <= have.max(2));
            }
        }
    }
}
