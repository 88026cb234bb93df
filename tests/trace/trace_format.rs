//! The trace format: any well-formed stream reads back identical; damaged or hostile input
//! gives a one-line error naming a byte offset, never a panic or a hang.

use proptest::prelude::*;
use pybench::trace::format::{self, crc, put_varint, zigzag};
use pybench::trace::{Meta, TraceError, TraceReader, TraceWriter};
use pybench::workload::{validate, Domain, Event, Workload};
use std::collections::BTreeMap;

fn meta() -> Meta {
    Meta {
        source: "generated".into(),
        name: "t".into(),
        python: "3.11".into(),
        phases: vec!["a".into(), "b".into()],
        ..Meta::default()
    }
}

fn write(events: &[Event]) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), &meta()).unwrap();
    for e in events {
        w.push(e).unwrap();
    }
    w.finish(BTreeMap::new()).unwrap()
}

fn read(bytes: &[u8]) -> Result<Vec<Event>, TraceError> {
    let r = TraceReader::new(bytes)?;
    r.collect()
}

/// Reads with the batch path as well, and checks both agree.
fn read_batches(bytes: &[u8]) -> Result<Vec<Event>, TraceError> {
    let mut r = TraceReader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(b) = r.next_batch()? {
        out.extend_from_slice(b);
    }
    Ok(out)
}

