//! Python-shaped allocation event streams (design.md §2) from workload specs.
//!
//! - [`Event`]: one allocator call (alloc / calloc / realloc / free on dense recycled
//!   slots, with CPython's domain) or a zero-cost marker (phase, GC collection).
//! - [`Workload`]: a parsed spec — a built-in from `workloads/*.toml` (embedded in the
//!   binary) or a user file — naming a generator, a Python version, a scale and a seed.
//! - [`EventStream`]: the one iterator a replay consumes, whatever produced the events.
//! - [`Summary`] and [`validate`](fn@validate): statistics and well-formedness of any event iterator,
//!   so synthetic streams and recorded traces can be compared.

pub mod bound;
pub mod event;
pub mod fit;
pub mod gen;
pub mod heap;
pub mod likeness;
pub mod loops;
pub mod op_order;
pub mod pool_churn;
pub mod profile;
pub mod python;
pub mod realism;
pub mod rng;
pub mod slots;
pub mod spec;
pub mod summary;
pub mod validate;

pub use event::{fingerprint_hex, stream_hash, Domain, Event, Op, StreamHasher};
pub use gen::Params;
pub use python::{cpython3_minor, PyVersion};
pub use spec::SpecError;
pub use summary::{Summary, SummaryBuilder};
pub use validate::{validate, Checker, StreamError, Validity};

use gen::Generator;
use heap::Heap;
use std::path::Path;

/// The built-in specs, embedded so the binary works from any directory.
pub const BUILTINS: &[(&str, &str)] = &[
    ("dicts", include_str!("../../workloads/dicts.toml")),
    ("lists", include_str!("../../workloads/lists.toml")),
    ("tuples", include_str!("../../workloads/tuples.toml")),
    ("strings", include_str!("../../workloads/strings.toml")),
    ("numbers", include_str!("../../workloads/numbers.toml")),
    ("instances", include_str!("../../workloads/instances.toml")),
    ("json", include_str!("../../workloads/json.toml")),
    ("gc_cycles", include_str!("../../workloads/gc_cycles.toml")),
    ("churn", include_str!("../../workloads/churn.toml")),
    (
        "arena_thrash",
        include_str!("../../workloads/arena_thrash.toml"),
    ),
    ("webapp", include_str!("../../workloads/webapp.toml")),
];

/// Names of the built-in workloads, comma separated (for error messages).
pub fn builtin_names() -> String {
    BUILTINS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
}

/// A validated workload spec.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub description: String,
    pub python: PyVersion,
    /// Allocation requests the modelled program makes (objects, keys tables, item arrays),
    /// counting those a freelist serves or a singleton answers without an allocator call.
    pub scale: u64,
    pub seed: u64,
    /// Mean steps a loop body repeats its random choices ([`loops`]); 1: none.
    pub loop_iterations: u32,
    pub params: Params,
    /// Where the spec came from: `builtin:NAME` or the file path.
    pub source: String,
}

/// The knobs every spec has that the command line may override (`--python`, `--scale`,
/// `--seed`), and whether a trace that breaks liveness is replayed anyway
/// (`--allow-malformed`, after [`crate::trace::live::repair`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub python: Option<PyVersion>,
    pub scale: Option<u64>,
    pub seed: Option<u64>,
    pub allow_malformed: bool,
}

impl Overrides {
    /// The spec knobs the command line set, as their flags (`--python`, `--scale`, `--seed`):
    /// what a command must refuse where they would change nothing (a trace replays as recorded).
    pub fn spec_flags(&self) -> Vec<&'static str> {
        [
            ("--python", self.python.is_some()),
            ("--scale", self.scale.is_some()),
            ("--seed", self.seed.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect()
    }
}

/// `a`, `a and b`, `a, b and c`: flags named in a sentence.
pub fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The largest spec file read (the built-in ones are under 2 KiB): `/dev/zero` or a
/// mistaken path to a big file is refused at once.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

impl Workload {
    /// This spec with the overridden knobs replaced.
    pub fn with(mut self, o: Overrides) -> Self {
        if let Some(v) = o.python {
            self.python = v;
        }
        if let Some(s) = o.scale {
            self.scale = s;
        }
        if let Some(s) = o.seed {
            self.seed = s;
        }
        self
    }

    /// Parses spec text; `file` names it in error messages.
    pub fn from_toml(file: &str, src: &str) -> Result<Self, SpecError> {
        let header = spec::parse_header(file, src)?;
        let (raw, params) = Params::parse(&header.generator, file, src)?;
        if raw.name.trim().is_empty() {
            return Err(spec::located_key(file, src, "name", "must not be empty"));
        }
        Ok(Workload {
            name: raw.name,
            description: raw.description,
            python: raw.python,
            scale: raw.scale.0,
            seed: raw.seed,
            loop_iterations: raw.loop_iterations.0,
            params,
            source: file.to_string(),
        })
    }

