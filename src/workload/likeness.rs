//! The library side of `pybench stats --compare` and `pybench gen --like`: resolve names to
//! event streams (built-in, spec or trace), profile them, compare, and write stand-ins.

use super::fit::{synthesize, Guarded, Model};
use super::profile::Profile;
use super::realism::{compare, parse_figures, Report};
use super::{Overrides, Workload};
use crate::sys::fs::AtomicFile;
use crate::trace::source::{read_all, refuse_spec_flags, trace_path, Source};
use crate::trace::{Meta, TraceReader, TraceWriter};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;

/// The profile of a trace, streamed: the events are never held, only what a profile keeps
/// ([`Profile::from_events`]).
pub fn trace_profile(path: &Path) -> anyhow::Result<Profile> {
    let mut r = TraceReader::open(path).with_context(|| format!("{}", path.display()))?;
    let mut failure = None;
    let events = std::iter::from_fn(|| match r.next()? {
        Ok(e) => Some(e),
        Err(e) => {
            failure = Some(e);
            None
        }
    });
    let p = Profile::from_events(events);
    match failure {
        Some(e) => Err(anyhow::Error::new(e).context(format!("{}", path.display()))),
        None => Ok(p),
    }
}

/// A display name and the profile of a workload name, spec path, `trace:NAME` or `.pbt`
/// path (overrides apply to workloads only).
pub fn load_profile(name: &str, o: Overrides) -> anyhow::Result<(String, Profile)> {
    let source = Source::load(name)?;
    let label = source.label(name);
    match source {
        Source::Trace { path, .. } => {
            refuse_spec_flags(&o, name, "compared")?;
            Ok((label, trace_profile(&path)?))
        }
        Source::Synthetic { workload, .. } => {
            let w: Workload = workload.with(o);
            Ok((w.name.clone(), Profile::from_events(w.stream())))
        }
    }
}

/// The realism report of `subject` against `references`, on `figures` (comma-separated,
/// all if `None`). An unknown figure is an error naming the valid ones.
pub fn realism_report(
    subject: &str,
    o: Overrides,
    references: &[String],
    figures: Option<&str>,
) -> anyhow::Result<Report> {
    let figs = parse_figures(figures).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(!references.is_empty(), "--compare needs at least one trace");
    let (name, p) = load_profile(subject, o)?;
    has_allocations(&name, &p)?;
    let mut comparisons = Vec::new();
    for r in references {
        let (rname, rp) = load_profile(r, Overrides::default())?;
        has_allocations(&rname, &rp)?;
        comparisons.push(compare(&p, &rp, &rname, &figs));
    }
    Ok(Report {
        subject: name,
        comparisons,
    })
}

/// Refuses a stream without a single allocation: every figure would compare against nothing,
/// and the distances and score would look like a measurement.
fn has_allocations(name: &str, p: &Profile) -> anyhow::Result<()> {
    anyhow::ensure!(
        p.allocs + p.reallocs > 0,
        "{name} has no allocations ({} events): there is nothing to compare",
        p.events
    );
    Ok(())
}

/// A stand-in written: its events, and what keeping the trace's long runs out of it changed.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub events: u64,
    pub guarded: Guarded,
}

/// Fits a model to `trace` and writes a stand-in drawn with `seed` to `out`. The output is written next to its final name and renamed into place, so
/// a failure never leaves a half-written trace under that name.
pub fn write_stand_in(trace: &str, out: &Path, seed: u64) -> anyhow::Result<Written> {
    let path = trace_path(trace)?;
    let (events, _, meta) = read_all(&path)?;
    let model =
        Model::fit(&events).map_err(|e| anyhow::anyhow!("cannot fit {}: {e}", path.display()))?;
    drop(events);
    let mut extra = BTreeMap::new();
    extra.insert("like".to_string(), meta.name.clone().into());
    extra.insert("seed".to_string(), seed.into());
    extra.insert(
        "model".to_string(),
        "fit: per-segment histograms drawn in loop bodies, deaths and collections placed per \
         256th of the run, no 64-run of the trace"
            .into(),
    );
    let out_meta = Meta {
        source: "generated".into(),
        name: format!("like_{}", meta.name),
        python: meta.python.clone(),
        command: crate::sys::process::command_line(),
        domains: meta.domains.clone(),
        pybench_version: crate::trace::pybench_version(),
        created_utc: crate::sys::time::utc_timestamp(),
        phases: Vec::new(),
        extra,
    };
    // Written beside the target (O_EXCL | O_NOFOLLOW) and renamed when complete: a failure
    // never leaves a half-written trace, nor a temporary, behind.
    let file =
        AtomicFile::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = TraceWriter::new(BufWriter::new(file), &out_meta)?;
    let n = synthesize(&model, seed, &mut |e| writer.push(&e))
        .and_then(|guarded| {
            let n = Written {
                events: writer.events(),
                guarded,
            };
            writer
                .finish(BTreeMap::new())?
                .into_inner()
                .map_err(|e| e.into_error())?
                .commit()?;
            Ok(n)
        })
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(n)
}
