//! The read-ahead thread of a [`super::Feed`]: one pass of the source per start signal,
//! decoded (and compiled) into the ring's chunks, liveness checked or repaired on the way.

use super::{Chunk, Msg, Reader, CHUNK};
use crate::harness::compact::Compiler;
use crate::harness::survey::Survey;
use crate::trace::live::{Liveness, Repairer};
use crate::workload::Event;
use std::sync::mpsc::{Receiver, SyncSender};

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
    /// Repairs a malformed stream when the user allowed one, else checks liveness.
    pub(super) fn new(allow_malformed: bool) -> Guard {
        if allow_malformed {
            Guard::Repair {
                repairer: Repairer::default(),
                batch: Vec::new(),
            }
        } else {
            Guard::Check {
                live: Liveness::default(),
                checked: false,
            }
        }
    }
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

/// The read-ahead thread: one pass per start signal, until the feed is dropped.
pub(super) fn read_ahead(
    mut reader: Reader,
    mut compiler: Option<Compiler>,
    mut guard: Guard,
    start: Receiver<()>,
    tx: SyncSender<Msg>,
    free: Receiver<Chunk>,
) {
    let mut spare = None;
    // Surveyed once, over the first complete pass (every pass replays the same events): by
    // the events feed of the memory and latency cell, whose notes the results report, for
    // its op order and fingerprint; by a throughput process's compiled feed for the
    // fingerprint alone (its first pass is the cold one, which no sample times).
    let mut survey = Some(if compiler.is_none() {
        Survey::default()
    } else {
        Survey::fingerprint_only()
    });
    let (mut order_note, mut fingerprint) = (None, None);
    while start.recv().is_ok() {
        let pass = one_pass(
            &mut reader,
            compiler.as_mut(),
            &mut guard,
            &tx,
            &free,
            &mut spare,
            survey.as_mut(),
        );
        let msg = match pass {
            Ok(()) => {
                if let Some(s) = survey.take() {
                    let (note, print) = s.finish();
                    (order_note, fingerprint) = (note, Some(print));
                }
                let mut notes: Vec<String> = guard.end().into_iter().collect();
                notes.extend(order_note.clone());
                Msg::End { notes, fingerprint }
            }
            Err(m) => {
                survey = survey.map(|s| s.restarted());
                Msg::Failed(m)
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// Fills and sends the chunks of one pass.
fn one_pass(
    reader: &mut Reader,
    mut compiler: Option<&mut Compiler>,
    guard: &mut Guard,
    tx: &SyncSender<Msg>,
    free: &Receiver<Chunk>,
    spare: &mut Option<Chunk>,
    mut survey: Option<&mut Survey>,
) -> Result<(), String> {
    let closed = || "the replay stopped".to_string();
    reader.rewind()?;
    guard.restart();
    if let Some(c) = compiler.as_deref_mut() {
        c.restart();
    }
    let mut chunk = match spare.take() {
        Some(c) => c,
        None => free.recv().map_err(|_| closed())?,
    };
    chunk.reset(0);
    let (mut done, mut read) = (0u64, 0u64);
    while let Some(raw) = reader.next_batch()? {
        let mut batch = guard.pass(raw, read)?;
        read += raw.len() as u64;
        if let Some(s) = survey.as_deref_mut() {
            s.events(batch);
        }
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
                tx.send(Msg::Chunk(chunk)).map_err(|_| closed())?;
                chunk = free.recv().map_err(|_| closed())?;
                chunk.reset(done);
            }
        }
    }
    finish_pass(compiler.as_deref(), chunk, done, tx, free, spare)
}

/// Sends the last chunk of a pass, then (the compiled form only; the memory pass's replayer
/// frees its own table) what the pass leaves live as chunks of free records marked
/// `cleanup`, which the replay frees untimed. An empty buffer stays in `spare` for the next
/// pass: the ring keeps all its buffers.
fn finish_pass(
    compiler: Option<&Compiler>,
    mut chunk: Chunk,
    done: u64,
    tx: &SyncSender<Msg>,
    free: &Receiver<Chunk>,
    spare: &mut Option<Chunk>,
) -> Result<(), String> {
    let closed = || "the replay stopped".to_string();
    let mut from = Some(0);
    while let (Some(c), Some(f)) = (compiler, from) {
        if chunk.covers > 0 || !chunk.records.is_empty() {
            tx.send(Msg::Chunk(chunk)).map_err(|_| closed())?;
            chunk = free.recv().map_err(|_| closed())?;
            chunk.reset(done);
        }
        chunk.cleanup = true;
        from = c.live_from(f, CHUNK, &mut chunk.records);
    }
    if chunk.covers > 0 || !chunk.records.is_empty() {
        tx.send(Msg::Chunk(chunk)).map_err(|_| closed())?;
    } else {
        *spare = Some(chunk);
    }
    Ok(())
}
