//! What a `results.json` must hold to be read (`compare::parse`, behind `compare`, `plot` and
//! `merge`): figures a run can measure, each cell once. pybench never writes anything else, so
//! a file that breaks one was damaged or edited by hand, and is refused in one line naming
//! the cell, rather than judged: negative times and sizes once read as "33 improved" and
//! passed a CI gate.

use super::model::{CellResult, RunResults};

/// "dicts × system rep 2", as the errors name a cell.
fn cell_name(c: &CellResult) -> String {
    format!("{} × {} rep {}", c.workload, c.allocator, c.repetition)
}

impl RunResults {
    /// Every per-pass sample is a pass's time per event, so positive: a zero or negative one
    /// (a hand-edited or damaged file) would make a log-ratio test of nothing, and figures
    /// such as "-118 %" or an infinite speed, instead of one line naming the cell.
    pub fn check_samples(&self) -> Result<(), String> {
        for c in &self.cells {
            let Some(t) = &c.throughput else { continue };
            let mut all = t.ns_per_op.iter().chain(&t.null_ns_per_op);
            if let Some(v) = all.find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(format!(
                    "{}: a throughput sample of {v} ns/event (a pass takes a positive time)",
                    cell_name(c)
                ));
            }
        }
        Ok(())
    }

    /// Every metric a finite number, and not below zero unless the catalogue calls it
    /// `signed` (a difference): times, rates, bytes, ratios of them and counts cannot be.
    /// Metrics this version does not know (from another version) are only held to finite.
    pub fn check_metrics(&self) -> Result<(), String> {
        for c in &self.cells {
            for m in &c.metrics {
                let signed = m.id().map_or(true, |id| id.info().signed);
                let why = if !m.value.is_finite() {
                    ", not a finite number"
                } else if m.value < 0.0 && !signed {
                    "; only a difference can be negative"
                } else {
                    continue;
                };
                let op =
                    m.op.as_deref()
                        .map(|o| format!("[{o}]"))
                        .unwrap_or_default();
                return Err(format!(
                    "{}: {}{op} is {:?} {}{why}",
                    cell_name(c),
                    m.name,
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
        for c in &self.cells {
            for (what, name) in [("workload", &c.workload), ("allocator", &c.allocator)] {
                if let Some(why) = crate::trace::hostile_in(name) {
                    return Err(format!(
                        "{}: the {what} name holds {why}; names must be one line of visible text",
                        crate::trace::printable(&cell_name(c))
                    ));
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
                let op =
                    m.op.as_deref()
                        .map(|o| format!("[{o}]"))
                        .unwrap_or_default();
                return Err(format!(
                    "{}: {}{op} appears twice (a cell measures each metric once)",
                    cell_name(c),
                    m.name
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
