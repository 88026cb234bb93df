//! Where a workload's events come from — one [`Source`], resolved once in the parent:
//! a built-in workload, a workload spec file, a shipped trace (`trace:NAME`, from
//! `workloads/traces/`) or any trace file, recognised by its magic bytes whatever its name
//! (a `.pbt` name is always read as a trace); which file a name reads is decided in a submodule.
//! The child process is handed the resolved [`Origin`] and only opens it. Every source's
//! events come through one trait, [`EventSource`], which the generators' stream and the trace
//! reader both implement; [`Source::materialize`] drains it for a replay.
//!
//! A new kind of event source gets a variant of [`Source`] and [`Origin`] and an
//! [`EventSource`] implementation; the harness, `stats` and `gen` need no change.

use super::parallel::ParallelReader;
use super::{Meta, TraceReader};
use crate::workload::{Event, EventSource, Overrides, PyVersion, Workload};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod locate;
use locate::names_a_trace;
pub use locate::{
    file_of, has_trace_magic, refuse_pipe, refuse_special_file, shipped, trace_dirs, trace_path,
};

/// Prefix naming a shipped trace: `trace:json_tool`.
pub const PREFIX: &str = "trace:";

/// A source's events, resolved: what a child process is told, so it never searches or
/// guesses what a name means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A built-in workload spec, by name.
    Builtin(String),
    /// A workload spec file.
    SpecFile(PathBuf),
    /// A trace file (a shipped `trace:NAME` resolved to its path, or any file whose first
    /// bytes are a trace's magic).
    Trace(PathBuf),
}

/// A resolved event source.
pub enum Source {
    /// A workload spec: its events are generated.
    Synthetic { workload: Workload, origin: Origin },
    /// A trace file: its events replay as recorded (scale and seed do not apply).
    Trace { path: PathBuf, meta: Meta },
}

/// Refuses a trace file whose stem holds a control character (a line break, the escape that
/// starts a terminal colour sequence) or a bidirectional override ([`super::hostile`]): the
/// stem is the workload's name (`trace:STEM`), printed raw into the terminal's tables, plot
/// titles and reports, so it must be one line of visible text, as a spec's `name` must.
fn refuse_hostile_name(path: &Path) -> anyhow::Result<()> {
    let stem = path.file_stem().map(|s| s.to_string_lossy());
    match stem.as_deref().and_then(super::hostile_in) {
        Some(what) => anyhow::bail!(
            "{}: the trace's file name holds {what}; it names the workload in tables, plots and \
             reports, so it must be one line of visible text: rename the file",
            super::printable(&path.to_string_lossy()),
        ),
        None => Ok(()),
    }
}

/// The events of a source, all in memory so that reading them costs nothing in a timed loop.
pub struct Materialized {
    pub events: Vec<Event>,
    /// Slot-table size a replay needs (highest slot + 1).
    pub slots: usize,
    pub name: String,
    pub python: PyVersion,
    /// What the results should say about these events (a cut stream, a repaired trace).
    pub notes: Vec<String>,
}

impl Source {
    /// Resolves what the command line names: `trace:NAME`, a file that is a trace by its
    /// magic bytes (whatever its name), a built-in workload name or a spec file. A trace is
    /// opened and its header read, a spec parsed: a bad source fails here, before any cell.
    pub fn load(name: &str) -> anyhow::Result<Source> {
        // A pipe is refused by `trace_path` on the trace branch (sniffing reads only regular
        // files, so it never waits on one) and here on the spec branch.
        if names_a_trace(name) {
            return Source::open(&Origin::Trace(trace_path(name)?));
        }
        refuse_pipe(Path::new(name))?;
        let workload = Workload::load(name)?;
        let origin = if workload.source.starts_with("builtin:") {
            Origin::Builtin(name.to_string())
        } else {
            Origin::SpecFile(PathBuf::from(name))
        };
        Ok(Source::Synthetic { workload, origin })
    }

    /// Opens what is given where only a trace belongs (`run --trace`, `sweep --trace`) as a
    /// trace, whatever its name: a built-in's name or a spec given there was replayed as that
    /// workload without a word, and a file that is no trace was called an "unknown workload";
    /// now each gets the trace reader's own error (`not a pybench trace (bad magic)`).
    pub fn load_trace(name: &str) -> anyhow::Result<Source> {
        Source::open(&Origin::Trace(trace_path(name)?))
    }

