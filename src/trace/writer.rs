//! Streaming trace writer: one block of encoded events is buffered, compressed and written
//! when full, so memory stays constant however long the trace.

use super::columns::{pack, BlockEncoder};
use super::format::*;
use super::{End, Meta};
use crate::workload::Event;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Events per version-2 block. 2^18 events are about 1 MiB of columns before compression:
/// on the shipped traces 7 – 10 % smaller files than 2^16 (more context for zstd, fewer
/// resets of the freed-slot stack), and still several blocks per million events for a
/// parallel decode.
pub const BLOCK_TARGET_EVENTS: u32 = 1 << 18;
/// Events per version-1 block.
pub const BLOCK_TARGET_EVENTS_V1: u32 = 1 << 16;
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

/// Writes events as a trace: [`Self::push`] each event, then [`Self::finish`], which writes
/// the end block a reader requires (a file without one reads as an interrupted recording).
/// Memory stays constant: one block is buffered, then compressed and written.
pub struct TraceWriter<W: Write> {
    out: W,
    /// 1 (kept to write fixtures for the readers of old files) or 2.
    version: u16,
    /// Version 2: the file's identity, folded into every block's checksum.
    file_id: u64,
    /// Blocks written so far: the next block's sequence number.
    seq: u64,
    pace: bool,
    /// Whether the end block's JSON is compressed ([`FLAG_END_ZSTD`]).
    end_zstd: bool,
    raw: Vec<u8>,
    stored: Vec<u8>,
    block_events: u32,
    state: DeltaState,
    cols: BlockEncoder,
    events: u64,
    /// Most events this writer takes: [`MAX_EVENTS`], lower only in tests.
    event_limit: u64,
    table: u32,
    compressor: zstd::bulk::Compressor<'static>,
}

/// Refuses the event that would take a trace past `limit` events (`written` so far): a
/// reader refuses a file declaring more than [`MAX_EVENTS`], so a writer that went on would
/// spend hours making a file nothing reads. The limit is a parameter so that the check can
/// be tested without writing 2^40 events. The message is one line.
pub fn check_event_limit(written: u64, limit: u64) -> io::Result<()> {
    if written >= limit {
        return Err(invalid(format!(
            "a trace holds at most {limit} events (the most a reader accepts), and this stream \
             has more"
        )));
    }
    Ok(())
}

/// Why an event cannot be written: the file would not read back.
fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A random 64-bit file identity: std's `RandomState` is seeded from the OS's randomness,
/// and the clock is mixed in so two writers in one process differ too.
fn new_file_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.finish()
}

impl<W: Write> TraceWriter<W> {
    /// Writes a version-2 header and returns a writer for the events (no pace column).
    pub fn new(out: W, meta: &Meta) -> io::Result<Self> {
        Self::with_options(out, meta, VERSION, WRITER_FLAGS)
    }

    /// A version-2 writer whose events carry their pace ([`Self::push_paced`]).
    pub fn with_pace(out: W, meta: &Meta) -> io::Result<Self> {
        Self::with_options(out, meta, VERSION, WRITER_FLAGS | FLAG_PACE)
    }

    /// A version-1 writer: only to make fixtures that test the reading of old files.
    #[doc(hidden)]
    pub fn version1(out: W, meta: &Meta) -> io::Result<Self> {
        Self::with_options(out, meta, 1, 0)
    }

    /// A version-2 writer as pybench wrote before [`FLAG_ORDER`] and [`FLAG_END_ZSTD`]: only
    /// to make fixtures that test the reading of those files.
    #[doc(hidden)]
    pub fn without_order(out: W, meta: &Meta) -> io::Result<Self> {
        Self::with_options(out, meta, VERSION, 0)
    }

