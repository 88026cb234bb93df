//! The headline comparison: per workload, one row per allocator with the median over
//! repetitions of the figures people look at first, each also relative to a reference
//! allocator (`pymalloc` when present, else the first one).

use super::model::{CellKind, CellResult, RunResults};
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
    let workloads = super::first_seen(results.cells.iter().map(|c| c.workload.as_str()));
    workloads
        .into_iter()
        .map(|w| {
            let cells: Vec<&CellResult> =
                results.cells.iter().filter(|c| c.workload == w).collect();
            let columns = columns_for(cells.first().map_or(CellKind::Replay, |c| c.kind));
            let allocators = super::first_seen(
                cells
                    .iter()
                    .map(|c| c.allocator.as_str())
                    .filter(|a| *a != "null"),
            );
            let mut rows: Vec<Row> = allocators
                .iter()
                .map(|a| medians_row(a, &cells, columns))
                .collect();
            let p = &results.parameters;
            let preset = p.pymalloc_presets.get(w).map(String::as_str);
            let reference = reference_row(&rows, p.reference.as_deref(), preset)
                .map(|r| (r.allocator.clone(), r.values.clone()));
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
                reference: reference.map(|r| r.0).unwrap_or_default(),
                columns,
                rows,
            }
        })
        .collect()
}

/// Allocator `a`'s row of a workload: each column's median over its successful cells.
fn medians_row(a: &str, cells: &[&CellResult], columns: &[Column]) -> Row {
    let mine: Vec<_> = cells.iter().filter(|c| c.allocator == a).collect();
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
}

/// The row ratios are taken against, among the rows that ran, as the verdict picks it
/// ([`pick_reference`](super::verdict::pick_reference)): the one `--reference` named (a bare
/// `pymalloc`: the interpreter's own in `exec`, the workload's preset in `run`), then an
/// engine row, then the first.
fn reference_row<'r>(
    rows: &'r [Row],
    asked: Option<&str>,
    preset: Option<&str>,
) -> Option<&'r Row> {
    let ran: Vec<&str> = (rows.iter())
        .filter(|r| r.ok_reps > 0)
        .map(|r| r.allocator.as_str())
        .collect();
    let name = super::verdict::pick_reference(&ran, asked, preset)?;
    rows.iter().find(|r| r.allocator == name)
}

/// Past this a figure is written in scientific notation: a damaged or hand-edited results
/// file can hold 1e300, which written out in full is a 300-digit table cell.
const BEYOND_UNITS: f64 = 1e15;

/// `value` in scientific notation when it is too large for units (or not finite).
fn beyond_units(value: f64) -> Option<String> {
    (!value.is_finite() || value.abs() >= BEYOND_UNITS).then(|| format!("{value:.2e}"))
}

/// `value` with `decimals` decimals (and its sign when `signed`), in scientific notation
/// past `BEYOND_UNITS`: for ratios and differences, which have no unit to scale by.
pub fn fixed(value: f64, decimals: usize, signed: bool) -> String {
    match (beyond_units(value), signed) {
        (Some(text), true) if value > 0.0 => format!("+{text}"),
        (Some(text), _) => text,
        (None, true) => super::digits::signed(value, decimals),
        (None, false) => format!("{value:.decimals$}"),
    }
}

/// `value` for a machine (CSV): as Rust writes it, but in exponent form past
/// `BEYOND_UNITS`, where the plain form is hundreds of digits (1e300, not 1000…0). Either
/// form reads back as the same number.
pub fn csv_number(value: f64) -> String {
    if value.is_finite() && value.abs() >= BEYOND_UNITS {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Human formatting: 1234567 → "1.23M", bytes → "12.3 MiB"; 1.00e300 past a thousand
/// tera (or TiB).
pub fn human(value: f64, unit_bytes: bool) -> String {
    if let Some(text) = beyond_units(value) {
        return if unit_bytes {
            format!("{text} B")
        } else {
            text
        };
    }
    if unit_bytes {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"];
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
        x if x >= 1e12 => (value / 1e12, "T"),
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
    if let Some(text) = beyond_units(ns) {
        return format!("{text} ns");
    }
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
        // summary.md's and index.html's caveats keep it, as `run` printed it.
        let caveats = crate::report::caveats::run_caveats(&r);
        let said = format!("warning: tuples: {note}");
        assert_eq!(
            caveats.iter().filter(|l| **l == said).count(),
            1,
            "{caveats:?}"
        );
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
        assert_eq!(human(2.5e12, false), "2.50T");
        assert_eq!(human(3.0 * 1024f64.powi(4), true), "3.0 TiB");
    }

    /// A planted 1e300 (a damaged results file) used to print as a 300-digit cell.
    #[test]
    fn huge_and_non_finite_figures_stay_short() {
        assert_eq!(human(1e300, false), "1.00e300");
        assert_eq!(human(-1e300, true), "-1.00e300 B");
        assert_eq!(human_duration(1e300), "1.00e300 ns");
        assert_eq!(human(f64::INFINITY, false), "inf");
        assert_eq!(fixed(1e300, 3, false), "1.00e300");
        assert_eq!(fixed(1e300, 1, true), "+1.00e300");
        assert_eq!(fixed(-2.5, 1, true), "-2.5");
        assert_eq!(fixed(0.1234, 3, false), "0.123");
        assert_eq!(csv_number(1e300), "1e300");
        assert_eq!(csv_number(1234.5), "1234.5");
        for v in [1e15, 1.2345678901234567e20, -3e300] {
            assert_eq!(csv_number(v).parse::<f64>().unwrap(), v);
        }
        for v in [1e15, 9.99e14, 1e20, 1e308] {
            assert!(human(v, false).len() <= 10, "{v}: {}", human(v, false));
            assert!(human(v, true).len() <= 12, "{v}: {}", human(v, true));
            assert!(human_duration(v).len() <= 12, "{v}");
        }
    }
}
