//! The liveness check every trace read makes unless the user asks otherwise: an allocation
//! into a live slot, or a free or realloc of a slot that is not live, would make a replay
//! leak, double-free or touch freed memory, so the trace is refused at the first such event.
//! When the user asks to replay such a trace anyway, [`repair`] makes it safe first.

use crate::workload::Event;

/// One bit per slot: live or not.
#[derive(Debug, Default, Clone)]
pub struct Liveness {
    bits: Vec<u64>,
}

impl Liveness {
    /// Checks `events`, the first of which is event number `first` of the trace; returns the
    /// offending event's number and what is wrong with it.
    pub fn check(&mut self, events: &[Event], first: u64) -> Result<(), (u64, String)> {
        for (i, e) in events.iter().enumerate() {
            if let Err(what) = self.step(e) {
                return Err((first + i as u64, what));
            }
        }
        Ok(())
    }

    /// Applies one event to the live set; an event that breaks liveness changes nothing
    /// and is described instead.
    fn step(&mut self, e: &Event) -> Result<(), String> {
        let Some(slot) = e.slot() else { return Ok(()) };
        let (w, b) = ((slot >> 6) as usize, 1u64 << (slot & 63));
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        let live = self.bits[w] & b != 0;
        let bad = match e {
            Event::Alloc { .. } | Event::Calloc { .. } if live => "an allocation into",
            Event::Alloc { .. } | Event::Calloc { .. } => {
                self.bits[w] |= b;
                return Ok(());
            }
            Event::Free { .. } if live => {
                self.bits[w] &= !b;
                return Ok(());
            }
            Event::Free { .. } => "a free of",
            _ if live => return Ok(()),
            _ => "a realloc of",
        };
        let state = if live { "live" } else { "not live" };
        Err(format!(
            "{bad} slot {slot}, which is {state} (a malformed trace; --allow-malformed replays it anyway)"
        ))
    }
}

/// What [`repair`] changed in a stream that breaks liveness.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repairs {
    /// Frees and reallocs of slots that were not live: dropped, since replaying them would
    /// free or resize memory the allocator never handed out (a crash for most allocators).
    pub dropped: u64,
    /// Allocations into a live slot: kept; the old block leaks, as a program that loses a
    /// pointer would.
    pub leaked: u64,
    /// The first offending event's number (after earlier drops are counted) and description.
    pub first: Option<(u64, String)>,
}

impl Repairs {
    /// One line for a run's notes, or `None` when nothing needed repair.
    pub fn note(&self) -> Option<String> {
        let (at, what) = self.first.as_ref()?;
        Some(format!(
            "malformed events replayed anyway (--allow-malformed): {} dropped frees/reallocs of dead slots, {} allocations into live slots leak the old block; the first is event {at}: {}",
            self.dropped,
            self.leaked,
            what.split(" (").next().unwrap_or(what)
        ))
    }
}

/// Makes a stream that breaks liveness safe to replay against any allocator (for
/// `--allow-malformed`): see [`Repairs`] for what is dropped and what is kept.
pub fn repair(events: &mut Vec<Event>) -> Repairs {
    let mut r = Repairer::default();
    r.apply(events);
    r.repairs
}

/// [`repair`] over a stream that arrives in batches.
#[derive(Debug, Default)]
pub struct Repairer {
    live: Liveness,
    index: u64,
    pub repairs: Repairs,
}

impl Repairer {
    /// Repairs the next batch of the stream in place.
    pub fn apply(&mut self, events: &mut Vec<Event>) {
        let Repairer {
            live,
            index,
            repairs: r,
        } = self;
        events.retain(|e| {
            let keep = match live.step(e) {
                Ok(()) => true,
                Err(what) => {
                    r.first.get_or_insert((*index, what));
                    let alloc = matches!(e, Event::Alloc { .. } | Event::Calloc { .. });
                    if alloc {
                        r.leaked += 1;
                    } else {
                        r.dropped += 1;
                    }
                    alloc
                }
            };
            *index += 1;
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Domain;
    use proptest::prelude::*;

    fn alloc(slot: u32) -> Event {
        Event::Alloc {
            slot,
            size: 16,
            domain: Domain::Obj,
            thread: 0,
        }
    }

    fn free(slot: u32) -> Event {
        Event::Free { slot, thread: 0 }
    }

    fn realloc(slot: u32) -> Event {
        Event::Realloc {
            slot,
            size: 40,
            thread: 0,
        }
    }

    #[test]
    fn a_double_free_is_dropped_and_named() {
        let mut events = vec![alloc(0), free(0), free(0), alloc(1), realloc(2), alloc(1)];
        let r = repair(&mut events);
        assert_eq!(events, [alloc(0), free(0), alloc(1), alloc(1)]);
        assert_eq!((r.dropped, r.leaked), (2, 1));
        let (at, what) = r.first.clone().unwrap();
        assert_eq!(at, 2);
        assert!(what.starts_with("a free of slot 0"), "{what}");
        assert!(r.note().unwrap().contains("event 2: a free of slot 0"));
    }

    #[test]
    fn a_well_formed_stream_is_left_alone() {
        let mut events = vec![alloc(0), realloc(0), alloc(1), free(0), free(1)];
        let before = events.clone();
        let r = repair(&mut events);
        assert_eq!(events, before);
        assert_eq!(r, Repairs::default());
        assert_eq!(r.note(), None);
    }

    fn any_event() -> impl Strategy<Value = Event> {
        (0u32..3, 0u32..6).prop_map(|(op, slot)| match op {
            0 => alloc(slot),
            1 => free(slot),
            _ => realloc(slot),
        })
    }

    proptest! {
        /// Whatever the input, the repaired stream frees and resizes only live blocks, and
        /// only events that broke liveness are gone.
        #[test]
        fn repaired_streams_never_touch_dead_blocks(mut events in prop::collection::vec(any_event(), 0..200)) {
            let n = events.len() as u64;
            let r = repair(&mut events);
            prop_assert_eq!(events.len() as u64 + r.dropped, n);
            let mut live = [false; 6];
            for e in &events {
                let s = e.slot().unwrap() as usize;
                match e {
                    Event::Alloc { .. } => live[s] = true,
                    Event::Free { .. } => { prop_assert!(live[s]); live[s] = false; }
                    _ => prop_assert!(live[s]),
                }
            }
            // A stream that passes the check is unchanged by a second repair.
            let again = repair(&mut events);
            prop_assert_eq!(again.dropped, 0);
        }
    }
}
