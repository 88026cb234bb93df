//! `pybench gen --workload NAME -o FILE`: write a synthetic workload's events as a trace, so
//! it can be inspected, shared or replayed exactly like a recorded one.

use crate::trace::{Meta, TraceWriter};
use crate::workload::Workload;
use anyhow::Context as _;
use clap::Args;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// A built-in workload name (see `pybench list workloads`) or a spec file path.
    #[arg(long, short, value_name = "NAME|PATH")]
    workload: String,
    /// Trace file to write.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    spec: super::spec_args::OverrideArgs,
}

pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let w = Workload::load(&args.workload)?.with(args.spec.overrides());
    let mut stream = w.stream();
    let info = stream.info().clone();
    let mut extra = BTreeMap::new();
    extra.insert("generator".to_string(), info.generator.clone().into());
    extra.insert("seed".to_string(), info.seed.into());
    extra.insert("scale".to_string(), info.scale.into());
    extra.insert("spec".to_string(), w.source.clone().into());
    let meta = Meta {
        source: "generated".into(),
        name: info.workload.clone(),
        python: info.python.to_string(),
        command: std::env::args().collect(),
        domains: vec!["raw".into(), "mem".into(), "obj".into()],
        pybench_version: crate::trace::pybench_version(),
        created_utc: crate::sys::time::utc_timestamp(),
        phases: info.phases.clone(),
        extra,
    };
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut writer = TraceWriter::new(BufWriter::new(file), &meta)?;
    while let Some(batch) = stream.next_batch() {
        for e in batch {
            writer.push(e)?;
        }
    }
    let events = writer.events();
    writer
        .finish(BTreeMap::new())
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    eprintln!(
        "wrote {events} events of workload {} to {} ({size} bytes, {:.2} B/event)",
        info.workload,
        args.out.display(),
        size as f64 / events.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}
