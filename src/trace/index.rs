//! A scan of a trace file's block headers (payloads are skipped, not read) and its end
//! block: what a reader needs before decoding anything — the totals the file declares,
//! checked against the limits, and where each block is, for a parallel decode.

use super::block::{parse_end, parse_head, read_header, BlockHead, Header};
use super::format::*;
use super::limits::check_declared;
use super::reader::{read_exact_at, read_payload_at};
use super::{End, ErrorKind, TraceError};
use std::io::{Read, Seek, SeekFrom};

/// Where a file's blocks are and what it declares.
#[derive(Debug, Clone)]
pub struct Index {
    pub header: Header,
    /// Each events block's file offset and header.
    pub blocks: Vec<(u64, BlockHead)>,
    pub end: End,
    /// File offset of the end block.
    pub end_at: u64,
}

/// Scans a trace from its start. Checks everything but the events blocks' payloads: header,
/// every block header's limits, the end block's checksum and JSON, that nothing follows it,
/// that the blocks' event counts add up to the declared total, and the declared totals
/// against the limits and the machine's memory.
pub fn scan<R: Read + Seek>(src: &mut R) -> Result<Index, TraceError> {
    // The payloads are skipped by seeking, which never fails past the end: the file's length
    // is what tells a cut inside an events block.
    let io = |e| TraceError::new(0, ErrorKind::Io(e));
    let len = src.seek(SeekFrom::End(0)).map_err(io)?;
    src.seek(SeekFrom::Start(0)).map_err(io)?;
    let header = read_header(src)?;
    let hlen = header.block_header_len();
    let mut at = header.len;
    let mut blocks: Vec<(u64, BlockHead)> = Vec::new();
    let mut events = 0u64;
    loop {
        let seq = blocks.len() as u64;
        let mut raw = [0u8; BLOCK_HEADER_V2];
        let Some(raw) = next_block_header(src, &header, at, &mut raw)? else {
            return Err(TraceError::new(at, ErrorKind::NoEnd));
        };
        let head = parse_head(&header, raw, at, seq)?;
        check_table_grows(&head, blocks.last().map(|(_, prev)| prev), at, seq)?;
        if head.kind == BLOCK_END {
            let end = read_end(src, &header, &head, raw, at, seq, events)?;
            return Ok(Index {
                header,
                blocks,
                end,
                end_at: at,
            });
        }
        events += u64::from(head.events);
        let next = at + hlen as u64 + u64::from(head.stored_len);
        if next > len {
            return Err(TraceError::new(at, ErrorKind::TruncatedBlock(seq)));
        }
        src.seek_relative(i64::from(head.stored_len))
            .map_err(|e| TraceError::new(at, ErrorKind::Io(e)))?;
        blocks.push((at, head));
        at = next;
    }
}

/// Reads the block header at `at` into `raw`; `None` when the file ends exactly there (a
/// trace without its end block).
fn next_block_header<'a, R: Read + Seek>(
    src: &mut R,
    header: &Header,
    at: u64,
    raw: &'a mut [u8; BLOCK_HEADER_V2],
) -> Result<Option<&'a [u8]>, TraceError> {
    let hlen = header.block_header_len();
    match src.read(&mut raw[..1]) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(TraceError::new(at, ErrorKind::Io(e))),
    }
    read_exact_at(src, at, &mut raw[1..hlen], "block header")?;
    Ok(Some(&raw[..hlen]))
}

/// The slot table only grows: a block may not start below the size the one before it did.
fn check_table_grows(
    head: &BlockHead,
    prev: Option<&BlockHead>,
    at: u64,
    seq: u64,
) -> Result<(), TraceError> {
    match (head.table_before, prev) {
        (Some(t), Some(prev)) if Some(t) < prev.table_before => Err(TraceError::corrupt(
            at,
            format!("block {seq}: table size {t} is below the previous block's"),
        )),
        _ => Ok(()),
    }
}

/// Reads and checks the end block at `at` (its header `head`, raw bytes `raw`): checksum,
/// JSON, nothing after it, and its totals against the `events` the block headers add up to,
/// the header's table size and the limits.
fn read_end<R: Read + Seek>(
    src: &mut R,
    header: &Header,
    head: &BlockHead,
    raw: &[u8],
    at: u64,
    seq: u64,
    events: u64,
) -> Result<End, TraceError> {
    let mut payload = vec![0u8; head.stored_len as usize];
    read_payload_at(src, at, &mut payload, head, seq)?;
    head.verify(header, raw, &payload, at, seq)?;
    let end = parse_end(header, head, &payload).map_err(|m| TraceError::corrupt(at, m))?;
    let after = at + raw.len() as u64 + u64::from(head.stored_len);
    let mut probe = [0u8; 1];
    if src
        .read(&mut probe)
        .map_err(|e| TraceError::new(after, ErrorKind::Io(e)))?
        > 0
    {
        return Err(TraceError::corrupt(after, "bytes after the end block"));
    }
    if end.events != events {
        return Err(TraceError::corrupt(
            at,
            format!(
                "end block declares {} events, the block headers {events}",
                end.events
            ),
        ));
    }
    if let Some(t) = head.table_before.filter(|&t| t != end.slots) {
        return Err(TraceError::corrupt(
            at,
            format!("end block declares {} slots, its header {t}", end.slots),
        ));
    }
    check_declared(&end, at)?;
    Ok(end)
}