/// Builds a well-formed stream from arbitrary choices: slots stay dense, frees and reallocs
/// hit live slots, allocations reuse a random dead slot or open a new one.
fn well_formed(choices: &[(u8, u32, u32, u8, u16)]) -> Vec<Event> {
    let mut live: Vec<u32> = Vec::new();
    let mut dead: Vec<u32> = Vec::new();
    let mut table = 0u32;
    let mut out = Vec::new();
    for &(op, a, b, d, thread) in choices {
        let domain = Domain::ALL[d as usize % 3];
        match op % 6 {
            0 | 1 => {
                let slot = if !dead.is_empty() && a % 3 != 0 {
                    dead.swap_remove(a as usize % dead.len())
                } else {
                    table += 1;
                    table - 1
                };
                live.push(slot);
                out.push(if op % 6 == 0 {
                    Event::Alloc {
                        slot,
                        size: b,
                        domain,
                        thread,
                    }
                } else {
                    Event::Calloc {
                        slot,
                        n: a % 1000,
                        size: b % 4_000_000,
                        domain,
                        thread,
                    }
                });
            }
            2 if !live.is_empty() => out.push(Event::Realloc {
                slot: live[a as usize % live.len()],
                size: b,
                thread,
            }),
            3 if !live.is_empty() => {
                let slot = live.swap_remove(a as usize % live.len());
                dead.push(slot);
                out.push(Event::Free { slot, thread });
            }
            4 => out.push(Event::Phase((a % 2) as u16)),
            5 => out.push(Event::Gc((a % 3) as u8)),
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_streams_round_trip(
        choices in prop::collection::vec(
            (any::<u8>(), any::<u32>(), any::<u32>(), any::<u8>(), prop::sample::select(vec![0u16, 0, 1, 7, 65535])),
            0..3000,
        )
    ) {
        let events = well_formed(&choices);
        prop_assert!(validate(events.iter().copied(), 2).is_ok());
        let bytes = write(&events);
        prop_assert_eq!(&read(&bytes).unwrap(), &events);
        prop_assert_eq!(&read_batches(&bytes).unwrap(), &events);
        // Version 1 files still read; a paced version 2 gives the same events.
        let mut v1 = TraceWriter::version1(Vec::new(), &meta()).unwrap();
        let mut paced = TraceWriter::with_pace(Vec::new(), &meta()).unwrap();
        for (i, e) in events.iter().enumerate() {
            v1.push(e).unwrap();
            paced.push_paced(e, (i as u64).wrapping_mul(2654435761) % 1_000_000).unwrap();
        }
        let v1 = v1.finish(BTreeMap::new()).unwrap();
        prop_assert_eq!(&read(&v1).unwrap(), &events);
        let paced = paced.finish(BTreeMap::new()).unwrap();
        prop_assert_eq!(&read(&paced).unwrap(), &events);
        // Files written before allocation-order references still read.
        let mut plain = TraceWriter::without_order(Vec::new(), &meta()).unwrap();
        for e in &events {
            plain.push(e).unwrap();
        }
        prop_assert_eq!(&read(&plain.finish(BTreeMap::new()).unwrap()).unwrap(), &events);
    }

    /// Structures built and dropped whole, the shape allocation-order references exist for:
    /// nodes allocated with temporaries in between, then freed in allocation order (with
    /// gaps), in reverse, or at random, across block boundaries. Every way reads back
    /// identical, and a teardown in allocation order costs far less than without them.
    #[test]
    fn structures_dropped_in_any_order_round_trip(
        trees in prop::collection::vec((100usize..3000, 0u8..3, any::<u64>()), 1..6),
        gap in 1usize..4,
    ) {
        let events = structures(&trees, gap);
        let encode = |events: &[Event], order: bool| {
            let mut w = if order {
                TraceWriter::new(Vec::new(), &meta())
            } else {
                TraceWriter::without_order(Vec::new(), &meta())
            }
            .unwrap();
            for e in events {
                w.push(e).unwrap();
            }
            w.finish(BTreeMap::new()).unwrap()
        };
        let (bytes, plain) = (encode(&events, true), encode(&events, false));
        prop_assert_eq!(&read_batches(&bytes).unwrap(), &events);
        prop_assert_eq!(&read_batches(&plain).unwrap(), &events);
        if trees.iter().all(|t| t.1 == 0) && gap == 1 {
            // The trees' own cost: beyond the scattering heap's.
            let heap = &events[..PRELUDE];
            let with = bytes.len() - encode(heap, true).len();
            let without = plain.len() - encode(heap, false).len();
            prop_assert!(with * 2 < without, "{} vs {} bytes", with, without);
        }
    }

    /// Arbitrary bytes, and valid files with random damage: the reader returns (an error or
    /// events) and never panics, hangs or allocates without bound.
    #[test]
    fn reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read(&bytes);
        let mut with_magic = format::MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = read(&with_magic);
    }

    #[test]
    fn reader_survives_damaged_files(
        choices in prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>(), any::<u8>(), any::<u16>()), 1..500),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let events = well_formed(&choices);
        let mut bytes = if edits.len() % 2 == 0 {
            write(&events)
        } else {
            let mut w = TraceWriter::version1(Vec::new(), &meta()).unwrap();
            for e in &events {
                w.push(e).unwrap();
            }
            w.finish(BTreeMap::new()).unwrap()
        };
        for (at, v, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] ^= v | 1,
                1 => bytes.truncate(i),
                _ => bytes.insert(i, v),
            }
            if bytes.is_empty() { break; }
        }
        if let Err(e) = read(&bytes) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("byte ") && !msg.contains('\n'), "{}", msg);
        }
    }
}

/// Events of [`structures`]' scattering heap: 4,000 allocations, then their frees.
const PRELUDE: usize = 8000;

