//! `pybench gen`'s work: a synthetic workload's event stream written as a trace, so it can be
//! inspected, shared or replayed exactly like a recorded one.

use super::format::MAX_EVENTS;
use super::{Meta, TraceWriter};
use crate::sys::fs::AtomicFile;
use crate::workload::{EventSource, Workload};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub events: u64,
    pub bytes: u64,
    /// What the reader should know about the stream (a cut at the scale's bound).
    pub notes: Vec<String>,
}

/// The header of a generated trace: the generator, seed, scale and spec it came from, so the
/// trace says how to make it again.
fn meta_of(w: &Workload, command: Vec<String>) -> Meta {
    let stream = w.stream();
    let info = stream.info();
    let mut extra = BTreeMap::new();
    extra.insert("generator".to_string(), info.generator.clone().into());
    extra.insert("seed".to_string(), info.seed.into());
    extra.insert("scale".to_string(), info.scale.into());
    if info.loop_iterations > 1 {
        extra.insert("loop_iterations".to_string(), info.loop_iterations.into());
    }
    extra.insert("spec".to_string(), w.source.clone().into());
    Meta {
        source: "generated".into(),
        name: info.workload.clone(),
        python: info.python.to_string(),
        command,
        domains: vec!["raw".into(), "mem".into(), "obj".into()],
        pybench_version: super::pybench_version(),
        created_utc: crate::sys::time::utc_timestamp(),
        phases: info.phases.clone(),
        extra,
    }
}

/// Writes every event of `w` to the trace file `out`; `command` is recorded in its header.
pub fn write_workload(w: &Workload, out: &Path, command: Vec<String>) -> anyhow::Result<Written> {
    write_workload_showing(w, out, command, &mut |_| {})
}

