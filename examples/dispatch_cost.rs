//! What the column decoder's jump on each event's tag costs in mispredictions (issue 15):
//! a loop that only dispatches on a trace's tags, each arm a different one-instruction
//! change to an accumulator, timed over the tags in the trace's own order, sorted (the
//! same work, nearly no mispredictions), shuffled (none predictable), and folded into fewer
//! targets: allocation or not, and four kinds (an allocation into the predicted slot; a
//! free or realloc named by allocation order; one named relative to the previous slot;
//! anything else). The gap between the order and sorted lines bounds what a decoder that
//! never mispredicted on the tag could save (docs/streaming.md, "The tag's jump"). Two
//! more walks keep the trace's order but jump less: `pairs`, one jump per two tags (the
//! sixteen commonest pairs have arms of their own, the rest take two single jumps), and
//! `runs`, where an arm goes on while the next tag is its own (a conditional branch an
//! event, one jump a run): docs/streaming.md, "Runs of one tag in one copy's loop".
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

/// One jump per two tags: `ids` names each of the commonest pairs' arm (255: neither).
#[inline(never)]
fn walk_pairs(tags: &[u8], ids: &[u8; 65536]) -> u64 {
    let mut acc = 0u64;
    let mut it = tags.chunks_exact(2);
    for p in &mut it {
        acc = match ids[usize::from(p[0]) << 8 | usize::from(p[1])] {
            0 => acc.wrapping_add(black_box(3)).wrapping_add(black_box(5)),
            1 => (acc ^ black_box(0x55)).wrapping_add(black_box(7)),
            2 => acc.rotate_left(black_box(3)).wrapping_add(black_box(9)),
            3 => acc.wrapping_mul(black_box(7)).wrapping_add(black_box(11)),
            4 => acc.wrapping_sub(black_box(11)).wrapping_add(black_box(13)),
            5 => (acc | black_box(0x100)).wrapping_add(black_box(15)),
            6 => (acc & black_box(!0x100)).wrapping_add(black_box(17)),
            7 => acc.wrapping_add(black_box(13)).rotate_left(black_box(1)),
            8 => (acc ^ black_box(0x77)).rotate_left(black_box(2)),
            9 => acc.wrapping_add(black_box(1)).rotate_left(black_box(3)),
            10 => acc.wrapping_add(black_box(21)).rotate_left(black_box(4)),
            11 => (acc ^ black_box(0x99)).rotate_left(black_box(5)),
            12 => acc.rotate_left(black_box(6)).wrapping_mul(black_box(3)),
            13 => acc.wrapping_mul(black_box(9)).rotate_left(black_box(7)),
            14 => acc.wrapping_sub(black_box(19)).rotate_left(black_box(8)),
            15 => (acc | black_box(0x200)).rotate_left(black_box(9)),
            _ => walk(black_box(p)).wrapping_add(acc),
        };
    }
    acc.wrapping_add(walk(it.remainder()))
}

/// The arms of [`walk`], each going on while the next tag is its own.
#[inline(never)]
fn walk_runs(tags: &[u8]) -> u64 {
    let (mut acc, mut i) = (0u64, 0);
    macro_rules! run {
        ($t:literal, $step:expr) => {
            loop {
                acc = $step(acc);
                i += 1;
                if i == tags.len() || tags[i] != $t {
                    break;
                }
            }
        };
    }
    while i < tags.len() {
        match tags[i] {
            80 => run!(80, |a: u64| a.wrapping_add(black_box(3))),
            27 => run!(27, |a: u64| a ^ black_box(0x55)),
            11 => run!(11, |a: u64| a.rotate_left(black_box(3))),
            19 => run!(19, |a: u64| a.wrapping_mul(black_box(7))),
            72 => run!(72, |a: u64| a.wrapping_sub(black_box(11))),
            131 => run!(131, |a: u64| a | black_box(0x100)),
            195 => run!(195, |a: u64| a & black_box(!0x100)),
            10 => run!(10, |a: u64| a.wrapping_add(black_box(13))),
            4 => run!(4, |a: u64| a ^ black_box(0x77)),
            3 => run!(3, |a: u64| a.wrapping_add(black_box(1))),
            t => {
                acc = acc.wrapping_add(u64::from(t));
                i += 1;
            }
        }
    }
    acc
}

/// Arms for the sixteen commonest pairs of adjacent tags (taken two by two from the start):
/// the table `walk_pairs` jumps by, and the share of pairs they cover.
fn common_pairs(tags: &[u8]) -> (Box<[u8; 65536]>, f64) {
    let mut count = vec![0u64; 65536];
    for p in tags.chunks_exact(2) {
        count[usize::from(p[0]) << 8 | usize::from(p[1])] += 1;
    }
    let mut by_count: Vec<usize> = (0..65536).collect();
    by_count.sort_by_key(|&i| std::cmp::Reverse(count[i]));
    let mut ids = Box::new([255u8; 65536]);
    let mut covered = 0;
    for (arm, &pair) in by_count.iter().take(16).enumerate() {
        ids[pair] = arm as u8;
        covered += count[pair];
    }
    let share = covered as f64 * 100.0 / count.iter().sum::<u64>().max(1) as f64;
    (ids, share)
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
    let best_of = |f: &dyn Fn() -> u64| {
        let mut best = f64::MAX;
        for _ in 0..15 {
            let t = thread_cpu_ns();
            black_box(f());
            best = best.min(thread_cpu_ns().saturating_sub(t) as f64 / tags.len().max(1) as f64);
        }
        best
    };
    for (name, v) in [
        ("order", &tags),
        ("sorted", &sorted),
        ("shuffled", &shuffled),
        ("alloc-or-not", &alloc_or_not),
        ("four-kinds", &kinds),
    ] {
        println!("{name} {:.2}", best_of(&|| walk(black_box(v))));
    }
    let (ids, share) = common_pairs(&tags);
    let pairs = best_of(&|| walk_pairs(black_box(&tags), &ids));
    println!("pairs {pairs:.2} (the sixteen commonest pairs: {share:.1} % of them)");
    println!("runs {:.2}", best_of(&|| walk_runs(black_box(&tags))));
    Ok(())
}
