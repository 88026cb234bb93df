//! What a `results.json` must hold to be read (`compare::parse`, behind `compare`, `plot` and
//! `merge`): figures a run can measure, each cell once. pybench never writes anything else, so
//! a file that breaks one was damaged or edited by hand, and is refused in one line naming
//! the cell, rather than judged: negative times and sizes once read as "33 improved" and
//! passed a CI gate.

use super::model::{CellResult, RunResults};
use crate::compare::metric_label;

/// The largest magnitude a figure of a run can have: 10^18 ns is 31 years, 10^18 B an
/// exabyte, 10^18 events 30 years of them at 10^9 a second. A hand-edited 1e308 passed every
/// check and made `compare` print "+inf %" rows, a verdict and exit 1, and `plot` draw axes
/// to 1e308 (fuzzing, 2026-12-07): beyond this a figure is refused, so every ratio and
/// interval computed from figures stays finite.
pub const LARGEST_FIGURE: f64 = 1e18;

/// The smallest magnitude of a figure that is not zero and not a difference: no time, size,
/// rate, count or ratio of them that pybench measures comes near 10^-12 (a pass takes
/// 10^-1 ns an event and more); a planted 5e-324 as a baseline made every ratio to it
/// infinite (fuzzing, 2026-12-07). Differences (`signed` metrics) may come arbitrarily close
/// to zero, so only their magnitude's upper end is bounded.
pub const SMALLEST_FIGURE: f64 = 1e-12;

/// Why `v`, a figure whose unsigned kind is `signed` or not, is not one a run measures.
fn implausible(v: f64, signed: bool) -> Option<&'static str> {
    if !v.is_finite() {
        Some(", not a finite number")
    } else if v < 0.0 && !signed {
        Some("; only a difference can be negative")
    } else if v.abs() > LARGEST_FIGURE {
        Some(", beyond any figure a run measures (at most 1e18)")
    } else if !signed && v != 0.0 && v < SMALLEST_FIGURE {
        Some(", too small for any figure a run measures (at least 1e-12 unless 0)")
    } else {
        None
    }
}

/// "dicts × system rep 2", as the errors name a cell.
fn cell_name(c: &CellResult) -> String {
    format!("{} × {} rep {}", c.workload, c.allocator, c.repetition)
}

impl RunResults {
    /// Every per-pass sample is a pass's time per event, so positive: a zero or negative one
    /// (a hand-edited or damaged file) would make a log-ratio test of nothing, and figures
    /// such as "-118 %" or an infinite speed, instead of one line naming the cell. The cold
    /// pass is such a time too (`compare --relative-to` takes ratios of it), and warm faults
    /// per pass a count; each is held to the bounds every metric is ([`LARGEST_FIGURE`],
    /// [`SMALLEST_FIGURE`]).
    pub fn check_samples(&self) -> Result<(), String> {
        for c in &self.cells {
            let Some(t) = &c.throughput else { continue };
            let passes = t.ns_per_op.iter().chain(&t.null_ns_per_op);
            let times = passes.chain(std::iter::once(&t.cold_ns_per_op));
            if let Some(v) = times
                .copied()
                .find(|v| *v <= 0.0 || implausible(*v, false).is_some())
            {
                return Err(format!(
                    "{}: a throughput sample of {v:?} ns/event (a pass takes a positive time, \
                     1e-12 to 1e18 ns)",
                    cell_name(c)
                ));
            }
            let faults = t.warm_faults_per_pass;
            if let Some((f, why)) = faults.and_then(|f| Some((f, implausible(f, false)?))) {
                return Err(format!(
                    "{}: warm_faults_per_pass is {f:?}{why}",
                    cell_name(c)
                ));
            }
        }
        Ok(())
    }

    /// Every metric a finite number within [`LARGEST_FIGURE`], and not below zero (nor,
    /// unless zero, below [`SMALLEST_FIGURE`]) unless the catalogue calls it `signed` (a
    /// difference): times, rates, bytes, ratios of them and counts cannot be. Metrics this
    /// version does not know (from another version) are held to finite and the upper bound.
    pub fn check_metrics(&self) -> Result<(), String> {
        for c in &self.cells {
            for m in &c.metrics {
                let signed = m.id().map_or(true, |id| id.info().signed);
                let Some(why) = implausible(m.value, signed) else {
                    continue;
                };
                return Err(format!(
                    "{}: {} is {:?} {}{why}",
                    cell_name(c),
                    metric_label(&m.name, m.op.as_deref()),
                    m.value,
                    m.unit
                ));
            }
        }
        Ok(())
    }