    /// A built-in workload by name.
    pub fn builtin(name: &str) -> Result<Self, SpecError> {
        if name.trim().is_empty() {
            return Err(SpecError::EmptyName);
        }
        match BUILTINS.iter().find(|b| b.0 == name) {
            Some((n, src)) => Self::from_toml(&format!("workloads/{n}.toml"), src),
            None => Err(SpecError::UnknownWorkload {
                name: name.to_string(),
                available: builtin_names(),
            }),
        }
    }

    /// A built-in name, or a path to a spec file (see [`Self::names_a_file`]).
    pub fn load(name_or_path: &str) -> Result<Self, SpecError> {
        if !Self::names_a_file(name_or_path) {
            return Self::builtin(name_or_path);
        }
        let path = Path::new(name_or_path);
        let src = crate::sys::fs::read_bounded_string(path, MAX_SPEC_BYTES, "a workload spec")
            .map_err(|e| match e {
                crate::sys::fs::ReadError::NotText { .. } => SpecError::NotText {
                    file: name_or_path.to_string(),
                    reason: e.to_string(),
                },
                e => SpecError::Io {
                    file: name_or_path.to_string(),
                    reason: e.into(),
                },
            })?;
        if src.trim().is_empty() {
            return Err(SpecError::Empty {
                file: name_or_path.to_string(),
            });
        }
        Self::from_toml(name_or_path, &src)
    }

    /// Whether a `-w` argument names a spec file rather than a built-in workload: it ends in
    /// `.toml`, holds a path separator, or is no built-in's name but something is there on
    /// disk. Without the last, `stats notes` or `run --trace old` on a file of the current
    /// folder (no `/`, no `.pbt`) that is not a trace was called an "unknown workload" and
    /// the file's own fault (empty, not a spec, a link loop) was never said.
    pub fn names_a_file(name_or_path: &str) -> bool {
        name_or_path.ends_with(".toml")
            || name_or_path.contains('/')
            || name_or_path.contains(std::path::MAIN_SEPARATOR)
            || (!BUILTINS.iter().any(|b| b.0 == name_or_path)
                && std::fs::symlink_metadata(name_or_path).is_ok())
    }

    /// Refuses a spec whose stream asks no allocator for anything at its scale: every
    /// object it models is a singleton or a freelist's (`small_int_share = 1.0` and no
    /// floats). A `run` of it measured "285 M ops/s" of nothing, `gen` wrote an empty trace
    /// and `sweep` a row of zeros, all with exit 0. Streams only until the first allocation.
    pub fn refuse_empty(&self) -> anyhow::Result<()> {
        let mut events = 0u64;
        for e in self.stream() {
            if e.allocates() {
                return Ok(());
            }
            events += 1;
        }
        anyhow::bail!(
            "{}: workload `{}` makes no allocations at scale {} ({events} events): every object \
             it models is a singleton or comes from a freelist, so no allocator would be asked \
             for anything; give it objects that allocate (a small_int_share or float_share below 1, …)",
            self.source,
            self.name,
            self.scale
        )
    }

    /// The event stream of this spec: deterministic in (spec, python, scale, seed).
    pub fn stream(&self) -> EventStream {
        let mut heap = Heap::new(self.python, self.seed);
        heap.limit(max_objects(self.scale));
        EventStream {
            heap,
            gen: self.params.build(self.python),
            loops: loops::Loops::new(self.seed, self.loop_iterations),
            pos: 0,
            steps: 0,
            info: StreamInfo {
                workload: self.name.clone(),
                generator: self.params.generator().to_string(),
                python: self.python,
                seed: self.seed,
                scale: self.scale,
                loop_iterations: self.loop_iterations,
                phases: self.params.phases().iter().map(|s| s.to_string()).collect(),
            },
        }
    }
}

/// The most Python objects a stream of `scale` models: `scale` is checked between a
/// generator's steps, and a step may overshoot it, by a few objects for the built-in specs
/// but by up to millions for a spec with wide ranges; past twice the scale (plus a margin
/// for tiny scales) the stream ends. With the reallocs' bound ([`heap::RESIZES_PER_OBJECT`])
/// and a step's work following its events (a container's items that allocate nothing are
/// skipped, `gen::items`), `--scale` bounds the work and memory of any spec.
pub fn max_objects(scale: u64) -> u64 {
    scale.saturating_mul(2).saturating_add(10_000)
}

/// What a stream is: for reports, and for naming phase markers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamInfo {
    pub workload: String,
    pub generator: String,
    pub python: PyVersion,
    pub seed: u64,
    pub scale: u64,
    /// Mean iterations of a loop body (1: every step draws afresh).
    pub loop_iterations: u32,
    /// `Event::Phase(id)` names `phases[id]`.
    pub phases: Vec<String>,
}

