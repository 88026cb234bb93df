//! The guarantee that a stand-in shares no [`LONG_RUN`] with its trace, kept while it is
//! drawn rather than hoped for.
//!
//! Drawn independently, a run of 64 varied requests matching the trace is out of reach (far
//! below 1e-20), but a run of one request is not: compileall makes 48-byte callocs sixty at a
//! time, and a stand-in that reproduces its runs of one size (as the realism report asks)
//! can land on the same 64 tokens by fidelity, not by copying. So the fit keeps a hash of
//! every 64-run of the trace, and the stand-in refuses to complete one: an allocation that
//! would is asked again, a realloc that would asks for a few bytes more. What it costs the
//! stand-in is counted ([`Guarded`]) and printed by `gen --like`.

use super::tokens::token;
use super::LONG_RUN;
use crate::workload::event::Event;
use std::collections::VecDeque;

/// Base of the polynomial rolling hash (odd, so multiplying by it loses no bits mod 2^64).
const BASE: u64 = 0x9e37_79b9_7f4a_7c15;
/// The weight of the oldest of the `LONG_RUN - 1` tokens a [`Tail`] hashes.
const OLDEST: u64 = BASE.wrapping_pow(LONG_RUN as u32 - 2);

/// A token scrambled so that tokens differing in one low bit differ in many (tokens are
/// structured: op, domain and size in fixed bit fields).
fn scramble(t: u64) -> u64 {
    let z = (t ^ (t >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^ (z >> 29)
}

/// Hashes of every run of [`LONG_RUN`] consecutive tokens of a trace, sorted. A match is a
/// hash match: a false one (two runs with one hash) only costs a needless redraw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Runs {
    hashes: Vec<u64>,
}

impl Runs {
    /// The runs of `events`' allocating events.
    pub(crate) fn of(events: &[Event]) -> Runs {
        let mut tail = Tail::default();
        let mut hashes = Vec::new();
        for t in events.iter().filter_map(token) {
            if let Some(h) = tail.completed_by(t) {
                hashes.push(h);
            }
            tail.push(t);
        }
        hashes.sort_unstable();
        hashes.dedup();
        Runs { hashes }
    }

    fn contains(&self, hash: u64) -> bool {
        self.hashes.binary_search(&hash).is_ok()
    }
}

/// The last `LONG_RUN - 1` tokens emitted and their rolling hash Σ tᵢ·BASE^(n−1−i).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tail {
    tokens: VecDeque<u64>,
    hash: u64,
}

impl Tail {
    /// The hash of the run `token` would complete, `None` while fewer than `LONG_RUN - 1`
    /// tokens came before it.
    fn completed_by(&self, token: u64) -> Option<u64> {
        (self.tokens.len() == LONG_RUN - 1)
            .then(|| self.hash.wrapping_mul(BASE).wrapping_add(scramble(token)))
    }

    fn push(&mut self, token: u64) {
        if self.tokens.len() == LONG_RUN - 1 {
            let out = self.tokens.pop_front().unwrap_or(0);
            self.hash = self.hash.wrapping_sub(scramble(out).wrapping_mul(OLDEST));
        }
        self.hash = self.hash.wrapping_mul(BASE).wrapping_add(scramble(token));
        self.tokens.push_back(token);
    }
}

/// What keeping the guarantee changed in a stand-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guarded {
    /// Allocations asked again (drawn again, or a resized block's first size a few bytes
    /// larger) because the first request would have completed a trace run.
    pub redrawn: u64,
    /// Reallocs that asked for a few bytes more for the same reason.
    pub nudged: u64,
}

/// The guard a stand-in draws under: the trace's runs and the stand-in's tail.
#[derive(Debug)]
pub(crate) struct Guard<'a> {
    runs: &'a Runs,
    tail: Tail,
    pub(crate) counts: Guarded,
}

impl<'a> Guard<'a> {
    pub(crate) fn new(runs: &'a Runs) -> Self {
        Guard {
            runs,
            tail: Tail::default(),
            counts: Guarded::default(),
        }
    }

    /// Whether emitting `e` next would complete a run the trace has.
    pub(crate) fn would_share(&self, e: &Event) -> bool {
        let Some(t) = token(e) else {
            return false;
        };
        self.tail
            .completed_by(t)
            .is_some_and(|h| self.runs.contains(h))
    }

    /// Records `e` as emitted.
    pub(crate) fn emitted(&mut self, e: &Event) {
        if let Some(t) = token(e) {
            self.tail.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::event::Domain;
    use proptest::prelude::*;

    fn alloc(size: u32) -> Event {
        Event::Alloc {
            slot: 0,
            size,
            domain: Domain::Obj,
            thread: 0,
        }
    }

    proptest! {
        /// The rolling hash is the hash of the window alone: a run is found whatever came
        /// before it, and a stream's own runs are all found in it.
        #[test]
        fn every_run_of_a_stream_is_found(
            sizes in proptest::collection::vec(1u32..6, LONG_RUN..200),
            prefix in proptest::collection::vec(1u32..600, 0..100),
        ) {
            let events: Vec<Event> = sizes.iter().map(|&s| alloc(s)).collect();
            let runs = Runs::of(&events);
            let mut guard = Guard::new(&runs);
            for &s in &prefix {
                guard.emitted(&alloc(s + 1000));
            }
            for (i, e) in events.iter().enumerate() {
                prop_assert_eq!(guard.would_share(e), i >= LONG_RUN - 1);
                guard.emitted(e);
            }
        }
    }

    #[test]
    fn a_run_the_trace_lacks_is_not_flagged() {
        let trace: Vec<Event> = (0..300).map(|i| alloc(16 + 8 * (i % 5))).collect();
        let runs = Runs::of(&trace);
        let mut guard = Guard::new(&runs);
        for e in &trace[..LONG_RUN - 1] {
            guard.emitted(e);
        }
        assert!(guard.would_share(&trace[LONG_RUN - 1]));
        assert!(!guard.would_share(&alloc(17)));
        assert!(!guard.would_share(&Event::Free { slot: 0, thread: 0 }));
    }
}
