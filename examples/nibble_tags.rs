//! Measured before building: would a tag column of half-bytes (the fifteen commonest tags as
//! a 4-bit index, two to a byte, the rest escaped into a byte column of their own) make zstd's
//! unpacking cheaper, and what would it do to a trace's size? (issue 15, single-core decode.)
//!
//! `cargo run --release --example nibble_tags -- TRACE [ROUNDS]`

use pybench::trace::columns::{pack, unpack};
use pybench::trace::format::{COLUMNS, COL_TAGS, ZSTD_LEVEL_V2};
use std::time::Instant;

mod common;

/// The block's columns with the tag column as half-bytes: each tag's index among `hot`, two
/// to a byte (the first in the low half), 15 for a tag outside it, which goes to the
/// returned escape column in order.
fn nibble_columns(cols: &[Vec<u8>; COLUMNS], hot: &[u8]) -> ([Vec<u8>; COLUMNS], Vec<u8>) {
    let mut out = cols.clone();
    let tags = &cols[COL_TAGS];
    let mut packed = Vec::with_capacity(tags.len().div_ceil(2));
    let mut escapes = Vec::new();
    for pair in tags.chunks(2) {
        let mut byte = 0u8;
        for (k, &t) in pair.iter().enumerate() {
            let code = match hot.iter().position(|&h| h == t) {
                Some(i) => i as u8,
                None => {
                    escapes.push(t);
                    15
                }
            };
            byte |= code << (4 * k);
        }
        packed.push(byte);
    }
    out[COL_TAGS] = packed;
    (out, escapes)
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: nibble_tags TRACE [ROUNDS]");
    let rounds: usize = std::env::args().nth(2).map_or(5, |r| r.parse().unwrap());
    let (count, blocks) = common::encoded_blocks(&path, true)?;
    let n = count as f64;
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL_V2)?;
    let mut counts = [0u64; 256];
    for &t in blocks.iter().flat_map(|cols| &cols[COL_TAGS]) {
        counts[t as usize] += 1;
    }
    let mut order: Vec<u8> = (0..=255u8).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(counts[t as usize]));
    let hot: Vec<u8> = order.into_iter().take(15).collect();
    let covered: u64 = hot.iter().map(|&t| counts[t as usize]).sum();

    // Each layout packed as the writer packs a block; the escapes as one more zstd frame.
    let mut plain = Vec::new();
    let mut nibble = Vec::new();
    let (mut raw_plain, mut raw_nibble) = (0usize, 0usize);
    let raw_len = |cols: &[Vec<u8>; COLUMNS]| cols.iter().map(Vec::len).sum::<usize>();
    for cols in &blocks {
        let mut p = Vec::new();
        pack(cols, &mut zstd, &mut p)?;
        raw_plain += raw_len(cols);
        plain.push((p, raw_len(cols) as u32));
        let (ncols, esc) = nibble_columns(cols, &hot);
        let mut q = Vec::new();
        pack(&ncols, &mut zstd, &mut q)?;
        let e = if esc.is_empty() {
            Vec::new()
        } else {
            zstd.compress(&esc)?
        };
        raw_nibble += raw_len(&ncols) + esc.len();
        nibble.push((q, raw_len(&ncols) as u32, e, esc.len()));
    }
    let size = |s: usize| s as f64 / n;
    let plain_bytes: usize = plain.iter().map(|b| b.0.len()).sum();
    let nibble_bytes: usize = nibble.iter().map(|b| b.0.len() + b.2.len()).sum();

    let mut de = zstd::bulk::Decompressor::new()?;
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    let mut esc_buf = Vec::new();
    let (mut best_plain, mut best_nibble) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let t = Instant::now();
        for (p, raw) in &plain {
            unpack(p, *raw, &mut cols, &mut de).map_err(anyhow::Error::msg)?;
        }
        best_plain = best_plain.min(t.elapsed().as_nanos() as f64 / n);
        let t = Instant::now();
        for (q, raw, e, elen) in &nibble {
            unpack(q, *raw, &mut cols, &mut de).map_err(anyhow::Error::msg)?;
            if *elen > 0 {
                esc_buf.clear();
                esc_buf.reserve(*elen);
                de.decompress_to_buffer(e, &mut esc_buf)?;
            }
        }
        best_nibble = best_nibble.min(t.elapsed().as_nanos() as f64 / n);
    }
    println!(
        "{path}: {} events, 15 hot tags cover {:.2} %; raw {:.3} → {:.3} B/event, stored {:.4} → {:.4} B/event; unpack best of {rounds}: {:.3} → {:.3} ns/event",
        count,
        100.0 * covered as f64 / n,
        size(raw_plain),
        size(raw_nibble),
        size(plain_bytes),
        size(nibble_bytes),
        best_plain,
        best_nibble
    );
    Ok(())
}
