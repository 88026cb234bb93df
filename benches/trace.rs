//! Trace decoding speed and size on the traces shipped in `workloads/traces/` (recorded from
//! real standard-library programs by scripts/record-traces.sh).
//!
//! - `decode_batches`: `TraceReader::next_batch`, the path a replay uses: zstd plus the
//!   varint decoder into a flat `Event` buffer. Items are events, so divan prints events/s.
//! - `decode_iter`: the per-event `Iterator<Item = Result<Event, _>>`.
//! - `encode`: `TraceWriter::push` of the same events into memory; `encode_before_order` and
//!   `decode_batches_before_order` the same without allocation-order references (the
//!   encoding before header flag `order`), as references in the same run.
//! - `decode_parallel`: `ParallelReader` (rayon) on 1 and 2 threads, from the file.
//!
//! Bytes per event of each trace are printed before the benchmarks run: the shipped file,
//! and the same events re-encoded as version 2 without pace, as version 2 before the `order`
//! flag, and as version 1 (all without the recording's accounting in the end block).
//! Run: `cargo bench --bench trace`.

use divan::{black_box, counter::ItemsCount, Bencher};
use pybench::trace::parallel::ParallelReader;
use pybench::trace::source::read_all;
use pybench::trace::{Meta, TraceReader, TraceWriter};
use std::collections::BTreeMap;
use std::path::PathBuf;

const TRACES: &[&str] = &["json_tool", "compileall", "test_json", "pip_list"];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("workloads/traces")
        .join(format!("{name}.pbt"))
}

fn main() {
    for name in TRACES {
        let p = path(name);
        let bytes = std::fs::metadata(&p).map_or(0, |m| m.len());
        match read_all(&p) {
            Ok((events, _, meta)) => {
                let n = events.len().max(1) as f64;
                let size = |mut w: TraceWriter<Vec<u8>>| {
                    for e in &events {
                        w.push(e).expect("valid");
                    }
                    w.finish(BTreeMap::new()).expect("finish").len() as f64 / n
                };
                let v2 = size(TraceWriter::new(Vec::new(), &meta).expect("writer"));
                let plain = size(TraceWriter::without_order(Vec::new(), &meta).expect("writer"));
                let v1 = size(TraceWriter::version1(Vec::new(), &meta).expect("writer"));
                println!(
                    "{name}: {} events; bytes/event: file {:.3}, v2 without pace {v2:.3}, v2 before the order flag {plain:.3}, v1 {v1:.3}",
                    events.len(),
                    bytes as f64 / n
                );
            }
            Err(e) => println!("{name}: {e:#}"),
        }
    }
    divan::main();
}

#[divan::bench(args = TRACES, sample_count = 10)]
fn decode_batches(bencher: Bencher, name: &str) {
    let data = std::fs::read(path(name)).expect("shipped trace");
    let n = TraceReader::new(&data[..]).expect("trace").count();
    bencher.counter(ItemsCount::new(n)).bench(|| {
        let mut r = TraceReader::new(black_box(&data[..])).expect("trace");
        let mut events = 0usize;
        while let Some(b) = r.next_batch().expect("valid") {
            events += b.len();
            black_box(b);
        }
        events
    });
}

/// Decodes the trace's events as the writer `make` returns encodes them.
fn decode_reencoded(bencher: Bencher, name: &str, make: fn(&Meta) -> TraceWriter<Vec<u8>>) {
    let (events, _, meta) = read_all(&path(name)).expect("shipped trace");
    let mut w = make(&meta);
    for e in &events {
        w.push(e).expect("valid");
    }
    let data = w.finish(BTreeMap::new()).expect("finish");
    bencher.counter(ItemsCount::new(events.len())).bench(|| {
        let mut r = TraceReader::new(black_box(&data[..])).expect("trace");
        let mut events = 0usize;
        while let Some(b) = r.next_batch().expect("valid") {
            events += b.len();
            black_box(b);
        }
        events
    });
}

/// The same events encoded as version 1 and decoded: the reference in the same run.
#[divan::bench(args = TRACES, sample_count = 10)]
fn decode_batches_v1(bencher: Bencher, name: &str) {
    decode_reencoded(bencher, name, |m| {
        TraceWriter::version1(Vec::new(), m).expect("writer")
    });
}

/// The same events encoded without allocation-order references and decoded: the reference
/// for [`decode_batches`] in the same run.
#[divan::bench(args = TRACES, sample_count = 10)]
fn decode_batches_before_order(bencher: Bencher, name: &str) {
    decode_reencoded(bencher, name, |m| {
        TraceWriter::without_order(Vec::new(), m).expect("writer")
    });
}

#[divan::bench(args = TRACES, sample_count = 10)]
fn decode_iter(bencher: Bencher, name: &str) {
    let data = std::fs::read(path(name)).expect("shipped trace");
    let n = TraceReader::new(&data[..]).expect("trace").count();
    bencher.counter(ItemsCount::new(n)).bench(|| {
        TraceReader::new(black_box(&data[..]))
            .expect("trace")
            .map(|e| e.expect("valid"))
            .fold(0u64, |a, e| a + u64::from(e.slot().unwrap_or(0)))
    });
}

/// Encodes the trace's events with the writer `make` returns.
fn encode_with(bencher: Bencher, name: &str, make: fn(&Meta) -> TraceWriter<Vec<u8>>) {
    let (events, _, meta) = read_all(&path(name)).expect("shipped trace");
    bencher.counter(ItemsCount::new(events.len())).bench(|| {
        let mut w = make(&meta);
        for e in &events {
            w.push(e).expect("valid");
        }
        w.finish(BTreeMap::new()).expect("finish").len()
    });
}

#[divan::bench(args = TRACES, sample_count = 5)]
fn encode(bencher: Bencher, name: &str) {
    encode_with(bencher, name, |m| {
        TraceWriter::new(Vec::new(), m).expect("writer")
    });
}

/// The encoding before allocation-order references: the reference in the same run.
#[divan::bench(args = TRACES, sample_count = 5)]
fn encode_before_order(bencher: Bencher, name: &str) {
    encode_with(bencher, name, |m| {
        TraceWriter::without_order(Vec::new(), m).expect("writer")
    });
}

#[divan::bench(args = TRACES, consts = [1, 2], sample_count = 10)]
fn decode_parallel<const T: usize>(bencher: Bencher, name: &str) {
    let p = path(name);
    let n = TraceReader::open(&p).expect("trace").count();
    bencher.counter(ItemsCount::new(n)).bench(|| {
        let mut r =
            ParallelReader::open_with_threads(black_box(&p), false, Some(T)).expect("trace");
        let mut events = 0usize;
        while let Some(b) = r.next_batch().expect("valid") {
            events += b.len();
            black_box(b);
        }
        events
    });
}
