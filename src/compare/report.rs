//! The comparison as a Markdown table (for people and `$GITHUB_STEP_SUMMARY`), tidy CSV or
//! JSON (for tools).

use super::verdict::{beyond_reach, unjudged_tail};
use super::{metric_label, Class, Comparison, Row, Verdict};
use crate::report::digits::threshold_pct;
use crate::report::export::csv_io;
use crate::report::markdown::{code, inline, prose, Quoted};
use crate::report::summary::{csv_number, fixed, human};
use crate::stats::UMethod;
use std::io::{self, Write};

/// `dicts × system`. Names are text from a results file (a workload is named by its spec's
/// `name` or its trace's path), escaped for one Markdown table cell ([`inline`], [`code`]).
fn benchmark(r: &Row) -> String {
    format!("{} × {}", inline(&r.workload), code(&r.allocator))
}

/// A value in its unit, readable.
fn value_text(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    match unit {
        "B" => human(v, true),
        "ns" => format!("{} ns", human(v, false)),
        "ops/s" => format!("{} ops/s", human(v, false)),
        "ratio" => fixed(v, 3, false),
        _ => human(v, false),
    }
}

fn pct(r: f64) -> String {
    format!("{} %", fixed((r - 1.0) * 100.0, 1, true))
}

/// A difference in its unit with its sign (`+0.12 ns`): how a `signed` metric's change reads,
/// where a percentage of a figure that can be ≤ 0 would point the wrong way.
fn difference_text(d: f64, unit: &str) -> String {
    let sign = if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{}", value_text(d.abs(), unit))
}

/// The change column: relative change, and the interval or the absolute difference.
pub(super) fn change_text(r: &Row) -> String {
    let rel = r.ratio.map(pct);
    match r.class {
        Class::Deterministic => {
            let d = r.current_median - r.baseline_median;
            if d == 0.0 {
                return "0".to_string();
            }
            let abs = if r.unit == "B" {
                format!(
                    "{}{}",
                    if d > 0.0 { "+" } else { "−" },
                    human(d.abs(), true)
                )
            } else {
                fixed(d, if d.fract() == 0.0 { 0 } else { 2 }, true)
            };
            match rel {
                Some(p) => format!("{abs} ({p})"),
                None => abs,
            }
        }
        _ if r.difference.is_some() => {
            let base = difference_text(r.difference.unwrap_or(f64::NAN), &r.unit);
            match r.interval {
                Some((lo, hi)) => format!(
                    "{base} [{}, {}]",
                    difference_text(lo, &r.unit),
                    difference_text(hi, &r.unit)
                ),
                None => base,
            }
        }
        _ => {
            // No ratio when the baseline's median is 0: a change from 0 unless the current
            // one is 0 too (both medians 0 with samples the test still tells apart).
            let base = rel.unwrap_or_else(|| {
                let moved = if r.current_median == 0.0 {
                    "0 → 0"
                } else {
                    "from 0"
                };
                moved.to_string()
            });
            match r.interval {
                Some((lo, hi)) => format!("{base} [{}, {}]", pct(lo), pct(hi)),
                None => base,
            }
        }
    }
}

fn verdict_text(r: &Row) -> String {
    let mark = match r.verdict {
        Verdict::Regressed => "❌ ",
        Verdict::Improved => "✅ ",
        _ => "",
    };
    match &r.reason {
        Some(why) => format!("{mark}{} ({why})", r.verdict.label()),
        None => format!("{mark}{}", r.verdict.label()),
    }
}

/// The metric column: `lat_p99[malloc]`, or `ops_per_sec ÷ system` for a ratio to the
/// reference (`--relative-to`).
fn metric_text(r: &Row) -> String {
    let label = metric_label(&r.metric, r.op.as_deref());
    match &r.relative_to {
        Some(reference) => format!("{label} ÷ {}", code(reference)),
        None => label,
    }
}

