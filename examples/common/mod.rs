//! What several examples share: a version-2 trace's blocks read into memory (for the decode
//! examples, so what they time is decoding, not the file system), and a workload's events as
//! CPython 3.11 makes them (for the harness examples).

// Each example is its own crate and uses part of this module.
#![allow(dead_code)]

use pybench::trace::block::BlockHead;
use pybench::trace::columns;
use pybench::trace::format::COLUMNS;
use pybench::trace::index::Index;
use pybench::trace::{Source, TraceReader};
use pybench::workload::{Event, Overrides, PyVersion};
use std::io::{Read, Seek, SeekFrom};

/// One stored block: its number, where it starts in the file, its head, and its bytes (the
/// block header, then the payload).
pub struct RawBlock {
    pub number: usize,
    pub at: u64,
    pub head: BlockHead,
    pub bytes: Vec<u8>,
}

impl RawBlock {
    /// Checks the block's checksum as the readers do (panics on a corrupt block: the
    /// examples time intact traces).
    pub fn verify(&self, index: &Index) {
        let hlen = index.header.block_header_len();
        let (head, payload) = self.bytes.split_at(hlen);
        self.head
            .verify(&index.header, head, payload, self.at, self.number as u64)
            .unwrap();
    }
}

/// The column sets of [`read_v2_blocks`]' blocks, one each (reused when `cols` already holds
/// as many), unpacked with `zstd`: what the decode examples time their decoders over.
pub fn unpack_blocks(
    index: &Index,
    blocks: &[RawBlock],
    cols: &mut Vec<[Vec<u8>; COLUMNS]>,
    zstd: &mut zstd::bulk::Decompressor<'static>,
) -> anyhow::Result<()> {
    let hlen = index.header.block_header_len();
    cols.resize_with(blocks.len(), Default::default);
    for (b, c) in blocks.iter().zip(cols.iter_mut()) {
        columns::unpack(&b.bytes[hlen..], b.head.raw_len, c, zstd)
            .map_err(|e| anyhow::anyhow!("block {}: {e}", b.number))?;
    }
    Ok(())
}

/// Every block of the version-2 trace at `path`, with the trace's index and its event count.
pub fn read_v2_blocks(path: &str) -> anyhow::Result<(Index, Vec<RawBlock>, u64)> {
    let (mut f, index) = TraceReader::open_indexed(std::path::Path::new(path))?;
    anyhow::ensure!(index.header.version >= 2, "a version-2 trace only");
    let hlen = index.header.block_header_len();
    let mut blocks = Vec::with_capacity(index.blocks.len());
    for (number, &(at, head)) in index.blocks.iter().enumerate() {
        let mut bytes = vec![0u8; hlen + head.stored_len as usize];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut bytes)?;
        blocks.push(RawBlock {
            number,
            at,
            head,
            bytes,
        });
    }
    let events = blocks.iter().map(|b| u64::from(b.head.events)).sum();
    Ok((index, blocks, events))
}

/// The events of `workload` (a built-in name, spec file or trace) for CPython 3.11.
pub fn events_311(workload: &str) -> anyhow::Result<Vec<Event>> {
    let over = Overrides {
        python: Some(PyVersion::V3_11),
        ..Overrides::default()
    };
    Ok(Source::load(workload)?.materialize(over)?.events)
}

/// A trace's events and each of its blocks of 2^18 events encoded again as the writer does
/// (`order_refs`: with allocation-order references), columns not yet compressed: for the
/// examples that weigh a change of the columns' layout against the format as it is.
pub fn encoded_blocks(
    path: &str,
    order_refs: bool,
) -> anyhow::Result<(usize, Vec<[Vec<u8>; COLUMNS]>)> {
    let mut reader = TraceReader::open(std::path::Path::new(path))?;
    let mut events = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        events.extend_from_slice(batch);
    }
    let mut enc = columns::BlockEncoder::new(order_refs);
    let mut table = 0u32;
    let mut blocks = Vec::new();
    for chunk in events.chunks(1 << 18) {
        enc.reset(table);
        for e in chunk {
            enc.push(e, table, None);
            if let Some(s) = e.slot() {
                table += u32::from(s == table);
            }
        }
        blocks.push(enc.cols.clone());
    }
    Ok((events.len(), blocks))
}
