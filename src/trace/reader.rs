//! Streaming trace reader (versions 1 and 2). It holds one block at a time (bounded by
//! `MAX_BLOCK` and `MAX_BLOCK_EVENTS`), checks every length, checksum and field before using
//! it, and reports the file offset of the header or block at fault: bad input gives an
//! error, never a panic, a hang or an unbounded allocation. Opened from a file, it first
//! scans the block headers and the end block ([`super::index`]), so the totals the file
//! declares are checked against the limits before any event is decoded.

use super::block::{
    decode_block_any, parse_head, read_header, BlockHead, BlockInput, Header, Scratch,
};
use super::format::*;
use super::index::{scan, Index};
use super::live::Liveness;
use super::{End, ErrorKind, Meta, TraceError};
use crate::sys::fs::ReadError;
use crate::workload::Event;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// A batch of events and, when the trace has it, each event's pace in cycles.
pub type PacedBatch<'a> = (&'a [Event], Option<&'a [u64]>);

/// Reads a trace's events in order with one block in memory at a time: as an iterator of
/// `Result<Event, TraceError>`, or a block at a time ([`Self::next_batch`]). Every length,
/// checksum and event is checked before use, so a damaged file is a [`TraceError`] naming
/// its byte offset, never a panic. [`TraceReader::open`] reads a file and checks its end
/// block before the first event; [`TraceReader::new`] reads any `Read` (the crate root's
/// documentation has an example).
pub struct TraceReader<R: Read> {
    src: R,
    /// File offset of the next unread byte.
    offset: u64,
    header: Header,
    stored: Vec<u8>,
    scratch: Scratch,
    batch: Vec<Event>,
    pace: Vec<u64>,
    pos: usize,
    block: u64,
    events: u64,
    /// Slot-table size so far, for the density check.
    table: u32,
    end: Option<End>,
    /// What the end block declares, when the file was scanned first.
    declared: Option<End>,
    /// `None` when the user asked to read a malformed trace anyway.
    live: Option<Liveness>,
    /// Set after an error or the end block: the iterator is fused.
    done: bool,
}

impl TraceReader<BufReader<File>> {
    /// Opens a trace file: checks its header, every block header, its end block and the
    /// totals it declares, then reads events from the first block.
    pub fn open(path: &Path) -> Result<Self, TraceError> {
        let (f, index) = Self::open_indexed(path)?;
        let mut r = TraceReader::new(BufReader::with_capacity(1 << 16, f))?;
        r.declared = Some(index.end);
        Ok(r)
    }

    /// The file, positioned at its start, and its index.
    pub fn open_indexed(path: &Path) -> Result<(File, Index), TraceError> {
        let io = |e| TraceError::new(0, ErrorKind::Io(e));
        let open = |e| TraceError::new(0, ErrorKind::Open(e));
        // Only a regular file, checked on the opened file without waiting: a FIFO among the
        // shipped traces blocked `open` for ever (`list workloads` opens each one), and a
        // folder opened fine and failed only on read, as a damaged file ("byte 0: read
        // failed"); it keeps the OS's own words.
        let mut f = crate::sys::fs::open_regular(path)
            .map_err(|e| match e {
                ReadError::NotRegular { kind: "directory" } => {
                    io::Error::from_raw_os_error(libc::EISDIR)
                }
                e => e.into(),
            })
            .map_err(open)?;
        let index = scan(&mut BufReader::with_capacity(1 << 12, &mut f))?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok((f, index))
    }
}

