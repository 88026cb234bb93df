//! Trace files: allocator event streams recorded from real CPython programs (or written from
//! a synthetic workload), stored compactly and replayed like any other workload.
//!
//! - [`format`](mod@format): the on-disk layout (header, checksummed zstd blocks of varint events).
//! - [`TraceWriter`] / [`TraceReader`]: streaming write and read in constant memory.
//! - [`record`]: runs a Python program with pybench's allocator hook and converts what the
//!   hook sends into a trace.
//! - [`Source`]: a workload name, spec path or trace, resolved once to one event source.
//! - [`generate`]: a synthetic workload written as a trace (`pybench gen`).

pub mod accounting;
pub mod block;
mod column_decoder;
pub mod columns;
pub mod convert;
pub mod decode;
pub mod format;
pub mod generate;
pub mod index;
pub mod limits;
pub mod live;
pub mod parallel;
mod pipeline;
pub mod reader;
pub mod record;
mod recorded;
pub mod source;
mod spill;
pub mod writer;

pub use reader::TraceReader;
pub use source::Source;
pub use writer::TraceWriter;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// File extension of traces.
pub const EXTENSION: &str = "pbt";

/// What the header says about a trace. Unknown fields are ignored and missing ones default,
/// so later versions can add fields without a format version bump.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// `recorded` (from a real program) or `generated` (from a workload spec).
    pub source: String,
    /// Short name, shown by `pybench list workloads` and in results.
    pub name: String,
    /// Python version of the recorded interpreter (`3.11.7`) or the modelled one (`3.11`).
    pub python: String,
    /// The recorded command line, or the workload spec that generated the events.
    pub command: Vec<String>,
    /// Allocation domains in the trace: `raw`, `mem`, `obj`.
    pub domains: Vec<String>,
    pub pybench_version: String,
    /// UTC, `YYYYMMDDTHHMMSSZ`.
    pub created_utc: String,
    /// Names of `Event::Phase(id)` markers.
    pub phases: Vec<String>,
    /// Anything else worth keeping (generator, seed, scale of a generated trace).
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Meta {
    /// This metadata with every string [`printable`], for the terminal (`stats`, `record`,
    /// `list`, `fidelity`); JSON output keeps the strings as they are, escaped by JSON itself.
    pub fn printable(&self) -> Meta {
        let all = |v: &[String]| v.iter().map(|s| printable(s)).collect();
        Meta {
            source: printable(&self.source),
            name: printable(&self.name),
            python: printable(&self.python),
            command: all(&self.command),
            domains: all(&self.domains),
            pybench_version: printable(&self.pybench_version),
            created_utc: printable(&self.created_utc),
            phases: all(&self.phases),
            extra: self.extra.clone(),
        }
    }
}

/// `s` with its control characters (line breaks, terminal escape sequences, …) and
/// bidirectional overrides written as escapes (`\n`, `\u{1b}`). A trace's metadata says
/// whatever its file says: printed raw, a crafted trace could recolour or clear the
/// terminal, or add lines that read as pybench's own.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if hostile(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` would change what a terminal shows beyond its own glyph: a control character
/// (a line break, the escape that starts a colour or clear-screen sequence) or a
/// bidirectional embedding, override or isolate, which reorders the text after it. What
/// [`printable`] escapes, and what text a spec gives for display may not hold.
pub fn hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first [`hostile`] character of `s`, in words (`a control character ('\u{1b}')`), for
/// the one-line refusal of a name that must be one line of visible text (a spec's `name`,
/// a trace's file name, `record --name`); `None` when there is none.
pub fn hostile_in(s: &str) -> Option<String> {
    let c = s.chars().find(|&c| hostile(c))?;
    let kind = if c.is_control() {
        "control"
    } else {
        "bidirectional control"
    };
    Some(format!("a {kind} character ({c:?})"))
}

/// What the end block says: totals known only once every event was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct End {
    pub events: u64,
    /// Pointer-table size a replay needs (highest slot + 1).
    pub slots: u32,
    /// Counters of the recording (frees of blocks allocated before the hook, …).
    pub counters: BTreeMap<String, u64>,
    /// The recorded interpreter's own obmalloc accounting (issue 14.3); `None` in traces
    /// recorded before it existed, generated ones, and recordings whose interpreter did not
    /// use pymalloc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting: Option<accounting::Accounting>,
}

/// A malformed or unreadable trace: always says where (but a file that cannot be opened
/// has no "where": "byte 0: read failed: No such file" read as if the file were damaged).
#[derive(Debug, thiserror::Error)]
#[error("{}{kind}", if matches!(kind, ErrorKind::Open(_)) { String::new() } else { format!("byte {offset}: ") })]
pub struct TraceError {
    /// File offset of the header or block where the problem was found.
    pub offset: u64,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("not a pybench trace (bad magic)")]
    BadMagic,
    /// A file of no bytes: no header to be wrong, so called what it is.
    #[error("the file is empty, not a trace")]
    Empty,
    #[error("format version {0} is newer than this pybench reads ({v})", v = format::VERSION)]
    FutureVersion(u16),
    #[error("file ends inside the {0}")]
    Truncated(&'static str),
    /// The file ends before the payload of events block K (numbered from 0) is complete.
    #[error("file ends inside block {0}'s payload")]
    TruncatedBlock(u64),
    #[error("file ends without an end block (recording interrupted?)")]
    NoEnd,
    /// An event breaks liveness (a free of a slot that is not live, an allocation into a
    /// live one): the file is intact, its events are not; a command with `--allow-malformed`
    /// reads it anyway.
    #[error("{0}")]
    Malformed(String),
    #[error("checksum mismatch in {0}")]
    Checksum(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The file could not be opened at all (missing, unreadable, a folder).
    #[error("cannot open: {0}")]
    Open(std::io::Error),
}

impl TraceError {
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        TraceError { offset, kind }
    }
    pub fn corrupt(offset: u64, msg: impl Into<String>) -> Self {
        TraceError::new(offset, ErrorKind::Corrupt(msg.into()))
    }
}

/// True when `err` refuses a trace for breaking liveness ([`ErrorKind::Malformed`]), the one
/// refusal `--allow-malformed` lifts.
pub fn is_malformed(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<TraceError>()
            .is_some_and(|t| matches!(t.kind, ErrorKind::Malformed(_)))
    })
}

/// The binary's version, for trace metadata.
pub fn pybench_version() -> String {
    match option_env!("PYBENCH_GIT_COMMIT") {
        Some(c) => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}
