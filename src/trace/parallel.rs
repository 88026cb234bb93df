//! Parallel decode (rayon): a version-2 block states the slot-table size it starts from, so
//! its events decode without the blocks before it. [`ParallelReader`]'s threads decode block
//! after block (`pipeline`) and the reader takes them in file order, checking what
//! needs order (the chain of table sizes, liveness) as it takes them — liveness from each
//! block's summary, made by the thread that decoded it. [`GroupDecoder`] decodes group by
//! group in its caller's thread (the streaming replay's read-ahead). Version-1 files, whose
//! blocks depend on the ones before, are read serially.

use super::block::{decode_block_any, BlockInput, Header, Scratch};
use super::index::Index;
use super::live::{BlockSummary, Liveness, Summarizing, SummaryScratch};
use super::pipeline::{Decoded, Pipeline};
use super::reader::{PacedBatch, TraceReader};
use super::{End, ErrorKind, Meta, TraceError};
use crate::workload::Event;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

enum Inner {
    Serial(Box<TraceReader<BufReader<File>>>),
    Parallel(Box<InOrder>),
}

/// The parallel reader's state: its decoding threads and the order-dependent checks.
struct InOrder {
    pipe: Pipeline,
    /// The block handed out last (its buffers go back when the next is taken).
    current: Option<Decoded>,
    table: u32,
    events: u64,
    live: Option<Liveness>,
    /// Whether blocks arrive with their liveness summaries.
    summaries: bool,
    /// File offset of the end block, where a file without events blocks is faulted.
    end_at: u64,
}

/// Reads a trace file's events in order, decoding its blocks on as many threads as rayon has
/// (at most `MAX_GROUP_THREADS`).
pub struct ParallelReader {
    header: Header,
    end: End,
    inner: Inner,
}

/// One block's decode slot, reused group after group: its buffers and its zstd context are
/// allocated once, so decoding a file of any length allocates nothing after the first group
/// (a streaming replay's read-ahead re-reads a file pass after pass inside a process whose
/// heap never frees, [`crate::harness::heap`]).
pub struct BlockOut {
    /// File offset and sequence number of the block.
    pub at: u64,
    pub seq: u64,
    pub events: Vec<Event>,
    pub pace: Vec<u64>,
    pub table_before: u32,
    pub table_after: u32,
    /// The block's liveness summary, when the decoder makes them.
    pub live: BlockSummary,
    live_scratch: SummaryScratch,
    scratch: Option<Scratch>,
    /// Set when the block failed (kept here, not collected, so a group allocates nothing).
    error: Option<TraceError>,
}

impl BlockOut {
    pub(super) fn new() -> Self {
        BlockOut {
            at: 0,
            seq: 0,
            events: Vec::new(),
            pace: Vec::new(),
            table_before: 0,
            table_after: 0,
            live: BlockSummary::default(),
            live_scratch: SummaryScratch::default(),
            scratch: None,
            error: None,
        }
    }
}

impl BlockOut {
    /// Swaps this block's decoding scratch (zstd context, liveness bitsets) with `other`'s:
    /// a decoding thread lends its own to each buffer set it decodes into and takes it back.
    pub(super) fn lend_scratch(&mut self, other: &mut BlockOut) {
        std::mem::swap(&mut self.scratch, &mut other.scratch);
        std::mem::swap(&mut self.live_scratch, &mut other.live_scratch);
    }
}

/// Decodes block `k`, whose bytes start at `base` in `bytes`, into `out`.
pub(super) fn decode_into(
    header: &Header,
    index: &Index,
    k: usize,
    bytes: &[u8],
    base: u64,
    out: &mut BlockOut,
    summaries: bool,
) -> Result<(), TraceError> {
    let (at, head) = index.blocks[k];
    let hlen = header.block_header_len();
    let start = (at - base) as usize;
    let raw_head = &bytes[start..start + hlen];
    let payload = &bytes[start + hlen..start + hlen + head.stored_len as usize];
    head.verify(header, raw_head, payload, at, k as u64)?;
    let table_before = head.table_before.unwrap_or(0);
    if out.scratch.is_none() {
        out.scratch = Some(Scratch::new()?);
    }
    let scratch = out.scratch.as_mut().expect("set above");
    out.events.clear();
    out.pace.clear();
    let paced = header.flags & super::format::FLAG_PACE != 0;
    let pace = paced.then_some(&mut out.pace);
    // The block's liveness summary is worked out inside the decoder (see `SlotSink`).
    let block = BlockInput {
        header,
        head: &head,
        payload,
        table: table_before,
    };
    let decoded = if summaries {
        let mut sink = Summarizing::new(&mut out.live_scratch, &mut out.live);
        let d = decode_block_any(block, scratch, &mut out.events, pace, &mut sink);
        sink.finish();
        d
    } else {
        decode_block_any(block, scratch, &mut out.events, pace, &mut ())
    };
    let table_after = decoded.map_err(|m| TraceError::corrupt(at, format!("block {k}: {m}")))?;
    out.at = at;
    out.seq = k as u64;
    out.table_before = table_before;
    out.table_after = table_after;
    Ok(())
}

