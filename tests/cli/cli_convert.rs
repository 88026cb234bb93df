//! `pybench convert`: a trace rewritten in the current encoding holds the same events, pace,
//! metadata and recorded accounting, in fewer bytes when it was written before
//! allocation-order references; bad input is one line and exit 2.

use crate::common::{pybench, refusal, tempdir};
use pybench::trace::{TraceReader, TraceWriter};
use pybench::workload::{Domain, Event};
use std::path::Path;

/// Everything a reader gives back of a trace: metadata, events, pace, end block.
type Contents = (String, Vec<Event>, Vec<u64>, String);

fn contents(path: &Path) -> Contents {
    let mut r = TraceReader::open(path).unwrap();
    let (mut events, mut pace) = (Vec::new(), Vec::new());
    while let Some((e, p)) = r.next_batch_paced().unwrap() {
        events.extend_from_slice(e);
        pace.extend(p.unwrap_or(&[]));
    }
    let meta = serde_json::to_string(r.meta()).unwrap();
    let end = serde_json::to_string(r.end().unwrap()).unwrap();
    (meta, events, pace, end)
}

type Make = fn(std::fs::File, &pybench::trace::Meta) -> std::io::Result<TraceWriter<std::fs::File>>;

/// The shipped compileall trace written to `dir/name` by the writer `make` returns (an
/// older encoding), its counters and accounting kept.
fn old_compileall(dir: &Path, name: &str, make: Make) -> std::path::PathBuf {
    let shipped = pybench::trace::source::trace_path("trace:compileall").unwrap();
    let mut r = TraceReader::open(&shipped).unwrap();
    let file = dir.join(name);
    let mut w = make(std::fs::File::create(&file).unwrap(), r.meta()).unwrap();
    while let Some(batch) = r.next_batch().unwrap() {
        for e in batch {
            w.push(e).unwrap();
        }
    }
    let end = r.end().unwrap().clone();
    assert!(
        end.accounting.is_some(),
        "the shipped trace carries its accounting"
    );
    w.finish_with(end.counters, end.accounting).unwrap();
    file
}

/// `pybench convert FROM -o TO`, which must succeed.
fn convert(from: &Path, to: &Path) -> assert_cmd::assert::Assert {
    pybench()
        .arg("convert")
        .arg(from)
        .arg("-o")
        .arg(to)
        .assert()
        .success()
}

#[test]
fn an_old_trace_converts_smaller_with_everything_kept() {
    let dir = tempdir("convert");
    // As written before allocation-order references and the compressed end block.
    let old = old_compileall(&dir, "old.pbt", TraceWriter::without_order);
    let new = dir.join("new.pbt");
    convert(&old, &new).stderr(predicates::str::contains("B/event"));
    assert_eq!(contents(&new), contents(&old));
    let (a, b) = (file_len(&old), file_len(&new));
    // compileall frees its syntax trees node after node: a fifth smaller with order refs.
    assert!(b * 10 < a * 9, "{b} bytes converted against {a}");
    // In place: the output replaces its own input once complete.
    convert(&old, &old);
    assert_eq!(file_len(&old), b);
    assert_eq!(contents(&old), contents(&new));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

#[test]
fn pace_survives_conversion() {
    let dir = tempdir("convert-pace");
    let file = dir.join("paced.pbt");
    let meta = pybench::trace::Meta::default();
    let mut w = TraceWriter::with_pace(std::fs::File::create(&file).unwrap(), &meta).unwrap();
    // 2,000 blocks allocated, then freed in a scrambled order (7 is prime to 2,000).
    let allocs = (0..2000u32).map(|slot| Event::Alloc {
        slot,
        size: 8 + slot % 300,
        domain: Domain::Obj,
        thread: 0,
    });
    let frees = (0..2000u32).map(|k| Event::Free {
        slot: k * 7 % 2000,
        thread: 0,
    });
    for (i, e) in allocs.chain(frees).enumerate() {
        w.push_paced(&e, i as u64 * 977 % 100_000).unwrap();
    }
    w.finish(Default::default()).unwrap();
    let out = dir.join("out.pbt");
    convert(&file, &out);
    let (before, after) = (contents(&file), contents(&out));
    assert!(!before.2.is_empty() && before.2.iter().any(|&p| p > 0));
    assert_eq!(after, before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_one_line_and_leaves_nothing_behind() {
    let dir = tempdir("convert-bad");
    let junk = dir.join("junk.pbt");
    std::fs::write(&junk, b"not a trace").unwrap();
    let out = dir.join("out.pbt");
    let cases: [(&Path, &Path, &str); 3] = [
        (Path::new("trace:no_such"), &out, "unknown trace `no_such`"),
        (&junk, &out, "byte 0: not a pybench trace"),
        (
            Path::new("trace:json_tool"),
            Path::new("/nonexistent-dir/x.pbt"),
            "cannot create /nonexistent-dir/x.pbt",
        ),
    ];
    for (input, output, says) in cases {
        let o = pybench()
            .arg("convert")
            .arg(input)
            .arg("-o")
            .arg(output)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    // A truncated trace: refused, and neither an output nor a temporary is left.
    let shipped = pybench::trace::source::trace_path("trace:test_json").unwrap();
    let bytes = std::fs::read(shipped).unwrap();
    let cut = dir.join("cut.pbt");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let line = refusal(pybench().arg("convert").arg(&cut).arg("-o").arg(&out));
    assert!(line.contains("file ends inside block"), "{line}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["cut.pbt", "junk.pbt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_version_1_trace_converts() {
    let dir = tempdir("convert-v1");
    let old = old_compileall(&dir, "v1.pbt", TraceWriter::version1);
    let new = dir.join("v2.pbt");
    convert(&old, &new);
    assert_eq!(contents(&new), contents(&old));
    assert!(file_len(&new) * 10 < file_len(&old) * 7);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trace damaged near its end, converted to standard output: the output cannot be
/// discarded as a temporary file is, and `convert BAD -o -` wrote the blocks before the
/// damaged one (648 KB of a trace without an end block) before it failed. Now it reads the
/// input through before writing anything there: one line, exit 2, nothing on standard output.
#[test]
fn a_damaged_trace_converted_to_standard_output_writes_nothing() {
    let dir = tempdir("convert-stdout");
    let good = dir.join("m.pbt");
    pybench()
        .args(["gen", "-w", "webapp", "--scale", "600000", "-o"])
        .arg(&good)
        .assert()
        .success();
    let mut bytes = std::fs::read(&good).unwrap();
    let (_, blocks) = crate::common::blocks(&bytes);
    assert!(
        blocks.len() > 2,
        "several events blocks before the end block"
    );
    // The last events block's payload: every block before it reads clean.
    let (start, end) = blocks[blocks.len() - 2];
    bytes[(start + end) / 2] ^= 1;
    let bad = dir.join("m_bad.pbt");
    std::fs::write(&bad, &bytes).unwrap();
    let out = pybench()
        .arg("convert")
        .arg(&bad)
        .args(["-o", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("byte {start}: ")), "{err}");
    assert_eq!(out.stdout.len(), 0, "nothing written: {err}");
    // The intact trace still converts to standard output, whole.
    let out = pybench()
        .arg("convert")
        .arg(&good)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let copy = dir.join("copy.pbt");
    std::fs::write(&copy, &out.stdout).unwrap();
    assert_eq!(contents(&copy), contents(&good));
}
