//! The column decoder's allocation-order references: what a file without the flag may not
//! hold, and references that leave the block, each a one-line error naming the event; and
//! how `pack` compresses each column.

use super::*;

/// Columns of a block: allocations of slots 0..n (each a new slot), then one free whose tag
/// bits and slots-column bytes are given.
fn block(n: u32, free_bits: u8, slots_col: &[u8]) -> [Vec<u8>; COLUMNS] {
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    for _ in 0..n {
        // An allocation into the predicted slot (the table's next), OBJ domain, size 32.
        cols[COL_TAGS].push(OP_ALLOC | (2 << 3) | (SLOT_PREDICTED << 6));
        put_varint(&mut cols[COL_SIZES], 32);
    }
    cols[COL_TAGS].push(OP_FREE | free_bits | (SLOT_EXPLICIT << 6));
    cols[COL_SLOTS].extend_from_slice(slots_col);
    cols
}

fn decode(cols: &[Vec<u8>; COLUMNS], refs: bool) -> Result<Vec<Event>, String> {
    decode_at(cols, refs, 0)
}

/// Decodes a block that starts at slot-table size `table`.
fn decode_at(cols: &[Vec<u8>; COLUMNS], refs: bool, table: u32) -> Result<Vec<Event>, String> {
    let count = cols[COL_TAGS].len() as u32;
    let mut out = Vec::new();
    let mut order = AllocOrder {
        refs,
        ..AllocOrder::default()
    };
    decode_block(cols, count, table, &mut out, None, &mut order, &mut ()).map(|_| out)
}

fn freed(events: &[Event]) -> Option<u32> {
    match events.last() {
        Some(Event::Free { slot, .. }) => Some(*slot),
        _ => None,
    }
}

#[test]
fn order_references_name_the_block_allocated_at_that_place() {
    // Last place named starts at 0: "next" is place 1, a delta of +3 is place 3.
    let next = decode(&block(5, TAG_ORDER_NEXT, &[]), true).unwrap();
    assert_eq!(freed(&next), Some(1));
    let plus3 = decode(&block(5, TAG_ORDER, &[zigzag(3) as u8]), true).unwrap();
    assert_eq!(freed(&plus3), Some(3));
}

#[test]
fn order_bits_need_the_header_flag() {
    for bits in [TAG_ORDER, TAG_ORDER_NEXT] {
        let e = decode(
            &block(
                5,
                bits,
                &[zigzag(1) as u8][..usize::from(bits == TAG_ORDER)],
            ),
            false,
        )
        .unwrap_err();
        assert_eq!(e, "event 5: allocation-order bits without the order flag");
    }
}

#[test]
fn order_references_outside_the_block_are_errors() {
    let cases: [(u32, u8, i64); 4] = [
        (5, TAG_ORDER, 5),      // place 5: only 0..5 allocated
        (5, TAG_ORDER, -1),     // before the block
        (1, TAG_ORDER_NEXT, 0), // place 1 with one allocation
        (0, TAG_ORDER, 0),      // nothing allocated yet
    ];
    for (n, bits, delta) in cases {
        let col = if bits == TAG_ORDER {
            vec![zigzag(delta) as u8]
        } else {
            vec![]
        };
        let e = decode(&block(n, bits, &col), true).unwrap_err();
        assert_eq!(
            e,
            format!("event {n}: allocation-order reference out of the block"),
            "{n} allocations, bits {bits:#x}, delta {delta}"
        );
    }
}

