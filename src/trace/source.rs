//! Where a workload's events come from: a synthetic spec (built-in name or `.toml` path) or a
//! trace (`trace:NAME` for one shipped in `workloads/traces/`, or a `.pbt` path).

use super::parallel::ParallelReader;
use super::{Meta, TraceReader, EXTENSION};
use crate::workload::{Event, PyVersion, Workload};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Prefix naming a shipped trace: `trace:json_tool`.
pub const PREFIX: &str = "trace:";

/// A resolved workload source.
pub enum Source {
    Synthetic(Workload),
    Trace { path: PathBuf, meta: Meta },
}

/// Directories searched for shipped traces: `workloads/traces` under the current directory,
/// then under the source tree the binary was built from (so a built binary finds them when
/// run from anywhere on the build machine).
pub fn trace_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("workloads/traces")];
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/traces");
    if dirs[0].canonicalize().ok() != built.canonicalize().ok() {
        dirs.push(built);
    }
    dirs
}

/// Shipped traces, `(name, path)`, sorted by name; the first directory wins on a clash.
pub fn shipped() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for dir in trace_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some(EXTENSION) {
                continue;
            }
            if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                if !out.iter().any(|(n, _)| n == stem) {
                    out.push((stem.to_string(), p));
                }
            }
        }
    }
    out.sort();
    out
}

/// True when `name` denotes a trace rather than a workload spec.
pub fn is_trace(name: &str) -> bool {
    name.starts_with(PREFIX) || name.ends_with(&format!(".{EXTENSION}"))
}

/// The file of a trace name or path.
pub fn trace_path(name: &str) -> anyhow::Result<PathBuf> {
    let Some(short) = name.strip_prefix(PREFIX) else {
        return Ok(PathBuf::from(name));
    };
    let found = shipped();
    match found.iter().find(|(n, _)| n == short) {
        Some((_, p)) => Ok(p.clone()),
        None => anyhow::bail!(
            "unknown trace `{short}`; shipped traces: {} (searched {})",
            if found.is_empty() {
                "none".to_string()
            } else {
                found
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            trace_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Source {
    /// A built-in workload name, a spec path, `trace:NAME` or a `.pbt` path.
    pub fn load(name: &str) -> anyhow::Result<Source> {
        if !is_trace(name) {
            return Ok(Source::Synthetic(Workload::load(name)?));
        }
        let path = trace_path(name)?;
        let r = TraceReader::open(&path).with_context(|| format!("{}", path.display()))?;
        Ok(Source::Trace {
            meta: r.meta().clone(),
            path,
        })
    }

    /// The name results use: the workload's, or `trace:` and the trace file's stem.
    pub fn name(&self) -> String {
        match self {
            Source::Synthetic(w) => w.name.clone(),
            // The file's stem, not the recorded name: two files never share a name.
            Source::Trace { path, .. } => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
                format!("{PREFIX}{stem}")
            }
        }
    }

    /// The CPython version whose allocator the events are shaped for. A trace recorded on a
    /// version outside 3.8–3.13 maps to the nearest one.
    pub fn python(&self) -> PyVersion {
        match self {
            Source::Synthetic(w) => w.python,
            Source::Trace { meta, .. } => python_of(&meta.python),
        }
    }
}

/// `3.11.7` → 3.11; unknown or out-of-range versions clamp to 3.8 / 3.13.
pub fn python_of(version: &str) -> PyVersion {
    let mut parts = version.split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(3);
    let minor: u32 = parts
        .next()
        .and_then(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(11);
    let minor = if major > 3 { 13 } else { minor.clamp(8, 13) };
    format!("3.{minor}").parse().unwrap_or(PyVersion::V3_11)
}

/// Reads a whole trace into memory (for a replay, which must not decode while timing),
/// decoding its blocks in parallel. Returns the events and the slot-table size.
pub fn read_all(path: &Path) -> anyhow::Result<(Vec<Event>, usize, Meta)> {
    read_all_with(path, false)
}

/// As [`read_all`]; `allow_malformed` reads a trace that breaks liveness anyway.
pub fn read_all_with(
    path: &Path,
    allow_malformed: bool,
) -> anyhow::Result<(Vec<Event>, usize, Meta)> {
    let ctx = || format!("{}", path.display());
    let mut r = ParallelReader::open(path, allow_malformed).with_context(ctx)?;
    super::limits::check_materialise(r.end())
        .map_err(anyhow::Error::msg)
        .with_context(ctx)?;
    let mut events = Vec::with_capacity(r.end().events as usize);
    while let Some(batch) = r.next_batch().with_context(ctx)? {
        events.extend_from_slice(batch);
    }
    let slots = r.end().slots as usize;
    Ok((events, slots, r.meta().clone()))
}

/// A trace's events for a replay, with its slot-table size, its name (`trace:NAME`) and the
/// Python version whose allocator it is shaped for (`python` overrides the recorded one).
pub fn load_events(
    name: &str,
    python: Option<&str>,
) -> anyhow::Result<(Vec<Event>, usize, String, PyVersion)> {
    load_events_with(name, python, false)
}

/// As [`load_events`]; `allow_malformed` replays a trace that breaks liveness anyway.
pub fn load_events_with(
    name: &str,
    python: Option<&str>,
    allow_malformed: bool,
) -> anyhow::Result<(Vec<Event>, usize, String, PyVersion)> {
    let path = trace_path(name)?;
    let (events, slots, meta) = read_all_with(&path, allow_malformed)?;
    let python = match python {
        Some(v) => v.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        None => python_of(&meta.python),
    };
    let name = Source::Trace { path, meta }.name();
    Ok((events, slots, name, python))
}

/// Reads a trace once, summarising its events as they stream by (memory: a few blocks and
/// the summary's slot state), its blocks decoded in parallel.
pub fn summarize(path: &Path) -> anyhow::Result<(Meta, super::End, crate::workload::Summary)> {
    summarize_with(path, false)
}

/// As [`summarize`]; `allow_malformed` summarises a trace that breaks liveness anyway.
pub fn summarize_with(
    path: &Path,
    allow_malformed: bool,
) -> anyhow::Result<(Meta, super::End, crate::workload::Summary)> {
    let mut r = ParallelReader::open(path, allow_malformed)
        .with_context(|| format!("{}", path.display()))?;
    let mut failure = None;
    let mut batch: Vec<Event> = Vec::new();
    let mut pos = 0;
    let events = std::iter::from_fn(|| loop {
        if pos < batch.len() {
            pos += 1;
            return Some(batch[pos - 1]);
        }
        match r.next_batch() {
            Ok(Some(b)) => {
                batch.clear();
                batch.extend_from_slice(b);
                pos = 0;
            }
            Ok(None) => return None,
            Err(e) => {
                failure = Some(e);
                return None;
            }
        }
    });
    let summary = crate::workload::Summary::from_events(events);
    if let Some(e) = failure {
        return Err(anyhow::Error::new(e).context(format!("{}", path.display())));
    }
    Ok((r.meta().clone(), r.end().clone(), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(is_trace("trace:json_tool"));
        assert!(is_trace("x/y.pbt"));
        assert!(!is_trace("dicts"));
        assert_eq!(python_of("3.9.18"), PyVersion::V3_9);
        assert_eq!(python_of("3.14.0"), PyVersion::V3_13);
        assert_eq!(python_of("3.7"), PyVersion::V3_8);
    }
}
