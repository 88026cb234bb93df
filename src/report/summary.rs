//! The headline comparison: per workload, one row per allocator with the median over
//! repetitions of the figures people look at first, each also relative to a reference
//! allocator (`pymalloc` when present, else the first one).

use super::model::{CellKind, RunResults};
use crate::metrics::{percentile_of, Id};
use crate::stats::median;

/// A column of the summary: a catalogued metric, and the op for per-operation ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub metric: Id,
    pub op: Option<&'static str>,
}

impl Column {
    const fn of(metric: Id) -> Self {
        Column { metric, op: None }
    }

    /// Over all operation kinds.
    const fn all(metric: Id) -> Self {
        Column {
            metric,
            op: Some("all"),
        }
    }

    /// The heading of this column (the catalogue's).
    pub fn heading(&self) -> &'static str {
        self.metric.info().heading
    }
}

/// The headline figures of a replay.
pub const REPLAY_COLUMNS: [Column; 8] = [
    Column::of(Id::OpsPerSec),
    Column::all(Id::LatP50),
    Column::all(Id::LatP99),
    Column::all(Id::LatMax),
    Column::of(Id::PeakRssBytes),
    Column::of(Id::FragRatio),
    Column::of(Id::RetainedRssBytes),
    Column::of(Id::PeakLiveBytes),
];

/// The headline figures of a real execution (`pybench exec`).
pub const EXEC_COLUMNS: [Column; 6] = [
    Column::of(Id::WallNs),
    Column::of(Id::CpuNs),
    Column::of(Id::UserNs),
    Column::of(Id::SystemNs),
    Column::of(Id::PeakRssBytes),
    Column::of(Id::MinorFaults),
];

/// The columns for cells of this kind.
pub fn columns_for(kind: CellKind) -> &'static [Column] {
    match kind {
        CellKind::Replay => &REPLAY_COLUMNS,
        CellKind::Exec => &EXEC_COLUMNS,
    }
}

/// One allocator on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub allocator: String,
    pub ok_reps: usize,
    pub failed_reps: usize,
    /// Median of each column over the successful repetitions (`None` when absent).
    pub values: Vec<Option<f64>>,
    /// value / reference value for each column.
    pub relative: Vec<Option<f64>>,
}

/// All rows of one workload and the allocator they are relative to.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSummary {
    pub workload: String,
    pub reference: String,
    pub columns: &'static [Column],
    pub rows: Vec<Row>,
}

/// Summaries in the order workloads and allocators first appear in the results.
/// The `null` allocator (the harness's own cost) is left out of the rows.
pub fn summarize(results: &RunResults) -> Vec<WorkloadSummary> {
    let mut workloads: Vec<&str> = Vec::new();
    for c in &results.cells {
        if !workloads.contains(&c.workload.as_str()) {
            workloads.push(&c.workload);
        }
    }
    workloads
        .into_iter()
        .map(|w| {
            let cells: Vec<_> = results.cells.iter().filter(|c| c.workload == w).collect();
            let columns = columns_for(cells.first().map_or(CellKind::Replay, |c| c.kind));
            let mut allocators: Vec<&str> = Vec::new();
            for c in &cells {
                if c.allocator != "null" && !allocators.contains(&c.allocator.as_str()) {
                    allocators.push(&c.allocator);
                }
            }
            let mut rows: Vec<Row> = allocators
                .iter()
                .map(|a| {
                    let mine: Vec<_> = cells.iter().filter(|c| c.allocator == *a).collect();
                    let ok: Vec<_> = mine.iter().filter(|c| c.is_ok()).collect();
                    let values = columns
                        .iter()
                        .map(|col| {
                            let v: Vec<f64> = ok
                                .iter()
                                .filter_map(|c| c.metric(col.metric, col.op))
                                .collect();
                            median(&v)
                        })
                        .collect();
                    Row {
                        allocator: a.to_string(),
                        ok_reps: ok.len(),
                        failed_reps: mine.len() - ok.len(),
                        values,
                        relative: Vec::new(),
                    }
                })
                .collect();
            // The one `--reference` named (a bare `pymalloc`: the interpreter's own in `exec`,
            // else any engine row), then the engine, then the first row that ran.
            let asked = results.parameters.reference.as_deref();
            let reference = asked
                .and_then(|asked| {
                    let ran = |r: &&Row| r.ok_reps > 0;
                    rows.iter()
                        .filter(ran)
                        .find(|r| r.allocator == asked)
                        .or_else(|| {
                            let engine = |r: &&Row| asked == "pymalloc" && is_engine(&r.allocator);
                            rows.iter().filter(ran).find(engine)
                        })
                })
                .or_else(|| {
                    rows.iter()
                        .find(|r| is_engine(&r.allocator) && r.ok_reps > 0)
                })
                .or_else(|| rows.iter().find(|r| r.ok_reps > 0))
                .map(|r| (r.allocator.clone(), r.values.clone()));
            let reference_name = reference.as_ref().map(|r| r.0.clone()).unwrap_or_default();
            for row in &mut rows {
                row.relative = row
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let base = reference.as_ref()?.1[i]?;
                        let v = (*v)?;
                        (base != 0.0).then(|| v / base)
                    })
                    .collect();
            }
            WorkloadSummary {
                workload: w.to_string(),
                reference: reference_name,
                columns,
                rows,
            }
        })
        .collect()
}

