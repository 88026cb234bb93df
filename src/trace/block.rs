//! The pieces every trace reader shares (the streaming [`super::TraceReader`], the scan of
//! [`super::index`] and the parallel decode): the header, a block's header and checksum, and
//! the decoding of one block's payload whatever the version.

use super::columns;
use super::format::*;
use super::live::SlotSink;
use super::reader::read_exact_at;
use super::{End, ErrorKind, Meta, TraceError};
use crate::workload::Event;
use std::io::Read;

/// A checked file header.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u16,
    pub flags: u16,
    /// Version 2: the identity every block's checksum binds (0 in version 1).
    pub file_id: u64,
    pub meta: Meta,
    /// Bytes of the header: the first block's offset.
    pub len: u64,
}

impl Header {
    /// Bytes of a block header in this file's version.
    pub fn block_header_len(&self) -> usize {
        if self.version >= 2 {
            BLOCK_HEADER_V2
        } else {
            BLOCK_HEADER
        }
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads into `buf` until it is full or the input ends; how many bytes it got.
fn read_up_to<R: Read>(src: &mut R, buf: &mut [u8]) -> Result<usize, TraceError> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TraceError::new(0, ErrorKind::Io(e))),
        }
    }
    Ok(got)
}

/// Reads and checks a header: magic, version, flags, metadata length and JSON, CRC.
pub fn read_header<R: Read>(src: &mut R) -> Result<Header, TraceError> {
    let mut fixed = [0u8; 24];
    // Judged on what is there: a text file shorter than the magic is no trace, not a trace
    // cut "inside the header", and an empty file is said to be empty.
    let got = read_up_to(src, &mut fixed[..8])?;
    if got == 0 {
        return Err(TraceError::new(0, ErrorKind::Empty));
    }
    if fixed[..got] != MAGIC[..got] {
        return Err(TraceError::new(0, ErrorKind::BadMagic));
    }
    if got < MAGIC.len() {
        return Err(TraceError::new(0, ErrorKind::Truncated("header")));
    }
    read_exact_at(src, 8, &mut fixed[8..16], "header")?;
    let version = u16::from_le_bytes([fixed[8], fixed[9]]);
    if version == 0 {
        // No pybench wrote a version 0: "newer than this pybench reads" would send the user
        // looking for an upgrade that cannot read it either.
        return Err(TraceError::corrupt(8, "format version 0 does not exist"));
    }
    if version > VERSION {
        return Err(TraceError::new(8, ErrorKind::FutureVersion(version)));
    }
    let flags = u16::from_le_bytes([fixed[10], fixed[11]]);
    let known = if version >= 2 { KNOWN_FLAGS } else { 0 };
    if flags & !known != 0 {
        return Err(TraceError::corrupt(
            10,
            format!("unknown header flags {flags:#06x} (this pybench knows {known:#06x})"),
        ));
    }
    let meta_len = le32(&fixed[12..16]);
    if meta_len > MAX_META {
        return Err(TraceError::corrupt(
            12,
            format!("metadata length {meta_len} exceeds {MAX_META}"),
        ));
    }
    let fixed_len = if version >= 2 { 24 } else { 16 };
    read_exact_at(src, 16, &mut fixed[16..fixed_len], "header")?;
    let file_id = u64::from_le_bytes(fixed[16..24].try_into().unwrap_or_default());
    let mut json = vec![0u8; meta_len as usize];
    read_exact_at(src, fixed_len as u64, &mut json, "header")?;
    let mut c = [0u8; 4];
    let crc_at = fixed_len as u64 + u64::from(meta_len);
    read_exact_at(src, crc_at, &mut c, "header")?;
    if crc(&[&fixed[..fixed_len], &json]) != u32::from_le_bytes(c) {
        return Err(TraceError::new(
            crc_at,
            ErrorKind::Checksum("header".into()),
        ));
    }
    let meta: Meta = serde_json::from_slice(&json).map_err(|e| {
        TraceError::corrupt(fixed_len as u64, format!("metadata is not valid JSON: {e}"))
    })?;
    Ok(Header {
        version,
        flags,
        file_id,
        meta,
        len: crc_at + 4,
    })
}

/// A block header whose fields are within the stated limits.
#[derive(Debug, Clone, Copy)]
pub struct BlockHead {
    pub kind: u8,
    pub events: u32,
    pub raw_len: u32,
    pub stored_len: u32,
    /// Version 2: the slot-table size before the block's first event.
    pub table_before: Option<u32>,
    pub crc: u32,
}

