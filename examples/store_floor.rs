//! What writing the decoded events costs, apart from decoding them (issue 15's single-core
//! decode target): one 16-byte `Event` per tag of a version-2 trace's unpacked blocks,
//! written into a buffer of 2^18 events (a block's worth, 4 MiB) or a smaller one reused
//! round and round (2^16 … 2^10 events, 1 MiB … 16 KiB), best of 3 passes over every block.
//!
//! `plain` builds one variant from each tag without a branch; `match` picks the variant by
//! the tag's op bits, as a decoder must, which costs a jump the tag's order decides. On the
//! 10⁸-event webapp trace (AMD EPYC model 17, 2026-12-06 23:03, load 0.26 → 0.65, five
//! processes each) `plain` took 0.83 – 0.87 ns/event whatever the buffer's size and `match`
//! 3.12 – 3.25: the stores are cheap and where they land does not matter; the choice of
//! variant is what costs.
//!
//! Run: `cargo run --release --example store_floor -- FILE.pbt [plain|match]`

use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::format::COL_TAGS;
use pybench::workload::{Domain, Event};
use std::hint::black_box;

mod common;

/// The event written for `tag` at index `i`: a free of a made-up slot, or, with `by_op`,
/// the variant the tag's op bits name.
#[inline(always)]
fn event(tag: u8, i: usize, by_op: bool) -> Event {
    let slot = i as u32 ^ u32::from(tag);
    if !by_op {
        return Event::Free {
            slot,
            thread: u16::from(tag),
        };
    }
    let size = u32::from(tag);
    match black_box(tag) & 7 {
        0 => Event::Alloc {
            slot,
            size,
            domain: Domain::Obj,
            thread: 0,
        },
        1 => Event::Calloc {
            slot,
            n: 1,
            size,
            domain: Domain::Mem,
            thread: 0,
        },
        2 => Event::Realloc {
            slot,
            size,
            thread: 0,
        },
        3 => Event::Free { slot, thread: 0 },
        4 => Event::Phase(u16::from(tag)),
        _ => Event::Gc(tag),
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: store_floor FILE.pbt [plain|match]");
    let by_op = match args.next().as_deref() {
        None | Some("plain") => false,
        Some("match") => true,
        Some(other) => anyhow::bail!("unknown mode {other} (plain, match)"),
    };
    let (index, blocks, events) = common::read_v2_blocks(&path)?;
    let mut cols = Vec::new();
    common::unpack_blocks(
        &index,
        &blocks,
        &mut cols,
        &mut zstd::bulk::Decompressor::new()?,
    )?;
    for ring_bits in [18u32, 16, 14, 12, 10] {
        let mut buf = vec![Event::Gc(0); 1 << ring_bits];
        let mask = buf.len() - 1;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = thread_cpu_ns();
            for c in &cols {
                for (i, &tag) in c[COL_TAGS].iter().enumerate() {
                    buf[i & mask] = event(tag, i, by_op);
                }
                black_box(&mut buf);
            }
            best = best.min(thread_cpu_ns().saturating_sub(t) as f64);
        }
        println!("store 2^{ring_bits} {:.2}", best / events as f64);
    }
    Ok(())
}