    /// Checks that every name given where only a trace belongs opens as one (see
    /// [`Self::load_trace`]), before the names join the workloads: `run` and `sweep` then
    /// resolve them like any other source, which sniffs a trace by its magic bytes.
    pub fn require_traces(names: &[String]) -> anyhow::Result<()> {
        for name in names {
            Source::load_trace(name)?;
        }
        Ok(())
    }

    /// Opens an already resolved source (in the child process).
    pub fn open(origin: &Origin) -> anyhow::Result<Source> {
        Ok(match origin {
            Origin::Builtin(name) => Source::Synthetic {
                workload: Workload::builtin(name)?,
                origin: origin.clone(),
            },
            Origin::SpecFile(path) => Source::Synthetic {
                workload: Workload::load(&path.to_string_lossy())?,
                origin: origin.clone(),
            },
            Origin::Trace(path) => {
                refuse_hostile_name(path)?;
                let r = TraceReader::open(path).with_context(|| format!("{}", path.display()))?;
                Source::Trace {
                    meta: r.meta().clone(),
                    path: path.clone(),
                }
            }
        })
    }

    /// Where this source's events are, for a child process.
    pub fn origin(&self) -> Origin {
        match self {
            Source::Synthetic { origin, .. } => origin.clone(),
            Source::Trace { path, .. } => Origin::Trace(path.clone()),
        }
    }

    pub fn is_trace(&self) -> bool {
        matches!(self, Source::Trace { .. })
    }

    /// Reads a trace source through to its end block, so a corrupt or truncated file is
    /// refused before anything is measured (exit 2) instead of failing every cell that
    /// replays it. A synthetic source's spec was checked when it was parsed; here its
    /// stream, with the overrides `o`, must allocate ([`Workload::refuse_empty`]), as a trace
    /// must. `o.allow_malformed` accepts a trace that breaks liveness (its integrity is still
    /// checked) and returns the note saying what the replay will repair.
    pub fn verify(&self, o: Overrides) -> anyhow::Result<Option<String>> {
        let allow_malformed = o.allow_malformed;
        let path = match self {
            Source::Trace { path, .. } => path,
            Source::Synthetic { workload, .. } => {
                workload.clone().with(o).refuse_empty()?;
                return Ok(None);
            }
        };
        let ctx = || format!("{}", path.display());
        // Blocks checked (CRC, decode) in parallel, then in order (table chain, liveness
        // unless repairing).
        let mut r = ParallelReader::open(path, allow_malformed).with_context(ctx)?;
        let mut repairer = crate::trace::live::Repairer::default();
        let mut batch = Vec::new();
        let mut allocates = false;
        while let Some(events) = r.next_batch().with_context(ctx)? {
            if !allocates {
                allocates = events.iter().any(Event::allocates);
            }
            if allow_malformed {
                batch.clear();
                batch.extend_from_slice(events);
                repairer.apply(&mut batch);
            }
        }
        // Every allocator would do nothing fast: a figure of nothing, not a result.
        anyhow::ensure!(
            allocates,
            "{}: the trace has no allocations ({} events): there is nothing to replay",
            path.display(),
            r.end().events
        );
        Ok(repairer
            .repairs
            .note()
            .map(|n| format!("{}: {n}", self.name())))
    }