fn table_row(out: &mut dyn Write, r: &Row) -> io::Result<()> {
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        benchmark(r),
        metric_text(r),
        value_text(r.baseline_median, &r.unit),
        value_text(r.current_median, &r.unit),
        change_text(r),
        verdict_text(r)
    )
}

const HEADER: &str = "| benchmark | metric | baseline | current | change | verdict |\n\
                      |---|---|---:|---:|---:|---|";

fn describe_side(s: &super::Side) -> String {
    let commit = s
        .git_commit
        .as_deref()
        .map(|c| format!(" {}", inline(c)))
        .unwrap_or_default();
    let reps = match s.precision {
        None => format!("{} rep.", s.repetitions),
        Some(p) => format!(
            "≥ {} rep. to ±{} %",
            s.repetitions,
            crate::report::digits::half_width_pct(p.half_width)
        ),
    };
    format!(
        "{} (pybench {}{commit}, {reps}, {})",
        code(&s.run),
        inline(&s.pybench_version),
        inline(s.cpu.as_deref().unwrap_or("unknown CPU"))
    )
}

/// Which rows the Markdown report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Rows that changed ([`Row::changed`]), and a count of the others.
    Changed,
    All,
}

/// "40 unchanged, 2 not significant (within the threshold)".
fn hidden_summary(hidden: &[&Row], alpha: f64) -> String {
    let unchanged = hidden
        .iter()
        .filter(|r| r.verdict == Verdict::Unchanged)
        .count();
    let unjudged = hidden.iter().filter(|r| unjudged_tail(r)).count();
    let out_of_reach = |r: &&&Row| {
        r.verdict == Verdict::NotSignificant && !unjudged_tail(r) && beyond_reach(r, alpha)
    };
    let reach = hidden.iter().filter(out_of_reach).count();
    let small = hidden.len() - unchanged - unjudged - reach;
    let mut parts = vec![format!("{unchanged} unchanged")];
    if unjudged > 0 {
        parts.push(format!(
            "{unjudged} latency percentile(s) with too few timed ops above them to judge"
        ));
    }
    if reach > 0 {
        parts.push(format!(
            "{reach} not significant whose repetitions could not have made them so (the note above)"
        ));
    }
    if small > 0 {
        parts.push(format!(
            "{small} not significant with a change within the threshold"
        ));
    }
    parts.join(", ")
}

/// The Markdown report.
pub fn markdown(c: &Comparison, rows: Rows, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## pybench compare\n")?;
    writeln!(out, "- baseline: {}", describe_side(&c.baseline))?;
    writeln!(out, "- current: {}\n", describe_side(&c.current))?;
    writeln!(
        out,
        "**{} regressed, {} improved, {} unchanged, {} not significant.**\n",
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
        c.count(Verdict::NotSignificant)
    )?;
    methods(c, out)?;
    notes(c, out)?;
    rows_table(c, rows, out)?;
    writeln!(out)
}

/// The report's account of its tests and thresholds: a paragraph for each rule that judged
/// some row.
fn methods(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let s = &c.settings;
    if c.rows.iter().any(|r| r.per_process.is_some()) {
        per_process_method(s, out)?;
    }
    if let Some(reference) = &s.relative_to {
        writeln!(
            out,
            "Throughput relative to {} (`--relative-to`): in each process, each allocator's \
             time per event ÷ {0}'s in the same round (for rates, the inverse), the median \
             over the rounds being the process's figure, tested as above; a change of the \
             machine's speed that hits both alike cancels. {0}'s own throughput is not \
             judged; latency, counters and memory are absolute.\n",
            code(reference)
        )?;
    }
    other_methods(c, out)?;
    if let Some(f) = c.family.filter(|f| f.tested > 0) {
        family_method(f, out)?;
    }
    Ok(())
}

