//! The figures of `run`'s verdict with the throughput process as the unit (issue 12): what
//! the intervals of [`super::verdict`] are computed from.
//!
//! A throughput process measures every allocator (and `null`) in rounds, taking turns. Inside
//! a process, pairing works: a ratio is taken round by round and its median over the rounds is
//! the process's figure, drift cancelled. *Between* processes it does not: each process gets
//! its own address layout and page placement, and some allocators' speed depends on them
//! (jemalloc on webapp: 0.55 – 0.77× of pymalloc in some processes, 0.89 – 1.06× in others,
//! README "Stability"). So the interval runs over the processes' figures ([`LogMean`]: a
//! t-interval on their logarithms), as wide as the processes disagree. Pooling the rounds of
//! all processes, as this module's predecessor did, gave ±1 % where five runs spread ±26 %.
//!
//! With a single process there is nothing to spread over: the interval then covers that
//! process's rounds only, and [`Speed::processes`](super::verdict::Speed) = 1 says so (the
//! command warns).

use super::model::CellResult;
use crate::stats::{median, ratio_median, LogMean};

/// Per-round ns/event samples of one allocator by process (group id), net of `null`
/// round by round, or gross (for `null` itself, which has no net figure).
pub fn by_process(cells: &[&CellResult], gross: bool) -> Vec<(String, Vec<f64>)> {
    cells
        .iter()
        .filter(|c| c.is_ok())
        .filter_map(|c| c.throughput.as_ref())
        .map(|t| {
            let v = if gross {
                t.ns_per_op.clone()
            } else {
                t.net_ns_per_op()
            };
            (t.group.clone(), v)
        })
        .collect()
}

/// `m` computed from rounds of one process: it speaks for one process only, and its point is
/// that process's figure, `figure` — the median of its rounds, as each process's figure is
/// with more of them and as the cell's CSV value is — while the interval keeps the rounds'
/// spread around it. The rounds' geometric mean stood there until 2026-12-07, so with `-r 1`
/// the table said 407.77 M net ops/s where results.csv said 410.95 M for the same rounds, and
/// a ratio of 1.99× where the median of the rounds' ratios was 1.90× (found in review).
fn one_process(mut m: LogMean, figure: f64) -> LogMean {
    m.units = 1;
    m.mean = figure.ln();
    m
}

/// ns/event of one allocator, over its processes: the median of each process's rounds, then
/// the log-mean of those medians (a geometric mean with its t-interval). `None` when a
/// process's median is not positive (net of `null`, the allocator is within the harness's
/// noise) or there is no sample. One process: its positive rounds are the units.
pub fn ns_per_event(procs: &[(String, Vec<f64>)]) -> Option<LogMean> {
    let figures: Vec<f64> = procs.iter().filter_map(|(_, v)| median(v)).collect();
    if figures.is_empty() || figures.iter().any(|f| *f <= 0.0) {
        return None;
    }
    match procs {
        [(_, rounds)] => {
            let pos: Vec<f64> = rounds.iter().copied().filter(|x| *x > 0.0).collect();
            LogMean::of_units(&pos).map(|m| one_process(m, figures[0]))
        }
        _ => LogMean::of_units(&figures),
    }
}

/// The rounds' ratios ns(b) / ns(a) of one process where both are positive.
pub(crate) fn round_ratios(va: &[f64], vb: &[f64]) -> Vec<f64> {
    va.iter()
        .zip(vb)
        .filter(|(x, y)| **x > 0.0 && **y > 0.0)
        .map(|(x, y)| y / x)
        .collect()
}

