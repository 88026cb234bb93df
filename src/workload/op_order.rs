//! How predictable a stream's order of allocations and frees is, as the replay loop's one
//! data-dependent branch ("is this record a malloc or a free?") sees it.
//!
//! Why it is a realism figure: a program's loops repeat their pattern of calls, so a CPU's
//! global-history predictor learns the replay's branch (the shipped json_tool trace: 3.0 % of
//! its operations mispredicted), while a stream whose lifetimes are drawn block by block
//! interleaves allocations and frees at random (json_tool's stand-in: 34.8 %). The
//! mispredictions are not the allocators' cost, but they do not cost every allocator alike:
//! permuting json_tool's lifetimes among allocations of one size class within windows of 16
//! raised them to 21.9 % and swapped jemalloc and pymalloc (README "Op order is a realism
//! figure"), while every pool, cache-line and reuse figure stayed close to the trace's.

use super::event::Event;

/// A global-history branch predictor over the sequence of operations: 2-bit saturating
/// counters indexed by the outcomes of the last [`OpPredictor::HISTORY`] operations (the
/// textbook scheme; real predictors are larger, so this is a lower bound on what they learn
/// of an order, and the same bound for every stream).
#[derive(Debug, Clone)]
pub struct OpPredictor {
    history: u32,
    counters: Vec<u8>,
    ops: u64,
    misses: u64,
}

impl Default for OpPredictor {
    fn default() -> Self {
        Self::new()
    }
}

impl OpPredictor {
    /// Operations of history the counters are indexed by.
    pub const HISTORY: u32 = 16;

    pub fn new() -> Self {
        OpPredictor {
            history: 0,
            // Weakly "free": the first visit of every history costs at most two misses.
            counters: vec![1; 1 << Self::HISTORY],
            ops: 0,
            misses: 0,
        }
    }

    /// One operation: an allocation (`true`) or a free (`false`).
    pub fn op(&mut self, alloc: bool) {
        let c = &mut self.counters[self.history as usize];
        self.misses += u64::from((*c >= 2) != alloc);
        *c = if alloc {
            (*c + 1).min(3)
        } else {
            c.saturating_sub(1)
        };
        self.history = ((self.history << 1) | u32::from(alloc)) & ((1 << Self::HISTORY) - 1);
        self.ops += 1;
    }

    /// One event of a stream: allocations and frees count, reallocs and markers do not
    /// (they take the replay loop's out-of-line path).
    pub fn event(&mut self, e: &Event) {
        match e {
            Event::Alloc { .. } | Event::Calloc { .. } => self.op(true),
            Event::Free { .. } => self.op(false),
            _ => {}
        }
    }

    /// The share of operations mispredicted (0 before any).
    pub fn miss_rate(&self) -> f64 {
        if self.ops == 0 {
            0.0
        } else {
            self.misses as f64 / self.ops as f64
        }
    }

    /// A replay's note when the operations seen are in an order no program's loops would
    /// give ([`WARN_ABOVE`]), else `None`.
    pub fn note(&self) -> Option<String> {
        let rate = self.miss_rate();
        (rate > WARN_ABOVE).then(|| {
            format!(
                "{NOTE_PREFIX}{:.1} % of allocations and frees mispredicted by a {}-op history \
                 predictor (real programs' traces: 0.8 – 9.9 %); the replay loop's branch \
                 costs allocators unevenly on such an order, so this stream's ranking may not \
                 be a program's (README \"Op order is a realism figure\")",
                100.0 * rate,
                Self::HISTORY
            )
        })
    }

    /// Operations seen.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Operations the predictor got wrong.
    pub fn misses(&self) -> u64 {
        self.misses
    }
}

/// Above this share of mispredicted operations a replay's notes warn that its ranking may not
/// transfer: the shipped traces of real programs are at 0.8 – 9.9 %, and json_tool's trace
/// with its lifetimes permuted within 16 same-class allocations, at 21.9 %, already swapped
/// jemalloc and pymalloc (README "Op order is a realism figure").
pub const WARN_ABOVE: f64 = 0.15;

/// How [`note`]'s text starts, so reports can find it among a cell's notes.
pub const NOTE_PREFIX: &str = "op order: ";

/// The note a replay carries for `events` ([`OpPredictor::note`]).
pub fn note(events: &[Event]) -> Option<String> {
    let mut p = OpPredictor::new();
    events.iter().for_each(|e| p.event(e));
    p.note()
}

#[cfg(test)]
/// A stream of `n` loop iterations (three allocations, then their three frees), or the
/// same calls with each one's place drawn at random (every free after its allocation).
pub(crate) fn looped_stream(n: usize, shuffled: bool) -> Vec<Event> {
    let mut ops: Vec<bool> = (0..n)
        .flat_map(|_| [true, true, true, false, false, false])
        .collect();
    if shuffled {
        crate::workload::rng::Rng::new(5).shuffle(&mut ops);
    }
    let (mut live, mut next, mut out) = (Vec::new(), 0u32, Vec::new());
    for alloc in ops {
        if alloc || live.is_empty() {
            out.push(Event::Alloc {
                slot: next,
                size: 48,
                domain: super::event::Domain::Obj,
                thread: 0,
            });
            live.push(next);
            next += 1;
        } else {
            out.push(Event::Free {
                slot: live.swap_remove(0),
                thread: 0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A pattern that repeats with a period of at most HISTORY operations is fixed by the
        /// history (its next operation is the one a period back, inside the window), so the
        /// predictor misses only while it warms up: at most HISTORY operations before the
        /// window is full, then at most two for each distinct history (one per phase of the
        /// pattern), whose counter the warm-up may have left on the wrong side.
        #[test]
        fn a_period_within_the_history_is_learned(
            pattern in prop::collection::vec(any::<bool>(), 1..=16),
            repeats in 50usize..200,
        ) {
            let mut p = OpPredictor::new();
            for _ in 0..repeats {
                pattern.iter().for_each(|&a| p.op(a));
            }
            prop_assert_eq!(p.ops(), (pattern.len() * repeats) as u64);
            let bound = OpPredictor::HISTORY as u64 + 2 * pattern.len() as u64;
            prop_assert!(p.misses() <= bound, "{} misses, bound {}", p.misses(), bound);
        }
    }

    #[test]
    fn only_an_order_no_loop_gives_is_noted() {
        assert_eq!(note(&looped_stream(500, false)), None);
        let n = note(&looped_stream(500, true)).expect("a shuffled order is noted");
        assert!(n.starts_with(NOTE_PREFIX) && n.contains("ranking"), "{n}");
        assert_eq!(note(&[]), None);
        let mut p = OpPredictor::new();
        p.event(&Event::Phase(0));
        assert_eq!((p.ops(), p.miss_rate()), (0, 0.0));
    }

    #[test]
    fn a_random_order_is_missed_about_half_the_time() {
        let mut rng = crate::workload::rng::Rng::new(7);
        let mut p = OpPredictor::new();
        for _ in 0..200_000 {
            p.op(rng.chance(0.5));
        }
        let rate = p.misses() as f64 / p.ops() as f64;
        assert!((0.45..0.55).contains(&rate), "miss rate {rate}");
    }
}
