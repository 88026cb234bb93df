//! Throughput processes far from the rest of their cell. A process measures one address
//! layout and one set of pages, and now and then an allocator meets one that costs it
//! several times its usual: in a five-run sitting (README "Stability", attempt 43) one of
//! jemalloc's 100 processes on webapp ran 13.1 ns/event in every round where the other 99
//! ran 5.1 – 5.6, and alone it moved that run's ratio by 5 % and widened its interval to
//! ±11 %. Such a process is real (a program may meet that layout too), so it stays in the
//! figure; the run names it, so a reader knows why that interval is wide and that the
//! verdict rests on one process more than on the others.

use super::model::RunResults;
use crate::stats::median;
use std::collections::BTreeMap;

/// A process at least this many times slower (or faster) than its cell's median is named.
pub const OUTLIER_FACTOR: f64 = 1.5;

/// …and only when it also lies this many median absolute deviations (of the logarithms)
/// from the median: in a cell whose processes all scatter widely, none stands out.
const OUTLIER_MADS: f64 = 5.0;

/// At most one process in this many (and always one) may be named in a cell.
const MAX_FAR_SHARE: usize = 10;

/// Fewest processes in a cell before one is called far from the rest.
const MIN_PROCESSES: usize = 5;

/// One throughput process of a cell: its repetition, net figure and net rounds.
struct Process {
    repetition: u32,
    net: f64,
    rounds: Vec<f64>,
}

/// One note per workload × allocator (not `null`) with processes far from the rest.
pub fn outlier_lines(results: &RunResults) -> Vec<String> {
    let mut cells: BTreeMap<(&str, &str), Vec<Process>> = BTreeMap::new();
    for c in results.cells.iter().filter(|c| c.is_ok()) {
        let Some(t) = c.throughput.as_ref().filter(|_| c.allocator != "null") else {
            continue;
        };
        let rounds = t.net_ns_per_op();
        if let Some(net) = median(&rounds).filter(|n| *n > 0.0) {
            cells
                .entry((&c.workload, &c.allocator))
                .or_default()
                .push(Process {
                    repetition: c.repetition,
                    net,
                    rounds,
                });
        }
    }
    cells
        .into_iter()
        .filter_map(|((w, a), procs)| cell_line(w, a, &procs))
        .collect()
}

/// The note on one cell's processes, if any is far from the rest.
fn cell_line(w: &str, a: &str, procs: &[Process]) -> Option<String> {
    if procs.len() < MIN_PROCESSES {
        return None;
    }
    let logs: Vec<f64> = procs.iter().map(|p| p.net.ln()).collect();
    let centre = median(&logs)?;
    let deviations: Vec<f64> = logs.iter().map(|l| (l - centre).abs()).collect();
    let mad = median(&deviations)?;
    let far: Vec<(&Process, f64)> = procs
        .iter()
        .zip(&logs)
        .map(|(p, l)| (p, l - centre))
        .filter(|(_, d)| d.abs() >= OUTLIER_FACTOR.ln() && d.abs() > OUTLIER_MADS * mad)
        .collect();
    // Far processes are a few against many; more than one in ten is a cell of two kinds of
    // process (bimodal), which the wide-interval warning covers.
    if far.is_empty() || far.len() > (procs.len() / MAX_FAR_SHARE).max(1) {
        return None;
    }
    let described: Vec<String> = far.iter().map(|(p, d)| describe(p, *d)).collect();
    // The figure is a geometric mean over the processes: each far one moves it by its log
    // distance over their number. Net cost up is net throughput down.
    let shift: f64 = far.iter().map(|(_, d)| d).sum::<f64>() / procs.len() as f64;
    Some(format!(
        "note: {a} on {w}: {} of {} throughput processes far from the others ({}); {} in \
         the figure and its interval, and move{} its net throughput by {} %",
        far.len(),
        procs.len(),
        described.join("; "),
        if far.len() == 1 { "it is" } else { "they are" },
        if far.len() == 1 { "s" } else { "" },
        super::digits::signed(((-shift).exp() - 1.0) * 100.0, 1)
    ))
}