/// throughput(a) / throughput(b) = ns(b) / ns(a), as a log-mean over processes, and whether it
/// was paired. Processes both allocators took turns in are paired: each gives the median of
/// its rounds' ratios, and the interval runs over those figures. Without two shared processes
/// but with two or more on each side, the processes' medians are compared unpaired (Welch).
/// With one process, its rounds are the units (`units` = 1).
pub fn ratio(sa: &[(String, Vec<f64>)], sb: &[(String, Vec<f64>)]) -> Option<(LogMean, bool)> {
    let shared: Vec<Vec<f64>> = sa
        .iter()
        .filter_map(|(g, va)| {
            let (_, vb) = sb.iter().find(|(h, _)| h == g)?;
            let r = round_ratios(va, vb);
            (!r.is_empty()).then_some(r)
        })
        .collect();
    if shared.len() >= 2 {
        // In log space, so that the ratio of b to a is the reciprocal of a to b's.
        let figures: Vec<f64> = shared.iter().filter_map(|r| ratio_median(r)).collect();
        return Some((LogMean::of_units(&figures)?, true));
    }
    let figure = |s: &[(String, Vec<f64>)]| -> Vec<f64> {
        s.iter()
            .filter_map(|(_, v)| median(v))
            .filter(|m| *m > 0.0)
            .collect()
    };
    let (fa, fb) = (figure(sa), figure(sb));
    if fa.len() >= 2 && fb.len() >= 2 {
        return Some((LogMean::welch(&fa, &fb)?, false));
    }
    if let [r] = shared.as_slice() {
        return Some((one_process(LogMean::of_units(r)?, ratio_median(r)?), true));
    }
    let rounds = |s: &[(String, Vec<f64>)]| -> Vec<f64> {
        s.iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|x| *x > 0.0)
            .collect()
    };
    let (ra, rb) = (rounds(sa), rounds(sb));
    let figure = median(&rb)? / median(&ra)?;
    Some((one_process(LogMean::welch(&ra, &rb)?, figure), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs(v: &[&[f64]]) -> Vec<(String, Vec<f64>)> {
        v.iter()
            .enumerate()
            .map(|(i, r)| (format!("g{i}"), r.to_vec()))
            .collect()
    }

    #[test]
    fn paired_processes_give_one_figure_each() {
        // Process 0: b twice as slow in every round; process 1: 1.5×. Figures 2 and 1.5.
        let a = procs(&[&[1.0, 1.1, 0.9], &[2.0, 2.0, 2.2]]);
        let b = procs(&[&[2.0, 2.2, 1.8], &[3.0, 3.0, 3.3]]);
        let (m, paired) = ratio(&a, &b).unwrap();
        assert!(paired && m.units == 2);
        assert!((m.mean - (2.0f64 * 1.5).sqrt().ln()).abs() < 1e-12, "{m:?}");
    }

    #[test]
    fn one_process_falls_back_to_its_rounds_and_says_so() {
        let a = procs(&[&[1.0, 1.1, 0.9, 1.0]]);
        let b = procs(&[&[2.0, 2.2, 1.9, 2.1]]);
        let (m, paired) = ratio(&a, &b).unwrap();
        assert!(paired && m.units == 1 && m.parts[0].1 == 3.0, "{m:?}");
        // The point is the median of the rounds' ratios (2, 2, 2.111, 2.1 → 2.05), not
        // their geometric mean (2.052…); the table and the CSV then agree.
        assert!(
            (m.mean.exp() - (2.0f64 * 2.1).sqrt()).abs() < 1e-12,
            "{m:?}"
        );
        let n = ns_per_event(&a).unwrap();
        assert_eq!(n.units, 1);
        assert!(
            (n.mean.exp() - 1.0).abs() < 1e-12,
            "median of 1.0, 1.1, 0.9, 1.0: {n:?}"
        );
    }

    #[test]
    fn processes_not_shared_are_compared_unpaired() {
        let a = procs(&[&[1.0, 1.0], &[1.2, 1.2]]);
        let b: Vec<(String, Vec<f64>)> = procs(&[&[2.0, 2.0], &[2.4, 2.4], &[2.2, 2.2]])
            .into_iter()
            .map(|(g, v)| (format!("other-{g}"), v))
            .collect();
        let (m, paired) = ratio(&a, &b).unwrap();
        assert!(!paired && m.parts.len() == 2 && m.units == 2, "{m:?}");
    }

    #[test]
    fn a_process_within_the_harness_noise_has_no_rate() {
        let a = procs(&[&[1.0, 1.2], &[-0.1, 0.05, -0.2]]);
        assert!(ns_per_event(&a).is_none());
        assert!(ns_per_event(&[]).is_none());
    }
}
