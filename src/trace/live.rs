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
        let mut c = self.checking();
        c.touch_all(events);
        c.verdict(events, first)
    }

    /// A [`SlotSink`] that checks each event against this live set as it is reported (the
    /// serial reader hands it to the column decoder, which reports events as it decodes).
    pub fn checking(&mut self) -> Checking<'_> {
        Checking {
            bits: &mut self.bits,
            broken: None,
        }
    }

    fn apply(&mut self, e: &Event) -> bool {
        match classify(e) {
            Some((slot, alloc, flips)) => apply_bit(&mut self.bits, slot, alloc, flips),
            None => true,
        }
    }

    /// What is wrong with `e`, an event that breaks liveness: an allocation breaks it only
    /// into a live slot, a free or realloc only of a slot that is not live.
    #[cold]
    fn describe(e: &Event) -> String {
        let slot = e.slot().unwrap_or(0);
        let (bad, state) = match e {
            Event::Alloc { .. } | Event::Calloc { .. } => ("an allocation into", "live"),
            Event::Free { .. } => ("a free of", "not live"),
            _ => ("a realloc of", "not live"),
        };
        format!("{bad} slot {slot}, which is {state} (a malformed trace)")
    }

    /// Checks a block summarised by [`summarize`] (its events are `events`, the first being
    /// event number `first` of the trace) and applies it: the same verdict as
    /// [`Self::check`] on `events`, for work that grows with the slots the block touches.
    pub fn apply_summary(
        &mut self,
        s: &BlockSummary,
        events: &[Event],
        first: u64,
    ) -> Result<(), (u64, String)> {
        let mut fail = s.broken;
        for t in &s.touched {
            if fail.is_some_and(|f| t.at >= f) {
                break;
            }
            if self.is_live(t.slot) != t.need_live {
                fail = Some(t.at);
                break;
            }
        }
        if let Some(i) = fail {
            return Err((first + u64::from(i), Self::describe(&events[i as usize])));
        }
        for t in &s.touched {
            let (w, b) = slot_word(&mut self.bits, t.slot);
            self.bits[w] = (self.bits[w] & !b) | if t.end_live { b } else { 0 };
        }
        Ok(())
    }

    fn is_live(&self, slot: u32) -> bool {
        self.bits
            .get((slot >> 6) as usize)
            .is_some_and(|w| w & (1u64 << (slot & 63)) != 0)
    }
}

/// What the column decoder reports of each allocator event as it decodes it, while the slot
/// and the operation are still in registers: the liveness check and the per-block summary run
/// inside the decoder's loop instead of reading every decoded 16-byte event back afterwards
/// and branching again on its kind (that re-read was a fifth of a serial read and a quarter
/// of a parallel one: docs/streaming.md, "Where the two threads' time goes").
pub trait SlotSink {
    /// Event `i` of the block names `slot`: allocating into it (`alloc`), freeing it
    /// (`flips` without `alloc`) or resizing it (neither).
    fn touch(&mut self, i: u32, slot: u32, alloc: bool, flips: bool);

    /// Reports every allocator event of `events`, already decoded (format version 1's
    /// decoder does not report as it goes).
    fn touch_all(&mut self, events: &[Event]) {
        for (i, e) in events.iter().enumerate() {
            if let Some((slot, alloc, flips)) = classify(e) {
                self.touch(i as u32, slot, alloc, flips);
            }
        }
    }
}

/// Reports to nobody: a read that does not check.
impl SlotSink for () {
    #[inline(always)]
    fn touch(&mut self, _: u32, _: u32, _: bool, _: bool) {}
}

/// [`Liveness::checking`]: applies events to a live set until the first that breaks it,
/// whose index in the block it keeps.
pub struct Checking<'a> {
    bits: &'a mut Vec<u64>,
    broken: Option<u32>,
}

impl Checking<'_> {
    /// The check's verdict on the block `events` (the first being event number `first` of
    /// the trace) whose events were reported.
    pub fn verdict(&self, events: &[Event], first: u64) -> Result<(), (u64, String)> {
        match self.broken {
            None => Ok(()),
            Some(i) => Err((
                first + u64::from(i),
                Liveness::describe(&events[i as usize]),
            )),
        }
    }
}

impl SlotSink for Checking<'_> {
    #[inline(always)]
    fn touch(&mut self, i: u32, slot: u32, alloc: bool, flips: bool) {
        if self.broken.is_none() && !apply_bit(self.bits, slot, alloc, flips) {
            self.broken = Some(i);
        }
    }
}

/// Applies one event to a live set of one bit per slot; `false`, and nothing changed, when
/// it breaks liveness. Kept branch-light because it runs on every event: an allocation needs
/// the slot dead, anything else live; allocations and frees flip the bit, reallocs leave it.
#[inline(always)]
fn apply_bit(bits: &mut Vec<u64>, slot: u32, alloc: bool, flips: bool) -> bool {
    let (w, b) = slot_word(bits, slot);
    let word = &mut bits[w];
    if (*word & b != 0) == alloc {
        return false;
    }
    *word ^= b * u64::from(flips);
    true
}

