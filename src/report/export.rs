//! Exporters: the same results as tidy CSV, full JSON, or a Markdown summary. One trait, so
//! the run command, `--csv/--json/--markdown FILE` and later `plot`/`compare` treat them alike.

use super::markdown;
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

/// A CSV writer's error as the I/O error it wraps. The `csv` crate's own conversion makes
/// every error `ErrorKind::Other`, so a reader that closed the pipe early (`pybench compare
/// --format csv | head`) would end the command with "error: Broken pipe" and exit 2 instead
/// of quietly, as every other output does.
pub fn csv_io(e: csv::Error) -> io::Error {
    if !e.is_io_error() {
        return io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// The tidy CSV header (design.md §4–§5). `sample` numbers the per-round throughput samples
/// (`sample_*` metrics) and is empty on summary rows.
pub const CSV_COLUMNS: [&str; 10] = [
    "run",
    "workload",
    "allocator",
    "repetition",
    "kind",
    "metric",
    "op",
    "value",
    "unit",
    "sample",
];

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "results.json"
    }
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
        super::tidy_json::to_writer_tidy(out, results)?;
        out.write_all(b"\n")
    }
}

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }
    fn write(&self, results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_COLUMNS).map_err(csv_io)?;
        for c in &results.cells {
            let kind = match c.kind {
                super::model::CellKind::Replay => "replay",
                super::model::CellKind::Exec => "exec",
            };
            let rep = c.repetition.to_string();
            let prefix = [results.run.as_str(), &c.workload, &c.allocator, &rep, kind];
            if !c.is_ok() {
                // A failed cell has no measurements; one row says it failed.
                w.write_record(
                    prefix
                        .iter()
                        .copied()
                        .chain(["failed", "", "1", "flag", ""]),
                )
                .map_err(csv_io)?;
            }
            for m in &c.metrics {
                let value = super::summary::csv_number(m.value);
                let op = m.op.as_deref().unwrap_or("");
                w.write_record(prefix.iter().copied().chain([
                    m.name.as_str(),
                    op,
                    &value,
                    &m.unit,
                    "",
                ]))
                .map_err(csv_io)?;
            }
            if let Some(t) = &c.throughput {
                let net = t.net_ns_per_op();
                let series = [
                    ("sample_ns_per_op", &t.ns_per_op),
                    ("sample_null_ns_per_op", &t.null_ns_per_op),
                    ("sample_net_ns_per_op", &net),
                ];
                for (name, values) in series {
                    for (i, v) in values.iter().enumerate() {
                        let (v, i) = (v.to_string(), i.to_string());
                        w.write_record(prefix.iter().copied().chain([name, "", &v, "ns", &i]))
                            .map_err(csv_io)?;
                    }
                }
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
        writeln!(out, "# pybench run {}\n", markdown::inline(&results.run))?;
        let p = &results.parameters;
        writeln!(
            out,
            "{}; touch `{}`; one op in {} timed; pybench {}{}; {} on {} cores.\n",
            p.repetitions_said(),
            p.touch,
            p.sample_every,
            results.pybench_version,
            results
                .git_commit
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            markdown::inline(
                results
                    .machine
                    .cpu_model
                    .as_deref()
                    .unwrap_or("unknown CPU")
            ),
            results.machine.cores
        )?;
        let sampled = results.cells.iter().any(|c| c.throughput.is_some());
        if sampled {
            // Replay workloads: the verdict's columns, as the terminal shows them (net
            // throughput with its interval, ratio to the reference, peak RSS, p99 net of the
            // timer, the winner marked), the sentences and the overall ranking.
            let reference = results.parameters.reference.as_deref();
            let text = super::verdict_table::markdown(results, reference);
            write!(out, "{text}")?;
        }
        let medians_shown = markdown_medians(results, sampled, out)?;
        markdown_caveats(results, out)?;
        markdown_failures(results, out)?;
        if let Some(v) = &results.validation {
            writeln!(out, "## Validation: replay vs the real program\n")?;
            let block = markdown::fenced("text", &super::validation::render(v));
            writeln!(out, "{block}\n")?;
        }
        if results.interrupted {
            writeln!(
                out,
                "The run did not finish (interrupted, stopped by an error, or still running); only the cells above were measured.\n"
            )?;
        }
        if medians_shown {
            writeln!(
                out,
                "ops/s: medians of per-round throughput samples (thread CPU time, harness \
                 included; net figures subtract `null` of the same round); latency percentiles \
                 from a timed pass of the same stream (timer overhead included, see \
                 `timer_overhead_ns`)."
            )?;
        }
        Ok(())
    }
}

