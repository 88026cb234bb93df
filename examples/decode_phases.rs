//! Where single-core decode time goes (issue 15): every block of a version-2 trace read
//! into memory first, then timed phase by phase in one thread — checksum, zstd unpacking of
//! the columns, the column decoder, and the two forms of the liveness check (the serial
//! reader's event-by-event check, and the per-block summary parallel readers work out in
//! their decoding threads) — each over all blocks, best of `REPS` rounds. The
//! clock is the thread's CPU time, so time sliced away to other processes on a loaded
//! machine is not counted (their cache and memory-bandwidth pressure still is).
//! Prints `phase NAME EVENTS SECONDS NS_PER_EVENT` lines.
//!
//! Run: `cargo run --release --example decode_phases -- FILE.pbt [REPS]`

use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::block::Scratch;
use pybench::trace::columns;
use pybench::trace::format::COLUMNS;
use pybench::trace::live::{summarize, BlockSummary, Liveness, SummaryScratch};
use pybench::trace::TraceReader;
use std::io::{Read, Seek, SeekFrom};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: decode_phases FILE.pbt [REPS]");
    let reps: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let (mut f, index) = TraceReader::open_indexed(std::path::Path::new(&path))?;
    anyhow::ensure!(index.header.version >= 2, "a version-2 trace only");
    let hlen = index.header.block_header_len();
    let mut blocks = Vec::new();
    for (k, &(at, head)) in index.blocks.iter().enumerate() {
        let mut raw = vec![0u8; hlen + head.stored_len as usize];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut raw)?;
        blocks.push((k, at, head, raw));
    }
    let events: u64 = index.blocks.iter().map(|b| u64::from(b.1.events)).sum();
    let best = |name: &str, f: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..reps {
            let t = thread_cpu_ns();
            f();
            best = best.min(thread_cpu_ns().saturating_sub(t) as f64 / 1e9);
        }
        println!(
            "phase {name} {events} {best:.4} {:.2}",
            best * 1e9 / events as f64
        );
    };
    best("crc", &mut || {
        for (k, at, head, raw) in &blocks {
            head.verify(&index.header, &raw[..hlen], &raw[hlen..], *at, *k as u64)
                .unwrap();
        }
    });
    let mut zstd = zstd::bulk::Decompressor::new()?;
    let mut cols: Vec<[Vec<u8>; COLUMNS]> = blocks.iter().map(|_| Default::default()).collect();
    best("unpack", &mut || {
        for ((_, _, head, raw), c) in blocks.iter().zip(cols.iter_mut()) {
            columns::unpack(&raw[hlen..], head.raw_len, c, &mut zstd).unwrap();
        }
    });
    let mut out = Vec::new();
    let mut pace = Vec::new();
    let mut order = columns::AllocOrder::for_flags(index.header.flags);
    let paced = index.header.flags & pybench::trace::format::FLAG_PACE != 0;
    best("columns", &mut || {
        for ((_, _, head, _), c) in blocks.iter().zip(cols.iter()) {
            out.clear();
            pace.clear();
            let t = head.table_before.unwrap_or(0);
            columns::decode_block(
                c,
                head.events,
                t,
                &mut out,
                paced.then_some(&mut pace),
                &mut order,
            )
            .unwrap();
        }
    });
    // The liveness phases need every block's events at once: one decode, kept.
    let decoded: Vec<Vec<pybench::workload::Event>> = blocks
        .iter()
        .zip(cols.iter())
        .map(|((_, _, head, _), c)| {
            let mut events = Vec::new();
            let t = head.table_before.unwrap_or(0);
            columns::decode_block(c, head.events, t, &mut events, None, &mut order).unwrap();
            events
        })
        .collect();
    best("check", &mut || {
        let mut live = Liveness::default();
        let mut first = 0;
        for events in &decoded {
            live.check(events, first).unwrap();
            first += events.len() as u64;
        }
    });
    let (mut scratch, mut summary) = (SummaryScratch::default(), BlockSummary::default());
    best("summary", &mut || {
        for events in &decoded {
            summarize(events, &mut scratch, &mut summary);
        }
    });
    drop(decoded);
    let mut s = Scratch::new()?;
    best("all", &mut || {
        for (k, at, head, raw) in &blocks {
            head.verify(&index.header, &raw[..hlen], &raw[hlen..], *at, *k as u64)
                .unwrap();
            out.clear();
            pace.clear();
            let t = head.table_before.unwrap_or(0);
            pybench::trace::block::decode_block_any(
                &index.header,
                head,
                &raw[hlen..],
                t,
                &mut s,
                &mut out,
                paced.then_some(&mut pace),
            )
            .unwrap();
        }
    });
    Ok(())
}
