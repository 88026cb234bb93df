//! Trace format version 2's integrity guarantees (issue 16, item 2 and 3) and its new
//! columns (pace, issue 14): written to fail on a version-1-only reader.

use crate::common;
use crate::common::pybench;

use pybench::trace::format::{self, block_binding, crc, pace_code, pace_cycles};
use pybench::trace::parallel::ParallelReader;
use pybench::trace::{Meta, TraceError, TraceReader, TraceWriter};
use pybench::workload::{Domain, Event, Workload};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn meta() -> Meta {
    Meta {
        source: "generated".into(),
        name: "t".into(),
        python: "3.11".into(),
        ..Meta::default()
    }
}

/// A well-formed stream spanning three version-2 blocks.
fn big_stream() -> Vec<Event> {
    let mut w = Workload::builtin("dicts").unwrap();
    w.scale = 400_000;
    let events: Vec<Event> = w.stream().collect();
    assert!(events.len() > 2 << 18, "{} events", events.len());
    events
}

fn write_with(mut w: TraceWriter<Vec<u8>>, events: &[Event]) -> Vec<u8> {
    for e in events {
        w.push(e).unwrap();
    }
    w.finish(BTreeMap::new()).unwrap()
}

fn write(events: &[Event]) -> Vec<u8> {
    write_with(TraceWriter::new(Vec::new(), &meta()).unwrap(), events)
}

fn read(bytes: &[u8]) -> Result<Vec<Event>, TraceError> {
    TraceReader::new(bytes)?.collect()
}