#[test]
fn the_slot_limit_holds_though_it_is_checked_after_the_block() {
    // Each allocation opens the table's next slot: from MAX_SLOTS - 2, event 2 opens slot
    // MAX_SLOTS, the first past the limit, and is the one named.
    let mut cols = block(4, 0, &[zigzag(-1) as u8]);
    let e = decode_at(&cols, false, MAX_SLOTS - 2).unwrap_err();
    assert_eq!(
        e,
        format!("event 2: slot {MAX_SLOTS} out of range (limit {MAX_SLOTS} blocks live at once)")
    );
    // Two allocations from the same start stay within it (the free names the first).
    cols = block(2, 0, &[zigzag(-1) as u8]);
    let ok = decode_at(&cols, false, MAX_SLOTS - 2).unwrap();
    assert_eq!(freed(&ok), Some(MAX_SLOTS - 2));
    // A block whose header starts it past the limit is refused before any event.
    let e = decode_at(&block(0, 0, &[0]), false, MAX_SLOTS + 1).unwrap_err();
    assert!(e.contains("past the limit"), "{e}");
}

/// A block refused after its events were decoded (a byte left over in a column) leaves the
/// caller's events and pace as they were, as a block refused mid-way does.
#[test]
fn a_refused_block_adds_neither_events_nor_pace() {
    // Three allocations, then a free of slot 1 (one below the last slot).
    let mut cols = block(3, 0, &[zigzag(-1) as u8]);
    cols[COL_PACE] = vec![5; 4];
    let mut order = AllocOrder::default();
    let (mut out, mut pace) = (vec![Event::Phase(7)], vec![9u64]);
    let table = decode_block(&cols, 4, 0, &mut out, Some(&mut pace), &mut order, &mut ())
        .expect("a well-formed block");
    assert_eq!((table, out.len(), pace.len()), (3, 5, 5));
    assert_eq!(freed(&out), Some(1));
    out.truncate(1);
    pace.truncate(1);
    cols[COL_SIZES].push(32);
    let e = decode_block(&cols, 4, 0, &mut out, Some(&mut pace), &mut order, &mut ()).unwrap_err();
    assert_eq!(
        e,
        format!("column {COL_SIZES}: 1 bytes left after 4 events")
    );
    assert_eq!((out, pace), (vec![Event::Phase(7)], vec![9]));
}

/// The writer searches the tag column for matches of [`TAG_MIN_MATCH`] bytes and every other
/// column as its level would: on a recorded program's first block (compileall's: a syntax tree
/// built and dropped node by node) the tags pack smaller than the level's own search, the
/// other columns byte for byte as the level packs them, and the block unpacks to its columns.
#[test]
fn the_tag_column_alone_packs_with_its_own_shortest_match() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workloads/traces/compileall.pbt"
    );
    let mut reader = crate::trace::TraceReader::open(std::path::Path::new(path)).unwrap();
    let events = reader
        .next_batch()
        .unwrap()
        .expect("a first batch")
        .to_vec();
    let mut enc = BlockEncoder::new(true);
    let mut table = 0u32;
    enc.reset(table);
    for e in events.iter().take(1 << 16) {
        let (_, _, _, slot) = event_parts(e, 0);
        enc.push(e, table, None);
        table += u32::from(slot == Some(table));
    }
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL_V2).unwrap();
    let mut payload = Vec::new();
    pack(&enc.cols, &mut zstd, &mut payload).unwrap();
    let stored = |i: usize| {
        let d = &payload[i * 8 + 4..i * 8 + 8];
        u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize
    };
    let at_level = |c: &[u8]| zstd::bulk::compress(c, ZSTD_LEVEL_V2).unwrap().len();
    let tags = &enc.cols[COL_TAGS];
    assert!(
        stored(COL_TAGS) < at_level(tags),
        "tags {} of {} bytes",
        stored(COL_TAGS),
        tags.len()
    );
    for (i, c) in enc.cols.iter().enumerate().skip(1) {
        let want = if c.is_empty() { 0 } else { at_level(c) };
        assert_eq!(stored(i), want, "column {i}");
    }
    assert!(!enc.cols[COL_SIZES].is_empty() && !enc.cols[COL_SLOTS].is_empty());
    let mut back: [Vec<u8>; COLUMNS] = Default::default();
    let raw = enc.raw_len() as u32;
    let mut unzstd = zstd::bulk::Decompressor::new().unwrap();
    unpack(&payload, raw, &mut back, &mut unzstd).unwrap();
    assert_eq!(back, enc.cols);
}
