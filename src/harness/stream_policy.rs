//! Whether a cell's replay streams its events or holds them all (`run --stream`), decided
//! per source before anything is measured ([`super::feed`] does the streaming).

use crate::trace::source::Source;
use crate::trace::TraceReader;
use crate::workload::Overrides;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Bytes a materialised replay holds per event in the throughput process: the 16-byte
/// `Event` and its 8-byte record.
pub const MATERIALISED_BYTES_PER_EVENT: u64 = 24;
/// Events per unit of `--scale` a built-in generator produces at most (0.8 – 2.8 measured):
/// how `auto` judges a synthetic stream's size without generating it.
pub const EVENTS_PER_SCALE: u64 = 3;
/// Default of `--stream-above`, MiB.
pub const DEFAULT_BUDGET_MIB: u64 = 2048;

/// Whether a replay holds the whole stream in memory or streams it (`run --stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// Stream when the materialised stream would exceed the budget.
    #[default]
    Auto,
    /// Always stream.
    Always,
    /// Never stream (the replay needs the whole stream in memory).
    Never,
}

impl std::str::FromStr for StreamMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(StreamMode::Auto),
            "always" => Ok(StreamMode::Always),
            "never" => Ok(StreamMode::Never),
            _ => Err(format!(
                "unknown stream mode `{s}`; valid: auto, always, never"
            )),
        }
    }
}

/// How a cell's events reach the replay: the mode asked for and the budget `auto` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPolicy {
    pub mode: StreamMode,
    /// `auto` streams when the materialised stream would need more bytes than this.
    pub budget_bytes: u64,
}

impl Default for StreamPolicy {
    fn default() -> Self {
        StreamPolicy {
            mode: StreamMode::Auto,
            budget_bytes: DEFAULT_BUDGET_MIB << 20,
        }
    }
}

/// What the policy decided for one source, and why (a cell note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub stream: bool,
    pub why: String,
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20))
}

impl StreamPolicy {
    /// Decides for `source` with the run's overrides.
    pub fn decide(&self, source: &Source, o: Overrides) -> anyhow::Result<Decision> {
        let (events, exact) = match source {
            Source::Trace { path, .. } => {
                let r = TraceReader::open(path).with_context(|| path.display().to_string())?;
                (r.declared().map_or(0, |e| e.events), true)
            }
            Source::Synthetic { workload, .. } => {
                let w = workload.clone().with(o);
                (w.scale.saturating_mul(EVENTS_PER_SCALE), false)
            }
        };
        let bytes = events.saturating_mul(MATERIALISED_BYTES_PER_EVENT);
        let size = format!(
            "{}{events} events × {MATERIALISED_BYTES_PER_EVENT} B = {}",
            if exact { "" } else { "at most " },
            mib(bytes)
        );
        let fits = crate::trace::limits::check_memory(bytes, "the materialised stream");
        let (stream, why) = match self.mode {
            StreamMode::Always => (true, "streamed (--stream always)".to_string()),
            StreamMode::Never => (false, "materialised (--stream never)".to_string()),
            StreamMode::Auto if bytes > self.budget_bytes => (
                true,
                format!(
                    "streamed: {size} in memory would exceed --stream-above {}",
                    mib(self.budget_bytes)
                ),
            ),
            StreamMode::Auto if fits.is_err() => (
                true,
                format!("streamed: {}", fits.err().unwrap_or_default()),
            ),
            StreamMode::Auto => (
                false,
                format!(
                    "materialised: {size} within --stream-above {}",
                    mib(self.budget_bytes)
                ),
            ),
        };
        Ok(Decision { stream, why })
    }
}