/// Parses block `seq`'s header (at file offset `at`) and checks its limits.
pub fn parse_head(h: &Header, b: &[u8], at: u64, seq: u64) -> Result<BlockHead, TraceError> {
    let v2 = h.version >= 2;
    let head = BlockHead {
        kind: b[0],
        events: le32(&b[1..5]),
        raw_len: le32(&b[5..9]),
        stored_len: le32(&b[9..13]),
        table_before: v2.then(|| le32(&b[13..17])),
        crc: le32(if v2 { &b[17..21] } else { &b[13..17] }),
    };
    let what = format!("block {seq}");
    let fail = |m: String| Err(TraceError::corrupt(at, format!("{what}: {m}")));
    if head.kind != BLOCK_EVENTS && head.kind != BLOCK_END {
        return fail(format!("unknown kind {}", head.kind));
    }
    if head.raw_len > MAX_BLOCK || head.stored_len > MAX_BLOCK {
        return fail(format!(
            "length {}/{} exceeds {MAX_BLOCK}",
            head.raw_len, head.stored_len
        ));
    }
    if head.events > head.raw_len || head.events > MAX_BLOCK_EVENTS {
        return fail(format!(
            "{} events in {} bytes (at most one a byte and {MAX_BLOCK_EVENTS} a block)",
            head.events, head.raw_len
        ));
    }
    if head.kind == BLOCK_END && head.events != 0 {
        return fail("an end block with events".into());
    }
    Ok(head)
}

impl BlockHead {
    /// Checks the block's CRC. Version 2's also covers the file id and the block's position,
    /// so a block that was moved, duplicated or taken from another file fails here.
    pub fn verify(
        &self,
        h: &Header,
        raw_head: &[u8],
        payload: &[u8],
        at: u64,
        seq: u64,
    ) -> Result<(), TraceError> {
        let c = if h.version >= 2 {
            crc(&[&block_binding(h.file_id, seq), &raw_head[..17], payload])
        } else {
            crc(&[&raw_head[..13], payload])
        };
        if c == self.crc {
            return Ok(());
        }
        let what = if h.version >= 2 {
            format!("block {seq} (damaged, or a block from another position or another file)")
        } else {
            format!("block {seq}")
        };
        Err(TraceError::new(at, ErrorKind::Checksum(what)))
    }
}

/// Buffers reused from block to block by one decoding thread.
pub struct Scratch {
    raw: Vec<u8>,
    cols: [Vec<u8>; COLUMNS],
    order: columns::AllocOrder,
    zstd: zstd::bulk::Decompressor<'static>,
}

impl Scratch {
    pub fn new() -> Result<Self, TraceError> {
        Ok(Scratch {
            raw: Vec::new(),
            cols: Default::default(),
            order: Default::default(),
            zstd: zstd::bulk::Decompressor::new()
                .map_err(|e| TraceError::new(0, ErrorKind::Io(e)))?,
        })
    }
}

/// Reads the end block's JSON from its (checksummed) payload: one zstd frame of `raw_len`
/// bytes when the file has [`FLAG_END_ZSTD`], else the JSON itself.
pub fn parse_end(h: &Header, head: &BlockHead, payload: &[u8]) -> Result<End, String> {
    let json = if h.flags & FLAG_END_ZSTD != 0 {
        let mut json = Vec::with_capacity(head.raw_len as usize);
        let n = zstd::bulk::Decompressor::new()
            .and_then(|mut z| z.decompress_to_buffer(payload, &mut json))
            .map_err(|e| format!("end block: zstd: {e}"))?;
        if n != head.raw_len as usize {
            return Err(format!(
                "end block decompressed to {n} bytes, its header says {}",
                head.raw_len
            ));
        }
        std::borrow::Cow::Owned(json)
    } else {
        std::borrow::Cow::Borrowed(payload)
    };
    serde_json::from_slice(&json).map_err(|e| format!("end block is not valid JSON: {e}"))
}

/// One events block as [`decode_block_any`] takes it: its payload (already checksummed), the
/// header it was read with, and the slot-table size before it.
#[derive(Clone, Copy)]
pub struct BlockInput<'a> {
    pub header: &'a Header,
    pub head: &'a BlockHead,
    pub payload: &'a [u8],
    pub table: u32,
}

/// Decodes one events block into `out` and `pace`, reporting its allocator events to `live`;
/// returns the slot-table size after it.
pub fn decode_block_any(
    b: BlockInput<'_>,
    s: &mut Scratch,
    out: &mut Vec<Event>,
    pace: Option<&mut Vec<u64>>,
    live: &mut impl SlotSink,
) -> Result<u32, String> {
    let BlockInput {
        header: h,
        head,
        payload,
        table,
    } = b;
    if h.version >= 2 {
        columns::unpack(payload, head.raw_len, &mut s.cols, &mut s.zstd)?;
        s.order.refs = h.flags & FLAG_ORDER != 0;
        return columns::decode_block(&s.cols, head.events, table, out, pace, &mut s.order, live);
    }
    s.raw.clear();
    s.raw.reserve(head.raw_len as usize);
    let n = s
        .zstd
        .decompress_to_buffer(payload, &mut s.raw)
        .map_err(|e| format!("zstd: {e}"))?;
    if n != head.raw_len as usize {
        return Err(format!(
            "decompressed to {n} bytes, header says {}",
            head.raw_len
        ));
    }
    let start = out.len();
    let table = super::decode::decode_block(&s.raw, head.events, table, out)?;
    live.touch_all(&out[start..]);
    Ok(table)
}