/// Throughput judged on per-process figures from per-pass samples.
fn per_process_method(s: &super::Settings, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Throughput with per-pass samples (threshold ±{} %): one figure per process, \
         the median of its samples; Welch's t-test on their logarithms, α = {}, and the \
         {:.0} % interval of the ratio of geometric means, shown in brackets; a change \
         counts when the interval excludes 1 and the ratio lies beyond the threshold. The \
         processes are the independent units: passes of one process share its noise.\n",
        threshold_pct(s.threshold),
        s.alpha,
        (1.0 - s.alpha) * 100.0,
    )
}

/// The rank test, memory, latency tails and exact figures.
fn other_methods(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let s = &c.settings;
    let exact = c.rows.iter().any(|r| r.test == Some(UMethod::Exact));
    let normal = c.rows.iter().any(|r| r.test == Some(UMethod::Normal));
    let method = match (exact, normal) {
        (true, true) => "exact (ties included) for small samples, normal approximation otherwise",
        (true, false) => "exact (ties included)",
        (false, true) => "normal approximation with tie correction",
        (false, false) => "not run",
    };
    writeln!(
        out,
        "Other timing (threshold ±{} %) and counters (±{} %): two-sided Mann-Whitney U test \
         ({method}), α = {}, and a {:.0} % percentile-bootstrap interval of the ratio of \
         medians ({} resamples, seeded; of their difference, in its unit, for \
         `net_loop_ns_per_op`, which can be ≤ 0), shown in brackets; a change counts only \
         when it is significant and the whole interval lies beyond the threshold. Memory: a \
         ratio of geometric means beyond ±{} % and more than {}, significant by Welch's \
         t-test on the logarithms of the processes' figures (plus a page where one is 0; \
         with one figure a side, the ratio alone). \
         Latency percentiles with fewer than {} timed \
         ops above them (always `lat_max`) are not judged, nor changes of latency \
         percentiles within one timer tick. Engine accounting and peak live \
         bytes: exact, any change is reported. Values are medians over repetitions.\n",
        threshold_pct(s.threshold),
        threshold_pct(s.counter_threshold),
        s.alpha,
        (1.0 - s.alpha) * 100.0,
        s.resamples,
        threshold_pct(s.memory_threshold),
        human(s.memory_floor, true),
        super::MIN_TAIL_SAMPLES
    )
}

/// The rows judged as one family (`--correction fdr`).
fn family_method(f: super::Family, out: &mut dyn Write) -> io::Result<()> {
    let taken_back = match f.taken_back {
        0 => String::new(),
        n => format!(
            "; {n} change(s) significant at α alone are not significant in the family \
             (their reasons give q)"
        ),
    };
    writeln!(
        out,
        "The {} timing and counter rows tested are judged as one family: a change counts \
         only when its Benjamini–Hochberg q-value is below α too, which holds the share of \
         chance findings among the changes reported at α{taken_back}. `--correction none` \
         judges each row alone.\n",
        f.tested
    )
}

/// Which classes only advise (`--fail-on`), then every note on the two runs.
fn notes(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let s = &c.settings;
    let advisory: Vec<&str> = [
        (Class::Timing, "timing"),
        (Class::Counter, "counter"),
        (Class::Memory, "memory"),
        (Class::Deterministic, "deterministic"),
    ]
    .into_iter()
    .filter(|(class, _)| !s.fail_on.contains(class))
    .map(|(_, name)| name)
    .collect();
    if !advisory.is_empty() {
        writeln!(
            out,
            "> **Note:** regressions of {} metrics are reported but do not fail this check \
             (`--fail-on`).\n",
            advisory.join(", ")
        )?;
    }
    let quoted = quoted_names(c);
    for n in c.one_sided_lines().iter().chain(&c.notes) {
        writeln!(out, "> **Note:** {}\n", prose(n, &quoted))?;
    }
    Ok(())
}