/// What `run` printed on stderr about its figures (the machine, wide intervals, processes
/// far from the rest, …), kept beside them: a summary read later, or as a CI artifact,
/// would otherwise show intervals without what qualifies them.
fn markdown_caveats(results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
    let lines = super::caveats::run_caveats(results);
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Caveats\n")?;
    let quoted = markdown::Quoted::of_run(results);
    for line in lines {
        writeln!(out, "- {}", markdown::prose(&line, &quoted))?;
    }
    writeln!(out)
}

/// The per-repetition median tables of `summary.md`, for the workloads the verdict does not
/// show (results without per-pass samples, real executions); whether any was written.
fn markdown_medians(results: &RunResults, sampled: bool, out: &mut dyn Write) -> io::Result<bool> {
    let mut medians_shown = false;
    for s in summarize(results) {
        // Results without per-pass samples (older files) and real executions keep the
        // per-repetition medians: they have no net figures to show.
        let exec = results
            .cells
            .iter()
            .any(|c| c.workload == s.workload && c.kind == super::model::CellKind::Exec);
        if sampled && !exec {
            continue;
        }
        medians_shown = true;
        writeln!(out, "## {}\n", markdown::inline(&s.workload))?;
        writeln!(
            out,
            "Medians over repetitions; (×) is relative to {}.\n",
            markdown::code(&s.reference)
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
                "| {}{} | {} |",
                markdown::code(&r.allocator),
                failed,
                cells.join(" | ")
            )?;
        }
        writeln!(out)?;
    }
    Ok(medians_shown)
}