    /// Every cell's workload and allocator name one line of visible text: they are printed
    /// in errors, notes and tables, and a hand-edited name holding a newline and ESC made
    /// `compare`'s one-line error three lines and recoloured the terminal (fuzzing,
    /// 2026-12-07). Specs, traces and record names are refused the same way when made
    /// ([`crate::trace::hostile_in`]); the name is shown escaped.
    pub fn check_names(&self) -> Result<(), String> {
        let refuse = |c: &CellResult, what: &str, why: String| {
            Err(format!(
                "{}: the {what} {why}; names must be one line of visible text",
                crate::trace::printable(&cell_name(c))
            ))
        };
        for c in &self.cells {
            for (what, name) in [("workload", &c.workload), ("allocator", &c.allocator)] {
                if name.is_empty() {
                    return refuse(c, what, "name is empty".to_string());
                }
                if let Some(why) = crate::trace::hostile_in(name) {
                    return refuse(c, what, format!("name holds {why}"));
                }
            }
            // Metric names, operations and units reach the tables and the CSV as they are:
            // an ESC in one recoloured the terminal of a `compare` reader (fuzzing, 2026-12-07).
            for m in &c.metrics {
                let texts = [Some(&m.name), m.op.as_ref(), Some(&m.unit)];
                if let Some(why) = texts
                    .into_iter()
                    .flatten()
                    .find_map(|t| crate::trace::hostile_in(t))
                {
                    let what = format!("metric {}", crate::trace::printable(&m.name));
                    return refuse(c, &what, format!("holds {why}"));
                }
            }
        }
        Ok(())
    }

    /// Every (metric, op) at most once in a cell: pybench writes each once, and `compare`
    /// takes every occurrence as a sample, so a hand-edited file holding `peak_rss_bytes`
    /// twice in one cell read as "+900 % regressed" (fuzzing, 2026-12-07).
    pub fn check_unique_metrics(&self) -> Result<(), String> {
        for c in &self.cells {
            let mut seen = std::collections::HashSet::new();
            if let Some(m) = c.metrics.iter().find(|m| !seen.insert((&m.name, &m.op))) {
                return Err(format!(
                    "{}: {} appears twice (a cell measures each metric once)",
                    cell_name(c),
                    metric_label(&m.name, m.op.as_deref())
                ));
            }
        }
        Ok(())
    }

