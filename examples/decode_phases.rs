//! Where single-core decode time goes (issue 15): every block of a version-2 trace read
//! into memory first, then timed phase by phase in one thread — checksum, zstd unpacking of
//! the columns, the column decoder (alone, and with the serial reader's liveness check or the
//! parallel readers' per-block summary done inside it), the check and the summary as passes
//! of their own over decoded events, and all of it as the serial reader does it — each over
//! all blocks, best of `REPS` rounds. The
//! clock is the thread's CPU time, so time sliced away to other processes on a loaded
//! machine is not counted (their cache and memory-bandwidth pressure still is).
//! Prints `phase NAME EVENTS SECONDS NS_PER_EVENT` lines.
//!
//! Run: `cargo run --release --example decode_phases -- FILE.pbt [REPS] [PHASE…]` (naming
//! phases runs only those: under callgrind, one instantiation of the decoder at a time).

use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::block::{decode_block_any, BlockInput, Scratch};
use pybench::trace::columns;
use pybench::trace::format::COLUMNS;
use pybench::trace::live::{summarize, BlockSummary, Liveness, Summarizing, SummaryScratch};

mod common;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: decode_phases FILE.pbt [REPS] [PHASE…]");
    let reps: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let only: Vec<String> = args.collect();
    let (index, blocks, events) = common::read_v2_blocks(&path)?;
    let hlen = index.header.block_header_len();
    let best = |name: &str, f: &mut dyn FnMut()| {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            return;
        }
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
        for b in &blocks {
            b.verify(&index);
        }
    });
    let mut zstd = zstd::bulk::Decompressor::new()?;
    let mut cols: Vec<[Vec<u8>; COLUMNS]> = Vec::new();
    let mut unpack_all = || common::unpack_blocks(&index, &blocks, &mut cols, &mut zstd).unwrap();
    // Once untimed, as the decoding phases need the columns even when this one is not asked.
    unpack_all();
    best("unpack", &mut unpack_all);
    let mut out = Vec::new();
    let mut pace = Vec::new();
    let mut order = columns::AllocOrder::for_flags(index.header.flags);
    let paced = index.header.flags & pybench::trace::format::FLAG_PACE != 0;
    // The column decoder alone, then with the liveness check or the per-block summary done
    // inside it (as the serial and parallel readers do).
    let mut columns_with = |name: &str, sink: Sink| {
        best(name, &mut || {
            let (mut live, mut first) = (Liveness::default(), 0u64);
            let (mut scratch, mut summary) = (SummaryScratch::default(), BlockSummary::default());
            for (head, c) in blocks.iter().map(|b| &b.head).zip(cols.iter()) {
                out.clear();
                pace.clear();
                let t = head.table_before.unwrap_or(0);
                let p = paced.then_some(&mut pace);
                let n = head.events;
                match sink {
                    Sink::None => columns::decode_block(c, n, t, &mut out, p, &mut order, &mut ()),
                    Sink::Check => {
                        let mut check = live.checking();
                        let r = columns::decode_block(c, n, t, &mut out, p, &mut order, &mut check);
                        check.verdict(&out, first).unwrap();
                        r
                    }
                    Sink::Summary => {
                        let mut sum = Summarizing::new(&mut scratch, &mut summary);
                        let r = columns::decode_block(c, n, t, &mut out, p, &mut order, &mut sum);
                        sum.finish();
                        r
                    }
                }
                .unwrap();
                first += u64::from(n);
            }
        });
    };
    columns_with("columns", Sink::None);
    columns_with("columns+check", Sink::Check);
    columns_with("columns+summary", Sink::Summary);
    // The same two as separate passes over decoded events, for comparison: every block's
    // events kept from one decode (16 bytes an event: skipped unless one of them is asked).
    let separate = ["check", "summary"];
    let wanted = only.is_empty() || only.iter().any(|o| separate.contains(&o.as_str()));
    let decoded: Vec<Vec<pybench::workload::Event>> = (blocks.iter().filter(|_| wanted))
        .zip(cols.iter())
        .map(|(b, c)| {
            let head = &b.head;
            let mut events = Vec::new();
            let t = head.table_before.unwrap_or(0);
            let n = head.events;
            columns::decode_block(c, n, t, &mut events, None, &mut order, &mut ()).unwrap();
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
    // What the serial reader does to a block once it is in memory: checksum, unpack, decode
    // and check.
    let mut s = Scratch::new()?;
    best("all", &mut || {
        let mut live = Liveness::default();
        for b in &blocks {
            b.verify(&index);
            let (head, raw) = (&b.head, &b.bytes);
            out.clear();
            pace.clear();
            let t = head.table_before.unwrap_or(0);
            let mut check = live.checking();
            let block = BlockInput {
                header: &index.header,
                head,
                payload: &raw[hlen..],
                table: t,
            };
            let p = paced.then_some(&mut pace);
            decode_block_any(block, &mut s, &mut out, p, &mut check).unwrap();
            check.verdict(&out, 0).unwrap();
        }
    });
    Ok(())
}

/// What the column decoder reports to, in a phase.
#[derive(Clone, Copy)]
enum Sink {
    None,
    Check,
    Summary,
}
