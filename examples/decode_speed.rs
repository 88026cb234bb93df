//! Decode speed of one trace file (issue 15), for `scripts/stream-bench.sh`: serial
//! (`TraceReader::next_batch` in the calling thread) and parallel (`ParallelReader` on
//! decoding threads of its own, 1 and 2). Prints one line per reader and round: `decode
//! READER EVENTS SECONDS MEVENTS_PER_S`.
//!
//! With `--rounds N` the readers alternate N times (serial, parallel1, parallel2, serial,
//! …): this host's speed drifts by a fifth within seconds, so a speed-up is best taken
//! round by round, from passes a second apart.
//!
//! Run: `cargo run --release --example decode_speed -- FILE.pbt [--rounds N] [READER...]`
//! (readers: `serial`, `parallel1`, `parallel2`; all three by default).

use pybench::trace::parallel::ParallelReader;
use pybench::trace::TraceReader;
use std::path::Path;
use std::time::Instant;

/// Reads every event of `path` with `reader`; the events read.
fn decode(path: &Path, reader: &str) -> anyhow::Result<usize> {
    let mut n = 0;
    if reader == "serial" {
        let mut r = TraceReader::open(path)?;
        while let Some(b) = r.next_batch()? {
            n += b.len();
        }
        return Ok(n);
    }
    let threads = match reader {
        "parallel1" => 1,
        "parallel2" => 2,
        _ => anyhow::bail!("unknown reader {reader} (serial, parallel1, parallel2)"),
    };
    let mut r = ParallelReader::open_with_threads(path, false, Some(threads))?;
    while let Some(b) = r.next_batch()? {
        n += b.len();
    }
    Ok(n)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: decode_speed FILE.pbt [--rounds N] [READER...]");
    let (mut rounds, mut readers) = (1, Vec::new());
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            anyhow::ensure!(rounds > 0, "--rounds needs a positive count");
        } else {
            readers.push(a);
        }
    }
    if readers.is_empty() {
        readers = ["serial", "parallel1", "parallel2"]
            .map(String::from)
            .to_vec();
    }
    for _ in 0..rounds {
        for what in &readers {
            let t = Instant::now();
            let n = decode(Path::new(&path), what)?;
            let s = t.elapsed().as_secs_f64();
            println!("decode {what} {n} {s:.3} {:.1}", n as f64 / s / 1e6);
        }
    }
    Ok(())
}
