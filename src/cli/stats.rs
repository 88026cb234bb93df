//! `pybench stats --workload NAME|PATH` or `pybench stats FILE.pbt`: a summary of an event
//! stream, synthetic or recorded.

use crate::trace::source::{is_trace, summarize, trace_path};
use crate::workload::{validate, PyVersion, Summary, Workload};
use anyhow::Context as _;
use clap::Args;
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
    #[arg(long, value_name = "NAME|PATH")]
    workload: Option<String>,
    /// CPython version to model (overrides the spec): 3.8 … 3.13.
    #[arg(long, value_name = "3.X")]
    python: Option<PyVersion>,
    /// Allocation requests to model (overrides the spec).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed (overrides the spec).
    #[arg(long)]
    seed: Option<u64>,
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

fn stats_trace(name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let path = trace_path(name)?;
    if json {
        let (meta, end, summary) = summarize(&path)?;
        let doc = serde_json::json!({ "trace": meta, "end": end, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let started = Instant::now();
        let text = summarize_trace(&path)?;
        print!("{text}");
        eprintln!("read in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let name = match (&args.trace, &args.workload) {
        (Some(t), _) => return stats_trace(t, args.json),
        (None, Some(w)) if is_trace(w) => return stats_trace(w, args.json),
        (None, Some(w)) => w,
        (None, None) => anyhow::bail!("give a trace file or --workload NAME"),
    };
    let mut w = Workload::load(name)?;
    if let Some(v) = args.python {
        w.python = v;
    }
    if let Some(s) = args.scale {
        w.scale = s;
    }
    if let Some(s) = args.seed {
        w.seed = s;
    }
    let started = Instant::now();
    let stream = w.stream();
    let info = stream.info().clone();
    let summary = Summary::from_events(stream);
    let elapsed = started.elapsed();
    // The check is cheap next to generation and catches a broken generator before anyone
    // benchmarks with it.
    validate(w.stream(), info.phases.len())
        .with_context(|| format!("workload `{}` produced a malformed stream", w.name))?;
    if args.json {
        let doc = serde_json::json!({ "stream": info, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let title = format!(
            "workload {} (generator {}, python {}, scale {}, seed {}) from {}",
            info.workload, info.generator, info.python, info.scale, info.seed, w.source
        );
        print!("{}", summary.render(&title));
        eprintln!(
            "generated {} events in {:.1} ms",
            summary.events,
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}
