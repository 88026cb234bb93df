//! What a `results.json` must hold to be read (`compare::parse`, behind `compare`, `plot` and
//! `merge`): figures a run can measure, each cell once. pybench never writes anything else, so
//! a file that breaks one was damaged or edited by hand, and is refused in one line naming
//! the cell rather than judged.

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
