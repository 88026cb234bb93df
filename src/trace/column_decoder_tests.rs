//! The decoder's specialised copies ([`HOT_TAGS`]) against its general one: the same events,
//! slot-table size and liveness reports on every block, intact or corrupt, and the same
//! error where there is one.

use super::*;
use crate::trace::columns::BlockEncoder;
use crate::trace::live::Liveness;
use crate::workload::Domain;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// An event over a few dozen slots: every op, each domain, now and then another thread,
/// sizes of one to three varint bytes.
fn any_event() -> impl Strategy<Value = Event> {
    (0u8..6, 0u32..40, 0u32..70_000, 0usize..3, 0u16..8).prop_map(|(op, slot, size, domain, t)| {
        let (domain, thread) = ([Domain::Raw, Domain::Mem, Domain::Obj][domain], t / 6);
        match op {
            0 => Event::Alloc {
                slot,
                size,
                domain,
                thread,
            },
            1 => Event::Calloc {
                slot,
                n: size % 5,
                size,
                domain,
                thread,
            },
            2 => Event::Realloc { slot, size, thread },
            3 => Event::Free { slot, thread },
            4 => Event::Phase(t),
            _ => Event::Gc((t % 3) as u8),
        }
    })
}

/// What one decoder makes of a block: events and table size, or the error; and, for a block
/// it accepts, the liveness verdict of its reports.
type Outcome = (Result<(Vec<Event>, u32), String>, Option<(u64, String)>);

fn decode_with<const HOT: bool>(cols: &[Vec<u8>; COLUMNS], table: u32, refs: bool) -> Outcome {
    let count = cols[COL_TAGS].len() as u32;
    let (mut out, mut live) = (Vec::new(), Liveness::default());
    let mut order = AllocOrder {
        refs,
        ..AllocOrder::default()
    };
    let mut check = live.checking();
    let r = decode_columns::<HOT>(cols, count, table, &mut out, None, &mut order, &mut check);
    // A block the decoder refuses has no verdict (the caller stops at the error).
    let verdict = r.as_ref().ok().and_then(|_| check.verdict(&out, 0).err());
    (r.map(|t| (out, t)), verdict)
}

proptest! {
    #[test]
    fn specialised_copies_decode_as_the_general_one(
        events in prop::collection::vec(any_event(), 0..400),
        table in 0u32..45,
        refs in any::<bool>(),
        flips in prop::collection::vec((0usize..COL_PACE, any::<usize>(), 1u8..=255), 0..3),
    ) {
        let mut enc = BlockEncoder::new(refs);
        enc.reset(table);
        for e in &events {
            enc.push(e, table, None);
        }
        let mut cols = enc.cols.clone();
        for (c, at, x) in flips {
            if !cols[c].is_empty() {
                let n = cols[c].len();
                cols[c][at % n] ^= x;
            }
        }
        prop_assert_eq!(decode_with::<true>(&cols, table, refs), decode_with::<false>(&cols, table, refs));
    }
}

/// The generator above reaches every hot tag (else the property would hold vacuously for
/// the ones it misses).
#[test]
fn the_encoder_writes_every_hot_tag() {
    let mut seen = [false; 256];
    let mut enc = BlockEncoder::new(true);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(any_event(), 400);
    for _ in 0..50 {
        let events = strategy.new_tree(&mut runner).unwrap().current();
        enc.reset(40);
        for e in &events {
            enc.push(e, 40, None);
        }
        for &t in &enc.cols[COL_TAGS] {
            seen[t as usize] = true;
        }
    }
    let missed: Vec<u8> = HOT_TAGS
        .into_iter()
        .filter(|&t| !seen[t as usize])
        .collect();
    assert!(missed.is_empty(), "tags never written: {missed:?}");
}
