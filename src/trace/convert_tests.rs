//! Tests of the raw-record converter (`convert.rs`).

use super::*;
use crate::trace::{Meta, TraceReader};

fn rec(kind: u8, domain: u8, size: u32, ptr: u64) -> [u8; RAW_RECORD] {
    let mut r = [0u8; RAW_RECORD];
    r[0] = kind;
    r[1] = domain;
    r[4..8].copy_from_slice(&size.to_le_bytes());
    r[8..16].copy_from_slice(&ptr.to_le_bytes());
    r
}

fn convert(records: &[[u8; RAW_RECORD]]) -> (Vec<Event>, Counters) {
    let w = TraceWriter::new(Vec::new(), &Meta::default()).unwrap();
    let mut c = Converter::new(w);
    for r in records {
        c.feed(r).unwrap();
    }
    let counters = c.counters.clone();
    let bytes = c.finish(BTreeMap::new()).unwrap();
    let events = TraceReader::new(&bytes[..])
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    (events, counters)
}

#[test]
fn pointers_become_recycled_slots() {
    let (events, c) = convert(&[
        rec(KIND_MALLOC, 2, 32, 0x1000),
        rec(KIND_MALLOC, 1, 64, 0x2000),
        rec(KIND_FREE, 2, 0, 0x1000),
        rec(KIND_FREE, 2, 0, 0x9999), // allocated before the hook
        rec(KIND_REALLOC, 1, 128, 0x2000),
        rec(KIND_EXTRA, 1, 0, 0x3000),
        rec(KIND_MALLOC, 0, 16, 0x1000),
        rec(KIND_FREE, 1, 0, 0x3000),
        rec(KIND_GC, 0, 2, 0),
    ]);
    let alloc = |slot, size, domain| Event::Alloc {
        slot,
        size,
        domain,
        thread: 0,
    };
    assert_eq!(
        events,
        vec![
            alloc(0, 32, Domain::Obj),
            alloc(1, 64, Domain::Mem),
            Event::Free { slot: 0, thread: 0 },
            Event::Realloc {
                slot: 1,
                size: 128,
                thread: 0
            },
            alloc(0, 16, Domain::Raw),
            Event::Free { slot: 1, thread: 0 },
            Event::Gc(2),
        ]
    );
    assert_eq!(c.unknown_frees, 1);
}

#[test]
fn huge_callocs_are_dropped_not_fatal() {
    let (events, c) = convert(&[
        rec(KIND_CALLOC, 0, 100_000, 0x1000),
        rec(KIND_EXTRA, 0, 0, 100_000),
        rec(KIND_FREE, 0, 0, 0x1000),
        rec(KIND_MALLOC | KIND_OVERSIZE, 0, u32::MAX, 0x2000),
    ]);
    assert!(events.is_empty());
    assert_eq!((c.oversized, c.unknown_frees), (2, 1));
}

/// An accounting report (3.11.7's: 16 KiB pools) as the hook sends it: a STATS record
/// and the text padded to whole records.
fn report(which: u8) -> Vec<[u8; RAW_RECORD]> {
    let text = include_str!("../../tests/fixtures/debugmallocstats-3.11.7.txt").as_bytes();
    let mut out = vec![rec(KIND_STATS, which, text.len() as u32, 0)];
    for chunk in text.chunks(RAW_RECORD) {
        let mut r = [0u8; RAW_RECORD];
        r[..chunk.len()].copy_from_slice(chunk);
        out.push(r);
    }
    out
}

/// The pre-hook frees' classes a recording of `records` stores.
fn prehook_classes(records: &[[u8; RAW_RECORD]]) -> Vec<Option<usize>> {
    let w = TraceWriter::new(Vec::new(), &Meta::default()).unwrap();
    let mut c = Converter::new(w);
    for r in report(0).iter().chain(records).chain(&report(1)) {
        c.feed(r).unwrap();
    }
    let bytes = c.finish(BTreeMap::new()).unwrap();
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    for e in r.by_ref() {
        e.unwrap();
    }
    let acc = r.end().unwrap().accounting.clone().unwrap();
    acc.prehook_frees.iter().map(|(_, c)| c).collect()
}

#[test]
fn only_pymallocs_blocks_tell_a_pools_class() {
    let classes = prehook_classes(&[
        // A pre-hook block of the C allocator freed, then a block of it in the same
        // 16 KiB window: allocated at 545 bytes, shrunk in place to 382 (CPython leaves it
        // to the C allocator). It must not make the free one of the 384-byte class.
        rec(KIND_FREE, 2, 0, 0x5555_0000_0100),
        rec(KIND_MALLOC, 1, 545, 0x5555_0000_0400),
        rec(KIND_REALLOC, 1, 382, 0x5555_0000_0400),
        rec(KIND_EXTRA, 1, 0, 0x5555_0000_0400),
        // Nor may a block that a pre-hook block was resized into (its allocator is the
        // old block's, unknown) ...
        rec(KIND_FREE, 2, 0, 0x5555_0001_0100),
        rec(KIND_REALLOC, 1, 32, 0x5555_0001_0200),
        rec(KIND_EXTRA, 1, 0, 0x5555_0001_0200),
        // ... or one resized from it later.
        rec(KIND_REALLOC, 1, 48, 0x5555_0001_0200),
        rec(KIND_EXTRA, 1, 0, 0x5555_0001_0240),
        // pymalloc's blocks still do: allocated, calloc'ed, or resized within 512 bytes.
        rec(KIND_FREE, 2, 0, 0x7f00_0000_0100),
        rec(KIND_MALLOC, 2, 64, 0x7f00_0000_0040),
        rec(KIND_MALLOC, 2, 64, 0x7f00_0002_0040),
        rec(KIND_FREE, 2, 0, 0x7f00_0002_0100),
        rec(KIND_CALLOC, 1, 8, 0x7f00_0004_0040),
        rec(KIND_EXTRA, 1, 0, 3),
        rec(KIND_FREE, 1, 0, 0x7f00_0004_0100),
        rec(KIND_MALLOC, 1, 100, 0x7f00_0006_0040),
        rec(KIND_REALLOC, 1, 200, 0x7f00_0006_0040),
        rec(KIND_EXTRA, 1, 0, 0x7f00_0008_0040),
        rec(KIND_FREE, 1, 0, 0x7f00_0008_0100),
    ]);
    assert_eq!(
        classes,
        // The second case frees two pre-hook blocks: the one freed and the one resized.
        vec![None, None, None, Some(3), Some(3), Some(1), Some(12)]
    );
}
