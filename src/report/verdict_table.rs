//! The terminal (and Markdown) rendering of a run's verdict: per workload a table of net
//! throughput with its 95 % interval, the ratio to the reference, peak RSS and p99 latency
//! (timer cost subtracted), then the verdict in sentences, then the overall ranking.

use super::model::RunResults;
use super::summary::human;
use super::verdict::{judge, ranking, sentence, Relation, WorkloadVerdict, DETAIL};
use crate::metrics::Id;
use crate::stats::{median, Estimate};
use std::fmt::Write as _;

/// Which columns to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TableFormat {
    /// Net throughput, ratio to the reference, peak RSS, p99 latency.
    #[default]
    Table,
    /// Also gross throughput, the harness's cost, the cold pass, p50, raw p99, retained RSS
    /// and frag.
    Wide,
}

fn rate_with_interval(e: Option<Estimate>) -> String {
    match e {
        Some(e) => format!(
            "{} ({}–{})",
            human(e.point, false),
            human(e.lo, false),
            human(e.hi, false)
        ),
        None => "≤ harness noise".to_string(),
    }
}

fn detail_text(id: Id, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "–".to_string();
    };
    match id.unit() {
        "B" => human(v, true),
        "ns" if !id.name().starts_with("lat_") => format!("{v:.2}"),
        "ns" => format!("{v:.0}"),
        _ => human(v, false),
    }
}

fn vs_reference(v: &WorkloadVerdict, e: &super::verdict::Entry) -> String {
    if e.allocator == v.reference {
        return "reference".to_string();
    }
    match e.speed {
        None => "–".to_string(),
        Some(s) if s.relation() == Relation::Indistinguishable => {
            format!("indistinguishable ({:.2}×)", s.ratio.point)
        }
        Some(s) => format!(
            "{:.2}× ({:.2}–{:.2})",
            s.ratio.point, s.ratio.lo, s.ratio.hi
        ),
    }
}

/// Aligns rows of cells: first column left, the rest right.
fn aligned(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = " ".repeat(widths[i] - cell.chars().count());
                if i == 0 {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// The whole verdict as text.
pub fn render(results: &RunResults, reference: Option<&str>, format: TableFormat) -> String {
    let verdicts = judge(results, reference);
    let mut out = String::new();
    let timer: Vec<f64> = results
        .cells
        .iter()
        .filter_map(|c| c.metric(Id::TimerOverheadNs, None))
        .collect();
    let timer = median(&timer).map_or("?".to_string(), |t| format!("{t:.0} ns"));
    let _ = writeln!(
        out,
        "net ops/s: events per second of CPU time net of the harness (null, measured in the same \
         process, round by round), median and 95 % interval; ×: throughput relative to the \
         reference, paired by round; p99−timer: 99th-percentile latency of one call minus one \
         timing's own cost ({timer})"
    );
    for v in &verdicts {
        let reps = v.entries.iter().map(|e| e.ok_reps).max().unwrap_or(0);
        let harness = v
            .harness_ns
            .map_or("not measured".to_string(), |h| format!("{h:.2} ns/event"));
        let _ = writeln!(
            out,
            "\n{} — {} repetition(s), {} samples per allocator; harness (null) {harness}",
            v.workload, reps, v.samples
        );
        let mut head = vec![
            "allocator".to_string(),
            "net ops/s (95 % CI)".to_string(),
            format!("vs {}", v.reference),
            "peak RSS".to_string(),
            "p99−timer ns".to_string(),
        ];
        if format == TableFormat::Wide {
            head.extend(DETAIL.iter().map(|id| id.info().heading.to_string()));
        }
        let mut rows = vec![head];
        for e in &v.entries {
            let mut name = e.allocator.clone();
            if e.winner {
                name.push_str(" ★");
            }
            if e.failed_reps > 0 {
                name.push_str(&format!(" ({} failed)", e.failed_reps));
            }
            let mut row = vec![
                name,
                rate_with_interval(e.net_ops),
                vs_reference(v, e),
                detail_text(Id::PeakRssBytes, e.peak_rss),
                detail_text(Id::LatP99Net, e.p99_net),
            ];
            if format == TableFormat::Wide {
                row.extend(e.detail.iter().map(|(id, v)| detail_text(*id, *v)));
            }
            rows.push(row);
        }
        out.push_str(&aligned(&rows));
        for e in &v.entries {
            if let Some(s) = &e.speed {
                let _ = writeln!(out, "  {}", sentence(&e.allocator, &v.reference, s));
            }
        }
    }
    let standings = ranking(results, &verdicts);
    if verdicts.len() > 1 && !standings.is_empty() {
        let reference = verdicts[0].reference.clone();
        let _ = writeln!(
            out,
            "\noverall — geometric mean over {} workloads of net throughput relative to {}",
            verdicts.len(),
            reference
        );
        for (i, s) in standings.iter().enumerate() {
            let g = s.geomean;
            let _ = writeln!(
                out,
                "  {}. {}  {:.2}× ({:.2}–{:.2})",
                i + 1,
                s.allocator,
                g.point,
                g.lo,
                g.hi
            );
        }
    }
    out
}