    /// The name results use: the workload's, or `trace:` and the trace file's stem.
    pub fn name(&self) -> String {
        match self {
            Source::Synthetic { workload, .. } => workload.name.clone(),
            // The file's stem, not the recorded name (every recording of one script has
            // that). Two files of one stem in different folders do share it: `run` refuses
            // them together (`harness::plan`), as their cells would be pooled.
            Source::Trace { path, .. } => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
                format!("{PREFIX}{stem}")
            }
        }
    }

    /// The name a report that the user reads back shows for this source, named `typed` on
    /// the command line: a trace file as typed (its path), so the label can be given again;
    /// a shipped trace and a workload as [`Self::name`] (`trace:NAME`, the spec's name).
    pub fn label(&self, typed: &str) -> String {
        match self {
            // The folders as typed may hold what the stem may not ([`refuse_hostile_name`]).
            Source::Trace { .. } if !typed.starts_with(PREFIX) => super::printable(typed),
            _ => self.name(),
        }
    }

    /// What a replay without `--python` should know of the version a trace names, before
    /// anything is measured: nothing when it is one of 3.8 – 3.13; a sentence when it is
    /// another CPython 3 version, which [`Self::python`] maps to the nearest preset; an
    /// error when it is not a CPython 3 version at all (a hand-made or damaged header),
    /// which would otherwise replay as 3.11 without a word.
    pub fn check_python(&self) -> anyhow::Result<Option<String>> {
        let Source::Trace { meta, .. } = self else {
            return Ok(None);
        };
        let v = meta.python.as_str();
        match crate::workload::cpython3_minor(v) {
            Some(_) if PyVersion::of_release(v).is_some() => Ok(None),
            Some(_) => Ok(Some(format!(
                "{} was recorded with Python {v}, which has no engine preset (3.8 … 3.13)",
                self.name(),
            ))),
            None => anyhow::bail!(
                "{} says it was recorded with Python {v:?}, which is not a CPython 3 version; \
                 give --python 3.X to say which version to replay it as",
                self.name()
            ),
        }
    }

    /// The CPython version whose allocator the events are shaped for. A trace recorded on a
    /// version outside 3.8–3.13 maps to the nearest one ([`Self::check_python`] says so).
    pub fn python(&self) -> PyVersion {
        match self {
            Source::Synthetic { workload, .. } => workload.python,
            Source::Trace { meta, .. } => python_of(&meta.python),
        }
    }

    /// The events, streamed, with the command line's overrides applied: to a spec all of
    /// them; to a trace only the Python version (it replays as recorded). Also returns the
    /// Python version the events are shaped for.
    pub fn events(&self, o: Overrides) -> anyhow::Result<(Box<dyn EventSource>, PyVersion)> {
        Ok(match self {
            Source::Synthetic { workload, .. } => {
                let w = workload.clone().with(o);
                (Box::new(w.stream()), w.python)
            }
            Source::Trace { path, .. } => {
                let r = TraceReader::open(path)
                    .with_context(|| format!("{}", path.display()))?
                    .allow_malformed(o.allow_malformed);
                let python = o.python.unwrap_or_else(|| self.python());
                (Box::new(r), python)
            }
        })
    }

    /// Refuses a synthetic stream whose events could not be held in memory, before it is
    /// generated: holding it would end in an allocation failure (an abort, no message) after
    /// minutes of work. A spec's events per request range from under 1 to 64 and more, so its
    /// own start is measured ([`Workload::event_count`]). (A trace's declared count is
    /// checked when it is read.)
    pub fn check_holdable(&self, o: Overrides) -> anyhow::Result<()> {
        let Source::Synthetic { workload, .. } = self else {
            return Ok(());
        };
        let w = workload.clone().with(o);
        let events = w.events_bound();
        super::limits::check_memory(
            events.saturating_mul(super::limits::EVENT_COST),
            &format!(
                "holding the events of {} at scale {} (up to {events}, by the rate of its first \
                 objects)",
                w.name, w.scale
            ),
        )
        .map_err(|m| anyhow::anyhow!("{m}; give a smaller --scale"))
    }

    /// All the events in memory, for a replay (which must not generate or decode while it
    /// measures). With `o.allow_malformed` a trace that breaks liveness is repaired so every
    /// allocator can replay it, and the notes say what changed.
    pub fn materialize(&self, o: Overrides) -> anyhow::Result<Materialized> {
        if let Source::Trace { path, .. } = self {
            // A trace's blocks decode in parallel (the cell, throughput and fidelity
            // processes all load through here).
            let (mut events, slots, _) = read_all_with(path, o.allow_malformed)?;
            let mut notes = Vec::new();
            if o.allow_malformed {
                notes.extend(crate::trace::live::repair(&mut events).note());
            }
            return Ok(Materialized {
                events,
                slots,
                name: self.name(),
                python: o.python.unwrap_or_else(|| self.python()),
                notes,
            });
        }
        self.check_holdable(o)?;
        let (mut src, python) = self.events(o)?;
        let mut events = Vec::new();
        let mut slots = 0u32;
        while let Some(batch) = src.next_events().with_context(|| self.origin_label())? {
            for ev in batch {
                if let Some(s) = ev.slot() {
                    slots = slots.max(s + 1);
                }
            }
            // Should memory run out all the same (the machine's filled meanwhile), the
            // command says so and exits rather than abort in the middle of a sweep.
            events
                .try_reserve(batch.len())
                .map_err(|_| out_of_memory(&self.name(), events.len(), "give a smaller --scale"))?;
            events.extend_from_slice(batch);
        }
        let mut notes = src.notes();
        if o.allow_malformed {
            notes.extend(crate::trace::live::repair(&mut events).note());
        }
        events.shrink_to_fit();
        Ok(Materialized {
            events,
            slots: slots as usize,
            name: self.name(),
            python,
            notes,
        })
    }

    fn origin_label(&self) -> String {
        match self {
            Source::Synthetic { workload, .. } => workload.source.clone(),
            Source::Trace { path, .. } => path.display().to_string(),
        }
    }
}

