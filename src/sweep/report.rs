//! A sweep on the terminal (one block per workload) and as CSV (one row per cell).

use super::{SweepCell, SweepResult};
use crate::report::summary::human;
use std::fmt::Write as _;
use std::path::Path;

/// The CSV's columns, in order (README.md, "Sweep", says what each means).
pub const CSV_COLUMNS: [&str; 19] = [
    "workload",
    "events",
    "geometry",
    "arena_bytes",
    "pool_bytes",
    "keep_spare",
    "presets",
    "placement",
    "peak_arenas",
    "final_arenas",
    "arenas_mapped",
    "arenas_unmapped",
    "churn",
    "peak_heap_rss_bytes",
    "final_heap_rss_bytes",
    "mean_heap_rss_bytes",
    "unused_pool_bytes",
    "quantization_bytes",
    "pareto",
];

fn bytes(v: usize) -> String {
    human(v as f64, true)
}

/// The table: per workload, one line per geometry; `*` marks the Pareto-best.
pub fn render(r: &SweepResult) -> String {
    let mut out = String::new();
    // As wide as the longest name ("cpython-3.10–3.13"): the presets are named as the CSV
    // and `list presets` name them.
    let pw = (r.cells.iter())
        .map(|c| c.point.preset_names().chars().count())
        .fold("preset".len(), usize::max);
    // The geometry with its `* ` mark: `arena=512K,pool=128K,keep_spare=false` is 39 wide,
    // past the 38 once fixed, and pushed its row's columns out of line.
    let gw = (r.cells.iter())
        .map(|c| 2 + c.point.geometry.to_string().chars().count())
        .fold(38, usize::max);
    let mut workload = None;
    for c in &r.cells {
        if workload != Some(&c.workload) {
            workload = Some(&c.workload);
            let _ = writeln!(
                out,
                "{}{} ({} events; arenas placed {}; * = Pareto-best on mean heap RSS and churn)",
                if out.is_empty() { "" } else { "\n" },
                c.workload,
                c.events,
                r.placement
            );
            let _ = writeln!(
                out,
                "{:<gw$} {:<pw$} {:>6} {:>6} {:>7} {:>7} {:>11} {:>11} {:>10} {:>10}",
                "geometry",
                "preset",
                "peak",
                "final",
                "mapped",
                "unmap",
                "peak heap",
                "mean heap",
                "unused",
                "quantiz."
            );
        }
        let a = &c.accounting;
        let _ = writeln!(
            out,
            "{:<gw$} {:<pw$} {:>6} {:>6} {:>7} {:>7} {:>11} {:>11} {:>10} {:>10}",
            format!("{}{}", if c.pareto { "* " } else { "  " }, c.point.geometry),
            c.point.preset_names(),
            a.peak_arenas,
            a.final_arenas,
            a.arenas_mapped,
            a.arenas_unmapped,
            bytes(a.peak_heap_rss),
            bytes(a.mean_heap_rss),
            bytes(a.unused_pool_bytes),
            bytes(a.quantization_bytes),
        );
    }
    out
}

fn row(c: &SweepCell, placement: &str) -> Vec<String> {
    let g = c.point.geometry;
    let a = &c.accounting;
    vec![
        c.workload.clone(),
        c.events.to_string(),
        g.to_string(),
        g.arena_size().to_string(),
        g.pool_size().to_string(),
        u8::from(g.keeps_spare_arena()).to_string(),
        c.point
            .presets
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" "),
        placement.to_string(),
        a.peak_arenas.to_string(),
        a.final_arenas.to_string(),
        a.arenas_mapped.to_string(),
        a.arenas_unmapped.to_string(),
        a.churn().to_string(),
        a.peak_heap_rss.to_string(),
        a.final_heap_rss.to_string(),
        a.mean_heap_rss.to_string(),
        a.unused_pool_bytes.to_string(),
        a.quantization_bytes.to_string(),
        u8::from(c.pareto).to_string(),
    ]
}

/// The CSV text: a header of [`CSV_COLUMNS`] and one row per cell.
pub fn csv(r: &SweepResult) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    for c in &r.cells {
        w.write_record(row(c, r.placement.name()))?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

/// Writes the CSV to `path` atomically: an existing file is replaced only by a complete one.
pub fn write_csv(r: &SweepResult, path: &Path) -> anyhow::Result<()> {
    let text = csv(r)?;
    crate::sys::fs::write_atomically(path, |out| out.write_all(&text))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
