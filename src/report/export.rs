//! Exporters: the same results as tidy CSV, full JSON, or a Markdown summary. One trait, so
//! the run command, `--csv/--json/--markdown FILE` and later `plot`/`compare` treat them alike.

use super::model::RunResults;
use super::summary::{cell_text, summarize};
use std::io::{self, Write};

/// A format results can be written in.
pub trait Exporter {
    /// File name inside a results directory.
    fn file_name(&self) -> &'static str;
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()>;
}

/// `results.json`: everything, including the manifest and RSS series.
pub struct Json;

/// `results.csv`: one row per (run, workload, allocator, repetition, metric, op).
pub struct Csv;

/// `summary.md`: the headline tables.
pub struct Markdown;

/// The tidy CSV header (design.md §4–§5).
pub const CSV_COLUMNS: [&str; 9] = [
    "run",
    "workload",
    "allocator",
    "repetition",
    "kind",
    "metric",
    "op",
    "value",
    "unit",
];

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "results.json"
    }
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, results)?;
        out.write_all(b"\n")
    }
}

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_COLUMNS)?;
        for c in &results.cells {
            let kind = match c.kind {
                super::model::CellKind::Replay => "replay",
                super::model::CellKind::Exec => "exec",
            };
            let rep = c.repetition.to_string();
            let prefix = [results.run.as_str(), &c.workload, &c.allocator, &rep, kind];
            if !c.is_ok() {
                // A failed cell has no measurements; one row says it failed.
                w.write_record(prefix.iter().copied().chain(["failed", "", "1", "flag"]))?;
            }
            for m in &c.metrics {
                let value = m.value.to_string();
                let op = m.op.as_deref().unwrap_or("");
                w.write_record(prefix.iter().copied().chain([
                    m.name.as_str(),
                    op,
                    &value,
                    &m.unit,
                ]))?;
            }
        }
        w.flush()
    }
}

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# pybench run {}\n", results.run)?;
        let p = &results.parameters;
        writeln!(
            out,
            "{} repetition(s); touch `{}`; one op in {} timed; pybench {}{}; {} on {} cores.\n",
            p.repetitions,
            p.touch,
            p.sample_every,
            results.pybench_version,
            results
                .git_commit
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            results
                .machine
                .cpu_model
                .as_deref()
                .unwrap_or("unknown CPU"),
            results.machine.cores
        )?;
        for s in summarize(results) {
            writeln!(out, "## {}\n", s.workload)?;
            writeln!(
                out,
                "Medians over repetitions; (×) is relative to `{}`.\n",
                s.reference
            )?;
            let headings: Vec<&str> = s.columns.iter().map(|c| c.heading()).collect();
            writeln!(out, "| allocator | {} |", headings.join(" | "))?;
            writeln!(out, "|---|{}", "---:|".repeat(headings.len()))?;
            for r in &s.rows {
                let is_ref = r.allocator == s.reference;
                let cells: Vec<String> = (0..s.columns.len())
                    .map(|i| cell_text(&s.columns[i], r.values[i], r.relative[i], is_ref))
                    .collect();
                let failed = if r.failed_reps > 0 {
                    format!(" ({} failed)", r.failed_reps)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "| `{}`{} | {} |",
                    r.allocator,
                    failed,
                    cells.join(" | ")
                )?;
            }
            writeln!(out)?;
        }
        let failed: Vec<_> = results.cells.iter().filter(|c| !c.is_ok()).collect();
        if !failed.is_empty() {
            writeln!(out, "## Failed cells\n")?;
            for c in failed {
                if let super::model::CellStatus::Failed { reason } = &c.status {
                    writeln!(
                        out,
                        "- {} × {} rep {}: {}",
                        c.workload, c.allocator, c.repetition, reason
                    )?;
                }
            }
            writeln!(out)?;
        }
        if let Some(v) = &results.validation {
            writeln!(out, "## Validation: replay vs the real program\n")?;
            writeln!(out, "```text{}```\n", super::validation::render(v))?;
        }
        if results.interrupted {
            writeln!(
                out,
                "The run was interrupted; only the cells above were measured.\n"
            )?;
        }
        writeln!(
            out,
            "ops/s come from an untimed pass; latency percentiles from a timed pass of the same \
             stream (timer overhead included, see `timer_overhead_ns` in results.csv)."
        )
    }
}