/// "repetition 4 ran 2.47× slower than the median, every round alike (±0.4 %): the
/// process, not a preemption".
fn describe(p: &Process, log_distance: f64) -> String {
    let factor = log_distance.abs().exp();
    let way = if log_distance > 0.0 {
        "slower"
    } else {
        "faster"
    };
    let (lo, hi) = p
        .rounds
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
    let spread = (hi / lo - 1.0) / 2.0;
    // Rounds that agree far more closely than the process differs from the rest point at
    // the process itself (its address layout, its pages), not at a moment of preemption.
    let why = if lo > 0.0 && spread < (factor - 1.0) / 4.0 {
        format!(
            ", every round alike (±{} %): the process (its layout, its pages), not a \
             preemption",
            super::digits::half_width_pct(spread)
        )
    } else {
        String::new()
    };
    format!(
        "repetition {} ran {factor:.2}× {way} than the median{why}",
        p.repetition
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `n` processes of pymalloc and jemalloc on `w`, jemalloc's net cost in
    /// process `p` being `je(p)` in every round (pymalloc 5, null 1).
    fn run(n: u32, je: impl Fn(u32) -> Vec<f64>) -> RunResults {
        let mut cells = Vec::new();
        for p in 0..n {
            let null = vec![1.0; 3];
            let gross = |net: Vec<f64>| net.iter().map(|x| x + 1.0).collect::<Vec<_>>();
            for (a, net) in [("pymalloc", vec![5.0, 5.1, 4.9]), ("jemalloc", je(p))] {
                cells.push(RunResults::sampled_cell(
                    "webapp",
                    a,
                    p,
                    gross(net),
                    null.clone(),
                ));
            }
            cells.push(RunResults::sampled_cell(
                "webapp",
                "null",
                p,
                null.clone(),
                null,
            ));
        }
        RunResults::of_cells(cells)
    }

    /// Processes scattering a little about 5.3 ns/event.
    fn usual(p: u32) -> Vec<f64> {
        let x = 5.1 + 0.05 * f64::from(p % 5);
        vec![x, x * 1.01, x * 0.99]
    }

    #[test]
    fn one_process_several_times_slower_is_named_with_its_effect() {
        let r = run(20, |p| {
            if p == 4 {
                vec![13.1, 13.0, 13.1]
            } else {
                usual(p)
            }
        });
        let lines = outlier_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let l = &lines[0];
        assert!(l.starts_with("note: jemalloc on webapp: 1 of 20"), "{l}");
        assert!(l.contains("repetition 4 ran 2.52× slower"), "{l}");
        assert!(
            l.contains("slower than the median, every round alike"),
            "{l}"
        );
        // ln(13.1 / 5.2) / 20 ≈ 0.046 (the median of the others' medians is 5.2): the geometric mean's throughput 4.5 % lower.
        assert!(l.ends_with("net throughput by -4.5 %"), "{l}");
    }

    #[test]
    fn a_process_whose_rounds_disagree_is_not_called_the_layout() {
        let r = run(10, |p| {
            if p == 2 {
                vec![3.0, 12.0, 11.0]
            } else {
                usual(p)
            }
        });
        let lines = outlier_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("repetition 2 ran 2.1"), "{}", lines[0]);
        assert!(!lines[0].contains("every round alike"), "{}", lines[0]);
    }

    #[test]
    fn steady_or_widely_scattered_cells_and_small_ones_are_not_named() {
        assert!(outlier_lines(&run(20, usual)).is_empty());
        // Every process anywhere between 3 and 12: none stands out from the others.
        let wide = |p: u32| vec![3.0 + 0.5 * f64::from(p); 3];
        assert!(outlier_lines(&run(19, wide)).is_empty());
        // Four processes are too few to call one of them far from the rest.
        let r = run(4, |p| if p == 0 { vec![13.0; 3] } else { usual(p) });
        assert!(outlier_lines(&r).is_empty());
        // Two kinds of process, 2 of 5 at twice the others' cost: bimodal, not far ones.
        let r = run(5, |p| {
            if p % 2 == 1 {
                vec![10.4; 3]
            } else {
                vec![5.2; 3]
            }
        });
        assert!(outlier_lines(&r).is_empty());
        // A process 1.4× slower, however steady the others, is within the factor.
        let r = run(10, |p| {
            if p == 0 {
                vec![5.2 * 1.4; 3]
            } else {
                vec![5.2; 3]
            }
        });
        assert!(outlier_lines(&r).is_empty());
    }

    #[test]
    fn a_faster_process_is_named_too() {
        let r = run(8, |p| if p == 7 { vec![2.5; 3] } else { usual(p) });
        let lines = outlier_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("repetition 7 ran 2.06"), "{}", lines[0]);
        assert!(
            lines[0].contains("× faster than the median"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("by +"), "{}", lines[0]);
    }
}