/// Human formatting: 1234567 → "1.23M", bytes → "12.3 MiB".
pub fn human(value: f64, unit_bytes: bool) -> String {
    if unit_bytes {
        let units = ["B", "KiB", "MiB", "GiB"];
        let mut v = value;
        let mut i = 0;
        while v.abs() >= 1024.0 && i < units.len() - 1 {
            v /= 1024.0;
            i += 1;
        }
        return if i == 0 {
            format!("{v:.0} B")
        } else {
            format!("{v:.1} {}", units[i])
        };
    }
    let (v, suffix) = match value.abs() {
        x if x >= 1e9 => (value / 1e9, "G"),
        x if x >= 1e6 => (value / 1e6, "M"),
        x if x >= 1e4 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    if suffix.is_empty() && v.fract() != 0.0 && v.abs() < 100.0 {
        format!("{v:.2}")
    } else if suffix.is_empty() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}{suffix}")
    }
}

/// Durations in nanoseconds as a person reads them: "850 ns", "12.3 ms", "1.52 s".
pub fn human_duration(ns: f64) -> String {
    match ns.abs() {
        x if x >= 1e9 => format!("{:.2} s", ns / 1e9),
        x if x >= 1e6 => format!("{:.1} ms", ns / 1e6),
        x if x >= 1e3 => format!("{:.1} µs", ns / 1e3),
        _ => format!("{ns:.0} ns"),
    }
}

/// One cell of a table: the value, with its ratio to the reference in parentheses.
pub fn cell_text(
    column: &Column,
    value: Option<f64>,
    relative: Option<f64>,
    is_reference: bool,
) -> String {
    let Some(v) = value else {
        return "–".to_string();
    };
    // Latency columns say "ns" in their heading and show plain numbers; other times read
    // as durations.
    let m = column.metric;
    let text = if m.unit() == "ns" && percentile_of(m.name()).is_none() {
        human_duration(v)
    } else {
        human(v, m.unit() == "B")
    };
    match relative {
        Some(r) if !is_reference => format!("{text} ({r:.2}×)"),
        _ => text,
    }
}

/// Warnings about a workload as a whole rather than one cell (an op order no program's
/// loops would give, [`crate::workload::op_order::note`]): `workload: note`, once per
/// workload, in run order. The memory and latency cell carries the note (a workload run
/// with several repetitions has several).
pub fn workload_warnings(results: &RunResults) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &results.cells {
        let notes = c.notes.iter();
        for n in notes.filter(|n| n.starts_with(crate::workload::op_order::NOTE_PREFIX)) {
            let line = format!("{}: {n}", c.workload);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

/// True when a results file's allocator name is pymalloc in any form (the reference).
fn is_engine(name: &str) -> bool {
    name.parse::<crate::alloc::AllocatorSpec>()
        .is_ok_and(|s| s.is_engine())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_warning_is_said_once_however_many_cells_carry_it() {
        use crate::report::model::CellResult;
        let note =
            crate::workload::op_order::note(&crate::workload::op_order::looped_stream(300, true))
                .expect("a shuffled order is noted");
        let cell = |w: &str, a: &str, notes: &[&str]| {
            let mut c = CellResult::new(w, a, 0, CellKind::Replay);
            c.notes = notes.iter().map(|n| n.to_string()).collect();
            c
        };
        let r = RunResults::of_cells(vec![
            cell("tuples", "pymalloc", &[&note, "throughput: materialised"]),
            cell("tuples", "jemalloc", &[&note]),
            cell("webapp", "pymalloc", &["throughput: materialised"]),
        ]);
        assert_eq!(workload_warnings(&r), vec![format!("tuples: {note}")]);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(850.0), "850 ns");
        assert_eq!(human_duration(12_300_000.0), "12.3 ms");
        assert_eq!(human_duration(1_520_000_000.0), "1.52 s");
    }

    #[test]
    fn human_units() {
        assert_eq!(human(1536.0, true), "1.5 KiB");
        assert_eq!(human(12_345_678.0, false), "12.35M");
        assert_eq!(human(1.2345, false), "1.23");
        assert_eq!(human(512.0, true), "512 B");
    }
}
