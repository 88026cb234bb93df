//! The terminal (and Markdown) rendering of a run's verdict: per workload a table of net
//! throughput with its 95 % interval, the ratio to the reference, peak RSS and p99 latency
//! (timer cost subtracted), then the verdict in sentences, then the overall ranking.

use super::digits::{estimate_decimals, mean_count};
use super::model::RunResults;
use super::summary::human;
use super::verdict::{
    judge, ranking, ranking_reference, sentence, single_process, Relation, Standing,
    WorkloadVerdict, DETAIL,
};
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
        // Warm faults per pass: a mean, whose small values must not print as "0.00".
        "count" => mean_count(v),
        _ => human(v, false),
    }
}

fn vs_reference(v: &WorkloadVerdict, e: &super::verdict::Entry) -> String {
    if e.allocator == v.reference {
        return "reference".to_string();
    }
    match e.speed {
        None => "–".to_string(),
        Some(s) => {
            let r = s.ratio;
            let d = estimate_decimals(&r);
            if s.relation() == Relation::Indistinguishable {
                format!("indistinguishable ({:.d$}×)", r.point)
            } else {
                format!("{:.d$}× ({:.d$}–{:.d$})", r.point, r.lo, r.hi)
            }
        }
    }
}

/// Aligns rows of cells: first column left, the rest right (every table on the terminal).
pub(super) fn aligned(rows: &[Vec<String>]) -> String {
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

/// Why a table has no allocator row: `-a null` alone (by the run's allocators, not its rows:
/// a run interrupted before any allocator's cell was saved has none either, and was once
/// called a run of the harness alone), an interruption, or every allocator's cells failing.
fn why_no_rows(results: &RunResults) -> &'static str {
    let asked = &results.parameters.allocators;
    if asked.iter().all(|a| a == "null") {
        "-a null alone: only the harness was measured"
    } else if results.interrupted {
        "the run was interrupted before any allocator's throughput was saved: only the \
         harness's is shown"
    } else {
        "no allocator's throughput was saved (their cells failed): only the harness's is shown"
    }
}

/// What the columns mean (one paragraph, the same on the terminal and in summary.md).
fn legend(results: &RunResults, verdicts: &[WorkloadVerdict]) -> String {
    let intervals = intervals_legend(verdicts);
    if verdicts.iter().all(|v| v.entries.is_empty()) {
        return format!(
            "{}; each workload's line gives its own cost per event, the geometric mean over \
             the throughput processes of each one's median; {intervals}",
            why_no_rows(results)
        );
    }
    let timer: Vec<f64> = results
        .cells
        .iter()
        .filter_map(|c| c.metric(Id::TimerOverheadNs, None))
        .collect();
    let timer = median(&timer).map_or("?".to_string(), |t| format!("{t:.0} ns"));
    format!(
        "net ops/s: events per second of CPU time net of the harness (null, measured in the same \
         process, round by round), geometric mean over the throughput processes of each one's \
         median; ×: throughput relative to the reference, paired round by round inside each \
         process; {intervals}; ★: the fastest by ×, and every allocator it is not distinguishably faster than; \
         p99−timer: 99th-percentile latency of one call minus one timing's own cost ({timer})"
    )
}

/// What the intervals run over. With one throughput process (`-r 1`, or a shard's share) they
/// can only run over its rounds: the legend said "over the processes, not the rounds" there
/// too until 2026-12-05, the opposite of what the table held.
fn intervals_legend(verdicts: &[WorkloadVerdict]) -> &'static str {
    if single_process(verdicts) {
        "every 95 % interval runs over the throughput processes (Student's t), but where a \
         workload had one process, over that process's rounds alone, leaving out the spread \
         between processes (address layout, pages) that more processes (-r) would show"
    } else {
        "every 95 % interval runs over the processes (Student's t), not the rounds"
    }
}

/// "dicts — 2580947 allocator events a pass (stream 321444d2fe79713c); 3 throughput process(es), 60
/// samples per allocator; harness (null) 2.10 ns/event (2.01–2.19)" (the stream's part only when the
/// cells recorded a fingerprint).
fn workload_line(v: &WorkloadVerdict) -> String {
    let reps = v.entries.iter().map(|e| e.ok_reps).max().unwrap_or(0);
    let harness = v.harness_ns.map_or("not measured".to_string(), |h| {
        format!("{:.2} ns/event ({:.2}–{:.2})", h.point, h.lo, h.hi)
    });
    let stream = v.stream.as_ref().map_or(String::new(), |(events, print)| {
        format!("{events} allocator events a pass (stream {print}); ")
    });
    if v.entries.is_empty() {
        return format!("{} — {stream}harness (null) {harness}", v.workload);
    }
    format!(
        "{} — {stream}{} throughput process(es), {} samples per allocator; harness (null) \
         {harness}",
        v.workload, reps, v.samples
    )
}

/// The table of one workload: the heading row, then one row per allocator (the winners ★).
fn table_rows(v: &WorkloadVerdict, format: TableFormat) -> Vec<Vec<String>> {
    if v.entries.is_empty() {
        return Vec::new();
    }
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
            if e.ok_reps == 0 {
                // Not "≤ harness noise": there is no figure at all.
                "failed".to_string()
            } else {
                rate_with_interval(e.net_ops)
            },
            vs_reference(v, e),
            detail_text(Id::PeakRssBytes, e.peak_rss),
            detail_text(Id::LatP99Net, e.p99_net),
        ];
        if format == TableFormat::Wide {
            row.extend(e.detail.iter().map(|(id, v)| detail_text(*id, *v)));
        }
        rows.push(row);
    }
    rows
}

