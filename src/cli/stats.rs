//! `pybench stats --workload NAME|PATH` or `pybench stats FILE.pbt`: a summary of an event
//! stream, synthetic or recorded.

use crate::trace::source::{refuse_spec_flags, summarize_with, Source};
use crate::workload::validate::{summarize_checked, CheckedSummary};
use clap::Args;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// One of a trace and `--workload` (not both); a missing one is refused naming both, in
/// [`run`], which can tell when `--compare` took the trace meant as the subject.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").args(["trace", "workload"])))]
pub struct StatsArgs {
    /// A trace file (`.pbt`) or `trace:NAME` to summarise.
    #[arg(value_name = "TRACE")]
    trace: Option<String>,
    /// A built-in workload name (see `pybench list workloads`), a spec file path, or a trace.
    #[arg(long, short, value_name = "NAME|PATH")]
    workload: Option<String>,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
    /// Print the summary as JSON on stdout instead of the readable report.
    #[arg(long)]
    json: bool,
    /// Realism report against these real traces instead of the summary.
    ///
    /// It gives distances, per figure, from the stream to each of these traces (`trace:NAME` or
    /// `.pbt` paths), and an overall score (1 - mean distance; definitions in README.md, "Realism
    /// report").
    #[arg(long, value_name = "TRACE", num_args = 1..)]
    compare: Vec<String>,
    /// With --compare: only these figures (comma-separated), e.g. `size_classes,gc_bursts`.
    #[arg(long, value_name = "LIST", requires = "compare")]
    figures: Option<String>,
    /// Summarise a trace whose events break liveness instead of refusing it.
    ///
    /// Breaking liveness is a free of a slot that is not live or an allocation into a live one;
    /// such events are counted as malformed. (Not with --compare, whose figures need a well-formed
    /// stream.)
    #[arg(long, conflicts_with = "compare")]
    allow_malformed: bool,
}

fn realism(subject: &str, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let report = crate::workload::likeness::realism_report(
        subject,
        args.spec.overrides(),
        &args.compare,
        args.figures.as_deref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// The readable summary of a trace file (also printed by `pybench record`).
pub fn summarize_trace(path: &Path) -> anyhow::Result<String> {
    summarize_trace_with(path, false)
}

fn summarize_trace_with(path: &Path, allow_malformed: bool) -> anyhow::Result<String> {
    let (meta, end, summary) = summarize_with(path, allow_malformed)?;
    let meta = meta.printable();
    let title = format!(
        "trace {} ({}, python {}, domains {}) from {}\n  command: {}",
        meta.name,
        meta.source,
        meta.python,
        meta.domains.join(","),
        path.display(),
        meta.command.join(" ")
    );
    let mut text = summary.render(&title);
    let counters: Vec<String> = end
        .counters
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{} {v}", crate::trace::printable(k)))
        .collect();
    if !counters.is_empty() {
        text.push_str(&format!("  recording: {}\n", counters.join(", ")));
    }
    if meta.source == "recorded" {
        let line = crate::trace::accounting::describe(end.accounting.as_ref());
        text.push_str(&format!("  {line}\n"));
    }
    Ok(text)
}

fn stats_trace(path: &Path, json: bool, allow_malformed: bool) -> anyhow::Result<ExitCode> {
    if json {
        let (meta, end, summary) = summarize_with(path, allow_malformed)?;
        let doc = serde_json::json!({ "trace": meta, "end": end, "summary": summary });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
    } else {
        let started = Instant::now();
        let text = summarize_trace_with(path, allow_malformed)?;
        write!(std::io::stdout().lock(), "{text}")?;
        crate::stderr_line!("read in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ExitCode::SUCCESS)
}

/// Neither a trace nor `--workload`: refused, naming what `--compare` took when it swallowed
/// the trace meant as the subject (`stats --compare trace:a my.pbt`).
fn refuse_missing_subject(args: &StatsArgs) -> anyhow::Result<()> {
    if args.trace.is_some() || args.workload.is_some() {
        return Ok(());
    }
    if let [.., last] = args.compare.as_slice() {
        if args.compare.len() >= 2 {
            anyhow::bail!(
                "no stream to report on: --compare took every name after it ({}); put \
                 the trace to report on before --compare (`stats {last} --compare …`), or \
                 give --workload",
                args.compare.join(", ")
            );
        }
    }
    anyhow::bail!("give a TRACE (a .pbt file or trace:NAME) or --workload NAME to report on");
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    refuse_missing_subject(&args)?;
    // What the positional and --compare name is a trace (their help says TRACE): a device or
    // a folder there is said to be one, not read as a workload spec.
    for t in args.trace.iter().chain(&args.compare) {
        crate::trace::source::refuse_special_file(t)?;
    }
    if !args.compare.is_empty() {
        let subject = args.trace.as_deref().or(args.workload.as_deref());
        return realism(subject.unwrap_or_default(), &args);
    }
    let name = match (&args.trace, &args.workload) {
        (Some(t), _) => t,
        (None, Some(w)) => w,
        (None, None) => anyhow::bail!("give a trace file or --workload NAME"),
    };
    let w = match Source::load(name)? {
        Source::Trace { path, .. } => {
            refuse_spec_flags(&args.spec.overrides(), name, "summarised")?;
            return stats_trace(&path, args.json, args.allow_malformed)
                .map_err(|e| super::suggest_allow_malformed(e, "summarises"));
        }
        Source::Synthetic { workload, .. } => workload.with(args.spec.overrides()),
    };
    let started = Instant::now();
    // Default scales take milliseconds; a huge --scale shows progress on a terminal.
    let mut progress = super::progress::EventProgress::on_stderr();
    let checked = summarize_checked(&w, |seen| progress.update(seen));
    progress.finish();
    let CheckedSummary {
        info,
        summary,
        notes,
    } = checked?;
    for note in &notes {
        crate::stderr_line!("warning: {note}");
    }
    let elapsed = started.elapsed();
    if args.json {
        let doc = serde_json::json!({ "stream": info, "summary": summary });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
    } else {
        let title = info.title(&w.source);
        write!(std::io::stdout().lock(), "{}", summary.render(&title))?;
        crate::stderr_line!(
            "generated {} events in {:.1} ms",
            summary.events,
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}
