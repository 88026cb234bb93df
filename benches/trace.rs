//! Trace decoding speed and size on the traces shipped in `workloads/traces/` (recorded from
//! real standard-library programs by scripts/record-traces.sh).
//!
//! - `decode_batches`: `TraceReader::next_batch`, the path a replay uses: zstd plus the
//!   varint decoder into a flat `Event` buffer. Items are events, so divan prints events/s.
//! - `decode_iter`: the per-event `Iterator<Item = Result<Event, _>>`.
//! - `encode`: `TraceWriter::push` of the same events into memory.
//!
//! Bytes per event of each trace are printed before the benchmarks run.
//! Run: `cargo bench --bench trace`.

use divan::{black_box, counter::ItemsCount, Bencher};
use pybench::trace::source::read_all;
use pybench::trace::{TraceReader, TraceWriter};
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
            Ok((events, _, _)) => println!(
                "{name}: {} events, {bytes} bytes, {:.3} bytes/event",
                events.len(),
                bytes as f64 / events.len().max(1) as f64
            ),
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

#[divan::bench(args = TRACES, sample_count = 5)]
fn encode(bencher: Bencher, name: &str) {
    let (events, _, meta) = read_all(&path(name)).expect("shipped trace");
    bencher.counter(ItemsCount::new(events.len())).bench(|| {
        let mut w = TraceWriter::new(Vec::new(), &meta).expect("writer");
        for e in &events {
            w.push(e).expect("valid");
        }
        w.finish(BTreeMap::new()).expect("finish").len()
    });
}
