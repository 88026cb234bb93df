//! The read-ahead side of a [`super::feed::Feed`]: decodes the trace, guards liveness,
//! compiles records and fills the ring's chunks, one pass per start signal.
//!
//! **The gate.** The read-ahead fills the whole ring, tells the replay the batch is complete,
//! and then waits, idle, until the replay has given back every buffer before it decodes
//! again; the replay, for its part, takes no chunk of a batch before the batch is complete.
//! So decoding and replaying never run at the same time. Why: with the two overlapped (one
//! core decoding while the other replays) a streamed 10^8-event replay measured 20 % slower
//! than the same trace materialised (README "Streaming replay"), although no wait was ever
//! timed — the decoder's writes and reads compete with the replay for the shared cache and
//! memory bandwidth, and the replay reads chunks just written by another core. Gated, the
//! replay runs alone, as a materialised one does, and the decoder gets every core while it
//! runs. The price is wall time: a pass costs its decode plus its replay instead of the
//! longer of the two.

use super::compact::Compiler;
use super::feed::{Chunk, Msg, CHUNK};
use crate::trace::live::{Liveness, Repairer};
use crate::trace::parallel::GroupDecoder;
use crate::trace::TraceReader;
use crate::workload::Event;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

/// Where the read-ahead thread's events come from: a version-2 file decoded group by
/// group in parallel, or a version-1 file read serially (re-opened every pass).
pub(super) enum Reader {
    Groups {
        dec: Box<GroupDecoder>,
        group: usize,
        block: usize,
        blocks: usize,
        table: u32,
    },
    Serial {
        path: PathBuf,
        allow_malformed: bool,
        r: Option<Box<TraceReader<std::io::BufReader<std::fs::File>>>>,
    },
}

impl Reader {
    pub(super) fn rewind(&mut self) -> Result<(), String> {
        match self {
            Reader::Groups {
                group,
                block,
                blocks,
                table,
                ..
            } => {
                (*group, *block, *blocks, *table) = (0, 0, 0, 0);
            }
            Reader::Serial {
                path,
                allow_malformed,
                r,
            } => {
                let opened = TraceReader::open(path).map_err(|e| e.to_string())?;
                *r = Some(Box::new(opened.allow_malformed(*allow_malformed)));
            }
        }
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<&[Event]>, String> {
        match self {
            Reader::Groups {
                dec,
                group,
                block,
                blocks,
                table,
            } => {
                while *block == *blocks {
                    if *group == dec.groups() {
                        return Ok(None);
                    }
                    *blocks = dec.decode(*group).map_err(|e| e.to_string())?.len();
                    *block = 0;
                    *group += 1;
                }
                let b = dec.decoded(*block);
                *block += 1;
                if b.table_before != *table {
                    return Err(format!(
                        "byte {}: block {} starts at table size {}, the blocks before end at {table}",
                        b.at, b.seq, b.table_before
                    ));
                }
                *table = b.table_after;
                Ok(Some(&b.events))
            }
            Reader::Serial { r, .. } => match r {
                Some(r) => r.next_batch().map_err(|e| e.to_string()),
                None => Ok(None),
            },
        }
    }
}

/// What the read-ahead does about events that break liveness (module documentation).
pub(super) enum Guard {
    /// Refuse them, in the first pass.
    Check { live: Liveness, checked: bool },
    /// `--allow-malformed`: repair every pass as the materialised replay is repaired.
    Repair {
        repairer: Repairer,
        batch: Vec<Event>,
    },
}

impl Guard {
    fn restart(&mut self) {
        match self {
            Guard::Check { live, .. } => *live = Liveness::default(),
            Guard::Repair { repairer, .. } => *repairer = Repairer::default(),
        }
    }

    /// `events` (the stream's from number `first` on) as the replay must see them.
    fn pass<'a>(&'a mut self, events: &'a [Event], first: u64) -> Result<&'a [Event], String> {
        match self {
            Guard::Check { live, checked } => {
                if !*checked {
                    live.check(events, first)
                        .map_err(|(n, m)| format!("event {n} of the trace: {m}"))?;
                }
                Ok(events)
            }
            Guard::Repair { repairer, batch } => {
                batch.clear();
                batch.extend_from_slice(events);
                repairer.apply(batch);
                Ok(batch)
            }
        }
    }

