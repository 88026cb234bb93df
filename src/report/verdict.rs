//! The answer of a run, with its uncertainty (issue 12 item 3): per workload, each allocator's
//! net throughput with a 95 % interval, its speed relative to a reference allocator taken pair
//! by pair (rounds of one process), the winner, sentences a person can quote, and an overall
//! ranking across workloads (geometric mean with its interval).
//!
//! Throughput figures rest on the per-round samples of [`ThroughputSamples`], pooled over the
//! repetitions. A speed ratio pairs the two allocators' net samples of the same round of the
//! same process (their noise is shared and cancels); allocators measured in different
//! processes fall back to a ratio of medians. Where the 95 % interval of a ratio contains 1,
//! the two cannot be told apart and the verdict says "indistinguishable" instead of a ratio.
//! `null` has no net figure (it *is* the harness), so comparisons involving it use gross ones.

use super::model::{CellResult, RunResults};
use crate::metrics::Id;
use crate::stats::{self, median, paired_ratio, ratio_of_medians, Bootstrap, Estimate, SplitMix64};

/// How two allocators' throughputs relate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relation {
    /// `speed` > 1 with its whole interval above 1 (or below 1 for `Slower`).
    Faster,
    Slower,
    /// The interval contains 1.
    Indistinguishable,
}

/// One allocator's speed relative to another: throughput(a) / throughput(b), 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub ratio: Estimate,
    /// Whether the samples were paired round by round (one process) or not.
    pub paired: bool,
}

/// The harness's resolution: `null` against itself, taking turns in one process, comes out
/// up to ~1 % apart with a tight interval (0.992, 95 % interval 0.985 – 0.996, on this VM), a
/// systematic effect of position and placement that no interval shows. Differences smaller
/// than this are reported as indistinguishable even when their interval excludes 1.
pub const RESOLUTION: f64 = 0.02;

impl Speed {
    pub fn relation(&self) -> Relation {
        let within = (self.ratio.point - 1.0).abs() < RESOLUTION;
        if self.ratio.lo > 1.0 && !within {
            Relation::Faster
        } else if self.ratio.hi < 1.0 && !within {
            Relation::Slower
        } else {
            Relation::Indistinguishable
        }
    }

    /// Half the interval's width relative to the point: "± x %".
    pub fn rel_half_width(&self) -> f64 {
        (self.ratio.hi - self.ratio.lo) / 2.0 / self.ratio.point
    }
}

/// One allocator on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub allocator: String,
    pub ok_reps: usize,
    pub failed_reps: usize,
    /// Net throughput (events/s of the allocator's own cost), median with interval.
    pub net_ops: Option<Estimate>,
    /// Gross throughput (harness included).
    pub gross_ops: Option<Estimate>,
    /// Medians over repetitions of the memory and latency figures.
    pub peak_rss: Option<f64>,
    pub p99_net: Option<f64>,
    pub detail: Vec<(Id, Option<f64>)>,
    /// Relative to the reference (`None` for the reference itself or without samples).
    pub speed: Option<Speed>,
    pub winner: bool,
}

/// The verdict of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadVerdict {
    pub workload: String,
    pub reference: String,
    /// `null`'s cost per event (the harness's own), median over its samples.
    pub harness_ns: Option<f64>,
    pub samples: usize,
    pub entries: Vec<Entry>,
}

/// Figures kept out of the default table, shown with `--format wide`.
pub const DETAIL: [Id; 7] = [
    Id::OpsPerSec,
    Id::HarnessNsPerOp,
    Id::ColdNsPerOp,
    Id::LatP50Net,
    Id::LatP99,
    Id::RetainedRssBytes,
    Id::FragRatio,
];

fn cells_of<'a>(results: &'a RunResults, w: &str, a: &str) -> Vec<&'a CellResult> {
    results
        .cells
        .iter()
        .filter(|c| c.workload == w && c.allocator == a)
        .collect()
}

