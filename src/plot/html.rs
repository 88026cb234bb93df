//! `index.html`: the run's summary tables and its figures on one self-contained page (the SVGs
//! are referenced from `plots/`, so it opens straight from the results directory). It is also
//! well-formed XML (XHTML syntax), so tools and tests can parse it.

use super::svg::escape;
use super::Figure;
use crate::report::model::{CellStatus, RunResults};
use crate::report::summary::{cell_text, summarize};
use std::fmt::Write as _;

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif;
       margin: 2rem auto; max-width: 900px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f5f5; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; margin-top: 0.3rem; }
.meta { color: #555; } .failed { color: #b00; }
";

/// The whole page.
pub fn page(results: &RunResults, figures: &[Figure]) -> String {
    let mut s = String::new();
    let title = format!("pybench run {}", results.run);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", escape(&title));
    meta_paragraph(&mut s, results);
    if results.interrupted {
        let _ = writeln!(
            s,
            "<p class=\"failed\">The run did not finish (interrupted, stopped by an error, or still running); only the cells below were measured.</p>"
        );
    }
    summary_tables(&mut s, results);
    // What qualifies the tables above, as summary.md keeps it.
    let caveats = crate::report::caveats::run_caveats(results);
    if !caveats.is_empty() {
        let _ = writeln!(s, "<h2>Caveats</h2>\n<ul class=\"caveats\">");
        for line in caveats {
            let _ = writeln!(s, "<li>{}</li>", escape(&line));
        }
        let _ = writeln!(s, "</ul>");
    }
    figure_sections(&mut s, figures);
    failed_cells(&mut s, results);
    if !results.cells.iter().any(|c| c.throughput.is_some()) {
        // The medians table's columns; the verdict's legend stands above its own tables.
        let _ = writeln!(
            s,
            "<p class=\"meta\">ops/s come from an untimed pass; latency percentiles from a \
             timed pass of the same stream (timer overhead included).</p>"
        );
    }
    let _ = writeln!(s, "</body>\n</html>");
    s
}

/// The line under the title: how the run was made, on what, and links to its files.
fn meta_paragraph(s: &mut String, results: &RunResults) {
    let p = &results.parameters;
    let commit = (results.git_commit.as_deref())
        .map(|c| format!(" ({})", escape(c)))
        .unwrap_or_default();
    let cpu = results
        .machine
        .cpu_model
        .as_deref()
        .unwrap_or("unknown CPU");
    let _ = writeln!(
        s,
        "<p class=\"meta\">{}; scale {}; touch <code>{}</code>; one op in {} \
         timed; pybench {}{commit}; {} on {} cores; started {}. Files: \
         <a href=\"results.json\">results.json</a>, <a href=\"results.csv\">results.csv</a>, \
         <a href=\"summary.md\">summary.md</a>.</p>",
        p.repetitions_said(),
        p.scale
            .map_or("of the specs".to_string(), |s| s.to_string()),
        escape(&p.touch),
        p.sample_every,
        escape(&results.pybench_version),
        escape(cpu),
        results.machine.cores,
        escape(&results.started_utc)
    );
}

/// The charts, under a heading for each section they belong to.
fn figure_sections(s: &mut String, figures: &[Figure]) {
    let mut section = "";
    for f in figures {
        if f.section != section {
            section = &f.section;
            let _ = writeln!(s, "<h2>{}</h2>", escape(section));
        }
        let _ = writeln!(
            s,
            "<figure>\n<img src=\"plots/{}\" alt=\"{}\" width=\"820\" height=\"440\"/>\n\
             <figcaption>{}</figcaption>\n</figure>",
            escape(&f.file),
            escape(&f.section),
            escape(&f.caption)
        );
    }
}

/// The cells that failed, each with its reason (nothing when none did).
fn failed_cells(s: &mut String, results: &RunResults) {
    let failed: Vec<_> = results.cells.iter().filter(|c| !c.is_ok()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2>Failed cells</h2>\n<ul class=\"failed\">");
    for c in failed {
        if let CellStatus::Failed { reason } = &c.status {
            let _ = writeln!(
                s,
                "<li>{} × {} rep {}: {}</li>",
                escape(&c.workload),
                escape(&c.allocator),
                c.repetition,
                escape(reason)
            );
        }
    }
    let _ = writeln!(s, "</ul>");
}

/// The summary tables of `summary.md`, as HTML: the verdict (net throughput with its
/// interval, the ratio to the reference, the sentences, the ranking) where the run has
/// throughput samples, as the terminal and summary.md show it; the medians table otherwise.
fn summary_tables(s: &mut String, results: &RunResults) {
    let _ = writeln!(s, "<h2>Summary</h2>");
    if results.cells.iter().any(|c| c.throughput.is_some()) {
        verdict_tables(s, results);
        return;
    }
    for w in summarize(results) {
        let _ = writeln!(
            s,
            "<h3>{}</h3>\n<p class=\"meta\">Medians over repetitions; (×) is relative to \
             <code>{}</code>.</p>\n<table>\n<thead><tr><th>allocator</th>",
            escape(&w.workload),
            escape(&w.reference)
        );
        for c in w.columns {
            let _ = write!(s, "<th>{}</th>", escape(c.heading()));
        }
        let _ = writeln!(s, "</tr></thead>\n<tbody>");
        for r in &w.rows {
            let is_ref = r.allocator == w.reference;
            let failed = if r.failed_reps > 0 {
                format!(" <span class=\"failed\">({} failed)</span>", r.failed_reps)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<tr><td><code>{}</code>{failed}</td>",
                escape(&r.allocator)
            );
            for (i, column) in w.columns.iter().enumerate() {
                let text = cell_text(column, r.values[i], r.relative[i], is_ref);
                let _ = write!(s, "<td>{}</td>", escape(&text));
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</tbody>\n</table>");
    }
}

/// The verdict of [`crate::report::verdict_table::page`] as HTML.
fn verdict_tables(s: &mut String, results: &RunResults) {
    let crate::report::verdict_table::Page {
        legend,
        sections,
        overall,
    } = crate::report::verdict_table::page(results, results.parameters.reference.as_deref());
    let _ = writeln!(s, "<p class=\"meta\">{}</p>", escape(&legend));
    for sec in sections {
        let _ = writeln!(
            s,
            "<h3>{}</h3>\n<p class=\"meta\">{}</p>\n<table>",
            escape(&sec.workload),
            escape(&sec.facts)
        );
        for (i, row) in sec.rows.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            let cells: String = row
                .iter()
                .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
                .collect();
            let _ = writeln!(s, "<tr>{cells}</tr>");
        }
        let _ = writeln!(s, "</table>");
        if !sec.sentences.is_empty() {
            let items: String = sec
                .sentences
                .iter()
                .map(|l| format!("<li>{}</li>", escape(l)))
                .collect();
            let _ = writeln!(s, "<ul>{items}</ul>");
        }
    }
    if let Some((head, lines)) = overall {
        let items: String = lines
            .iter()
            .map(|l| format!("<li>{}</li>", escape(l)))
            .collect();
        let _ = writeln!(
            s,
            "<h3>Overall</h3>\n<p>{}</p>\n<ul>{items}</ul>",
            escape(&head)
        );
    }
}
