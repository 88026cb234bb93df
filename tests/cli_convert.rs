//! `pybench convert`: a trace rewritten in the current encoding holds the same events, pace,
//! metadata and recorded accounting, in fewer bytes when it was written before
//! allocation-order references; bad input is one line and exit 2.

mod common;

use common::{pybench, tempdir};
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

/// The shipped compileall trace written as pybench did before allocation-order references
/// and the compressed end block, its accounting kept.
fn old_compileall(dir: &Path) -> std::path::PathBuf {
    let shipped = pybench::trace::source::trace_path("trace:compileall").unwrap();
    let mut r = TraceReader::open(&shipped).unwrap();
    let file = dir.join("old.pbt");
    let mut w =
        TraceWriter::without_order(std::fs::File::create(&file).unwrap(), r.meta()).unwrap();
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

#[test]
fn an_old_trace_converts_smaller_with_everything_kept() {
    let dir = tempdir("convert");
    let old = old_compileall(&dir);
    let new = dir.join("new.pbt");
    pybench()
        .arg("convert")
        .arg(&old)
        .arg("-o")
        .arg(&new)
        .assert()
        .success()
        .stderr(predicates::str::contains("B/event"));
    assert_eq!(contents(&new), contents(&old));
    let (a, b) = (file_len(&old), file_len(&new));
    // compileall frees its syntax trees node after node: a fifth smaller with order refs.
    assert!(b * 10 < a * 9, "{b} bytes converted against {a}");
    // In place: the output replaces its own input once complete.
    pybench()
        .arg("convert")
        .arg(&old)
        .arg("-o")
        .arg(&old)
        .assert()
        .success();
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
    pybench()
        .arg("convert")
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
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
    pybench()
        .arg("convert")
        .arg(&cut)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
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
    let shipped = pybench::trace::source::trace_path("trace:compileall").unwrap();
    let mut r = TraceReader::open(&shipped).unwrap();
    let old = dir.join("v1.pbt");
    let mut w = TraceWriter::version1(std::fs::File::create(&old).unwrap(), r.meta()).unwrap();
    while let Some(batch) = r.next_batch().unwrap() {
        for e in batch {
            w.push(e).unwrap();
        }
    }
    w.finish(r.end().unwrap().counters.clone()).unwrap();
    let new = dir.join("v2.pbt");
    pybench()
        .arg("convert")
        .arg(&old)
        .arg("-o")
        .arg(&new)
        .assert()
        .success();
    assert_eq!(contents(&new), contents(&old));
    assert!(file_len(&new) * 10 < file_len(&old) * 7);
    std::fs::remove_dir_all(&dir).unwrap();
}
