//! Streaming trace writer: one block of encoded events is buffered, compressed and written
//! when full, so memory stays constant however long the trace.

use super::format::*;
use super::{End, Meta};
use crate::workload::Event;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Events per block. 2^16 events encode to roughly 200–300 KiB before compression: large
/// enough for zstd to find the program's repeating patterns, small enough to decode in cache.
pub const BLOCK_TARGET_EVENTS: u32 = 1 << 16;
/// zstd level: 3 is zstd's default, fast enough to keep up with a recording program.
pub const ZSTD_LEVEL: i32 = 3;

/// Per-block state, mirrored by encoder and decoder: the previous event's slot and thread,
/// and a stack of the slots freed in this block. CPython programs (and pybench's converter,
/// which recycles slots LIFO) allocate into the most recently freed slot, so an allocation
/// whose slot is the top of that stack (or the next new slot when it is empty) is one tag
/// byte. Every allocation pops the stack, used or not, so both sides stay in step.
#[derive(Debug, Default, Clone)]
pub struct DeltaState {
    pub slot: u32,
    pub thread: u16,
    pub freed: Vec<u32>,
}

impl DeltaState {
    pub fn reset(&mut self) {
        self.slot = 0;
        self.thread = 0;
        self.freed.clear();
    }
}

pub struct TraceWriter<W: Write> {
    out: W,
    raw: Vec<u8>,
    stored: Vec<u8>,
    block_events: u32,
    state: DeltaState,
    events: u64,
    table: u32,
    compressor: zstd::bulk::Compressor<'static>,
}

/// Why an event cannot be written: the file would not read back.
fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl<W: Write> TraceWriter<W> {
    /// Writes the header and returns a writer for the events.
    pub fn new(mut out: W, meta: &Meta) -> io::Result<Self> {
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        if json.len() > MAX_META as usize {
            return Err(invalid(format!(
                "trace metadata is {} bytes (limit {MAX_META})",
                json.len()
            )));
        }
        let mut head = Vec::with_capacity(json.len() + 20);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes());
        head.extend_from_slice(&(json.len() as u32).to_le_bytes());
        head.extend_from_slice(&json);
        let c = crc(&[&head]);
        head.extend_from_slice(&c.to_le_bytes());
        out.write_all(&head)?;
        Ok(TraceWriter {
            out,
            raw: Vec::with_capacity(1 << 19),
            stored: Vec::new(),
            block_events: 0,
            state: DeltaState::default(),
            events: 0,
            table: 0,
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
        })
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Appends one event. Slots must be dense (an allocation names at most the table size so
    /// far, anything else a slot below it), as the reader checks.
    pub fn push(&mut self, e: &Event) -> io::Result<()> {
        let (op, domain, thread, slot) = match *e {
            Event::Alloc {
                slot,
                domain,
                thread,
                ..
            } => (OP_ALLOC, domain as u8, thread, Some(slot)),
            Event::Calloc {
                slot,
                domain,
                thread,
                ..
            } => (OP_CALLOC, domain as u8, thread, Some(slot)),
            Event::Realloc { slot, thread, .. } => (OP_REALLOC, 0, thread, Some(slot)),
            Event::Free { slot, thread } => (OP_FREE, 0, thread, Some(slot)),
            Event::Phase(_) => (OP_PHASE, 0, self.state.thread, None),
            Event::Gc(_) => (OP_GC, 0, self.state.thread, None),
        };
        let allocating = op == OP_ALLOC || op == OP_CALLOC;
        let mut predicted = None;
        if let Some(s) = slot {
            if s > self.table || (s == self.table && !allocating) || s >= MAX_SLOTS {
                return Err(invalid(format!(
                    "event {}: slot {s} is out of range (table size {})",
                    self.events, self.table
                )));
            }
            if allocating {
                predicted = Some(self.state.freed.pop().unwrap_or(self.table));
            }
            if s == self.table {
                self.table += 1;
            }
        }
        if let Event::Calloc { n, size, .. } = *e {
            if u64::from(n) * u64::from(size) > MAX_REQUEST {
                return Err(invalid(format!(
                    "event {}: calloc({n}, {size}) exceeds {MAX_REQUEST} bytes",
                    self.events
                )));
            }
        }
        let mut tag = op | (domain << 3);
        let new_thread = thread != self.state.thread;
        if new_thread {
            tag |= TAG_THREAD;
        }
        let mut delta = None;
        if let Some(s) = slot {
            let d = i64::from(s) - i64::from(self.state.slot);
            let mode = match d {
                _ if predicted == Some(s) => SLOT_PREDICTED,
                0 if !allocating => SLOT_SAME,
                1 => SLOT_NEXT,
                -1 => SLOT_PREV,
                _ => {
                    delta = Some(d);
                    SLOT_EXPLICIT
                }
            };
            tag |= mode << 6;
            self.state.slot = s;
            if op == OP_FREE {
                self.state.freed.push(s);
            }
        }
        self.raw.push(tag);
        if new_thread {
            put_varint(&mut self.raw, u64::from(thread));
            self.state.thread = thread;
        }
        if let Some(d) = delta {
            put_varint(&mut self.raw, zigzag(d));
        }
        match *e {
            Event::Alloc { size, .. } | Event::Realloc { size, .. } => {
                put_varint(&mut self.raw, u64::from(size))
            }
            Event::Calloc { n, size, .. } => {
                put_varint(&mut self.raw, u64::from(n));
                put_varint(&mut self.raw, u64::from(size));
            }
            Event::Phase(id) => put_varint(&mut self.raw, u64::from(id)),
            Event::Gc(g) => put_varint(&mut self.raw, u64::from(g)),
            Event::Free { .. } => {}
        }
        self.events += 1;
        self.block_events += 1;
        if self.block_events >= BLOCK_TARGET_EVENTS {
            self.flush_block()?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if self.block_events == 0 {
            return Ok(());
        }
        self.stored.clear();
        self.stored
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.stored)?;
        let (events, raw_len) = (self.block_events, self.raw.len() as u32);
        write_block(&mut self.out, BLOCK_EVENTS, events, raw_len, &self.stored)?;
        self.raw.clear();
        self.block_events = 0;
        self.state.reset();
        Ok(())
    }

    /// Writes the last events and the end block; returns the output.
    pub fn finish(mut self, counters: BTreeMap<String, u64>) -> io::Result<W> {
        self.flush_block()?;
        let end = End {
            events: self.events,
            slots: self.table,
            counters,
        };
        let json = serde_json::to_vec(&end).map_err(io::Error::other)?;
        write_block(&mut self.out, BLOCK_END, 0, json.len() as u32, &json)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_block<W: Write>(
    out: &mut W,
    kind: u8,
    events: u32,
    raw_len: u32,
    payload: &[u8],
) -> io::Result<()> {
    let mut head = [0u8; BLOCK_HEADER];
    head[0] = kind;
    head[1..5].copy_from_slice(&events.to_le_bytes());
    head[5..9].copy_from_slice(&raw_len.to_le_bytes());
    head[9..13].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let c = crc(&[&head[..13], payload]);
    head[13..17].copy_from_slice(&c.to_le_bytes());
    out.write_all(&head)?;
    out.write_all(payload)
}