/// Most threads one group of blocks is spread over, and a parallel reader's default: bounds
/// a reader's memory (twice this many blocks of at most 2^20 events in flight) whatever the
/// machine's core count.
const MAX_GROUP_THREADS: usize = 8;

/// A version-2 file decoded group by group in the calling thread: each group's blocks are
/// read with one `read` and decoded in parallel on rayon's threads, then returned in file
/// order. Order-dependent checks (the chain of table sizes, liveness) are the caller's.
pub struct GroupDecoder {
    file: File,
    index: Index,
    bytes: Vec<u8>,
    slots: Vec<BlockOut>,
    pool: Option<Arc<rayon::ThreadPool>>,
    group: usize,
    /// Whether each block's liveness summary is made as it is decoded.
    summaries: bool,
}

impl GroupDecoder {
    /// `pool`: decode on its threads instead of rayon's global pool.
    pub fn new(file: File, index: Index, pool: Option<rayon::ThreadPool>) -> Self {
        let pool = pool.map(Arc::new);
        let threads = pool
            .as_ref()
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
        let group = 2 * threads.clamp(1, MAX_GROUP_THREADS);
        GroupDecoder {
            file,
            index,
            bytes: Vec::new(),
            slots: (0..group).map(|_| BlockOut::new()).collect(),
            pool,
            group,
            summaries: false,
        }
    }

    /// Also summarise each block's effect on liveness as it is decoded ([`BlockOut::live`]),
    /// so the reader's in-order check costs per slot a block touches, not per event.
    pub fn with_liveness_summaries(mut self) -> Self {
        self.summaries = true;
        self
    }

    /// Opens and scans a version-2 trace; `None` for a version-1 file (its blocks depend on
    /// the ones before and decode serially).
    pub fn open(path: &Path, threads: Option<usize>) -> Result<Option<Self>, TraceError> {
        let (f, index) = TraceReader::open_indexed(path)?;
        if index.header.version < 2 {
            return Ok(None);
        }
        Ok(Some(Self::new(f, index, pool_of(threads)?)))
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Groups in the file.
    pub fn groups(&self) -> usize {
        self.index.blocks.len().div_ceil(self.group)
    }

    /// Runs `f` (which owns this decoder) on a thread of the decoder's pool. Decoding from
    /// a worker of the pool runs part of each group on that very thread and hands nothing
    /// to another to wait for: under load every hand-off costs a scheduler wake-up (several
    /// ms at load 12), which made a reader thread outside the pool slower than serial.
    /// The worker stays busy until `f` returns.
    pub fn spawn(self, f: impl FnOnce(Self) + Send + 'static) {
        match self.pool.clone() {
            Some(p) => p.spawn(move || f(self)),
            None => rayon::spawn(move || f(self)),
        }
    }

    /// Block `i` of the group decoded last.
    pub fn decoded(&self, i: usize) -> &BlockOut {
        &self.slots[i]
    }

    /// Reads and decodes group `g`; returns its blocks in file order.
    pub fn decode(&mut self, g: usize) -> Result<&mut [BlockOut], TraceError> {
        let first = g * self.group;
        let last = (first + self.group).min(self.index.blocks.len());
        if first >= last {
            return Ok(&mut []);
        }
        let hlen = self.index.header.block_header_len() as u64;
        let base = self.index.blocks[first].0;
        let (lat, lhead) = self.index.blocks[last - 1];
        let len = (lat + hlen + u64::from(lhead.stored_len) - base) as usize;
        self.bytes.resize(len, 0);
        self.file
            .seek(SeekFrom::Start(base))
            .and_then(|_| self.file.read_exact(&mut self.bytes))
            .map_err(|e| TraceError::new(base, ErrorKind::Io(e)))?;
        let (index, bytes, summaries) = (&self.index, &self.bytes[..], self.summaries);
        let slots = &mut self.slots[..last - first];
        let mut work = || {
            slots.par_iter_mut().enumerate().for_each(|(i, out)| {
                out.error =
                    decode_into(&index.header, index, first + i, bytes, base, out, summaries).err();
            })
        };
        match &self.pool {
            Some(p) => p.install(work),
            None => work(),
        }
        let slots = &mut self.slots[..last - first];
        if let Some(e) = slots.iter_mut().find_map(|s| s.error.take()) {
            return Err(e);
        }
        Ok(slots)
    }
}

/// A pool of `n` threads of its own, or rayon's global pool (`None`).
fn pool_of(threads: Option<usize>) -> Result<Option<rayon::ThreadPool>, TraceError> {
    threads
        .map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| TraceError::new(0, ErrorKind::Io(std::io::Error::other(e))))
        })
        .transpose()
}