/// [`write_workload`], telling `progress` the events written so far after each batch, so a
/// long run (`gen --scale` in the billions: hours) can show that it is moving. A stream
/// longer than a trace may hold ([`MAX_EVENTS`]) is refused at the first event past it, and
/// nothing is left at `out`.
pub fn write_workload_showing(
    w: &Workload,
    out: &Path,
    command: Vec<String>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Written> {
    write_up_to(w, out, command, MAX_EVENTS, progress)
}

/// [`write_workload_showing`] with the most events the trace may take as a parameter, so the
/// refusal at the limit is tested without writing 2^40 events.
fn write_up_to(
    w: &Workload,
    out: &Path,
    command: Vec<String>,
    limit: u64,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Written> {
    let meta = meta_of(w, command);
    // Written beside the target and renamed when complete: an error (a full disk) leaves
    // neither a truncated trace nor a temporary behind.
    let file =
        AtomicFile::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    // A write that fails midway (a full disk) names the file, as `commit` does.
    let cannot = || format!("cannot write {}", out.display());
    let mut writer = TraceWriter::new(BufWriter::new(file), &meta)
        .with_context(cannot)?
        .with_event_limit(limit);
    let mut stream = w.stream();
    let mut allocates = false;
    while let Some(batch) = stream.next_events()? {
        for e in batch {
            allocates |= e.allocates();
            writer.push(e).with_context(cannot)?;
        }
        progress(writer.events());
    }
    if !allocates {
        // A trace every replay refuses ("nothing to replay"): say why here, and write
        // nothing (the temporary file goes with the writer).
        w.refuse_empty()?;
    }
    let events = writer.events();
    let notes = stream.notes();
    let bytes = commit(writer, BTreeMap::new(), None, out)?;
    Ok(Written {
        events,
        bytes,
        notes,
    })
}

/// Writes the end block, flushes, and renames the finished file onto `out`; returns its
/// size in bytes (counted as written: `out` may be a FIFO or a device).
fn commit(
    writer: TraceWriter<BufWriter<AtomicFile>>,
    counters: BTreeMap<String, u64>,
    accounting: Option<super::accounting::Accounting>,
    out: &Path,
) -> anyhow::Result<u64> {
    writer
        .finish_with(counters, accounting)
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| {
            let bytes = f.bytes_written();
            f.commit().map(|()| bytes)
        })
        .with_context(|| format!("cannot write {}", out.display()))
}

/// Rewrites the trace `input` (a path or `trace:NAME`) to `out` in the encoding this pybench
/// writes — today version 2 with allocation-order references, so an older file shrinks (the
/// shipped compileall trace by a fifth) — keeping its events, their pace, its metadata and
/// the end block's counters and recorded accounting. The output is written beside its target
/// and renamed when complete, so `out` may name the input itself: the reader keeps the old
/// file open until the end. A target that is written in place (standard output, a FIFO, a
/// device) gets nothing until the whole input has read clean. Blocks are decoded in
/// parallel (issue 15: trace conversion).
pub fn rewrite_trace(input: &str, out: &Path) -> anyhow::Result<Written> {
    let path = super::source::trace_path(input)?;
    let ctx = || format!("{}", path.display());
    // Blocks decoded in parallel (rayon), handed over in order with liveness checked.
    let mut reader = super::parallel::ParallelReader::open(&path, false).with_context(ctx)?;
    let meta = reader.meta().clone();
    let end = reader.end().clone();
    let file =
        AtomicFile::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    if file.in_place() {
        // What is written in place cannot be discarded as a temporary is: `convert BAD -o -`
        // streamed the blocks before the damaged one, a trace with no end block, and only
        // then failed. So the input is read through first (checksums, liveness, the end
        // block's totals) and then again to be written: twice the reading, for these
        // targets only.
        while reader.next_batch().with_context(ctx)?.is_some() {}
        reader = super::parallel::ParallelReader::open(&path, false).with_context(ctx)?;
    }
    let cannot = || format!("cannot write {}", out.display());
    let mut writer = if reader.has_pace() {
        TraceWriter::with_pace(BufWriter::new(file), &meta)
    } else {
        TraceWriter::new(BufWriter::new(file), &meta)
    }
    .with_context(cannot)?;
    while let Some((events, pace)) = reader.next_batch_paced().with_context(ctx)? {
        for (i, e) in events.iter().enumerate() {
            writer
                .push_paced(e, pace.map_or(0, |p| p[i]))
                .with_context(cannot)?;
        }
    }
    let events = writer.events();
    let bytes = commit(writer, end.counters, end.accounting, out)?;
    Ok(Written {
        events,
        bytes,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::testing::scratch;

    fn dicts() -> Workload {
        Workload::builtin("dicts")
            .unwrap()
            .with(crate::workload::Overrides {
                scale: Some(2000),
                ..Default::default()
            })
    }

    /// A stream longer than the trace may hold is refused in one line naming the file and
    /// the limit, and leaves no file, complete or partial, and no temporary.
    #[test]
    fn a_stream_past_the_event_limit_is_refused_and_leaves_nothing() {
        let d = scratch("gen-limit");
        let out = d.join("t.pbt");
        let e = write_up_to(&dicts(), &out, vec![], 1000, &mut |_| {}).unwrap_err();
        let msg = format!("{e:#}");
        assert_eq!(
            msg,
            format!(
                "cannot write {}: a trace holds at most 1000 events (the most a reader \
                 accepts), and this stream has more",
                out.display()
            )
        );
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        // The same stream within the limit is written whole.
        let all = write_up_to(&dicts(), &out, vec![], MAX_EVENTS, &mut |_| {}).unwrap();
        assert!(all.events > 1000);
        let exact = write_up_to(&dicts(), &out, vec![], all.events, &mut |_| {}).unwrap();
        assert_eq!(
            exact.events, all.events,
            "a stream of exactly the limit is taken"
        );
    }

    /// Progress is told the events written so far, rising, ending at the stream's length.
    #[test]
    fn progress_follows_the_events_written() {
        let d = scratch("gen-progress");
        let mut seen = Vec::new();
        let w = write_workload_showing(&dicts(), &d.join("t.pbt"), vec![], &mut |n| seen.push(n))
            .unwrap();
        assert!(!seen.is_empty());
        assert!(seen.windows(2).all(|p| p[0] <= p[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&w.events));
    }
}
