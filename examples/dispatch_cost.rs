//! What the column decoder's jump on each event's tag costs in mispredictions (issue 15):
//! a loop that only dispatches on a trace's tags, each arm a different one-instruction
//! change to an accumulator, timed over the tags in the trace's own order, sorted (the
//! same work, nearly no mispredictions), shuffled (none predictable), and folded into fewer
//! targets: allocation or not, and four kinds (an allocation into the predicted slot; a
//! free or realloc named by allocation order; one named relative to the previous slot;
//! anything else). The gap between the order and sorted lines bounds what a decoder that
//! never mispredicted on the tag could save (docs/streaming.md, "The tag's jump").
//!
//! The clock is the thread's CPU time, best of 15 rounds. Prints `NAME NS_PER_EVENT` lines.
//!
//! Run: `cargo run --release --example dispatch_cost -- FILE.pbt`.

use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::columns;
use pybench::trace::format::{COLUMNS, COL_TAGS, OP_CALLOC, OP_FREE, OP_REALLOC};
use std::hint::black_box;

mod common;

/// Dispatches on every tag; the arms are the eleven commonest tags of the generated webapp
/// trace, so the compiler makes a jump table as it does for the decoder's.
#[inline(never)]
fn walk(tags: &[u8]) -> u64 {
    let mut acc = 0u64;
    for &t in tags {
        acc = match t {
            80 => acc.wrapping_add(black_box(3)),
            27 => acc ^ black_box(0x55),
            11 => acc.rotate_left(black_box(3)),
            19 => acc.wrapping_mul(black_box(7)),
            72 => acc.wrapping_sub(black_box(11)),
            131 => acc | black_box(0x100),
            195 => acc & black_box(!0x100),
            10 => acc.wrapping_add(black_box(13)),
            4 => acc ^ black_box(0x77),
            3 => acc.wrapping_add(black_box(1)),
            _ => acc.wrapping_add(u64::from(t)),
        };
    }
    acc
}

/// A tag folded into one of four kinds, named by one of `walk`'s arms.
fn kind(t: u8) -> u8 {
    let (op, reference, mode) = (t & 7, (t >> 3) & 3, t >> 6);
    let release = op == OP_REALLOC || op == OP_FREE;
    match () {
        _ if t & 0x20 != 0 => 4,
        _ if op <= OP_CALLOC && mode == 1 => 80,
        _ if release && mode == 0 && reference != 0 => 27,
        _ if release && reference == 0 => 131,
        _ => 4,
    }
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: dispatch_cost FILE.pbt");
    let (index, blocks, _) = common::read_v2_blocks(&path)?;
    let hlen = index.header.block_header_len();
    let mut zstd = zstd::bulk::Decompressor::new()?;
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    let mut tags = Vec::new();
    for b in &blocks {
        columns::unpack(&b.bytes[hlen..], b.head.raw_len, &mut cols, &mut zstd)
            .map_err(|e| anyhow::anyhow!("block {}: {e}", b.number))?;
        tags.extend_from_slice(&cols[COL_TAGS]);
    }
    let mut sorted = tags.clone();
    sorted.sort_unstable();
    // A fixed xorshift, so every run shuffles alike.
    let (mut shuffled, mut x) = (tags.clone(), 88_172_645_463_325_252u64);
    for i in (1..shuffled.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        shuffled.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let alloc_or_not: Vec<u8> = tags
        .iter()
        .map(|&t| if t & 7 <= OP_CALLOC { 80 } else { 27 })
        .collect();
    let kinds: Vec<u8> = tags.iter().map(|&t| kind(t)).collect();
    for (name, v) in [
        ("order", &tags),
        ("sorted", &sorted),
        ("shuffled", &shuffled),
        ("alloc-or-not", &alloc_or_not),
        ("four-kinds", &kinds),
    ] {
        let mut best = f64::MAX;
        for _ in 0..15 {
            let t = thread_cpu_ns();
            black_box(walk(black_box(v)));
            best = best.min(thread_cpu_ns().saturating_sub(t) as f64 / v.len().max(1) as f64);
        }
        println!("{name} {best:.2}");
    }
    Ok(())
}