    /// `flags` are version 2's header flags (a version-1 file has none).
    fn with_options(mut out: W, meta: &Meta, version: u16, flags: u16) -> io::Result<Self> {
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        if json.len() > MAX_META as usize {
            return Err(invalid(format!(
                "trace metadata is {} bytes (limit {MAX_META})",
                json.len()
            )));
        }
        let file_id = new_file_id();
        let flags = if version >= 2 { flags } else { 0 };
        let pace = flags & FLAG_PACE != 0;
        let mut head = Vec::with_capacity(json.len() + 28);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&version.to_le_bytes());
        head.extend_from_slice(&flags.to_le_bytes());
        head.extend_from_slice(&(json.len() as u32).to_le_bytes());
        if version >= 2 {
            head.extend_from_slice(&file_id.to_le_bytes());
        }
        head.extend_from_slice(&json);
        let c = crc(&[&head]);
        head.extend_from_slice(&c.to_le_bytes());
        out.write_all(&head)?;
        let level = if version >= 2 {
            ZSTD_LEVEL_V2
        } else {
            ZSTD_LEVEL
        };
        Ok(TraceWriter {
            out,
            version,
            file_id,
            seq: 0,
            pace,
            end_zstd: flags & FLAG_END_ZSTD != 0,
            raw: Vec::with_capacity(1 << 19),
            stored: Vec::new(),
            block_events: 0,
            state: DeltaState::default(),
            cols: BlockEncoder::new(flags & FLAG_ORDER != 0),
            events: 0,
            event_limit: MAX_EVENTS,
            table: 0,
            compressor: zstd::bulk::Compressor::new(level)?,
        })
    }

    /// This writer with a lower limit than [`MAX_EVENTS`] on the events it takes, so that
    /// what happens at the limit (the refusal, and the output left behind) can be tested.
    pub(crate) fn with_event_limit(mut self, limit: u64) -> Self {
        self.event_limit = limit.min(MAX_EVENTS);
        self
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Appends one event. Slots must be dense (an allocation names at most the table size so
    /// far, anything else a slot below it), as the reader checks.
    pub fn push(&mut self, e: &Event) -> io::Result<()> {
        self.push_paced(e, 0)
    }

    /// Appends one event with its pace: the CPU cycles the program ran since its previous
    /// allocator call (quantised by [`pace_code`]; ignored without a pace column).
    pub fn push_paced(&mut self, e: &Event, pace: u64) -> io::Result<()> {
        check_event_limit(self.events, self.event_limit)?;
        let (op, domain, thread, slot) = super::columns::event_parts(e, self.state.thread);
        let allocating = op == OP_ALLOC || op == OP_CALLOC;
        self.admit(e, slot, allocating)?;
        if self.version < 2 {
            return self.push_v1(e, op, domain, thread, slot, allocating);
        }
        let pace = self.pace.then(|| pace_code(pace));
        self.cols.push(e, self.table, pace);
        if let Some(s) = slot {
            self.table += u32::from(s == self.table);
        }
        self.events += 1;
        if self.cols.events >= BLOCK_TARGET_EVENTS {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Refuses what the reader would refuse: a slot past the dense table (an allocation may
    /// open the next one, nothing else may name it) or the slot limit, and a calloc whose
    /// bytes exceed [`MAX_REQUEST`]; the error names the event.
    fn admit(&self, e: &Event, slot: Option<u32>, allocating: bool) -> io::Result<()> {
        if let Some(s) = slot {
            if s > self.table || (s == self.table && !allocating) || s >= MAX_SLOTS {
                return Err(invalid(format!(
                    "event {}: slot {s} is out of range (table size {})",
                    self.events, self.table
                )));
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
        Ok(())
    }

    /// [`Self::push_paced`] for a version-1 file: the event as one tag byte (op, domain, a
    /// thread change, how the slot is named) and its varint fields, in one byte stream.
    fn push_v1(
        &mut self,
        e: &Event,
        op: u8,
        domain: u8,
        thread: u16,
        slot: Option<u32>,
        allocating: bool,
    ) -> io::Result<()> {
        let mut tag = op | (domain << 3);
        let new_thread = thread != self.state.thread;
        if new_thread {
            tag |= TAG_THREAD;
        }
        let mut delta = None;
        if let Some(s) = slot {
            let mode;
            (mode, delta) = self.slot_mode_v1(s, op, allocating);
            tag |= mode << 6;
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
        if self.block_events >= BLOCK_TARGET_EVENTS_V1 {
            self.flush_block()?;
        }
        Ok(())
    }

    /// How a version-1 event names `slot` (its tag's mode bits), with the slot delta when the
    /// mode is explicit; moves the table, the freed stack and the previous slot past it. An
    /// allocation's predicted slot is the top of the freed stack, else the next new one.
    fn slot_mode_v1(&mut self, s: u32, op: u8, allocating: bool) -> (u8, Option<i64>) {
        let predicted = allocating.then(|| self.state.freed.pop().unwrap_or(self.table));
        if s == self.table {
            self.table += 1;
        }
        let d = i64::from(s) - i64::from(self.state.slot);
        let mode = match d {
            _ if predicted == Some(s) => SLOT_PREDICTED,
            0 if !allocating => SLOT_SAME,
            1 => SLOT_NEXT,
            -1 => SLOT_PREV,
            _ => SLOT_EXPLICIT,
        };
        self.state.slot = s;
        if op == OP_FREE {
            self.state.freed.push(s);
        }
        (mode, (mode == SLOT_EXPLICIT).then_some(d))
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if self.version >= 2 {
            if self.cols.events > 0 {
                pack(&self.cols.cols, &mut self.compressor, &mut self.stored)?;
                let (events, raw_len) = (self.cols.events, self.cols.raw_len() as u32);
                let table_before = self.cols.table_before;
                self.write_block(BLOCK_EVENTS, events, raw_len, table_before)?;
            }
            self.cols.reset(self.table);
            return Ok(());
        }
        if self.block_events == 0 {
            return Ok(());
        }
        self.stored.clear();
        self.stored
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.stored)?;
        let (events, raw_len) = (self.block_events, self.raw.len() as u32);
        self.write_block(BLOCK_EVENTS, events, raw_len, 0)?;
        self.raw.clear();
        self.block_events = 0;
        self.state.reset();
        Ok(())
    }

    /// Writes `self.stored` as a block. Version 2's checksum also covers the file id and
    /// the block's sequence number (neither stored in the block), so a block moved to
    /// another position or copied from another file fails it.
    fn write_block(
        &mut self,
        kind: u8,
        events: u32,
        raw_len: u32,
        table_before: u32,
    ) -> io::Result<()> {
        let mut head = [0u8; BLOCK_HEADER_V2];
        head[0] = kind;
        head[1..5].copy_from_slice(&events.to_le_bytes());
        head[5..9].copy_from_slice(&raw_len.to_le_bytes());
        head[9..13].copy_from_slice(&(self.stored.len() as u32).to_le_bytes());
        let len = if self.version >= 2 {
            head[13..17].copy_from_slice(&table_before.to_le_bytes());
            let bind = block_binding(self.file_id, self.seq);
            let c = crc(&[&bind, &head[..17], &self.stored]);
            head[17..21].copy_from_slice(&c.to_le_bytes());
            BLOCK_HEADER_V2
        } else {
            let c = crc(&[&head[..13], &self.stored]);
            head[13..17].copy_from_slice(&c.to_le_bytes());
            BLOCK_HEADER
        };
        self.out.write_all(&head[..len])?;
        self.out.write_all(&self.stored)?;
        self.seq += 1;
        Ok(())
    }

    /// Writes the last events and the end block; returns the output.
    pub fn finish(self, counters: BTreeMap<String, u64>) -> io::Result<W> {
        self.finish_with(counters, None)
    }

    /// [`Self::finish`], storing the recorded interpreter's accounting in the end block.
    pub fn finish_with(
        mut self,
        counters: BTreeMap<String, u64>,
        accounting: Option<super::accounting::Accounting>,
    ) -> io::Result<W> {
        self.flush_block()?;
        let end = End {
            events: self.events,
            slots: self.table,
            counters,
            accounting,
        };
        let json = serde_json::to_vec(&end).map_err(io::Error::other)?;
        if json.len() > MAX_BLOCK as usize {
            return Err(invalid(format!(
                "end block is {} bytes (limit {MAX_BLOCK})",
                json.len()
            )));
        }
        self.stored = if self.end_zstd {
            self.compressor.compress(&json)?
        } else {
            json.clone()
        };
        let (raw_len, table) = (json.len() as u32, self.table);
        self.write_block(BLOCK_END, 0, raw_len, table)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An event is taken exactly while fewer than `limit` are written, so a file never
        /// declares more than a reader accepts; the refusal is one line naming the limit.
        #[test]
        fn the_event_limit_refuses_exactly_the_event_past_it(
            limit in prop_oneof![0..64u64, Just(MAX_EVENTS)],
            written in prop_oneof![0..80u64, MAX_EVENTS - 2..=MAX_EVENTS + 2],
        ) {
            let r = check_event_limit(written, limit);
            prop_assert_eq!(r.is_ok(), written < limit);
            if let Err(e) = r {
                let msg = e.to_string();
                let names_limit = msg.contains(&format!("at most {limit} events"));
                prop_assert!(names_limit && !msg.contains('\n'), "{}", msg);
            }
        }
    }

    #[test]
    fn a_writer_at_its_limit_refuses_the_next_event_and_keeps_what_it_has() {
        let meta = Meta::default();
        let mut w = TraceWriter::new(Vec::new(), &meta)
            .unwrap()
            .with_event_limit(3);
        let alloc = |slot| Event::Alloc {
            slot,
            size: 16,
            domain: crate::workload::Domain::Obj,
            thread: 0,
        };
        for slot in 0..3 {
            w.push(&alloc(slot)).unwrap();
        }
        let e = w.push(&alloc(3)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("at most 3 events"), "{e}");
        assert_eq!(w.events(), 3);
        assert_eq!(
            TraceWriter::new(Vec::new(), &meta).unwrap().event_limit,
            MAX_EVENTS
        );
    }
}
