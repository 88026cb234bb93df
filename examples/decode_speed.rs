//! Decode speed of one trace file (issue 15), for `scripts/stream-bench.sh`: serial
//! (`TraceReader::next_batch` in the calling thread) and parallel (`ParallelReader` on a
//! rayon pool of 1 and of 2 threads). Prints one line per reader: `decode READER EVENTS
//! SECONDS MEVENTS_PER_S`.
//!
//! Run: `cargo run --release --example decode_speed -- FILE.pbt`

use pybench::trace::parallel::ParallelReader;
use pybench::trace::TraceReader;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: decode_speed FILE.pbt");
    let path = std::path::Path::new(&path);
    let report = |what: &str, n: usize, t: Instant| {
        let s = t.elapsed().as_secs_f64();
        println!("decode {what} {n} {s:.3} {:.1}", n as f64 / s / 1e6);
    };
    let t = Instant::now();
    let mut r = TraceReader::open(path)?;
    let mut n = 0;
    while let Some(b) = r.next_batch()? {
        n += b.len();
    }
    report("serial", n, t);
    for threads in [1, 2] {
        let t = Instant::now();
        let mut r = ParallelReader::open_with_threads(path, false, Some(threads))?;
        let mut n = 0;
        while let Some(b) = r.next_batch()? {
            n += b.len();
        }
        report(&format!("parallel{threads}"), n, t);
    }
    Ok(())
}
