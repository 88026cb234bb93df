//! The parallel reader's decoding threads (`trace::pipeline`): blocks decoded out of order
//! come back in file order, a bad block stops the read exactly at its turn, and dropping a
//! reader — finished, failed or half read — joins its threads, which hold the trace open
//! while they run: once the reader is gone the file is no longer open (checked in
//! `/proc/self/fd`, for this test's own file, so tests running alongside do not matter and
//! nothing here waits or sleeps).

use crate::common;

use pybench::trace::parallel::ParallelReader;
use pybench::workload::{Event, Workload};
use std::path::Path;

/// Blocks hold 2^18 events.
const BLOCK: usize = 1 << 18;

/// Five full blocks and part of a sixth of a well-formed stream (a prefix of one is
/// well formed: only its last frees are missing).
fn six_blocks() -> Vec<Event> {
    let mut w = Workload::builtin("dicts").unwrap();
    w.scale = 1_200_000;
    let events: Vec<Event> = w.stream().take(5 * BLOCK + 1000).collect();
    assert_eq!(
        events.len(),
        5 * BLOCK + 1000,
        "the workload is long enough"
    );
    events
}

/// How many of this process's file descriptors are open on `path`.
fn open_on(path: &Path) -> usize {
    let path = path.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

/// Every batch until the end or an error, and the error.
fn read_all(path: &Path, threads: usize) -> (Vec<Vec<Event>>, Option<String>) {
    let mut r = ParallelReader::open_with_threads(path, false, Some(threads)).unwrap();
    let mut batches = Vec::new();
    loop {
        match r.next_batch() {
            Ok(Some(b)) => batches.push(b.to_vec()),
            Ok(None) => return (batches, None),
            Err(e) => return (batches, Some(e.to_string())),
        }
    }
}

#[test]
fn a_bad_block_stops_the_read_at_its_turn_after_every_block_before_it() {
    let dir = common::tempdir("pipeline");
    let events = six_blocks();
    let path = common::write_trace(&dir, "t", &events);
    let mut bytes = std::fs::read(&path).unwrap();
    let (_, blocks) = common::blocks(&bytes);
    // A byte in the middle of block 3's payload: its checksum fails.
    let (from, to) = blocks[3];
    bytes[(from + to) / 2] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    for threads in [1, 2, 4, 8] {
        let (batches, err) = read_all(&path, threads);
        let err = err.unwrap_or_else(|| panic!("{threads} threads read a corrupt block"));
        assert!(
            err.starts_with(&format!("byte {from}:")) && err.contains("block 3"),
            "{threads} threads: {err}"
        );
        assert_eq!(batches.len(), 3, "{threads} threads: blocks 0 - 2 first");
        let read: Vec<Event> = batches.concat();
        assert_eq!(read, events[..3 * BLOCK], "{threads} threads");
    }
    assert_eq!(
        open_on(&path),
        0,
        "no thread left holding the file after a failure"
    );
}

#[test]
fn more_threads_than_blocks_read_every_block_once_in_order() {
    let dir = common::tempdir("pipeline");
    let events = six_blocks();
    let path = common::write_trace(&dir, "t", &events);
    for threads in [3, 16] {
        let (batches, err) = read_all(&path, threads);
        assert_eq!(err, None, "{threads} threads");
        assert_eq!(batches.len(), 6, "{threads} threads");
        assert!(batches[..5].iter().all(|b| b.len() == BLOCK));
        assert_eq!(batches.concat(), events, "{threads} threads");
    }
    assert_eq!(
        open_on(&path),
        0,
        "no thread left holding the file after the last block"
    );
}

#[test]
fn a_reader_dropped_half_way_leaves_no_decoding_thread() {
    let dir = common::tempdir("pipeline");
    let path = common::write_trace(&dir, "t", &six_blocks());
    let mut r = ParallelReader::open_with_threads(&path, false, Some(2)).unwrap();
    assert_eq!(r.next_batch().unwrap().map(<[Event]>::len), Some(BLOCK));
    // Six blocks, five buffer sets, one held by the reader: a thread is still there, holding
    // the file, waiting for a set the reader will never give back.
    assert!(
        open_on(&path) > 0,
        "the threads hold the file while they run"
    );
    drop(r);
    assert_eq!(open_on(&path), 0, "dropping the reader joins its threads");
}

/// A file of no events block whose end block says `slots: 1000`: the parallel reader checked
/// the end block's totals only as it handed out the last block, so with none it took the
/// file, and `stats` reported 1000 slots and `convert` wrote slots 0 without a word. Now it
/// refuses the file at its end block on one thread and on two, where the serial reader does
/// (in its own words: "block 0: starts at table size 1000, …"), and so do both commands;
/// `convert` writes nothing.
#[test]
fn an_end_block_over_no_blocks_is_held_to_its_totals() {
    let dir = common::tempdir("end-only");
    let path = dir.join("end-only.pbt");
    let end = serde_json::json!({ "events": 0, "slots": 1000 });
    let bytes = common::crafted_trace(&[], &end, 1000);
    let (header, _) = common::blocks(&bytes);
    std::fs::write(&path, bytes).unwrap();
    let at = format!("byte {header}: ");
    let serial = pybench::trace::TraceReader::open(&path)
        .unwrap()
        .find_map(Result::err)
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(serial.starts_with(&at), "{serial}");
    let says = format!("{at}end block says 0 events on 1000 slots, the blocks hold 0 on 0");
    for threads in [1, 2] {
        let (batches, err) = read_all(&path, threads);
        assert!(batches.is_empty());
        assert_eq!(err.as_deref(), Some(&says[..]), "{threads} threads");
    }
    let out = dir.join("out.pbt");
    for args in [
        vec!["stats", "--json"],
        vec!["convert", "-o", out.to_str().unwrap()],
    ] {
        let err = common::refusal(
            common::pybench()
                .args(&args[..1])
                .arg(&path)
                .args(&args[1..]),
        );
        assert!(err.ends_with(&says), "{args:?}: {err}");
    }
    assert!(!out.exists());
}

/// An end block whose totals disagree with the events blocks before it: the parallel reader
/// named the last events block's offset, where the serial reader names the end block's, which
/// is what is at fault.
#[test]
fn an_end_block_with_wrong_totals_is_named_at_its_own_offset() {
    use pybench::trace::format::{block_binding, crc};
    let dir = common::tempdir("end-totals");
    let events = six_blocks();
    let path = common::write_trace(&dir, "t", &events);
    let bytes = std::fs::read(&path).unwrap();
    let (_, blocks) = common::blocks(&bytes);
    let (end_at, _) = *blocks.last().unwrap();
    // The same end block, header and totals claiming 1000 slots more than the blocks name.
    let file_id = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    let table = u32::from_le_bytes(bytes[end_at + 13..end_at + 17].try_into().unwrap());
    let slots = table + 1000;
    let json = serde_json::json!({ "events": events.len(), "slots": slots }).to_string();
    let stored = zstd::bulk::compress(json.as_bytes(), 3).unwrap();
    let mut head = vec![2u8];
    for v in [0, json.len() as u32, stored.len() as u32, slots] {
        head.extend(v.to_le_bytes());
    }
    let binding = block_binding(file_id, (blocks.len() - 1) as u64);
    let mut forged = bytes[..end_at].to_vec();
    forged.extend(&head);
    forged.extend(crc(&[&binding, &head, &stored]).to_le_bytes());
    forged.extend(stored);
    std::fs::write(&path, &forged).unwrap();
    let serial = pybench::trace::TraceReader::open(&path)
        .unwrap()
        .find_map(Result::err)
        .map(|e| e.to_string())
        .unwrap_or_default();
    // The serial reader says it in its own words ("block 6: starts at table size …").
    assert!(serial.starts_with(&format!("byte {end_at}: ")), "{serial}");
    let says = format!(
        "byte {end_at}: end block says {} events on {slots} slots",
        events.len()
    );
    for threads in [1, 2] {
        let (_, err) = read_all(&path, threads);
        let err = err.unwrap_or_default();
        assert!(err.starts_with(&says), "{threads} threads: {err}");
    }
}