/// Per-round ns/event samples of `a` on `w` by group: net ones, or gross for `null`.
fn samples(cells: &[&CellResult], gross: bool) -> Vec<(String, Vec<f64>)> {
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

fn bootstrap(key: &str) -> Bootstrap {
    Bootstrap {
        resamples: 4000,
        ..Bootstrap::new(stats::seed_for(key))
    }
}

/// ns/event → events/s, with the interval's ends swapped.
fn to_rate(e: Estimate) -> Option<Estimate> {
    (e.lo > 0.0).then(|| Estimate {
        point: 1e9 / e.point,
        lo: 1e9 / e.hi,
        hi: 1e9 / e.lo,
    })
}

/// throughput(a) / throughput(b) on workload `w`: paired by round where both come from one
/// process, else a ratio of medians. `None` without samples on either side.
pub fn speed(results: &RunResults, w: &str, a: &str, b: &str) -> Option<Speed> {
    let gross = a == "null" || b == "null";
    let sa = samples(&cells_of(results, w, a), gross);
    let sb = samples(&cells_of(results, w, b), gross);
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    let (mut ua, mut ub) = (Vec::new(), Vec::new());
    for (ga, va) in &sa {
        match sb.iter().find(|(gb, _)| gb == ga) {
            Some((_, vb)) => {
                for (x, y) in va.iter().zip(vb) {
                    if *x > 0.0 && *y > 0.0 {
                        pa.push(*x);
                        pb.push(*y);
                    }
                }
            }
            None => ua.extend(va.iter().copied().filter(|x| *x > 0.0)),
        }
    }
    for (gb, vb) in &sb {
        if !sa.iter().any(|(ga, _)| ga == gb) {
            ub.extend(vb.iter().copied().filter(|x| *x > 0.0));
        }
    }
    let bs = bootstrap(&format!("{w}/{a}/{b}"));
    // Speed of a relative to b = ns(b) / ns(a).
    if pa.len() >= 2 && ua.is_empty() && ub.is_empty() {
        let ratio = paired_ratio(&pb, &pa, &bs)?;
        return Some(Speed {
            ratio,
            paired: true,
        });
    }
    let (xa, xb) = ([pa, ua].concat(), [pb, ub].concat());
    let ratio = ratio_of_medians(&xa, &xb, &bs)?;
    Some(Speed {
        ratio,
        paired: false,
    })
}

/// Picks the reference: the asked one (a bare `pymalloc` matches any engine preset), else
/// the first engine row, else the first row.
fn pick_reference(allocators: &[String], asked: Option<&str>) -> String {
    let asked = asked.unwrap_or("pymalloc");
    allocators
        .iter()
        .find(|a| *a == asked)
        .or_else(|| {
            allocators
                .iter()
                .find(|a| asked == "pymalloc" && a.starts_with("pymalloc"))
        })
        .or_else(|| allocators.iter().find(|a| a.starts_with("pymalloc")))
        .or_else(|| allocators.first())
        .cloned()
        .unwrap_or_default()
}

/// Whether `asked` names an allocator of the run (for a clear error before printing).
pub fn has_allocator(results: &RunResults, asked: &str) -> bool {
    results.cells.iter().any(|c| {
        c.allocator == asked || (asked == "pymalloc" && c.allocator.starts_with("pymalloc"))
    })
}

/// The verdict of every replay workload of the run, relative to `reference`.
pub fn judge(results: &RunResults, reference: Option<&str>) -> Vec<WorkloadVerdict> {
    let mut workloads: Vec<&str> = Vec::new();
    for c in &results.cells {
        if c.kind == super::model::CellKind::Replay && !workloads.contains(&c.workload.as_str()) {
            workloads.push(&c.workload);
        }
    }
    workloads
        .into_iter()
        .map(|w| judge_workload(results, w, reference))
        .collect()
}

fn judge_workload(results: &RunResults, w: &str, reference: Option<&str>) -> WorkloadVerdict {
    let mut allocators: Vec<String> = Vec::new();
    for c in results.cells.iter().filter(|c| c.workload == w) {
        if c.allocator != "null" && !allocators.contains(&c.allocator) {
            allocators.push(c.allocator.clone());
        }
    }
    let reference = pick_reference(&allocators, reference);
    let null_cells = cells_of(results, w, "null");
    let null_samples: Vec<f64> = samples(&null_cells, true)
        .into_iter()
        .flat_map(|(_, v)| v)
        .collect();
    let mut entries: Vec<Entry> = allocators
        .iter()
        .map(|a| {
            let cells = cells_of(results, w, a);
            let ok: Vec<&CellResult> = cells.iter().copied().filter(|c| c.is_ok()).collect();
            let pooled = |gross| -> Vec<f64> {
                samples(&ok, gross)
                    .into_iter()
                    .flat_map(|(_, v)| v)
                    .collect()
            };
            let bs = bootstrap(&format!("{w}/{a}"));
            let med = |id: Id, op: Option<&str>| {
                let v: Vec<f64> = ok.iter().filter_map(|c| c.metric(id, op)).collect();
                median(&v)
            };
            Entry {
                allocator: a.clone(),
                ok_reps: ok.len(),
                failed_reps: cells.len() - ok.len(),
                net_ops: stats::median_interval(&pooled(false), &bs).and_then(to_rate),
                gross_ops: stats::median_interval(&pooled(true), &bs).and_then(to_rate),
                peak_rss: med(Id::PeakRssBytes, None),
                p99_net: med(Id::LatP99Net, Some("all")),
                detail: DETAIL
                    .iter()
                    .map(|&id| {
                        let op = id.name().starts_with("lat_").then_some("all");
                        (id, med(id, op))
                    })
                    .collect(),
                speed: (*a != reference)
                    .then(|| speed(results, w, a, &reference))
                    .flatten(),
                winner: false,
            }
        })
        .collect();
    let best = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.net_ops.map(|n| (i, n.point)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(i, _)| i);
    if let Some(i) = best {
        entries[i].winner = true;
    }
    WorkloadVerdict {
        workload: w.to_string(),
        reference,
        harness_ns: median(&null_samples),
        samples: null_samples.len(),
        entries,
    }
}

/// "jemalloc is 1.12 ± 0.03× faster than pymalloc", or "… are indistinguishable (…)".
pub fn sentence(a: &str, reference: &str, s: &Speed) -> String {
    let r = s.ratio;
    match s.relation() {
        Relation::Faster => format!(
            "{a} is {:.2} ± {:.2}× faster than {reference}",
            r.point,
            (r.hi - r.lo) / 2.0
        ),
        Relation::Slower => {
            let (p, lo, hi) = (1.0 / r.point, 1.0 / r.hi, 1.0 / r.lo);
            format!(
                "{reference} is {p:.2} ± {:.2}× faster than {a}",
                (hi - lo) / 2.0
            )
        }
        Relation::Indistinguishable => format!(
            "{a} and {reference} are indistinguishable ({:.2}×, 95 % interval {:.2}–{:.2}; resolution ±2 %)",
            r.point, r.lo, r.hi
        ),
    }
}

/// One allocator's standing over all workloads: geometric mean of its speed relative to the
/// reference, with an interval (each workload's paired ratios resampled, medians taken, their
/// geometric mean formed, 4000 times).
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub allocator: String,
    pub geomean: Estimate,
    pub workloads: usize,
}

