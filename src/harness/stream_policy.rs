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
/// the least size `auto` gives a synthetic stream, so a built-in's decision does not hang on
/// the measured start of its stream ([`crate::workload::Workload::event_count`]).
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
        // Asked outright: no size to weigh (sizing a spec generates its start).
        let (stream, why) = match self.mode {
            StreamMode::Always => (true, "streamed (--stream always)"),
            StreamMode::Never => (false, "materialised (--stream never)"),
            StreamMode::Auto => return self.decide_by_size(source, o),
        };
        let why = why.to_string();
        Ok(Decision { stream, why })
    }

    /// `--stream auto`: streams when the held stream would pass `--stream-above`, or more
    /// than memory takes.
    fn decide_by_size(&self, source: &Source, o: Overrides) -> anyhow::Result<Decision> {
        // A spec's size is judged against the budget by what its start shows, at least 3
        // events a request; whether it fits in memory by the most it may hold — a spec of its
        // own may make 60 events a request where the built-ins make 3 at most, and auto once
        // materialised it into an allocation failure.
        let (events, most, exact) = match source {
            Source::Trace { path, .. } => {
                let r = TraceReader::open(path).with_context(|| path.display().to_string())?;
                let events = r.declared().map_or(0, |e| e.events);
                (events, events, true)
            }
            Source::Synthetic { workload, .. } => {
                let w = workload.clone().with(o);
                let count = w.event_count();
                let nominal = w.scale.saturating_mul(EVENTS_PER_SCALE);
                (nominal.max(count.expected), count.bound, false)
            }
        };
        let bytes = events.saturating_mul(MATERIALISED_BYTES_PER_EVENT);
        let size = format!(
            "{}{events} events × {MATERIALISED_BYTES_PER_EVENT} B = {}",
            if exact { "" } else { "about " },
            mib(bytes)
        );
        let fits = crate::trace::limits::check_memory(
            most.saturating_mul(MATERIALISED_BYTES_PER_EVENT),
            &format!("the materialised stream (at most {most} events)"),
        );
        let budget = mib(self.budget_bytes);
        let (stream, why) = if bytes > self.budget_bytes {
            let why = format!("streamed: {size} in memory would exceed --stream-above {budget}");
            (true, why)
        } else if let Err(e) = fits {
            (true, format!("streamed: {e}"))
        } else {
            let why = format!("materialised: {size} within --stream-above {budget}");
            (false, why)
        };
        Ok(Decision { stream, why })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::source::Origin;
    use crate::workload::Workload;

    fn synthetic(workload: Workload) -> Source {
        let origin = Origin::SpecFile(workload.source.clone().into());
        Source::Synthetic { workload, origin }
    }

    fn at(scale: u64) -> Overrides {
        Overrides {
            scale: Some(scale),
            ..Overrides::default()
        }
    }

    /// Every str built of 10,000 one-char pieces: about 128 events a request at scale 2 M.
    /// `auto` took it at 3 a request (144 MiB, "materialised") and the replay then held 260 M
    /// events, 6 GiB with their records, past the 2 GiB budget and into an allocation failure.
    #[test]
    fn a_spec_of_many_events_a_request_is_judged_by_its_own_rate() {
        let spec = "name = \"reall\"\ndescription = \"d\"\ngenerator = \"strings\"\nscale = 1\n\
                    [params]\nbuild_share = 1.0\nbuild_pieces = { \"10000\" = 1.0 }\n\
                    piece_len = { \"1\" = 1.0 }\n";
        let source = synthetic(Workload::from_toml("reall.toml", spec).unwrap());
        let d = StreamPolicy::default()
            .decide(&source, at(2_000_000))
            .unwrap();
        assert!(d.stream, "{}", d.why);
        assert!(d.why.starts_with("streamed: about 2"), "{}", d.why);
    }

    /// A built-in is still judged at 3 events a request, more than it makes, so its decision
    /// does not move with the rate of its first objects.
    #[test]
    fn a_builtin_is_judged_at_three_events_a_request() {
        let source = synthetic(Workload::builtin("gc_cycles").unwrap());
        let d = StreamPolicy::default()
            .decide(&source, at(2_000_000))
            .unwrap();
        assert!(!d.stream, "{}", d.why);
        assert!(
            d.why.starts_with("materialised: about 6000000 events"),
            "{}",
            d.why
        );
    }
}
