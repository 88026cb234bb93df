//! `pybench stats --workload NAME|PATH` or `pybench stats FILE.pbt`: a summary of an event
//! stream, synthetic or recorded.

use crate::trace::source::{summarize, Source};
use crate::workload::{Checker, Summary};
use clap::Args;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// A trace file (`.pbt`) or `trace:NAME` to summarise.
    #[arg(
        value_name = "TRACE",
        conflicts_with = "workload",
        required_unless_present = "workload"
    )]
    trace: Option<String>,
    /// A built-in workload name (see `pybench list workloads`), a spec file path, or a trace.
    #[arg(long, short, value_name = "NAME|PATH")]
    workload: Option<String>,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
    /// Print the summary as JSON on stdout instead of the readable report.
    #[arg(long)]
    json: bool,
}

/// The readable summary of a trace file (also printed by `pybench record`).
pub fn summarize_trace(path: &Path) -> anyhow::Result<String> {
    let (meta, end, summary) = summarize(path)?;
    let title = format!(
        "trace {} ({}, python {}, domains {}) from {}\n  command: {}",
        meta.name,
        meta.source,
        meta.python,
        meta.domains.join(","),
        path.display(),
        meta.command.join(" ").replace('\n', "\\n")
    );
    let mut text = summary.render(&title);
    let counters: Vec<String> = end
        .counters
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !counters.is_empty() {
        text.push_str(&format!("  recording: {}\n", counters.join(", ")));
    }
    Ok(text)
}

fn stats_trace(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let (meta, end, summary) = summarize(path)?;
        let doc = serde_json::json!({ "trace": meta, "end": end, "summary": summary });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
    } else {
        let started = Instant::now();
        let text = summarize_trace(path)?;
        write!(std::io::stdout().lock(), "{text}")?;
        eprintln!("read in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let name = match (&args.trace, &args.workload) {
        (Some(t), _) => t,
        (None, Some(w)) => w,
        (None, None) => anyhow::bail!("give a trace file or --workload NAME"),
    };
    let w = match Source::load(name)? {
        Source::Trace { path, .. } => return stats_trace(&path, args.json),
        Source::Synthetic { workload, .. } => workload.with(args.spec.overrides()),
    };
    let started = Instant::now();
    let stream = w.stream();
    let info = stream.info().clone();
    // Checked in the same pass: cheap next to generation, and it catches a broken
    // generator before anyone benchmarks with it.
    let mut checker = Checker::new(info.phases.len());
    let mut broken = None;
    // Default scales take milliseconds; a huge --scale shows progress on a terminal.
    let tty = std::io::stderr().is_terminal();
    let mut seen = 0u64;
    let mut shown = false;
    let summary = Summary::from_events(stream.inspect(|&e| {
        if broken.is_none() {
            broken = checker.check(e).err();
        }
        seen += 1;
        if tty && seen % (1 << 22) == 0 && started.elapsed().as_secs_f64() > 1.0 {
            let rate = seen as f64 / started.elapsed().as_secs_f64();
            eprint!("\r{seen} events, {:.1} M events/s", rate / 1e6);
            shown = true;
        }
    }));
    if shown {
        eprintln!();
    }
    let elapsed = started.elapsed();
    if let Some(err) = broken {
        anyhow::bail!("workload `{}` produced a malformed stream: {err}", w.name);
    }
    if args.json {
        let doc = serde_json::json!({ "stream": info, "summary": summary });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
    } else {
        let title = format!(
            "workload {} (generator {}, python {}, scale {}, seed {}) from {}",
            info.workload, info.generator, info.python, info.scale, info.seed, w.source
        );
        write!(std::io::stdout().lock(), "{}", summary.render(&title))?;
        eprintln!(
            "generated {} events in {:.1} ms",
            summary.events,
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}