/// Grows the check's bitset to `len` words: out of line, as it happens once per new 64
/// slots while [`Checking`]'s touch is inlined into each of the column decoder's specialised
/// copies. (The summary's states grow inline: out of line, the summary of the time, two
/// bitsets, ran 3 – 8 % slower on the 10^8 webapp trace, 2026-12-05 — code layout; not
/// re-measured since it took a byte a slot.)
#[cold]
#[inline(never)]
fn grow(bits: &mut Vec<u64>, len: usize) {
    bits.resize(len, 0);
}

/// The word of `bits` that holds `slot`'s bit (grown to hold it) and the bit's mask.
#[inline(always)]
fn slot_word(bits: &mut Vec<u64>, slot: u32) -> (usize, u64) {
    let w = (slot >> 6) as usize;
    if w >= bits.len() {
        grow(bits, w + 1);
    }
    (w, 1u64 << (slot & 63))
}

/// (slot, whether the event allocates, whether it flips the slot's state), or `None` for a
/// marker.
#[inline(always)]
fn classify(e: &Event) -> Option<(u32, bool, bool)> {
    match *e {
        Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => Some((slot, true, true)),
        Event::Free { slot, .. } => Some((slot, false, true)),
        Event::Realloc { slot, .. } => Some((slot, false, false)),
        Event::Phase(_) | Event::Gc(_) => None,
    }
}

/// One slot a block touches: where first, what it needs then, what the block leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Touch {
    slot: u32,
    /// Index in the block of the event that touches it first.
    at: u32,
    need_live: bool,
    end_live: bool,
}

/// A block's effect on liveness, worked out without the blocks before it (so in the thread
/// that decoded it, in parallel): what each slot it touches must be at its first touch, and
/// what the block leaves it; and the first event that breaks liveness on a slot the block had
/// already touched. [`Liveness::apply_summary`] then checks it in order in time proportional
/// to the slots touched, not the events.
#[derive(Debug, Default, Clone)]
pub struct BlockSummary {
    touched: Vec<Touch>,
    broken: Option<u32>,
}

/// Reusable per-slot states for [`summarize`], left all-unseen after each block: a byte a
/// slot (`UNSEEN`, `DEAD`, `LIVE`), so an event's test and update are one load, one
/// compare and one store where a pair of bitsets (touched, state) needed a shift, a mask
/// and two tests.
#[derive(Debug, Default)]
pub struct SummaryScratch {
    states: Vec<u8>,
}

/// A slot the block has not touched yet.
const UNSEEN: u8 = 0;
const DEAD: u8 = 1;
const LIVE: u8 = 2;

/// Summarises `events` (one block) into `out`.
pub fn summarize(events: &[Event], scratch: &mut SummaryScratch, out: &mut BlockSummary) {
    let mut s = Summarizing::new(scratch, out);
    s.touch_all(events);
    s.finish();
}

/// A [`SlotSink`] that summarises one block into a [`BlockSummary`] as its events are
/// reported; [`Summarizing::finish`] completes it.
pub struct Summarizing<'a> {
    states: &'a mut Vec<u8>,
    out: &'a mut BlockSummary,
}

impl<'a> Summarizing<'a> {
    pub fn new(scratch: &'a mut SummaryScratch, out: &'a mut BlockSummary) -> Self {
        out.touched.clear();
        out.broken = None;
        Summarizing {
            states: &mut scratch.states,
            out,
        }
    }

    /// Records what the block leaves each slot it touched, and leaves the scratch all-unseen.
    pub fn finish(self) {
        for t in &mut self.out.touched {
            let state = &mut self.states[t.slot as usize];
            t.end_live = *state == LIVE;
            *state = UNSEEN;
        }
    }

    /// A slot's first event in the block: 26 % of test_json's events, well under 1 % of a
    /// generated webapp's (callgrind's call counts). Inline: out of line, the decoder with
    /// the summary ran 5 – 21 % slower on the shipped traces (2026-12-05).
    #[inline(always)]
    fn first_touch(&mut self, i: u32, slot: u32, alloc: bool, flips: bool) {
        self.out.touched.push(Touch {
            slot,
            at: i,
            need_live: !alloc,
            end_live: false,
        });
        // After its first event a slot is live unless that event freed it.
        self.states[slot as usize] = if alloc || !flips { LIVE } else { DEAD };
    }
}

impl SlotSink for Summarizing<'_> {
    #[inline(always)]
    fn touch(&mut self, i: u32, slot: u32, alloc: bool, flips: bool) {
        if self.out.broken.is_some() {
            return;
        }
        let s = slot as usize;
        if s >= self.states.len() {
            self.states.resize(s + 1, UNSEEN);
        }
        let state = self.states[s];
        if state == UNSEEN {
            return self.first_touch(i, slot, alloc, flips);
        }
        if (state == LIVE) == alloc {
            self.out.broken = Some(i);
            return;
        }
        if flips {
            // DEAD and LIVE are 1 and 2: xor with 3 swaps them.
            self.states[s] = state ^ 3;
        }
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
            let keep = live.apply(e) || {
                r.first
                    .get_or_insert_with(|| (*index, Liveness::describe(e)));
                let alloc = matches!(e, Event::Alloc { .. } | Event::Calloc { .. });
                if alloc {
                    r.leaked += 1;
                } else {
                    r.dropped += 1;
                }
                alloc
            };
            *index += 1;
            keep
        });
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