    /// A pass ended: later passes need no check; a repair's note.
    fn end(&mut self) -> Option<String> {
        match self {
            Guard::Check { checked, .. } => {
                *checked = true;
                None
            }
            Guard::Repair { repairer, .. } => repairer.repairs.note(),
        }
    }
}

/// The read-ahead's end of the ring: the buffers it holds, and the gate.
pub(super) struct Filler {
    pub(super) tx: SyncSender<Msg>,
    pub(super) free: Receiver<Chunk>,
    /// Empty buffers in hand (all of them while the replay has none).
    pub(super) held: Vec<Chunk>,
    /// Buffers in the ring.
    pub(super) ring: usize,
    /// True while this side is decoding or filling: the gate's observable state (tests check
    /// that the replay never holds a chunk while it is set).
    pub(super) busy: Arc<AtomicBool>,
}

impl Filler {
    /// Hands a filled buffer to the replay (which takes it only once its batch is complete).
    fn send(&self, c: Chunk) -> Result<(), String> {
        self.tx
            .send(Msg::Chunk(c))
            .map_err(|_| "the replay stopped".to_string())
    }

    /// An empty buffer to fill. When none is in hand the ring is exhausted: the batch is
    /// complete, so say so, stop being busy, and wait until the replay has given back every
    /// buffer (it has replayed the whole batch) before filling again.
    fn take(&mut self) -> Result<Chunk, String> {
        if let Some(c) = self.held.pop() {
            return Ok(c);
        }
        self.idle();
        self.tx
            .send(Msg::BatchEnd)
            .map_err(|_| "the replay stopped".to_string())?;
        while self.held.len() < self.ring {
            let c = self
                .free
                .recv()
                .map_err(|_| "the replay stopped".to_string())?;
            self.held.push(c);
        }
        self.busy.store(true, Ordering::SeqCst);
        Ok(self.held.pop().expect("the ring has buffers"))
    }

    fn idle(&self) {
        self.busy.store(false, Ordering::SeqCst);
    }
}

/// The read-ahead thread: one pass per start signal, until the feed is dropped.
pub(super) fn read_ahead(
    mut reader: Reader,
    mut compiler: Option<Compiler>,
    mut guard: Guard,
    start: Receiver<()>,
    mut filler: Filler,
) {
    while start.recv().is_ok() {
        filler.busy.store(true, Ordering::SeqCst);
        let pass = one_pass(&mut reader, compiler.as_mut(), &mut guard, &mut filler);
        filler.idle();
        let msg = match pass {
            Ok(()) => Msg::End(guard.end()),
            Err(m) => Msg::Failed(m),
        };
        if filler.tx.send(msg).is_err() {
            return;
        }
    }
}

/// Fills and sends the chunks of one pass.
fn one_pass(
    reader: &mut Reader,
    mut compiler: Option<&mut Compiler>,
    guard: &mut Guard,
    filler: &mut Filler,
) -> Result<(), String> {
    reader.rewind()?;
    guard.restart();
    if let Some(c) = compiler.as_deref_mut() {
        c.restart();
    }
    let mut chunk = filler.take()?;
    chunk.reset(0);
    let (mut done, mut read) = (0u64, 0u64);
    while let Some(raw) = reader.next_batch()? {
        let mut batch = guard.pass(raw, read)?;
        read += raw.len() as u64;
        while !batch.is_empty() {
            let take = batch.len().min(CHUNK - chunk.covers);
            let (part, rest) = batch.split_at(take);
            match compiler.as_deref_mut() {
                Some(c) => c
                    .push(part, &mut chunk.records, &mut chunk.wide)
                    .map_err(|e| format!("event {}: {e}", done))?,
                None => chunk.events.extend_from_slice(part),
            }
            chunk.covers += take;
            done += take as u64;
            batch = rest;
            if chunk.covers == CHUNK {
                filler.send(chunk)?;
                chunk = filler.take()?;
                chunk.reset(done);
            }
        }
    }
    // What the pass leaves live, freed untimed (the compiled form only; the memory pass's
    // replayer frees its own table).
    let mut from = Some(0);
    while let (Some(c), Some(f)) = (compiler.as_deref(), from) {
        if chunk.covers > 0 || !chunk.records.is_empty() {
            filler.send(chunk)?;
            chunk = filler.take()?;
            chunk.reset(done);
        }
        chunk.cleanup = true;
        from = c.live_from(f, CHUNK, &mut chunk.records);
    }
    if chunk.covers > 0 || !chunk.records.is_empty() {
        filler.send(chunk)?;
    } else {
        // An empty buffer stays in hand for the next pass: the ring keeps all its buffers.
        filler.held.push(chunk);
    }
    Ok(())
}
