//! Well-formedness of an event stream: what a replay relies on.

use super::event::Event;

/// The first rule a stream broke, with the event's index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("event {index}: free of slot {slot}, which is not live")]
    FreeOfDeadSlot { index: u64, slot: u32 },
    #[error("event {index}: realloc of slot {slot}, which is not live")]
    ReallocOfDeadSlot { index: u64, slot: u32 },
    #[error("event {index}: allocation into slot {slot}, which is still live")]
    AllocIntoLiveSlot { index: u64, slot: u32 },
    #[error("event {index}: slot {slot} skips unused slots (table size is {table})")]
    NotDense { index: u64, slot: u32, table: u32 },
    #[error("event {index}: phase {id} is not in the phase table of {phases} names")]
    UnknownPhase { index: u64, id: u16, phases: usize },
    #[error("event {index}: GC generation {gen} (must be 0, 1 or 2)")]
    BadGeneration { index: u64, gen: u8 },
}

/// What a well-formed stream looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    pub events: u64,
    /// Slots still allocated at the end (reported as live, not leaked by the stream).
    pub live_at_end: u64,
    /// Pointer-table size the stream needs.
    pub table_size: u32,
}

/// An incremental checker, for validating a stream while something else consumes it.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    live: Vec<bool>,
    live_count: u64,
    index: u64,
    phases: usize,
}

impl Checker {
    /// A checker for a stream whose phase table has `phases` names.
    pub fn new(phases: usize) -> Self {
        Checker {
            phases,
            ..Checker::default()
        }
    }

    /// Checks the next event.
    pub fn check(&mut self, e: Event) -> Result<(), StreamError> {
        let index = self.index;
        let live = &mut self.live;
        match e {
            Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                let s = slot as usize;
                if s > live.len() {
                    return Err(StreamError::NotDense {
                        index,
                        slot,
                        table: live.len() as u32,
                    });
                }
                if s == live.len() {
                    live.push(false);
                }
                if live[s] {
                    return Err(StreamError::AllocIntoLiveSlot { index, slot });
                }
                live[s] = true;
                self.live_count += 1;
            }
            Event::Realloc { slot, .. } => {
                if !live.get(slot as usize).copied().unwrap_or(false) {
                    return Err(StreamError::ReallocOfDeadSlot { index, slot });
                }
            }
            Event::Free { slot, .. } => match live.get_mut(slot as usize) {
                Some(l) if *l => {
                    *l = false;
                    self.live_count -= 1;
                }
                _ => return Err(StreamError::FreeOfDeadSlot { index, slot }),
            },
            Event::Phase(id) => {
                if id as usize >= self.phases {
                    let phases = self.phases;
                    return Err(StreamError::UnknownPhase { index, id, phases });
                }
            }
            Event::Gc(gen) => {
                if gen > 2 {
                    return Err(StreamError::BadGeneration { index, gen });
                }
            }
        }
        self.index += 1;
        Ok(())
    }

    /// The verdict after the last event.
    pub fn finish(&self) -> Validity {
        Validity {
            events: self.index,
            live_at_end: self.live_count,
            table_size: self.live.len() as u32,
        }
    }
}

/// Checks that no slot is freed or reallocated while dead, allocated while live, or
/// numbered past the end of the table (slots are dense); markers must be in range.
pub fn validate(
    events: impl IntoIterator<Item = Event>,
    phases: usize,
) -> Result<Validity, StreamError> {
    let mut c = Checker::new(phases);
    for e in events {
        c.check(e)?;
    }
    Ok(c.finish())
}

/// A synthetic workload's stream, summarised and checked in one pass (`pybench stats
/// --workload`): checking is cheap next to generation, and catches a broken generator
/// before anyone benchmarks with it.
pub struct CheckedSummary {
    pub info: super::StreamInfo,
    pub summary: super::Summary,
    /// The generator's notes (a stream cut at its limit, …), never to be kept silent.
    pub notes: Vec<String>,
}

/// Generates `w`'s stream once, summarising and checking it; `progress` is told the count of
/// events seen after each one. A stream that breaks a rule is an error naming the workload.
pub fn summarize_checked(
    w: &super::Workload,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<CheckedSummary> {
    use super::EventSource as _;
    let mut stream = w.stream();
    let info = stream.info().clone();
    let mut checker = Checker::new(info.phases.len());
    let mut broken = None;
    let mut seen = 0u64;
    let summary = super::Summary::from_events(stream.by_ref().inspect(|&e| {
        if broken.is_none() {
            broken = checker.check(e).err();
        }
        seen += 1;
        progress(seen);
    }));
    if let Some(err) = broken {
        anyhow::bail!("workload `{}` produced a malformed stream: {err}", w.name);
    }
    Ok(CheckedSummary {
        info,
        summary,
        notes: stream.notes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workload::event::fixture::free;

    fn alloc(slot: u32) -> Event {
        crate::workload::event::fixture::alloc(slot, 16)
    }

    #[test]
    fn accepts_good_and_counts_live() {
        let v = validate([alloc(0), alloc(1), free(0), alloc(0)], 0).unwrap();
        assert_eq!((v.events, v.live_at_end, v.table_size), (4, 2, 2));
    }

    #[test]
    fn rejects_each_rule() {
        assert!(matches!(
            validate([alloc(0), free(0), free(0)], 0),
            Err(StreamError::FreeOfDeadSlot { index: 2, slot: 0 })
        ));
        assert!(matches!(
            validate(
                [Event::Realloc {
                    slot: 0,
                    size: 8,
                    thread: 0
                }],
                0
            ),
            Err(StreamError::ReallocOfDeadSlot { .. })
        ));
        assert!(matches!(
            validate([alloc(0), alloc(0)], 0),
            Err(StreamError::AllocIntoLiveSlot { .. })
        ));
        assert!(matches!(
            validate([alloc(1)], 0),
            Err(StreamError::NotDense { .. })
        ));
        assert!(matches!(
            validate([Event::Phase(1)], 1),
            Err(StreamError::UnknownPhase { .. })
        ));
        assert!(matches!(
            validate([Event::Gc(3)], 0),
            Err(StreamError::BadGeneration { .. })
        ));
    }

    #[test]
    fn a_checked_summary_counts_every_event_of_the_stream_and_reports_each() {
        let w = crate::workload::Workload::builtin("dicts").unwrap();
        let mut last = 0;
        let checked = summarize_checked(&w, |seen| {
            assert_eq!(seen, last + 1, "told after each event, in order");
            last = seen;
        })
        .unwrap();
        let events = w.stream().count() as u64;
        assert_eq!(checked.summary.events, events);
        assert_eq!(last, events);
    }
}