impl ParallelReader {
    /// Opens and scans a trace; `allow_malformed` skips the liveness check.
    pub fn open(path: &Path, allow_malformed: bool) -> Result<Self, TraceError> {
        Self::open_with_threads(path, allow_malformed, None)
    }

    /// As [`Self::open`], decoding on `threads` threads of a pool of its own (for the
    /// benchmark of one core against two) instead of rayon's global pool.
    pub fn open_with_threads(
        path: &Path,
        allow_malformed: bool,
        threads: Option<usize>,
    ) -> Result<Self, TraceError> {
        let (f, index) = TraceReader::open_indexed(path)?;
        let (header, end) = (index.header.clone(), index.end.clone());
        if header.version < 2 {
            let r = TraceReader::open(path)?.allow_malformed(allow_malformed);
            return Ok(ParallelReader {
                header,
                end,
                inner: Inner::Serial(Box::new(r)),
            });
        }
        // By default as many threads as rayon's pool, at most `MAX_GROUP_THREADS` (each
        // keeps two blocks of up to 2^20 events in flight).
        let threads = threads
            .unwrap_or_else(|| rayon::current_num_threads().min(MAX_GROUP_THREADS))
            .max(1);
        // With one decoding thread the summaries only add work: the reader checks events
        // on its own core while that thread decodes.
        let summaries = !allow_malformed && threads > 1;
        let end_at = index.end_at;
        let pipe = Pipeline::start(f, index, threads, summaries)?;
        Ok(ParallelReader {
            header,
            end,
            inner: Inner::Parallel(Box::new(InOrder {
                pipe,
                current: None,
                table: 0,
                events: 0,
                live: (!allow_malformed).then(Liveness::default),
                summaries,
                end_at,
            })),
        })
    }

    pub fn meta(&self) -> &Meta {
        &self.header.meta
    }

    /// The end block (read by the scan before any event).
    pub fn end(&self) -> &End {
        &self.end
    }

    pub fn has_pace(&self) -> bool {
        self.header.flags & super::format::FLAG_PACE != 0
    }

    /// The next block's events (and their pace, if the trace has it), in file order.
    pub fn next_batch_paced(&mut self) -> Result<Option<PacedBatch<'_>>, TraceError> {
        let paced = self.has_pace();
        match &mut self.inner {
            Inner::Serial(r) => r.next_batch_paced(),
            Inner::Parallel(state) => {
                let InOrder {
                    pipe,
                    current,
                    table,
                    events,
                    live,
                    summaries,
                    end_at,
                } = &mut **state;
                let totals = |at: u64, table: u32, events: u64| {
                    if table == self.end.slots && events == self.end.events {
                        return Ok(());
                    }
                    Err(TraceError::corrupt(
                        at,
                        format!(
                            "end block says {} events on {} slots, the blocks hold {events} on {table}",
                            self.end.events, self.end.slots
                        ),
                    ))
                };
                let Some(d) = pipe.next_block() else {
                    // Also where there was no events block at all, so no last one to check
                    // the totals at: an end block saying `slots: 1000` over nothing was
                    // taken as 1000 slots (the serial reader refuses it).
                    totals(*end_at, *table, *events)?;
                    return Ok(None);
                };
                let d = d?;
                let last = pipe.is_done();
                if d.table_before != *table {
                    return Err(TraceError::corrupt(
                        d.at,
                        format!(
                            "block {}: starts at table size {}, the blocks before end at {table}",
                            d.seq, d.table_before
                        ),
                    ));
                }
                if let Some(l) = live {
                    let verdict = if *summaries {
                        l.apply_summary(&d.live, &d.events, *events)
                    } else {
                        l.check(&d.events, *events)
                    };
                    verdict.map_err(|(n, m)| {
                        let m = format!("block {}: event {n} of the trace: {m}", d.seq);
                        TraceError::new(d.at, ErrorKind::Malformed(m))
                    })?;
                }
                *table = d.table_after;
                *events += d.events.len() as u64;
                if last {
                    // Named at the end block, which is what disagrees, as the serial
                    // reader names it (this block's offset sent readers to the wrong place).
                    totals(*end_at, *table, *events)?;
                }
                if let Some(old) = current.take() {
                    pipe.give_back(old);
                }
                let d = current.insert(d);
                Ok(Some((&d.events, paced.then_some(&d.pace[..]))))
            }
        }
    }

    pub fn next_batch(&mut self) -> Result<Option<&[Event]>, TraceError> {
        Ok(self.next_batch_paced()?.map(|(e, _)| e))
    }
}
