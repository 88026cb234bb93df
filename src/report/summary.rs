//! The headline comparison: per workload, one row per allocator with the median over
//! repetitions of the figures people look at first, each also relative to a reference
//! allocator (`pymalloc` when present, else the first one).

use super::model::RunResults;

/// The columns of the summary, as (metric, op, heading, higher is better).
pub const COLUMNS: [(&str, Option<&str>, &str, bool); 8] = [
    ("ops_per_sec", None, "ops/s", true),
    ("lat_p50", Some("all"), "p50 ns", false),
    ("lat_p99", Some("all"), "p99 ns", false),
    ("lat_max", Some("all"), "max ns", false),
    ("peak_rss_bytes", None, "peak RSS", false),
    ("frag_ratio", None, "frag", false),
    ("retained_rss_bytes", None, "retained", false),
    ("peak_live_bytes", None, "peak live", false),
];

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
    pub rows: Vec<Row>,
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
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
                    let values = COLUMNS
                        .iter()
                        .map(|(m, op, _, _)| {
                            median(ok.iter().filter_map(|c| c.metric(m, *op)).collect())
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
            let reference = rows
                .iter()
                .find(|r| r.allocator.starts_with("pymalloc") && r.ok_reps > 0)
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

/// One cell of a table: the value, with its ratio to the reference in parentheses.
pub fn cell_text(
    col: usize,
    value: Option<f64>,
    relative: Option<f64>,
    is_reference: bool,
) -> String {
    let Some(v) = value else {
        return "–".to_string();
    };
    let bytes = COLUMNS[col].0.ends_with("bytes");
    let text = human(v, bytes);
    match relative {
        Some(r) if !is_reference => format!("{text} ({r:.2}×)"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn human_units() {
        assert_eq!(human(1536.0, true), "1.5 KiB");
        assert_eq!(human(12_345_678.0, false), "12.35M");
        assert_eq!(human(1.2345, false), "1.23");
        assert_eq!(human(512.0, true), "512 B");
    }
}
