//! The liveness check, the per-block summaries and the repair, against a plain model.

use super::*;
use crate::workload::Domain;
use proptest::prelude::*;

use crate::workload::event::fixture::free;

/// A 16-byte object allocation (the size does not matter to liveness).
fn alloc(slot: u32) -> Event {
    crate::workload::event::fixture::alloc(slot, 16)
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

/// The plain model of the check: the first event that allocates a live slot or frees or
/// resizes a dead one, with its description's opening words.
fn first_bad(events: &[Event]) -> Option<(u64, &'static str)> {
    let mut live = std::collections::HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let s = e.slot()?;
        let bad = match e {
            Event::Alloc { .. } | Event::Calloc { .. } => {
                (!live.insert(s)).then_some("an allocation into")
            }
            Event::Free { .. } => (!live.remove(&s)).then_some("a free of"),
            _ => (!live.contains(&s)).then_some("a realloc of"),
        };
        if let Some(what) = bad {
            return Some((i as u64, what));
        }
    }
    None
}

fn any_wide_event() -> impl Strategy<Value = Event> {
    // Slots across several 64-bit words, so the bit arithmetic is exercised.
    (0u32..4, 0u32..150).prop_map(|(op, slot)| match op {
        0 => alloc(slot),
        1 => free(slot),
        2 => realloc(slot),
        _ => Event::Calloc {
            slot,
            n: 2,
            size: 8,
            domain: Domain::Mem,
            thread: 0,
        },
    })
}

/// Mostly well-formed streams over 150 slots: each step picks an operation valid for the
/// slot's state, and one in `1/bad_rate` steps an invalid one, so long valid runs and a
/// late first violation are both common.
fn mostly_valid() -> impl Strategy<Value = Vec<Event>> {
    (
        prop::collection::vec((0u32..150, 0u8..=255), 0..600),
        20u8..120,
    )
        .prop_map(|(steps, bad_rate)| {
            let mut live = [false; 150];
            steps
                .into_iter()
                .map(|(slot, r)| {
                    let s = slot as usize;
                    let invalid = r % bad_rate == 0;
                    let e = match (live[s] != invalid, r % 3) {
                        (false, _) => alloc(slot),
                        (true, 0) => realloc(slot),
                        (true, _) => free(slot),
                    };
                    match e {
                        Event::Alloc { .. } => live[s] = true,
                        Event::Free { .. } => live[s] = false,
                        _ => {}
                    }
                    e
                })
                .collect()
        })
}

/// Checks `events` cut at `cuts` into blocks, each summarised on its own and applied in
/// order; returns the verdict and the summaries' scratch (all-zero after every block).
fn check_by_blocks(
    events: &[Event],
    cuts: Vec<usize>,
) -> (Result<(), (u64, String)>, SummaryScratch) {
    let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
    bounds.extend([0, events.len()]);
    bounds.sort_unstable();
    let (mut scratch, mut summary) = (SummaryScratch::default(), BlockSummary::default());
    let mut by_blocks = Liveness::default();
    for w in bounds.windows(2) {
        let block = &events[w[0]..w[1]];
        summarize(block, &mut scratch, &mut summary);
        let got = by_blocks.apply_summary(&summary, block, w[0] as u64);
        if got.is_err() {
            return (got, scratch);
        }
    }
    (Ok(()), scratch)
}

proptest! {
    /// Summaries, on mostly well-formed streams cut anywhere, agree with the check.
    #[test]
    fn block_summaries_agree_on_long_valid_runs(
        events in mostly_valid(),
        cuts in prop::collection::vec(0usize..600, 0..6),
    ) {
        let (got, _) = check_by_blocks(&events, cuts);
        prop_assert_eq!(got, Liveness::default().check(&events, 0));
    }

    /// The check, fed in two pieces, refuses exactly the event the model refuses, by its
    /// number in the whole stream.
    #[test]
    fn the_check_finds_the_first_event_that_breaks_liveness(
        events in prop::collection::vec(any_wide_event(), 0..400),
        cut in 0usize..400,
    ) {
        let cut = cut.min(events.len());
        let mut l = Liveness::default();
        let got = l
            .check(&events[..cut], 0)
            .and_then(|()| l.check(&events[cut..], cut as u64));
        match (got, first_bad(&events)) {
            (Ok(()), None) => {}
            (Err((at, what)), Some((want, opening))) => {
                prop_assert_eq!(at, want);
                prop_assert!(what.starts_with(opening), "{}", what);
            }
            (got, want) => prop_assert!(false, "check {:?}, model {:?}", got, want),
        }
    }

    /// A stream cut into blocks, each summarised on its own and applied in order, gets
    /// the same verdict as the event-by-event check.
    #[test]
    fn block_summaries_give_the_check_s_verdict(
        events in prop::collection::vec(any_wide_event(), 0..400),
        cuts in prop::collection::vec(0usize..400, 0..4),
    ) {
        let (got, scratch) = check_by_blocks(&events, cuts);
        prop_assert!(scratch.states.iter().all(|&s| s == UNSEEN));
        let want = Liveness::default().check(&events, 0);
        prop_assert_eq!(got, want);
    }

    /// The column decoder's reports give what the separate passes give over the events
    /// it decoded: the check's verdict (from a live set already holding the slots named
    /// in `before`) and the block's summary.
    #[test]
    fn the_decoder_checks_and_summarises_as_the_separate_passes_do(
        block in prop_oneof![
            prop::collection::vec(any_wide_event(), 0..300),
            mostly_valid(),
        ],
        before in prop::collection::vec(0u32..150, 0..40),
    ) {
        use crate::trace::columns::{decode_block, AllocOrder, BlockEncoder};
        // Every slot of the generators is below the table size the block starts at.
        let table = 150;
        let mut enc = BlockEncoder::new(true);
        enc.reset(table);
        for e in &block {
            enc.push(e, table, None);
        }
        let n = block.len() as u32;
        let mut order = AllocOrder::for_flags(crate::trace::format::FLAG_ORDER);
        let mut seeded = Liveness::default();
        for &slot in &before {
            let live = seeded.is_live(slot);
            apply_bit(&mut seeded.bits, slot, !live, true);
        }
        let (mut fused, mut separate) = (seeded.clone(), seeded);
        let mut events = Vec::new();
        let mut check = fused.checking();
        decode_block(&enc.cols, n, table, &mut events, None, &mut order, &mut check).unwrap();
        prop_assert_eq!(&events, &block);
        prop_assert_eq!(check.verdict(&events, 7), separate.check(&events, 7));

        let (mut scratch, mut summary) = (SummaryScratch::default(), BlockSummary::default());
        let mut sink = Summarizing::new(&mut scratch, &mut summary);
        events.clear();
        decode_block(&enc.cols, n, table, &mut events, None, &mut order, &mut sink).unwrap();
        sink.finish();
        let mut want = BlockSummary::default();
        summarize(&events, &mut SummaryScratch::default(), &mut want);
        prop_assert_eq!(&summary.touched, &want.touched);
        prop_assert_eq!(summary.broken, want.broken);
        prop_assert!(scratch.states.iter().all(|&s| s == UNSEEN));
    }

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
