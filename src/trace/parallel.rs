//! Parallel decode (rayon): a version-2 block states the slot-table size it starts from, so
//! its events decode without the blocks before it. A producer thread reads groups of
//! blocks, decodes each group's blocks in parallel and hands them over in file order; the
//! consumer checks what needs order (the chain of table sizes, liveness) as it takes them.
//! Version-1 files, whose blocks depend on the ones before, are read serially.

use super::block::{decode_block_any, Header, Scratch};
use super::index::Index;
use super::live::Liveness;
use super::reader::{PacedBatch, TraceReader};
use super::{End, ErrorKind, Meta, TraceError};
use crate::workload::Event;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};

/// One decoded block.
struct Decoded {
    at: u64,
    seq: u64,
    events: Vec<Event>,
    pace: Vec<u64>,
    table_before: u32,
    table_after: u32,
}

enum Inner {
    Serial(Box<TraceReader<BufReader<File>>>),
    Parallel {
        rx: Receiver<Result<Decoded, TraceError>>,
        current: Option<Decoded>,
        table: u32,
        events: u64,
        live: Option<Liveness>,
        blocks: usize,
        taken: usize,
    },
}

/// Reads a trace file's events in order, decoding its blocks on every core rayon has.
pub struct ParallelReader {
    header: Header,
    end: End,
    inner: Inner,
}

fn decode_one(
    header: &Header,
    index: &Index,
    k: usize,
    bytes: &[u8],
    base: u64,
) -> Result<Decoded, TraceError> {
    let (at, head) = index.blocks[k];
    let hlen = header.block_header_len();
    let start = (at - base) as usize;
    let raw_head = &bytes[start..start + hlen];
    let payload = &bytes[start + hlen..start + hlen + head.stored_len as usize];
    head.verify(header, raw_head, payload, at, k as u64)?;
    let table_before = head.table_before.unwrap_or(0);
    let mut scratch = Scratch::new()?;
    let (mut events, mut pace) = (Vec::new(), Vec::new());
    let paced = header.flags & super::format::FLAG_PACE != 0;
    let table_after = decode_block_any(
        header,
        &head,
        payload,
        table_before,
        &mut scratch,
        &mut events,
        paced.then_some(&mut pace),
    )
    .map_err(|m| TraceError::corrupt(at, format!("block {k}: {m}")))?;
    Ok(Decoded {
        at,
        seq: k as u64,
        events,
        pace,
        table_before,
        table_after,
    })
}

/// The producer: groups of blocks read with one `read`, decoded in parallel, sent in order.
fn produce(
    mut f: File,
    index: Index,
    pool: Option<rayon::ThreadPool>,
    tx: std::sync::mpsc::SyncSender<Result<Decoded, TraceError>>,
) {
    let threads = pool
        .as_ref()
        .map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    let group = 2 * threads.max(1);
    let hlen = index.header.block_header_len() as u64;
    for first in (0..index.blocks.len()).step_by(group) {
        let last = (first + group).min(index.blocks.len());
        let base = index.blocks[first].0;
        let (lat, lhead) = index.blocks[last - 1];
        let len = (lat + hlen + u64::from(lhead.stored_len) - base) as usize;
        let mut bytes = vec![0u8; len];
        if let Err(e) = f
            .seek(SeekFrom::Start(base))
            .and_then(|_| f.read_exact(&mut bytes))
        {
            let _ = tx.send(Err(TraceError::new(base, ErrorKind::Io(e))));
            return;
        }
        let work = || -> Vec<_> {
            (first..last)
                .into_par_iter()
                .map(|k| decode_one(&index.header, &index, k, &bytes, base))
                .collect()
        };
        let decoded = match &pool {
            Some(p) => p.install(work),
            None => work(),
        };
        for d in decoded {
            let failed = d.is_err();
            if tx.send(d).is_err() || failed {
                return;
            }
        }
    }
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
        let pool = match threads {
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| TraceError::new(0, ErrorKind::Io(std::io::Error::other(e))))?,
            ),
            None => None,
        };
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
        let blocks = index.blocks.len();
        let (tx, rx) = sync_channel(2 * rayon::current_num_threads().max(1));
        std::thread::spawn(move || produce(f, index, pool, tx));
        Ok(ParallelReader {
            header,
            end,
            inner: Inner::Parallel {
                rx,
                current: None,
                table: 0,
                events: 0,
                live: (!allow_malformed).then(Liveness::default),
                blocks,
                taken: 0,
            },
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
            Inner::Parallel {
                rx,
                current,
                table,
                events,
                live,
                blocks,
                taken,
            } => {
                if *taken == *blocks {
                    return Ok(None);
                }
                let d = match rx.recv() {
                    Ok(d) => d?,
                    Err(_) => return Err(TraceError::corrupt(0, "the decoding thread stopped")),
                };
                *taken += 1;
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
                    l.check(&d.events, *events).map_err(|(n, m)| {
                        TraceError::corrupt(
                            d.at,
                            format!("block {}: event {n} of the trace: {m}", d.seq),
                        )
                    })?;
                }
                *table = d.table_after;
                *events += d.events.len() as u64;
                if *taken == *blocks && (*table != self.end.slots || *events != self.end.events) {
                    return Err(TraceError::corrupt(
                        d.at,
                        format!(
                            "end block says {} events on {} slots, the blocks hold {events} on {table}",
                            self.end.events, self.end.slots
                        ),
                    ));
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