/// Shuffles `v` with a xorshift generator seeded by `seed`.
fn shuffle(v: &mut [u32], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Trees of `nodes` blocks, each node followed by a short-lived temporary, then dropped:
/// order 0 in allocation order (every `gap`-th node first, then the rest), 1 in reverse, 2
/// shuffled by `seed`. A heap of 4,000 blocks freed at random comes first, so the trees'
/// slots are scattered as a long-running program's are.
fn structures(trees: &[(usize, u8, u64)], gap: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let mut free_slots: Vec<u32> = (0..PRELUDE as u32 / 2).collect();
    for &slot in &free_slots {
        out.push(Event::Alloc {
            slot,
            size: 32,
            domain: Domain::Obj,
            thread: 0,
        });
    }
    shuffle(&mut free_slots, trees.first().map_or(1, |t| t.2));
    for &slot in &free_slots {
        out.push(Event::Free { slot, thread: 0 });
    }
    let mut table = PRELUDE as u32 / 2;
    let mut take = |free_slots: &mut Vec<u32>| {
        free_slots.pop().unwrap_or_else(|| {
            table += 1;
            table - 1
        })
    };
    for &(nodes, order, seed) in trees {
        let mut tree = Vec::with_capacity(nodes);
        for n in 0..nodes {
            let slot = take(&mut free_slots);
            let size = 16 + 16 * (n as u32 % 5);
            out.push(Event::Alloc {
                slot,
                size,
                domain: Domain::Obj,
                thread: 0,
            });
            tree.push(slot);
            let tmp = take(&mut free_slots);
            out.push(Event::Alloc {
                slot: tmp,
                size: 24,
                domain: Domain::Mem,
                thread: 0,
            });
            out.push(Event::Free {
                slot: tmp,
                thread: 0,
            });
            free_slots.push(tmp);
        }
        match order {
            0 => {
                let firsts: Vec<u32> = tree.iter().step_by(gap).copied().collect();
                tree.retain(|s| !firsts.contains(s));
                tree.splice(0..0, firsts);
            }
            1 => tree.reverse(),
            _ => shuffle(&mut tree, seed),
        }
        for slot in tree {
            out.push(Event::Free { slot, thread: 0 });
            free_slots.push(slot);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Every built-in generator, any seed and scale: the stream reads back identical.
    #[test]
    fn generated_workloads_round_trip(
        which in 0..pybench::workload::BUILTINS.len(),
        seed in any::<u64>(),
        scale in 1u64..40_000,
    ) {
        let mut w = Workload::builtin(pybench::workload::BUILTINS[which].0).unwrap();
        w.seed = seed;
        w.scale = scale;
        let events: Vec<Event> = w.stream().collect();
        let bytes = write(&events);
        prop_assert_eq!(read_batches(&bytes).unwrap(), events);
    }
}

#[test]
fn workload_streams_round_trip_across_blocks() {
    for name in ["lists", "dicts", "gc_cycles", "webapp"] {
        let mut w = Workload::builtin(name).unwrap();
        w.scale = 150_000;
        let events: Vec<Event> = w.stream().collect();
        assert!(events.len() > 1 << 16, "{name}: should span several blocks");
        let bytes = write(&events);
        assert_eq!(read_batches(&bytes).unwrap(), events, "{name}");
    }
}

fn small_file() -> Vec<u8> {
    let choices: Vec<_> = (0..400u32)
        .map(|i| ((i * 7 % 6) as u8, i * 31, i * 13 % 700, (i % 3) as u8, 0u16))
        .collect();
    write(&well_formed(&choices))
}

fn err(bytes: &[u8]) -> String {
    let e = read(bytes).expect_err("damaged input must not read");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

#[test]
fn every_truncation_is_an_error_with_an_offset() {
    let bytes = small_file();
    for len in 0..bytes.len() {
        let msg = err(&bytes[..len]);
        assert!(msg.starts_with("byte "), "{len}: {msg}");
    }
    assert!(err(&bytes[..bytes.len() - 5]).contains("ends inside"));
}

#[test]
fn every_flipped_byte_is_caught() {
    let bytes = small_file();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        let msg = err(&b);
        assert!(msg.starts_with("byte "), "{i}: {msg}");
    }
}

#[test]
fn wrong_magic_and_future_version() {
    let mut b = small_file();
    b[1] = b'X';
    assert_eq!(err(&b), "byte 0: not a pybench trace (bad magic)");
    let mut b = small_file();
    b[8..10].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(
        err(&b),
        "byte 8: format version 3 is newer than this pybench reads (2)"
    );
    // No pybench wrote a version 0: it is damage, not a file from the future.
    b[8..10].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(err(&b), "byte 8: format version 0 does not exist");
}

/// What a file shorter than a trace's magic is: empty, the start of a trace cut there, or
/// not a trace at all (a 6-byte text file was "file ends inside the header", as if a trace).
#[test]
fn a_file_shorter_than_the_magic_is_called_what_it_is() {
    let whole = small_file();
    assert_eq!(err(&[]), "byte 0: the file is empty, not a trace");
    assert_eq!(err(b"hello\n"), "byte 0: not a pybench trace (bad magic)");
    assert_eq!(err(&whole[..5]), "byte 0: file ends inside the header");
}

/// A version-1 file whose one events block holds `raw` (compressed and checksummed
/// correctly), so the version-1 event decoder's own checks are what fails.
fn with_block(raw: &[u8], events: u32) -> Vec<u8> {
    let w = TraceWriter::version1(Vec::new(), &meta()).unwrap();
    let mut out = w.finish(Default::default()).unwrap();
    // Drop the end block the empty writer added: header only.
    let header_len = 16 + u32::from_le_bytes(out[12..16].try_into().unwrap()) as usize + 4;
    out.truncate(header_len);
    let stored = zstd::bulk::compress(raw, 1).unwrap();
    let mut head = vec![format::BLOCK_EVENTS];
    head.extend_from_slice(&events.to_le_bytes());
    head.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    head.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    let c = crc(&[&head, &stored]);
    head.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&stored);
    out
}

#[test]
fn slot_out_of_range() {
    // alloc into slot 5 of an empty table (explicit delta +5)
    let mut raw = vec![format::OP_ALLOC | (2 << 3)];
    put_varint(&mut raw, zigzag(5));
    put_varint(&mut raw, 32);
    let b = with_block(&raw, 1);
    let at = 16 + u32::from_le_bytes(b[12..16].try_into().unwrap()) + 4;
    assert_eq!(
        err(&b),
        format!("byte {at}: block 0: event 0: slot 5 out of range (table size 0)")
    );
    // a free of slot 0 before anything was allocated
    let raw = vec![format::OP_FREE | (format::SLOT_SAME << 6)];
    assert!(err(&with_block(&raw, 1)).contains("slot 0 out of range"));
}

#[test]
fn absurd_sizes_and_counts() {
    let mut raw = vec![format::OP_ALLOC | (format::SLOT_SAME << 6)];
    put_varint(&mut raw, 1 << 40);
    assert!(err(&with_block(&raw, 1)).contains("size 1099511627776 is absurdly large"));
    let mut raw = vec![format::OP_CALLOC | (format::SLOT_SAME << 6)];
    put_varint(&mut raw, 1 << 20);
    put_varint(&mut raw, 1 << 20);
    assert!(err(&with_block(&raw, 1)).contains("absurdly large"));
    // A block claiming more events than bytes, and one over the size limit.
    let raw = vec![format::OP_GC, 0];
    assert!(err(&with_block(&raw, 3)).contains("3 events in 2 bytes"));
    let mut b = with_block(&raw, 1);
    let at = b.len() - 17 - zstd::bulk::compress(&raw, 1).unwrap().len();
    b[at + 5..at + 9].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(err(&b).contains("exceeds"));
}

#[test]
fn missing_end_block_is_reported() {
    let raw = vec![format::OP_GC, 1];
    let b = with_block(&raw, 1);
    assert_eq!(
        err(&b),
        format!(
            "byte {}: file ends without an end block (recording interrupted?)",
            b.len()
        )
    );
}

#[test]
fn writer_rejects_what_the_reader_would() {
    let mut w = TraceWriter::new(Vec::new(), &meta()).unwrap();
    assert!(w.push(&Event::Free { slot: 0, thread: 0 }).is_err());
    assert!(w
        .push(&Event::Alloc {
            slot: 1,
            size: 8,
            domain: Domain::Obj,
            thread: 0
        })
        .is_err());
}