/// The verdict sentences of one workload; where the reference has no figure (every cell of
/// it failed), one line saying why no allocator has a ratio.
pub(super) fn sentences(v: &WorkloadVerdict) -> Vec<String> {
    let reference_failed = v
        .entries
        .iter()
        .any(|e| e.allocator == v.reference && e.ok_reps == 0);
    if reference_failed && v.entries.len() > 1 {
        return vec![format!(
            "no ratios: every cell of the reference {} failed (--reference names another)",
            v.reference
        )];
    }
    v.entries
        .iter()
        .filter_map(|e| Some(sentence(&e.allocator, &v.reference, e.speed.as_ref()?)))
        .collect()
}

/// The overall ranking: a heading line and one line per allocator, best first (`None` for a
/// single workload).
fn overall(results: &RunResults, verdicts: &[WorkloadVerdict]) -> Option<(String, Vec<String>)> {
    let standings = ranking(results, verdicts);
    if verdicts.len() < 2 || standings.is_empty() {
        return None;
    }
    // A place is shared when another standing has the same rank ("2=" on each of them).
    let shared = |s: &Standing| standings.iter().filter(|o| o.rank == s.rank).count() > 1;
    let ties = standings.iter().any(shared);
    let head = format!(
        "overall — geometric mean over {} workloads of net throughput relative to {}{}",
        verdicts.len(),
        ranking_reference(results, verdicts),
        if ties {
            " (N= : not told apart, their intervals overlap)"
        } else {
            ""
        }
    );
    let lines = standings
        .iter()
        .map(|s| {
            let g = s.geomean;
            let d = estimate_decimals(&g);
            let mark = if shared(s) { '=' } else { '.' };
            format!(
                "{}{mark} {}  {:.d$}× ({:.d$}–{:.d$})",
                s.rank, s.allocator, g.point, g.lo, g.hi
            )
        })
        .collect();
    Some((head, lines))
}

/// The whole verdict as text.
pub fn render(results: &RunResults, reference: Option<&str>, format: TableFormat) -> String {
    let verdicts = judge(results, reference);
    let mut out = String::new();
    let _ = writeln!(out, "{}", legend(results, &verdicts));
    for v in &verdicts {
        let _ = writeln!(out, "\n{}", workload_line(v));
        let rows = table_rows(v, format);
        if !rows.is_empty() {
            out.push_str(&aligned(&rows));
        }
        for line in sentences(v) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some((head, lines)) = overall(results, &verdicts) {
        let _ = writeln!(out, "\n{head}");
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// One workload's verdict, laid out for a page (Markdown, HTML): its facts line, the table
/// of the terminal's default columns (heading row first) and the sentences.
pub struct Section {
    pub workload: String,
    pub facts: String,
    pub rows: Vec<Vec<String>>,
    pub sentences: Vec<String>,
}

/// The verdict of a run for a page: the legend, a section per workload, and the overall
/// ranking's heading and lines (with two or more workloads).
pub struct Page {
    pub legend: String,
    pub sections: Vec<Section>,
    pub overall: Option<(String, Vec<String>)>,
}

/// The [`Page`] of a run. `summary.md` and `index.html` both show it, so they agree with the
/// terminal's table.
pub fn page(results: &RunResults, reference: Option<&str>) -> Page {
    let verdicts = judge(results, reference);
    let list = verdicts
        .iter()
        .map(|v| {
            let line = workload_line(v);
            let facts = line.split_once(" — ").map_or(line.as_str(), |(_, f)| f);
            Section {
                workload: v.workload.clone(),
                facts: facts.to_string(),
                rows: table_rows(v, TableFormat::Table),
                sentences: sentences(v),
            }
        })
        .collect();
    Page {
        legend: legend(results, &verdicts),
        sections: list,
        overall: overall(results, &verdicts),
    }
}

/// The same verdict as Markdown for `summary.md`: per workload a section with the table of
/// the terminal (the default columns), the sentences, then the overall ranking. All of it
/// [`inline`](super::markdown::inline)-escaped: names are the user's text, which `index.html` escapes as HTML.
pub fn markdown(results: &RunResults, reference: Option<&str>) -> String {
    use super::markdown::{inline, prose, Quoted};
    let quoted = Quoted::of_run(results);
    let Page {
        legend,
        sections: list,
        overall,
    } = page(results, reference);
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", prose(&legend, &quoted));
    for sec in list {
        let _ = writeln!(
            out,
            "## {}\n\n{}\n",
            inline(&sec.workload),
            inline(&sec.facts)
        );
        for (i, row) in sec.rows.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|c| inline(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            if i == 0 {
                let _ = writeln!(out, "|---|{}", "---:|".repeat(row.len() - 1));
            }
        }
        let _ = writeln!(out);
        for line in sec.sentences {
            let _ = writeln!(out, "- {}", prose(&line, &quoted));
        }
        let _ = writeln!(out);
    }
    if let Some((head, lines)) = overall {
        let _ = writeln!(out, "## Overall\n\n{}:\n", prose(&head, &quoted));
        for line in lines {
            let _ = writeln!(out, "{}", prose(&line, &quoted));
        }
        let _ = writeln!(out);
    }
    out
}