/// The failed cells of `summary.md`, with their reasons.
fn markdown_failures(results: &RunResults, out: &mut dyn Write) -> io::Result<()> {
    let failed: Vec<_> = results.cells.iter().filter(|c| !c.is_ok()).collect();
    if !failed.is_empty() {
        writeln!(out, "## Failed cells\n")?;
        let quoted = markdown::Quoted::of_run(results);
        for c in failed {
            if let super::model::CellStatus::Failed { reason } = &c.status {
                writeln!(
                    out,
                    "- {} × {} rep {}: {}",
                    markdown::inline(&c.workload),
                    markdown::inline(&c.allocator),
                    c.repetition,
                    markdown::prose(reason, &quoted)
                )?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Id;
    use crate::report::model::{CellKind, CellResult, CellStatus, Metric, ThroughputSamples};

    /// A cell of `a` on dicts costing `net` ns/event over a 2 ns harness, with its peak RSS
    /// and p99; with samples or, as older files, without.
    fn cell(a: &str, net: f64, rss: f64, samples: bool) -> CellResult {
        let mut c = CellResult::new("dicts", a, 0, CellKind::Replay);
        c.metrics.push(Metric::of(Id::PeakRssBytes, rss));
        c.metrics.push(Metric::of_op(Id::LatP99Net, "all", 40.0));
        c.metrics.push(Metric::of(Id::OpsPerSec, 1e9 / (net + 2.0)));
        c.metrics.push(Metric::of(Id::FragRatio, 1.25));
        if samples {
            let null = vec![2.0, 2.02, 1.98, 2.0, 2.01, 1.99];
            c.throughput = Some(ThroughputSamples {
                group: "dicts/rep0/g0".into(),
                min_time_ns: 1,
                passes_per_sample: 1,
                cold_ns_per_op: 1.0,
                ns_per_op: null.iter().map(|n| n + net).collect(),
                null_ns_per_op: null,
                warm_faults_per_pass: None,
                arenas_outside_span: 0,
                streamed: None,
                cold_primed_bytes: None,
            });
        }
        c
    }

    fn summary(r: &RunResults) -> String {
        let mut out = Vec::new();
        Markdown.write(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn summary_tables_use_the_verdict_columns() {
        let r = RunResults::of_cells(vec![
            cell("pymalloc:cpython-3.11", 4.0, 3.0 * 1048576.0, true),
            cell("system", 8.0, 5.0 * 1048576.0, true),
        ]);
        let md = summary(&r);
        let row = |name: &str| {
            md.lines()
                .find(|l| l.starts_with(&format!("| {name}")))
                .unwrap_or_else(|| panic!("no row {name}: {md}"))
                .to_string()
        };
        assert!(md.contains("## dicts"), "{md}");
        assert!(
            md.contains(
                "| allocator | net ops/s (95 % CI) | vs pymalloc:cpython-3.11 | peak RSS | p99−timer ns |"
            ),
            "{md}"
        );
        // 4 ns net is 250 M events/s; the faster one is the winner; system is half as fast.
        let py = row("pymalloc:cpython-3.11 ★");
        assert!(
            py.contains("| 250.00M (") && py.contains("| reference |"),
            "{py}"
        );
        assert!(py.contains("| 3.0 MiB |") && py.contains("| 40 |"), "{py}");
        let sys = row("system");
        assert!(!sys.contains('★') && sys.contains("| 0.50× ("), "{sys}");
        assert!(md.contains("- pymalloc:cpython-3.11 is 2.00 ± "), "{md}");
        // The old columns are gone: frag and gross ops/s stay in CSV/JSON.
        assert!(
            !md.contains("Medians over repetitions") && !md.contains("frag"),
            "{md}"
        );
    }

    /// Names are the user's text: `summary.md` shows them as text, as `index.html` does,
    /// not as HTML, a new heading or another table column, with or without the verdict.
    #[test]
    fn names_in_the_summary_stay_text() {
        for samples in [true, false] {
            let mut cells = vec![
                cell("pymalloc:cpython-3.11", 4.0, 3.0 * 1048576.0, samples),
                cell("system", 8.0, 5.0 * 1048576.0, samples),
            ];
            for c in &mut cells {
                c.workload = "<img src=x onerror=alert(1)>\n# X |".into();
            }
            let md = summary(&RunResults::of_cells(cells));
            assert!(
                md.contains("## \\<img src=x onerror=alert(1)\\> # X \\|\n"),
                "{md}"
            );
            assert!(!md.replace("\\<img", "").contains("<img"), "{md}");
            assert!(!md.lines().any(|l| l.starts_with("# X")), "{md}");
        }
    }

    /// A name quoted in pybench's own sentences (a caveat, a failed cell's reason) stays
    /// text too: "a `b [x](http://e)" opened a code span and made a live link there.
    #[test]
    fn names_quoted_in_caveats_and_reasons_stay_text() {
        let w = "a `b [x](http://e)";
        let mut cells = vec![
            cell("pymalloc:cpython-3.11", 4.0, 3.0 * 1048576.0, true),
            cell("system", 8.0, 5.0 * 1048576.0, true),
            cell("jemalloc", 8.0, 5.0 * 1048576.0, false),
        ];
        // Scattered passes: the wide-interval caveat names the workload.
        if let Some(t) = &mut cells[1].throughput {
            t.ns_per_op = vec![6.0, 30.0, 8.0, 50.0, 7.0, 20.0];
        }
        cells[2].status = CellStatus::Failed {
            reason: format!("the allocator crashed on {w}"),
        };
        for c in &mut cells {
            c.workload = w.into();
        }
        let md = summary(&RunResults::of_cells(cells));
        let escaped = "a \\`b \\[x\\](http://e)";
        assert!(md.matches(escaped).count() >= 4, "{md}");
        assert_eq!(
            md.matches("](http://e)").count(),
            md.matches(escaped).count()
        );
        assert!(
            md.contains(&format!("rep 0: the allocator crashed on {escaped}")),
            "{md}"
        );
        assert!(md.contains(&format!("on {escaped}, ±")), "{md}");
    }

    /// A program's text inside validate's code block: a line of three backticks in it
    /// closed the block, and what followed rendered as a heading and a table.
    #[test]
    fn the_validation_block_outlasts_backticks_in_it() {
        let mut r = RunResults::of_cells(vec![cell("system", 8.0, 1048576.0, false)]);
        r.validation = Some(
            serde_json::from_value(serde_json::json!({
                "program": "python3 x.py",
                "trace": "x.pbt",
                "rows": [],
                "tau_time": null,
                "tau_memory": null,
                "disagreements": ["a\n```\n# INJECTED\n| a | b |\n|---|---|"],
            }))
            .unwrap(),
        );
        let md = summary(&r);
        assert!(md.contains("````text\n"), "{md}");
        let block = md.split("````text\n").nth(1).unwrap();
        let (inside, _) = block.split_once("\n````").unwrap();
        assert!(inside.contains("\n# INJECTED\n"), "{md}");
    }

    #[test]
    fn results_without_samples_keep_the_per_repetition_tables() {
        let r = RunResults::of_cells(vec![
            cell("pymalloc:cpython-3.11", 4.0, 3.0 * 1048576.0, false),
            cell("system", 8.0, 5.0 * 1048576.0, false),
        ]);
        let md = summary(&r);
        assert!(md.contains("Medians over repetitions"), "{md}");
        assert!(!md.contains("net ops/s (95 % CI)"), "{md}");
    }
}