/// The names of both runs that the notes can quote (cells, metrics, runs, machines).
fn quoted_names(c: &Comparison) -> Quoted {
    let rows = c
        .rows
        .iter()
        .flat_map(|r| [&r.workload, &r.allocator, &r.metric]);
    let sides = [&c.baseline, &c.current].into_iter().flat_map(|s| {
        [&s.run, &s.pybench_version]
            .into_iter()
            .chain(&s.cpu)
            .chain(&s.git_commit)
    });
    let cells = c.only_in_baseline.iter().chain(&c.only_in_current);
    let geomeans = c.geomeans.iter().map(|g| &g.allocator);
    let reference = c.settings.relative_to.iter();
    Quoted::new(
        rows.chain(sides)
            .chain(cells)
            .chain(geomeans)
            .chain(reference)
            .map(String::as_str),
    )
}

/// The changed rows (all with `--all-rows`), worst first, the geometric means, and a line on
/// the rows hidden.
fn rows_table(c: &Comparison, rows: Rows, out: &mut dyn Write) -> io::Result<()> {
    let (mut shown, hidden): (Vec<&Row>, Vec<&Row>) =
        c.rows.iter().partition(|r| rows == Rows::All || r.changed);
    shown.sort_by_key(|r| r.verdict);
    if shown.is_empty() {
        writeln!(out, "No row changed.\n")?;
    }
    if !shown.is_empty() || !c.geomeans.is_empty() {
        writeln!(out, "{HEADER}")?;
    }
    for r in &shown {
        table_row(out, r)?;
    }
    let relative = match &c.settings.relative_to {
        Some(reference) => format!(" ÷ {}", code(reference)),
        None => String::new(),
    };
    for g in &c.geomeans {
        let suffix = if g.metric == crate::metrics::Id::OpsPerSec.name() {
            relative.as_str()
        } else {
            ""
        };
        writeln!(
            out,
            "| **geomean** {} | {}{suffix} ({} workload{}) | | | {} | |",
            code(&g.allocator),
            inline(&g.metric),
            g.workloads,
            if g.workloads == 1 { "" } else { "s" },
            pct(g.ratio)
        )?;
    }
    if !hidden.is_empty() {
        writeln!(
            out,
            "\n{} row(s) hidden: {} (`--all-rows` shows them).",
            hidden.len(),
            hidden_summary(&hidden, c.settings.alpha)
        )?;
    }
    Ok(())
}

/// The CSV columns of `--format csv`.
pub const CSV_COLUMNS: [&str; 20] = [
    "workload",
    "allocator",
    "metric",
    "op",
    "unit",
    "class",
    "baseline_median",
    "current_median",
    "ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "test",
    "n_baseline",
    "n_current",
    "verdict",
    "reason",
    "relative_to",
    "q_value",
    "difference",
];

/// One row per compared metric (geometric means are left to the reader's tool).
pub fn csv(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS).map_err(csv_io)?;
    let opt = |v: Option<f64>| v.map(csv_number).unwrap_or_default();
    for r in &c.rows {
        let class = serde_json::to_value(r.class)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let test = r.test_name().unwrap_or("");
        w.write_record([
            r.workload.as_str(),
            &r.allocator,
            &r.metric,
            r.op.as_deref().unwrap_or(""),
            &r.unit,
            &class,
            &csv_number(r.baseline_median),
            &csv_number(r.current_median),
            &opt(r.ratio),
            &opt(r.interval.map(|i| i.0)),
            &opt(r.interval.map(|i| i.1)),
            &opt(r.p_value),
            test,
            &r.baseline.len().to_string(),
            &r.current.len().to_string(),
            r.verdict.label(),
            r.reason.as_deref().unwrap_or(""),
            r.relative_to.as_deref().unwrap_or(""),
            &opt(r.q_value),
            &opt(r.difference),
        ])
        .map_err(csv_io)?;
    }
    w.flush()
}

/// Everything, as JSON.
pub fn json(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, c)?;
    writeln!(out)
}