/// Refuses spec overrides (`--python`, `--scale`, `--seed`) aimed at a trace: its events are as
/// recorded, so they would change nothing, and ignoring them quietly misleads. `what` says
/// what the command does with the trace ("summarised", "compared").
pub fn refuse_spec_flags(o: &Overrides, trace: &str, what: &str) -> anyhow::Result<()> {
    let flags = o.spec_flags();
    if flags.is_empty() {
        return Ok(());
    }
    let verb = if flags.len() == 1 { "does" } else { "do" };
    anyhow::bail!(
        "{} {verb} not apply to {trace}: a trace is {what} as recorded (spec flags shape synthetic workloads only)",
        crate::workload::and_list(&flags)
    )
}

/// Refuses `--scale` and `--seed` in a `run` whose every workload is a trace: they shape
/// synthetic workloads only, and a run of traces alone took them without a word and wrote
/// them into its results as if they had applied. (`--python` stays: it picks the engine
/// preset a trace is replayed on.)
pub fn refuse_unused_spec_flags(o: &Overrides, sources: &[Source]) -> anyhow::Result<()> {
    let flags = Overrides { python: None, ..*o }.spec_flags();
    if flags.is_empty() || !sources.iter().all(Source::is_trace) {
        return Ok(());
    }
    let verb = if flags.len() == 1 { "does" } else { "do" };
    anyhow::bail!(
        "{} {verb} not apply here: every workload of the run is a trace, replayed as recorded (spec flags shape synthetic workloads only)",
        crate::workload::and_list(&flags)
    )
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

/// The error of an allocation for `name`'s events that failed with `held` of them in memory;
/// `instead` says what to do.
fn out_of_memory(name: &str, held: usize, instead: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "out of memory holding the events of {name} ({held} held, {} B each): {instead}",
        super::limits::EVENT_COST
    )
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
    let declared = r.end().events;
    let mut events = Vec::new();
    while let Some(batch) = r.next_batch().with_context(ctx)? {
        // Room follows what was decoded (never the declared total, which a crafted file
        // inflates), and running out of it is an error, not an abort.
        super::limits::reserve_toward(&mut events, batch.len(), declared).map_err(|_| {
            let name = path.display().to_string();
            out_of_memory(
                &name,
                events.len(),
                "replay it streamed (run --stream always)",
            )
        })?;
        events.extend_from_slice(batch);
    }
    let slots = r.end().slots as usize;
    Ok((events, slots, r.meta().clone()))
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
    let mut summary = crate::workload::SummaryBuilder::default();
    while let Some(batch) = r
        .next_batch()
        .with_context(|| format!("{}", path.display()))?
    {
        summary.extend(batch);
    }
    let summary = summary.finish();
    Ok((r.meta().clone(), r.end().clone(), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(!has_trace_magic(Path::new("Cargo.toml")));
        assert!(!has_trace_magic(Path::new("/nonexistent/x.pbt")));
        assert_eq!(python_of("3.9.18"), PyVersion::V3_9);
        assert_eq!(python_of("3.14.0"), PyVersion::V3_13);
        assert_eq!(python_of("3.7"), PyVersion::V3_8);
    }

    #[test]
    fn a_mistyped_shipped_trace_is_answered_with_the_nearest_one() {
        let msg = trace_path("trace:json_tol").unwrap_err().to_string();
        assert!(msg.contains("(did you mean `json_tool`?)"), "{msg}");
        assert!(
            msg.contains("shipped traces: compileall, json_tool"),
            "{msg}"
        );
    }
}
