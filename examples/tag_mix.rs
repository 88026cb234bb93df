//! Which event tags a version-2 trace holds, most common first, with their share of the
//! events and the running total: the evidence for the column decoder's list of tags that
//! get a specialised copy of the event decoder (`HOT_TAGS` in src/trace/column_decoder.rs).
//! A tag is one byte: op (bits 0 – 2), domain or reference kind (3 – 4), a thread change
//! (5) and how the slot is named (6 – 7); see src/trace/format.rs.
//!
//! Run: `cargo run --release --example tag_mix -- FILE.pbt [TOP]` (TOP: lines shown, 24).

use pybench::trace::columns;
use pybench::trace::format::{COLUMNS, COL_TAGS};

mod common;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: tag_mix FILE.pbt [TOP]");
    let top: usize = args.next().map_or(Ok(24), |n| n.parse())?;
    let (index, blocks, events) = common::read_v2_blocks(&path)?;
    let hlen = index.header.block_header_len();
    let mut zstd = zstd::bulk::Decompressor::new()?;
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    let mut count = [0u64; 256];
    for b in &blocks {
        columns::unpack(&b.bytes[hlen..], b.head.raw_len, &mut cols, &mut zstd)
            .map_err(|e| anyhow::anyhow!("block {}: {e}", b.number))?;
        for &t in &cols[COL_TAGS] {
            count[t as usize] += 1;
        }
    }
    let mut tags: Vec<(u64, u8)> = (0..=255u8)
        .map(|t| (count[t as usize], t))
        .filter(|&(n, _)| n > 0)
        .collect();
    tags.sort_unstable_by(|a, b| b.cmp(a));
    let share = |n: u64| n as f64 * 100.0 / events.max(1) as f64;
    let mut total = 0;
    println!("tag  op kind thread mode  share  total");
    for &(n, t) in tags.iter().take(top) {
        total += n;
        println!(
            "{t:3}  {}  {}    {}      {}    {:5.1}% {:5.1}%",
            t & 7,
            (t >> 3) & 3,
            (t >> 5) & 1,
            t >> 6,
            share(n),
            share(total)
        );
    }
    println!("{} distinct tags in {events} events", tags.len());
    Ok(())
}