/// Fills `buf` completely; `Truncated(what)` if the input ends first.
pub(crate) fn read_exact_at<R: Read>(
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

/// Fills `buf` with the payload of block `seq` (whose header is at `at`), naming the block
/// when the input ends first: the end block by its role, an events block by its number.
pub(crate) fn read_payload_at<R: Read>(
    src: &mut R,
    at: u64,
    buf: &mut [u8],
    head: &BlockHead,
    seq: u64,
) -> Result<(), TraceError> {
    src.read_exact(buf)
        .map_err(|e| TraceError::new(at, payload_error(e, head.kind == BLOCK_END, seq)))
}

/// What a failed read of block `seq`'s payload means: a cut file (named by the block) or an
/// I/O error.
pub(crate) fn payload_error(e: io::Error, is_end: bool, seq: u64) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::UnexpectedEof if is_end => ErrorKind::Truncated("end block's payload"),
        io::ErrorKind::UnexpectedEof => ErrorKind::TruncatedBlock(seq),
        _ => ErrorKind::Io(e),
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads and checks the header.
    pub fn new(mut src: R) -> Result<Self, TraceError> {
        let header = read_header(&mut src)?;
        Ok(TraceReader {
            src,
            offset: header.len,
            header,
            stored: Vec::new(),
            scratch: Scratch::new()?,
            batch: Vec::new(),
            pace: Vec::new(),
            pos: 0,
            block: 0,
            events: 0,
            table: 0,
            end: None,
            declared: None,
            live: Some(Liveness::default()),
            done: false,
        })
    }

    /// Reads a trace whose events break liveness (frees of dead slots, allocations into
    /// live ones) instead of refusing it: for a user who asked for it explicitly.
    pub fn allow_malformed(mut self, allow: bool) -> Self {
        self.live = if allow {
            None
        } else {
            Some(Liveness::default())
        };
        self
    }

    /// What the header says about the trace (its name, Python version, phases, …).
    pub fn meta(&self) -> &Meta {
        &self.header.meta
    }

    /// Format version of the file (1 or 2).
    pub fn version(&self) -> u16 {
        self.header.version
    }

    /// True when every event carries its pace (`pace`).
    pub fn has_pace(&self) -> bool {
        self.header.flags & FLAG_PACE != 0
    }

    /// The end block, once the whole file was read.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// What the end block declares, known before the events when the file was opened with
    /// [`TraceReader::open`].
    pub fn declared(&self) -> Option<&End> {
        self.declared.as_ref()
    }

    /// Events returned so far.
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// The next block's events not yet returned, or `None` after the end block. The fast
    /// path: a replay copies whole batches instead of matching one `Result` per event.
    pub fn next_batch(&mut self) -> Result<Option<&[Event]>, TraceError> {
        Ok(self.next_batch_paced()?.map(|(e, _)| e))
    }

    /// As [`Self::next_batch`], with the pace of each event (CPU cycles the program ran
    /// since its previous allocator call) when the trace has it.
    pub fn next_batch_paced(&mut self) -> Result<Option<PacedBatch<'_>>, TraceError> {
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
        let pace = self.has_pace().then(|| &self.pace[start..]);
        Ok(Some((&self.batch[start..], pace)))
    }

    /// Reads blocks until one holds events or the end block is reached.
    fn read_block(&mut self) -> Result<(), TraceError> {
        self.batch.clear();
        self.pace.clear();
        self.pos = 0;
        while self.batch.is_empty() {
            let at = self.offset;
            let hlen = self.header.block_header_len();
            let mut raw_head = [0u8; BLOCK_HEADER_V2];
            match self.src.read(&mut raw_head[..1]) {
                Ok(0) => return Err(TraceError::new(at, ErrorKind::NoEnd)),
                Ok(_) => {}
                Err(e) => return Err(TraceError::new(at, ErrorKind::Io(e))),
            }
            read_exact_at(&mut self.src, at, &mut raw_head[1..hlen], "block header")?;
            let head = parse_head(&self.header, &raw_head[..hlen], at, self.block)?;
            self.stored.clear();
            self.stored.resize(head.stored_len as usize, 0);
            read_payload_at(&mut self.src, at, &mut self.stored, &head, self.block)?;
            head.verify(
                &self.header,
                &raw_head[..hlen],
                &self.stored,
                at,
                self.block,
            )?;
            self.offset += hlen as u64 + u64::from(head.stored_len);
            self.block += 1;
            if let Some(t) = head.table_before {
                if t != self.table {
                    return Err(TraceError::corrupt(
                        at,
                        format!(
                            "block {}: starts at table size {t}, the blocks before end at {}",
                            self.block - 1,
                            self.table
                        ),
                    ));
                }
            }
            if head.kind == BLOCK_END {
                return self.read_end(&head, at);
            }
            self.decode(&head, at)?;
        }
        Ok(())
    }

    fn decode(&mut self, head: &BlockHead, at: u64) -> Result<(), TraceError> {
        let what = format!("block {}", self.block - 1);
        let pace = self.has_pace().then_some(&mut self.pace);
        // The liveness check runs inside the decoder (see `SlotSink`); its verdict counts only
        // after the block has decoded and passed the table check, as a separate pass did.
        let mut checking = self.live.as_mut().map(Liveness::checking);
        let block = BlockInput {
            header: &self.header,
            head,
            payload: &self.stored,
            table: self.table,
        };
        let (scratch, out) = (&mut self.scratch, &mut self.batch);
        let table = match &mut checking {
            Some(c) => decode_block_any(block, scratch, out, pace, c),
            None => decode_block_any(block, scratch, out, pace, &mut ()),
        }
        .map_err(|m| TraceError::corrupt(at, format!("{what}: {m}")))?;
        if let Some(d) = &self.declared {
            if table > d.slots {
                return Err(TraceError::corrupt(
                    at,
                    format!(
                        "{what}: slot table reaches {table}, the end block declares {}",
                        d.slots
                    ),
                ));
            }
        }
        if let Some(c) = &checking {
            c.verdict(&self.batch, self.events).map_err(|(n, m)| {
                let m = format!("{what}: event {n} of the trace: {m}");
                TraceError::new(at, ErrorKind::Malformed(m))
            })?;
        }
        self.table = table;
        self.events += u64::from(head.events);
        Ok(())
    }

    fn read_end(&mut self, head: &BlockHead, at: u64) -> Result<(), TraceError> {
        let end = super::block::parse_end(&self.header, head, &self.stored)
            .map_err(|m| TraceError::corrupt(at, m))?;
        if end.events != self.events || end.slots != self.table {
            return Err(TraceError::corrupt(
                at,
                format!(
                    "end block says {} events on {} slots, the blocks hold {} on {}",
                    end.events, end.slots, self.events, self.table
                ),
            ));
        }
        // Nothing may follow the end block: appended bytes are damage or tampering.
        let mut probe = [0u8; 1];
        let after = self.offset;
        loop {
            match self.src.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(TraceError::corrupt(after, "bytes after the end block"));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TraceError::new(after, ErrorKind::Io(e))),
            }
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
