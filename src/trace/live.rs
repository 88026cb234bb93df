//! The liveness check every trace read makes unless the user asks otherwise: an allocation
//! into a live slot, or a free or realloc of a slot that is not live, would make a replay
//! leak, double-free or touch freed memory, so the trace is refused at the first such event.

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
            let Some(slot) = e.slot() else { continue };
            let (w, b) = ((slot >> 6) as usize, 1u64 << (slot & 63));
            if w >= self.bits.len() {
                self.bits.resize(w + 1, 0);
            }
            let live = self.bits[w] & b != 0;
            let bad = match e {
                Event::Alloc { .. } | Event::Calloc { .. } if live => "an allocation into",
                Event::Alloc { .. } | Event::Calloc { .. } => {
                    self.bits[w] |= b;
                    continue;
                }
                Event::Free { .. } if live => {
                    self.bits[w] &= !b;
                    continue;
                }
                Event::Free { .. } => "a free of",
                _ if live => continue,
                _ => "a realloc of",
            };
            let state = if live { "live" } else { "not live" };
            return Err((
                first + i as u64,
                format!("{bad} slot {slot}, which is {state} (a malformed trace; --allow-malformed replays it anyway)"),
            ));
        }
        Ok(())
    }
}
