//! Bytes per event of each version-2 column of a trace, re-encoded block by block at a few
//! zstd levels, with and without allocation-order references: where a trace's size goes
//! (issue 15, item 5).
//!
//! `cargo run --release --example column_sizes -- workloads/traces/compileall.pbt`

use pybench::trace::columns::pack;
use pybench::trace::format::COLUMNS;

mod common;

const NAMES: [&str; COLUMNS] = ["tags", "threads", "refs", "slots", "sizes", "args", "pace"];

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).expect("usage: column_sizes TRACE");
    for (level, order) in [(9, false), (9, true), (19, true)] {
        let (count, blocks) = common::encoded_blocks(&path, order)?;
        let n = count as f64;
        let mut zstd = zstd::bulk::Compressor::new(level)?;
        let mut raw = [0usize; COLUMNS];
        let mut stored = [0usize; COLUMNS];
        for cols in &blocks {
            for (i, c) in cols.iter().enumerate() {
                raw[i] += c.len();
                if !c.is_empty() {
                    let mut one: [Vec<u8>; COLUMNS] = Default::default();
                    one[i] = c.clone();
                    let mut out = Vec::new();
                    pack(&one, &mut zstd, &mut out)?;
                    stored[i] += out.len() - COLUMNS * 8;
                }
            }
        }
        print!("level {level}, order refs {order}:");
        for i in 0..COLUMNS {
            if raw[i] > 0 {
                print!(
                    " {} {:.3}/{:.3}",
                    NAMES[i],
                    raw[i] as f64 / n,
                    stored[i] as f64 / n
                );
            }
        }
        println!(
            " total {:.3} B/event",
            stored.iter().sum::<usize>() as f64 / n
        );
    }
    Ok(())
}