fn err(bytes: &[u8]) -> String {
    let msg = read(bytes).expect_err("must not read").to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

/// A file written in a fresh scratch folder; both go when it drops.
struct TmpFile {
    path: PathBuf,
    _dir: common::TempDir,
}

impl std::ops::Deref for TmpFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for TmpFile {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

fn tmp_file(name: &str, bytes: &[u8]) -> TmpFile {
    let dir = common::tempdir("integrity");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    TmpFile { path, _dir: dir }
}

fn read_parallel(path: &Path) -> Result<Vec<Event>, TraceError> {
    let mut r = ParallelReader::open(path, false)?;
    let mut out = Vec::new();
    while let Some(b) = r.next_batch()? {
        out.extend_from_slice(b);
    }
    Ok(out)
}

#[test]
fn swapped_duplicated_and_foreign_blocks_are_refused_with_their_offset() {
    let events = big_stream();
    let good = write(&events);
    let (_, bl) = common::blocks(&good);
    assert!(bl.len() >= 4, "three events blocks and the end block");
    let (a, b) = (bl[0], bl[1]);
    // Swapped: block 1's bytes where block 0 was.
    let mut swapped = good[..a.0].to_vec();
    swapped.extend_from_slice(&good[b.0..b.1]);
    swapped.extend_from_slice(&good[a.0..a.1]);
    swapped.extend_from_slice(&good[b.1..]);
    let msg = err(&swapped);
    assert!(
        msg.starts_with(&format!("byte {}: checksum mismatch in block 0", a.0)),
        "{msg}"
    );
    // Duplicated: block 0 twice, block 1 dropped.
    let mut dup = good[..a.1].to_vec();
    dup.extend_from_slice(&good[a.0..a.1]);
    dup.extend_from_slice(&good[b.1..]);
    let msg = err(&dup);
    assert!(
        msg.starts_with(&format!("byte {}: checksum mismatch in block 1", a.1)),
        "{msg}"
    );
    // Foreign: the same events written again (another file id); its block 0 put in ours.
    let other = write(&events);
    assert_eq!(other.len(), good.len());
    let mut foreign = good.clone();
    foreign[a.0..a.1].copy_from_slice(&other[a.0..a.1]);
    assert!(err(&foreign).contains("another file"), "{}", err(&foreign));
    // The parallel reader (which scans the block headers first) refuses them as well.
    for bad in [&swapped, &dup, &foreign] {
        let p = tmp_file("bad.pbt", bad);
        let msg = read_parallel(&p).unwrap_err().to_string();
        assert!(msg.starts_with("byte ") && msg.contains("block"), "{msg}");
    }
}

#[test]
fn trailing_bytes_and_unknown_flags_are_errors_in_both_versions() {
    let ev = [Event::Gc(1)];
    let v1 = write_with(TraceWriter::version1(Vec::new(), &meta()).unwrap(), &ev);
    for good in [write(&ev), v1] {
        assert_eq!(read(&good).unwrap(), ev);
        let mut b = good.clone();
        b.push(0);
        let msg = err(&b);
        assert_eq!(
            msg,
            format!("byte {}: bytes after the end block", good.len())
        );
        let p = tmp_file("trailing.pbt", &b);
        assert!(TraceReader::open(&p).is_err());
        // Flag bit 3 (unknown in either version), header CRC recomputed.
        let mut b = good.clone();
        b[10] |= 8;
        let flags = u16::from_le_bytes([b[10], b[11]]);
        let hlen = if b[8] == 2 { 24 } else { 16 }
            + u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        let c = crc(&[&b[..hlen]]);
        b[hlen..hlen + 4].copy_from_slice(&c.to_le_bytes());
        assert!(
            err(&b).starts_with(&format!("byte 10: unknown header flags {flags:#06x}")),
            "{}",
            err(&b)
        );
    }
}

/// A version-1 file whose end block declares `slots` (its CRC made valid again).
fn declaring(slots: u64) -> Vec<u8> {
    let ev = [Event::Alloc {
        slot: 0,
        size: 8,
        domain: Domain::Obj,
        thread: 0,
    }];
    let b = write_with(TraceWriter::version1(Vec::new(), &meta()).unwrap(), &ev);
    let first = 16 + u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize + 4;
    let stored = u32::from_le_bytes(b[first + 9..first + 13].try_into().unwrap());
    let end_at = first + 17 + stored as usize;
    let json = format!(r#"{{"events":1,"slots":{slots},"counters":{{}}}}"#);
    let mut out = b[..end_at].to_vec();
    let mut head = vec![format::BLOCK_END, 0, 0, 0, 0];
    head.extend_from_slice(&(json.len() as u32).to_le_bytes());
    head.extend_from_slice(&(json.len() as u32).to_le_bytes());
    let c = crc(&[&head, json.as_bytes()]);
    head.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(json.as_bytes());
    out
}

#[test]
fn a_declared_260m_slot_table_is_refused_before_decoding() {
    let p = tmp_file("huge.pbt", &declaring(260_000_000));
    let msg = TraceReader::open(&p).err().expect("refused").to_string();
    assert!(
        msg.contains("declares 260000000 slots (limit 67108864"),
        "{msg}"
    );
    let out = pybench().arg("stats").arg(&p).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("260000000 slots") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    // A declaration that is within the limit but disagrees with the blocks fails too.
    let p = tmp_file("lying.pbt", &declaring(5));
    assert!(TraceReader::open(&p)
        .and_then(|r| r.collect::<Result<Vec<_>, _>>())
        .is_err());
}

#[test]
fn liveness_violations_are_refused_unless_allowed() {
    let a = |slot| Event::Alloc {
        slot,
        size: 16,
        domain: Domain::Mem,
        thread: 0,
    };
    let f = |slot| Event::Free { slot, thread: 0 };
    let r = |slot| Event::Realloc {
        slot,
        size: 64,
        thread: 0,
    };
    let cases: [(&[Event], &str); 3] = [
        (
            &[a(0), f(0), f(0)],
            "event 2 of the trace: a free of slot 0, which is not live",
        ),
        (
            &[a(0), a(1), a(0)],
            "event 2 of the trace: an allocation into slot 0, which is live",
        ),
        (
            &[a(0), f(0), r(0)],
            "event 2 of the trace: a realloc of slot 0, which is not live",
        ),
    ];
    for (events, want) in cases {
        for bytes in [
            write(events),
            write_with(TraceWriter::version1(Vec::new(), &meta()).unwrap(), events),
        ] {
            assert!(err(&bytes).contains(want), "{}", err(&bytes));
            let anyway: Vec<Event> = TraceReader::new(&bytes[..])
                .unwrap()
                .allow_malformed(true)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(anyway, events);
            let p = tmp_file("malformed.pbt", &bytes);
            assert!(read_parallel(&p).unwrap_err().to_string().contains(want));
        }
    }
    let p = tmp_file("malformed.pbt", &write(&[a(0), f(0), f(0)]));
    pybench().arg("stats").arg(&p).assert().code(2);
    pybench()
        .args(["stats", "--allow-malformed"])
        .arg(&p)
        .assert()
        .success()
        .stdout(predicates::str::contains("malformed events: 1"));
}

#[test]
fn parallel_and_serial_decode_give_identical_events() {
    let events = big_stream();
    let p = tmp_file("big.pbt", &write(&events));
    assert_eq!(read_parallel(&p).unwrap(), events);
    let serial: Vec<Event> = TraceReader::open(&p)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(serial, events);
    // Version 1 files go through the same entry point (serially).
    let v1 = write_with(TraceWriter::version1(Vec::new(), &meta()).unwrap(), &events);
    assert_eq!(read_parallel(&tmp_file("v1.pbt", &v1)).unwrap(), events);
}

#[test]
fn pace_survives_the_round_trip_and_traces_without_pace_still_read() {
    let events = big_stream();
    let pace: Vec<u64> = (0..events.len() as u64)
        .map(|i| (i * 7919) % 100_000)
        .collect();
    let mut w = TraceWriter::with_pace(Vec::new(), &meta()).unwrap();
    for (e, &p) in events.iter().zip(&pace) {
        w.push_paced(e, p).unwrap();
    }
    let bytes = w.finish(BTreeMap::new()).unwrap();
    let want: Vec<u64> = pace
        .iter()
        .map(|&p| pace_cycles(pace_code(p)).unwrap())
        .collect();
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    assert!(r.has_pace());
    let (mut got_e, mut got_p) = (Vec::new(), Vec::new());
    while let Some((b, p)) = r.next_batch_paced().unwrap() {
        got_e.extend_from_slice(b);
        got_p.extend_from_slice(p.expect("pace"));
    }
    assert_eq!((got_e, got_p), (events.clone(), want.clone()));
    let mut pr = ParallelReader::open(&tmp_file("paced.pbt", &bytes), false).unwrap();
    let mut par = Vec::new();
    while let Some((_, p)) = pr.next_batch_paced().unwrap() {
        par.extend_from_slice(p.unwrap());
    }
    assert_eq!(par, want);
    // Without a pace column: no pace, same events.
    let plain = write(&events);
    let mut r = TraceReader::new(&plain[..]).unwrap();
    assert!(!r.has_pace());
    assert!(r.next_batch_paced().unwrap().unwrap().1.is_none());
    assert!(plain.len() < bytes.len());
}

#[test]
fn block_checksums_bind_the_file_id_and_the_position() {
    // The checksum of block 0 as the format states it: recomputable from the file alone.
    let b = write(&[Event::Gc(0)]);
    let (header, bl) = common::blocks(&b);
    let id = u64::from_le_bytes(b[16..24].try_into().unwrap());
    let (s, e) = bl[0];
    let want = crc(&[&block_binding(id, 0), &b[s..s + 17], &b[s + 21..e]]);
    assert_eq!(
        u32::from_le_bytes(b[s + 17..s + 21].try_into().unwrap()),
        want
    );
    assert_eq!(s, header);
}

/// An end block whose header's table size disagrees with its JSON (its checksum made
/// valid again) names both numbers as numbers: the message printed `Some(7)`.
#[test]
fn an_end_block_disagreeing_with_its_header_says_so_in_plain_numbers() {
    let mut b = write(&[Event::Alloc {
        slot: 0,
        size: 8,
        domain: Domain::Obj,
        thread: 0,
    }]);
    let (_, bl) = common::blocks(&b);
    let id = u64::from_le_bytes(b[16..24].try_into().unwrap());
    let (s, e) = bl[bl.len() - 1];
    assert_eq!(b[s], format::BLOCK_END);
    b[s + 13..s + 17].copy_from_slice(&7u32.to_le_bytes());
    let c = crc(&[
        &block_binding(id, (bl.len() - 1) as u64),
        &b[s..s + 17],
        &b[s + 21..e],
    ]);
    b[s + 17..s + 21].copy_from_slice(&c.to_le_bytes());
    let p = tmp_file("end-table.pbt", &b);
    let msg = read_parallel(&p).expect_err("refused").to_string();
    assert!(
        msg.ends_with(&format!(
            "byte {s}: end block declares 1 slots, its header 7"
        )),
        "{msg}"
    );
}

/// `run` refuses a trace that breaks liveness in one line, and with `--allow-malformed`
/// replays it without handing any allocator a dead block (glibc aborts on a double free),
/// saying what it dropped on stderr and in the cells' notes.
#[test]
fn run_replays_a_malformed_trace_only_when_asked_and_repairs_it_first() {
    let a = |slot| Event::Alloc {
        slot,
        size: 24,
        domain: Domain::Obj,
        thread: 0,
    };
    let f = |slot| Event::Free { slot, thread: 0 };
    let mut events: Vec<Event> = (0..200).map(a).collect();
    events.extend((0..200).map(f));
    events.push(f(7)); // a double free
    events.push(Event::Realloc {
        slot: 150,
        size: 64,
        thread: 0,
    }); // a realloc of a freed block
    let trace = tmp_file("bad.pbt", &write(&events));
    let out = common::tempdir("malformed-run");
    let run = |extra: &[&str]| {
        let mut cmd = pybench();
        cmd.arg("run")
            .arg("--trace")
            .arg(&trace)
            .args(["-a", "pymalloc,system", "-r", "1", "--rounds", "2"])
            .args(["--min-time", "0.001", "--no-plots", "--out"])
            .arg(&out)
            .args(extra);
        cmd.assert()
    };
    let refused = run(&[]).code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("event 400"), "{err}");
    assert!(err.contains("a free of slot 7"), "{err}");
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing measured"
    );

    let done = run(&["--allow-malformed"]).success();
    let err = String::from_utf8_lossy(&done.get_output().stderr).to_string();
    assert!(
        err.contains("warning: trace:bad: malformed events replayed anyway"),
        "{err}"
    );
    assert!(err.contains("2 dropped"), "{err}");
    let json = common::results_json(&out);
    let cells = json["cells"].as_array().unwrap();
    let system = cells
        .iter()
        .find(|c| c["allocator"] == "system" && c["kind"] == "replay")
        .expect("a memory cell for glibc");
    assert!(system["error"].is_null(), "{system}");
    let notes = system["notes"].to_string();
    assert!(notes.contains("2 dropped frees/reallocs"), "{notes}");
}

/// The parallel reader checks liveness from per-block summaries when it decodes on two
/// threads, and event by event on one: on double frees placed across a block boundary and
/// inside a block, every reader refuses the same event with the same words, and that event
/// is the duplicate free.
#[test]
fn every_reader_names_the_same_event_that_breaks_liveness() {
    let events = big_stream();
    let frees: Vec<usize> = (0..events.len())
        .filter(|&i| matches!(events[i], Event::Free { .. }))
        .collect();
    let boundary = 1usize << 18;
    let before = frees.partition_point(|&i| i < boundary);
    // The last frees before the first block boundary (their duplicates land at or just past
    // it) and one in the middle of a block.
    let picks = [
        frees[before - 1],
        frees[before - 2],
        frees[before / 2],
        frees[before + 100],
    ];
    for (k, &at) in picks.iter().enumerate() {
        let mut bad = events.clone();
        bad.insert(at + 1, events[at]);
        let bytes = write(&bad);
        let want = err(&bytes);
        // The duplicate is event `at + 1` (events are numbered from 0) and frees the slot
        // the free at `at` already freed.
        let Event::Free { slot, .. } = events[at] else {
            unreachable!("picked among the frees")
        };
        let named = format!(
            "event {} of the trace: a free of slot {slot}, which is not live",
            at + 1
        );
        assert!(want.contains(&named), "{named}: {want}");
        let path = tmp_file(&format!("double-free-{k}.pbt"), &bytes);
        for threads in [1, 2] {
            let mut r = ParallelReader::open_with_threads(&path, false, Some(threads)).unwrap();
            let got = loop {
                match r.next_batch() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{threads} thread(s) read a double free at {at}"),
                    Err(e) => break e.to_string(),
                }
            };
            assert_eq!(got, want, "{threads} thread(s), double free at {at}");
        }
    }
}