    /// Every (workload, allocator, repetition, kind) at most once: pybench never writes one
    /// twice, and a copy (a hand-edited or badly joined file) would count one measurement as
    /// two samples in `compare`'s tests and `plot`'s intervals.
    pub fn check_unique_cells(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for c in &self.cells {
            if !seen.insert((&c.workload, &c.allocator, c.repetition, c.kind)) {
                return Err(format!(
                    "{} appears twice (each cell is measured once)",
                    cell_name(c)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Id;
    use crate::report::model::{CellKind, Metric};

    fn run(metrics: Vec<Metric>) -> RunResults {
        let mut c = CellResult::new("dicts", "system", 1, CellKind::Replay);
        c.metrics = metrics;
        RunResults::of_cells(vec![c])
    }

    #[test]
    fn amounts_below_zero_or_not_finite_are_refused_naming_cell_and_metric() {
        let e = run(vec![Metric::of(Id::PeakRssBytes, -1e300)]).check_metrics();
        assert_eq!(
            e.unwrap_err(),
            "dicts × system rep 1: peak_rss_bytes is -1e300 B; only a difference can be negative"
        );
        let e = run(vec![Metric::of_op(Id::LatP99, "free", -3.0)]).check_metrics();
        assert!(e.unwrap_err().contains("lat_p99[free] is -3.0 ns"));
        let e = run(vec![Metric::of(Id::OpsPerSec, f64::INFINITY)]).check_metrics();
        assert!(e
            .unwrap_err()
            .contains("ops_per_sec is inf ops/s, not a finite number"));
        let e = run(vec![Metric::new("from_a_later_version", f64::NAN, "ns")]).check_metrics();
        assert!(e.unwrap_err().contains("not a finite number"));
    }

    #[test]
    fn figures_beyond_any_measurement_are_refused() {
        // 1e308 as a baseline made compare print "+inf %" and exit 1; 5e-324 made every
        // ratio to it infinite.
        let e = run(vec![Metric::of(Id::PeakRssBytes, 1e308)]).check_metrics();
        assert_eq!(
            e.unwrap_err(),
            "dicts × system rep 1: peak_rss_bytes is 1e308 B, beyond any figure a run \
             measures (at most 1e18)"
        );
        let e = run(vec![Metric::of(Id::LoopNsPerOp, 5e-324)]).check_metrics();
        assert!(e
            .unwrap_err()
            .contains("too small for any figure a run measures"));
        // A difference is bounded above only, and an unknown metric as a difference is.
        let e = run(vec![Metric::of(Id::NetLoopNsPerOp, -2e18)]).check_metrics();
        assert!(e.unwrap_err().contains("beyond any figure"));
        let e = run(vec![Metric::new("from_a_later_version", 1e19, "ns")]).check_metrics();
        assert!(e.unwrap_err().contains("beyond any figure"));
    }

    #[test]
    fn figures_at_the_bounds_are_measurements() {
        let r = run(vec![
            Metric::of(Id::PeakRssBytes, LARGEST_FIGURE),
            Metric::of(Id::LoopNsPerOp, SMALLEST_FIGURE),
            Metric::of(Id::NetLoopNsPerOp, 1e-16),
            Metric::new("from_a_later_version", 1e-300, "ns"),
        ]);
        assert_eq!(r.check_metrics(), Ok(()));
    }

    fn sampled(edit: impl FnOnce(&mut crate::report::model::ThroughputSamples)) -> RunResults {
        let mut c = RunResults::sampled_cell("dicts", "system", 1, vec![5.0, 5.1], vec![1.0, 1.1]);
        edit(c.throughput.as_mut().unwrap());
        RunResults::of_cells(vec![c])
    }

    #[test]
    fn cold_passes_and_fault_counts_are_held_to_the_bounds() {
        assert_eq!(sampled(|_| ()).check_samples(), Ok(()));
        for cold in [0.0, -1.0, 5e-324, 1e300, f64::NAN] {
            let e = sampled(|t| t.cold_ns_per_op = cold)
                .check_samples()
                .unwrap_err();
            assert!(
                e.starts_with("dicts × system rep 1: a throughput sample of"),
                "{e}"
            );
        }
        let e = sampled(|t| t.ns_per_op[1] = 1e19)
            .check_samples()
            .unwrap_err();
        assert!(e.contains("sample of 1e19 ns/event"), "{e}");
        let e = sampled(|t| t.warm_faults_per_pass = Some(f64::INFINITY)).check_samples();
        assert!(e
            .unwrap_err()
            .contains("warm_faults_per_pass is inf, not a finite number"));
        assert_eq!(
            sampled(|t| t.warm_faults_per_pass = Some(0.0)).check_samples(),
            Ok(())
        );
    }

    #[test]
    fn empty_names_and_hostile_metric_texts_are_refused() {
        let mut c = CellResult::new("", "system", 1, CellKind::Replay);
        let e = RunResults::of_cells(vec![c.clone()])
            .check_names()
            .unwrap_err();
        assert_eq!(
            e,
            " × system rep 1: the workload name is empty; names must be one line of visible text"
        );
        c.workload = "dicts".into();
        c.metrics = vec![Metric::new("lat\u{1b}[31m", 1.0, "ns")];
        let e = RunResults::of_cells(vec![c.clone()])
            .check_names()
            .unwrap_err();
        assert!(
            e.contains("the metric lat\\u{1b}[31m holds a control character"),
            "{e}"
        );
        assert!(!e.contains('\u{1b}'), "{e}");
        c.metrics = vec![Metric::of_op(Id::LatP99, "free\n", 1.0)];
        assert!(RunResults::of_cells(vec![c.clone()]).check_names().is_err());
        c.metrics = vec![Metric::new("x", 1.0, "n\u{7}s")];
        assert!(RunResults::of_cells(vec![c.clone()]).check_names().is_err());
        c.metrics = vec![Metric::of_op(Id::LatP99, "free", 1.0)];
        assert_eq!(RunResults::of_cells(vec![c]).check_names(), Ok(()));
    }

    #[test]
    fn differences_and_zeros_are_measurements() {
        // Net of null: an allocator the noise put below the harness's own cost.
        let r = run(vec![
            Metric::of(Id::NetLoopNsPerOp, -0.4),
            Metric::of(Id::RetainedRssBytes, 0.0),
            Metric::new("from_a_later_version", -2.0, "ns"),
        ]);
        assert_eq!(r.check_metrics(), Ok(()));
    }
}