/// The overall ranking, best first. An allocator enters only if it has a speed on every
/// workload (a geometric mean over different workloads would not compare).
pub fn ranking(results: &RunResults, verdicts: &[WorkloadVerdict]) -> Vec<Standing> {
    let mut names: Vec<String> = Vec::new();
    for v in verdicts {
        for e in &v.entries {
            if !names.contains(&e.allocator) {
                names.push(e.allocator.clone());
            }
        }
    }
    let mut out: Vec<Standing> = names
        .iter()
        .filter_map(|a| standing(results, verdicts, a))
        .collect();
    out.sort_by(|x, y| y.geomean.point.total_cmp(&x.geomean.point));
    out
}

fn standing(results: &RunResults, verdicts: &[WorkloadVerdict], a: &str) -> Option<Standing> {
    // Per workload: the per-round ratios (or, unpaired, the point alone).
    let mut per_workload: Vec<Vec<f64>> = Vec::new();
    for v in verdicts {
        if v.reference == a {
            per_workload.push(vec![1.0]);
            continue;
        }
        let e = v.entries.iter().find(|e| e.allocator == a)?;
        let s = e.speed?;
        per_workload.push(
            round_ratios(results, &v.workload, a, &v.reference).unwrap_or(vec![s.ratio.point]),
        );
    }
    if per_workload.is_empty() {
        return None;
    }
    let points: Vec<f64> = per_workload.iter().filter_map(|r| median(r)).collect();
    let point = stats::geomean(&points)?;
    let mut rng = SplitMix64::new(stats::seed_for(&format!("rank/{a}")));
    let mut reps: Vec<f64> = (0..4000)
        .filter_map(|_| {
            let meds: Vec<f64> = per_workload
                .iter()
                .filter_map(|r| {
                    let s: Vec<f64> = (0..r.len())
                        .map(|_| r[rng.below(r.len() as u64) as usize])
                        .collect();
                    median(&s)
                })
                .collect();
            stats::geomean(&meds)
        })
        .collect();
    reps.sort_by(|x, y| x.total_cmp(y));
    let at = |q: f64| reps[((q * (reps.len() - 1) as f64).round() as usize).min(reps.len() - 1)];
    if reps.is_empty() {
        return None;
    }
    Some(Standing {
        allocator: a.to_string(),
        geomean: Estimate {
            point,
            lo: at(0.025).min(point),
            hi: at(0.975).max(point),
        },
        workloads: per_workload.len(),
    })
}

