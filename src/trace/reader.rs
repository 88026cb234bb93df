//! Streaming trace reader. It holds one block at a time (bounded by `MAX_BLOCK`), checks
//! every length, checksum and field before using it, and reports the file offset of the
//! header or block at fault: bad input gives an error, never a panic, a hang or an
//! unbounded allocation.

use super::decode::decode_block;
use super::format::*;
use super::{End, ErrorKind, Meta, TraceError};
use crate::workload::Event;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

pub struct TraceReader<R: Read> {
    src: R,
    /// File offset of the next unread byte.
    offset: u64,
    meta: Meta,
    stored: Vec<u8>,
    raw: Vec<u8>,
    batch: Vec<Event>,
    pos: usize,
    block: u64,
    events: u64,
    /// Slot-table size so far, for the density check.
    table: u32,
    end: Option<End>,
    /// Set after an error or the end block: the iterator is fused.
    done: bool,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl TraceReader<BufReader<File>> {
    /// Opens a trace file and reads its header.
    pub fn open(path: &Path) -> Result<Self, TraceError> {
        let f = File::open(path).map_err(|e| TraceError::new(0, ErrorKind::Io(e)))?;
        TraceReader::new(BufReader::with_capacity(1 << 16, f))
    }
}

/// Fills `buf` completely; `Truncated(what)` if the input ends first.
fn read_exact_at<R: Read>(
    src: &mut R,
    offset: u64,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), TraceError> {
    src.read_exact(buf).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::UnexpectedEof {
            ErrorKind::Truncated(what)
        } else {
            ErrorKind::Io(e)
        };
        TraceError::new(offset, kind)
    })
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl<R: Read> TraceReader<R> {
    /// Reads and checks the header.
    pub fn new(mut src: R) -> Result<Self, TraceError> {
        let mut fixed = [0u8; 16];
        read_exact_at(&mut src, 0, &mut fixed[..8], "header")?;
        if fixed[..8] != MAGIC {
            return Err(TraceError::new(0, ErrorKind::BadMagic));
        }
        read_exact_at(&mut src, 8, &mut fixed[8..], "header")?;
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version > VERSION || version == 0 {
            return Err(TraceError::new(8, ErrorKind::FutureVersion(version)));
        }
        let meta_len = le32(&fixed[12..16]);
        if meta_len > MAX_META {
            return Err(TraceError::corrupt(
                12,
                format!("metadata length {meta_len} exceeds {MAX_META}"),
            ));
        }
        let mut json = vec![0u8; meta_len as usize];
        read_exact_at(&mut src, 16, &mut json, "header")?;
        let mut c = [0u8; 4];
        let crc_at = 16 + u64::from(meta_len);
        read_exact_at(&mut src, crc_at, &mut c, "header")?;
        if crc(&[&fixed, &json]) != u32::from_le_bytes(c) {
            return Err(TraceError::new(
                crc_at,
                ErrorKind::Checksum("header".into()),
            ));
        }
        let meta: Meta = serde_json::from_slice(&json)
            .map_err(|e| TraceError::corrupt(16, format!("metadata is not valid JSON: {e}")))?;
        let decompressor =
            zstd::bulk::Decompressor::new().map_err(|e| TraceError::new(0, ErrorKind::Io(e)))?;
        Ok(TraceReader {
            src,
            offset: crc_at + 4,
            meta,
            stored: Vec::new(),
            raw: Vec::new(),
            batch: Vec::new(),
            pos: 0,
            block: 0,
            events: 0,
            table: 0,
            end: None,
            done: false,
            decompressor,
        })
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The end block, once the whole file was read.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// Events returned so far.
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// The next block's events not yet returned, or `None` after the end block. The fast
    /// path: a replay copies whole batches instead of matching one `Result` per event.
    pub fn next_batch(&mut self) -> Result<Option<&[Event]>, TraceError> {
        if self.pos >= self.batch.len() {
            if self.done {
                return Ok(None);
            }
            if let Err(e) = self.read_block() {
                self.done = true;
                return Err(e);
            }
            if self.batch.is_empty() {
                return Ok(None);
            }
        }
        let start = self.pos;
        self.pos = self.batch.len();
        Ok(Some(&self.batch[start..]))
    }

    /// Reads blocks until one holds events or the end block is reached.
    fn read_block(&mut self) -> Result<(), TraceError> {
        self.batch.clear();
        self.pos = 0;
        while self.batch.is_empty() {
            let at = self.offset;
            let mut head = [0u8; BLOCK_HEADER];
            match self.src.read(&mut head[..1]) {
                Ok(0) => return Err(TraceError::new(at, ErrorKind::NoEnd)),
                Ok(_) => {}
                Err(e) => return Err(TraceError::new(at, ErrorKind::Io(e))),
            }
            read_exact_at(&mut self.src, at, &mut head[1..], "block header")?;
            let (kind, events) = (head[0], le32(&head[1..5]));
            let (raw_len, stored_len) = (le32(&head[5..9]), le32(&head[9..13]));
            let what = format!("block {}", self.block);
            if kind != BLOCK_EVENTS && kind != BLOCK_END {
                return Err(TraceError::corrupt(
                    at,
                    format!("{what}: unknown kind {kind}"),
                ));
            }
            if raw_len > MAX_BLOCK || stored_len > MAX_BLOCK {
                return Err(TraceError::corrupt(
                    at,
                    format!("{what}: length {raw_len}/{stored_len} exceeds {MAX_BLOCK}"),
                ));
            }
            if events > raw_len {
                return Err(TraceError::corrupt(
                    at,
                    format!("{what}: {events} events cannot fit in {raw_len} bytes"),
                ));
            }
            self.stored.clear();
            self.stored.resize(stored_len as usize, 0);
            read_exact_at(&mut self.src, at, &mut self.stored, "block payload")?;
            if crc(&[&head[..13], &self.stored]) != le32(&head[13..]) {
                return Err(TraceError::new(at, ErrorKind::Checksum(what)));
            }
            self.offset += BLOCK_HEADER as u64 + u64::from(stored_len);
            self.block += 1;
            if kind == BLOCK_END {
                return self.read_end(at);
            }
            self.raw.clear();
            self.raw.reserve(raw_len as usize);
            let n = self
                .decompressor
                .decompress_to_buffer(&self.stored[..], &mut self.raw)
                .map_err(|e| TraceError::corrupt(at, format!("{what}: zstd: {e}")))?;
            if n != raw_len as usize {
                return Err(TraceError::corrupt(
                    at,
                    format!("{what}: decompressed to {n} bytes, header says {raw_len}"),
                ));
            }
            self.table = decode_block(&self.raw, events, self.table, &mut self.batch)
                .map_err(|m| TraceError::corrupt(at, format!("{what}: {m}")))?;
            self.events += u64::from(events);
        }
        Ok(())
    }

    fn read_end(&mut self, at: u64) -> Result<(), TraceError> {
        let end: End = serde_json::from_slice(&self.stored)
            .map_err(|e| TraceError::corrupt(at, format!("end block is not valid JSON: {e}")))?;
        if end.events != self.events || end.slots != self.table {
            return Err(TraceError::corrupt(
                at,
                format!(
                    "end block says {} events on {} slots, the blocks hold {} on {}",
                    end.events, end.slots, self.events, self.table
                ),
            ));
        }
        self.end = Some(end);
        self.done = true;
        Ok(())
    }
}

impl<R: Read> Iterator for TraceReader<R> {
    type Item = Result<Event, TraceError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos < self.batch.len() {
            let e = self.batch[self.pos];
            self.pos += 1;
            return Some(Ok(e));
        }
        if self.done {
            return None;
        }
        match self.read_block() {
            Ok(()) if self.batch.is_empty() => None,
            Ok(()) => {
                self.pos = 1;
                Some(Ok(self.batch[0]))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<R: Read> crate::workload::EventSource for TraceReader<R> {
    fn next_events(&mut self) -> anyhow::Result<Option<&[Event]>> {
        Ok(self.next_batch()?)
    }
}