impl StreamInfo {
    /// The one-line title `stats` prints over a stream's summary: its parameters, the loop
    /// bodies when it has them, and where its spec came from.
    pub fn title(&self, source: &str) -> String {
        let loops = match self.loop_iterations {
            1 => String::new(),
            n => format!(", loops of {n} steps"),
        };
        format!(
            "workload {} (generator {}, python {}, scale {}, seed {}{loops}) from {source}",
            self.workload, self.generator, self.python, self.scale, self.seed
        )
    }
}

/// The event iterator a replay consumes. Events are produced a unit of work at a time into
/// a reused buffer, so generation allocates nothing per event; [`EventStream::next_batch`]
/// hands out whole buffers for replay loops that decode ahead.
pub struct EventStream {
    heap: Heap,
    gen: Box<dyn Generator>,
    loops: Option<loops::Loops>,
    pos: usize,
    steps: u64,
    info: StreamInfo,
}

impl EventStream {
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The generator stops once `scale` allocation requests were modelled; the step count
    /// also bounds it, in case a spec makes only singletons, and so does a cut (a spec whose
    /// steps are all reallocs would otherwise run its every step to its end).
    fn finished(&self) -> bool {
        self.heap.objects >= self.info.scale || self.steps >= self.info.scale || self.heap.cut()
    }

    /// Refills the buffer with the next units of work; false at the end of the stream.
    /// Steps run until a batch of events is ready, so units that produce no or few events
    /// (freelist hits, singletons) do not cost one refill each.
    fn refill(&mut self) -> bool {
        const BATCH: usize = 256;
        self.heap.out.clear();
        self.pos = 0;
        while self.heap.out.len() < BATCH && !self.finished() {
            if let Some(l) = &mut self.loops {
                l.enter(&mut self.heap.rng);
            }
            self.gen.step(&mut self.heap);
            self.steps += 1;
        }
        !self.heap.out.is_empty()
    }

    /// The next batch of events not yet returned (by this or by `next`), or `None` at the
    /// end.
    pub fn next_batch(&mut self) -> Option<&[Event]> {
        if self.pos >= self.heap.out.len() && !self.refill() {
            return None;
        }
        let start = self.pos;
        self.pos = self.heap.out.len();
        Some(&self.heap.out[start..])
    }

    /// True when the stream was cut at [`max_objects`] because a step overshot the scale.
    pub fn cut(&self) -> bool {
        self.heap.cut()
    }

    /// Python objects modelled so far, freelist reuse and singletons included (what `scale`
    /// counts; past [`max_objects`] the stream is cut).
    pub fn objects(&self) -> u64 {
        self.heap.objects
    }

    /// Blocks allocated and not freed at this point (after the stream ends: live at exit,
    /// including freelist-held blocks and uncollected garbage).
    pub fn live_blocks(&self) -> usize {
        self.heap.live_blocks()
    }
}

impl Iterator for EventStream {
    type Item = Event;

    #[inline]
    fn next(&mut self) -> Option<Event> {
        if self.pos >= self.heap.out.len() && !self.refill() {
            return None;
        }
        let e = self.heap.out[self.pos];
        self.pos += 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Events already produced are certain; how many follow depends on freelists.
        (self.heap.out.len() - self.pos, None)
    }
}

/// Anything a replay, `stats` or `gen` draws events from, batch by batch: a generator's
/// [`EventStream`] or a trace's reader (`trace::TraceReader`). A new kind of event source
/// implements this and gets a variant in `trace::Source`; nothing downstream changes.
pub trait EventSource {
    /// The next batch of events, `Ok(None)` at the end, or why the source cannot go on.
    fn next_events(&mut self) -> anyhow::Result<Option<&[Event]>>;

    /// What a reader of the results should know about the events read so far (e.g. that a
    /// safety bound cut the stream short).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

impl EventSource for EventStream {
    fn next_events(&mut self) -> anyhow::Result<Option<&[Event]>> {
        Ok(self.next_batch())
    }

    fn notes(&self) -> Vec<String> {
        let budget = max_objects(self.info.scale);
        let scale = self.info.scale;
        match self.heap.cut_by() {
            None => Vec::new(),
            Some(heap::Cut::Objects) => vec![format!(
                "the stream was cut at {budget} Python objects (twice --scale {scale} plus a margin): the spec's steps overshoot its scale, so the workload is shorter than it asks"
            )],
            Some(heap::Cut::Resizes) => vec![format!(
                "the stream was cut at {} reallocs ({} per object of twice --scale {scale} plus a margin): the spec's steps resize more than any program does (build_pieces, appends), so the workload is shorter than it asks",
                budget.saturating_mul(heap::RESIZES_PER_OBJECT),
                heap::RESIZES_PER_OBJECT
            )],
        }
    }
}

#[cfg(test)]
#[path = "workload_tests.rs"]
mod tests;