/// The paired per-round speed ratios of `a` to `b` (ns(b)/ns(a), net), when paired.
fn round_ratios(results: &RunResults, w: &str, a: &str, b: &str) -> Option<Vec<f64>> {
    let gross = a == "null" || b == "null";
    let sa = samples(&cells_of(results, w, a), gross);
    let sb = samples(&cells_of(results, w, b), gross);
    let mut out = Vec::new();
    for (ga, va) in &sa {
        let (_, vb) = sb.iter().find(|(gb, _)| gb == ga)?;
        out.extend(
            va.iter()
                .zip(vb)
                .filter(|(x, y)| **x > 0.0 && **y > 0.0)
                .map(|(x, y)| y / x),
        );
    }
    (!out.is_empty()).then_some(out)
}

/// Figures whose 95 % interval is wider than ±`limit` (relative): (what, ± fraction).
pub fn wide_intervals(verdicts: &[WorkloadVerdict], limit: f64) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for v in verdicts {
        for e in &v.entries {
            if let Some(n) = e.net_ops {
                let hw = (n.hi - n.lo) / 2.0 / n.point;
                if hw > limit {
                    out.push((format!("{} net ops/s on {}", e.allocator, v.workload), hw));
                }
            }
            if let Some(s) = e.speed {
                if s.rel_half_width() > limit {
                    out.push((
                        format!("{} vs {} on {}", e.allocator, v.reference, v.workload),
                        s.rel_half_width(),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::compact::CompactStream;
    use crate::harness::replay::Touch;
    use crate::harness::throughput::{measure_group, Bench, Calibration, Contender};
    use crate::report::model::{CellKind, ThroughputSamples};
    use crate::workload::{Domain, Event};
    use std::rc::Rc;

    fn results(cells: Vec<CellResult>) -> RunResults {
        RunResults {
            format_version: 1,
            pybench_version: String::new(),
            git_commit: None,
            run: "t".into(),
            started_utc: String::new(),
            command_line: Vec::new(),
            machine: Default::default(),
            parameters: Default::default(),
            allocators: Vec::new(),
            cells,
            interrupted: false,
            validation: None,
        }
    }

    fn cell(a: &str, ns: Vec<f64>, null: Vec<f64>) -> CellResult {
        let mut c = CellResult::new("w", a, 0, CellKind::Replay);
        c.throughput = Some(ThroughputSamples {
            group: "w/rep1/g0".into(),
            min_time_ns: 1,
            passes_per_sample: 1,
            cold_ns_per_op: 1.0,
            ns_per_op: ns,
            null_ns_per_op: null,
        });
        c
    }

    #[test]
    fn null_against_itself_in_one_process_is_indistinguishable() {
        // Two null contenders measured for real, taking turns in this process.
        let events: Vec<Event> = (0..20_000u32)
            .flat_map(|i| {
                [
                    Event::Alloc {
                        slot: i % 100,
                        size: 32,
                        domain: Domain::Obj,
                        thread: 0,
                    },
                    Event::Free {
                        slot: i % 100,
                        thread: 0,
                    },
                ]
            })
            .collect();
        let s = Rc::new(CompactStream::compile(&events, false, Touch::Header).unwrap());
        let null = || -> Box<dyn Contender> {
            let a = crate::alloc::NullAllocator::new().unwrap();
            Box::new(Bench::new("null", a, Rc::clone(&s)).unwrap())
        };
        let mut cs = vec![null(), null()];
        let cal = Calibration {
            min_time_ns: 1_000_000,
            rounds: 30,
            warmup_passes: 1,
            fixed_layout: false,
        };
        let g = measure_group(&mut cs, cal).unwrap();
        let (a, b) = (&g.contenders[0], &g.contenders[1]);
        let r = results(vec![
            cell(
                "null",
                a.samples_ns_per_op.clone(),
                a.samples_ns_per_op.clone(),
            ),
            cell(
                "null-twin",
                b.samples_ns_per_op.clone(),
                a.samples_ns_per_op.clone(),
            ),
        ]);
        // Gross figures (null has no net one): paired by round.
        let sp = speed(&r, "w", "null-twin", "null").unwrap();
        assert!(sp.paired);
        assert_eq!(sp.relation(), Relation::Indistinguishable, "{sp:?}");
        assert!(sentence("null-twin", "null", &sp).contains("indistinguishable"));
    }

    #[test]
    fn a_clear_difference_gets_a_ratio_and_its_direction() {
        let null = vec![2.0, 2.1, 1.9, 2.0, 2.05, 1.95, 2.0, 2.0];
        let fast: Vec<f64> = null.iter().map(|n| n + 4.0).collect();
        let slow: Vec<f64> = null.iter().map(|n| n + 8.0 + n * 0.01).collect();
        let r = results(vec![
            cell("null", null.clone(), null.clone()),
            cell("pymalloc:cpython-3.11", fast, null.clone()),
            cell("system", slow, null.clone()),
        ]);
        let v = judge(&r, None);
        assert_eq!(v[0].reference, "pymalloc:cpython-3.11");
        let sys = v[0]
            .entries
            .iter()
            .find(|e| e.allocator == "system")
            .unwrap();
        let sp = sys.speed.unwrap();
        assert_eq!(sp.relation(), Relation::Slower);
        assert!((sp.ratio.point - 0.5).abs() < 0.01, "{sp:?}");
        assert!(sentence("system", "pymalloc:cpython-3.11", &sp)
            .starts_with("pymalloc:cpython-3.11 is 2.0"));
        assert!(v[0].entries[0].winner && !sys.winner);
        // With the other reference, the ratio turns over.
        let v = judge(&r, Some("system"));
        let py = &v[0].entries[0];
        assert!((py.speed.unwrap().ratio.point - 2.0).abs() < 0.05);
        // Tight, paired data: nothing to warn about.
        assert!(wide_intervals(&v, 0.05).is_empty());
    }

    #[test]
    fn scattered_samples_are_flagged_as_wide() {
        let null = vec![2.0; 6];
        let noisy = vec![4.0, 9.0, 5.0, 12.0, 3.0, 8.0];
        let r = results(vec![
            cell("pymalloc:cpython-3.11", vec![6.0; 6], null.clone()),
            cell("system", noisy, null),
        ]);
        let v = judge(&r, None);
        let wide = wide_intervals(&v, 0.05);
        assert!(
            wide.iter().any(|(what, _)| what.starts_with("system")),
            "{wide:?}"
        );
    }

    #[test]
    fn compare_warns_when_the_cpu_models_differ() {
        let mut a = results(Vec::new());
        let mut b = results(Vec::new());
        a.machine.cpu_model = Some("AMD EPYC".into());
        b.machine.cpu_model = Some("AMD EPYC".into());
        assert_eq!(crate::compare::cpu_warning(&a, &b), None);
        b.machine.cpu_model = Some("Intel Xeon".into());
        let w = crate::compare::cpu_warning(&a, &b).unwrap();
        assert!(w.contains("AMD EPYC vs Intel Xeon"), "{w}");
    }
}
