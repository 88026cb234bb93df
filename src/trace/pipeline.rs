//! The parallel reader's decoding threads, without a barrier between blocks: each thread
//! takes a free set of event buffers, then claims the next block of the file, reads it with
//! its own positioned read, decodes it (and summarises its liveness) and sends it; the
//! reader puts blocks back in file order as they arrive.
//!
//! Why not groups: decoding a group of blocks in parallel and handing the group over made
//! every thread wait for the group's slowest block and for the group's serial read, and two
//! threads gave only 1.2 – 1.5× one thread on a quiet 2-core machine (docs/streaming.md, "Timed
//! (2026-11-30 08:50"). Here a thread that finishes a block starts the next one at once.
//!
//! Memory is bounded by the buffer sets in circulation: a thread must hold a free set
//! before it claims a block, so the blocks decoded ahead of the reader are at most the
//! number of sets, and because claiming comes after the set, the block the reader waits for
//! always has one (no deadlock however unevenly the threads run).

use super::block::Header;
use super::index::Index;
use super::parallel::{decode_into, BlockOut};
use super::reader::payload_error;
use super::{ErrorKind, TraceError};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// A decoded block as it travels to the reader and back for reuse: the block's buffers and
/// figures, without the decoding thread's own scratch (its zstd context and liveness bitsets
/// stay with the thread, so only 2 × threads + 1 sets of event buffers exist).
pub(super) type Decoded = BlockOut;

/// What the decoding threads share.
struct Shared {
    file: File,
    index: Index,
    /// The next block to claim.
    next: AtomicUsize,
    /// Set on the first failure: no thread claims a block after it.
    stop: AtomicBool,
    /// Free buffer sets (one receiver, taken in turn).
    free: Mutex<Receiver<Decoded>>,
    summaries: bool,
}

/// The reader's ends of the two channels.
struct Ends {
    decoded: Receiver<(usize, Result<Decoded, TraceError>)>,
    free: SyncSender<Decoded>,
}

/// Blocks decoded on `threads` threads, taken in file order. Dropping it stops and joins
/// the threads (each finishes at most the block in hand), so no thread, buffer or file
/// handle outlives the reader.
pub(super) struct Pipeline {
    /// `None` only while dropping: closing both ends is what stops the threads.
    ends: Option<Ends>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Blocks that arrived before their turn, at `seq % len`.
    waiting: Vec<Option<Result<Decoded, TraceError>>>,
    /// The block the reader takes next.
    turn: usize,
    blocks: usize,
}

impl Pipeline {
    /// Starts `threads` decoding threads. Plain threads the reader joins when dropped, not a
    /// pool's: a reader left half read must neither hold a shared pool's workers nor leave
    /// threads behind it. `summaries`: summarise each block's liveness as it is decoded.
    pub fn start(
        file: File,
        index: Index,
        threads: usize,
        summaries: bool,
    ) -> Result<Self, TraceError> {
        let threads = threads.max(1);
        let blocks = index.blocks.len();
        // Two sets a thread keep every thread busy while the reader holds one block.
        let sets = 2 * threads + 1;
        let (free, free_rx) = sync_channel(sets);
        for _ in 0..sets {
            let _ = free.try_send(BlockOut::new());
        }
        let (tx, decoded) = sync_channel(sets);
        let shared = Arc::new(Shared {
            file,
            index,
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            free: Mutex::new(free_rx),
            summaries,
        });
        let mut pipe = Pipeline {
            ends: Some(Ends { decoded, free }),
            threads: Vec::with_capacity(threads),
            waiting: (0..sets).map(|_| None).collect(),
            turn: 0,
            blocks,
        };
        for i in 0..threads {
            let (shared, tx) = (shared.clone(), tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("pybench-decode-{i}"))
                .spawn(move || decode_blocks(&shared, &tx))
                .map_err(|e| TraceError::new(0, ErrorKind::Io(e)))?;
            pipe.threads.push(spawned);
        }
        Ok(pipe)
    }

    /// The next block in file order; `None` after the last.
    pub fn next_block(&mut self) -> Option<Result<Decoded, TraceError>> {
        if self.turn == self.blocks {
            return None;
        }
        let len = self.waiting.len();
        loop {
            if let Some(d) = self.waiting[self.turn % len].take() {
                self.turn += 1;
                return Some(d);
            }
            let ends = self.ends.as_ref().expect("set until dropped");
            match ends.decoded.recv() {
                Ok((k, d)) => self.waiting[k % len] = Some(d),
                Err(_) => {
                    return Some(Err(TraceError::corrupt(0, "the decoding threads stopped")));
                }
            }
        }
    }

    /// Whether every block has been taken.
    pub fn is_done(&self) -> bool {
        self.turn == self.blocks
    }

    /// Gives a block's buffers back for the threads to decode into again.
    pub fn give_back(&self, d: Decoded) {
        if let Some(ends) = &self.ends {
            let _ = ends.free.try_send(d);
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // A thread waiting for a free set, or to send a block, wakes to a closed channel;
        // one decoding finishes that block first.
        self.ends = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One decoding thread: until the blocks run out, a failure, or the reader is gone.
fn decode_blocks(shared: &Shared, tx: &SyncSender<(usize, Result<Decoded, TraceError>)>) {
    // This thread's scratch, lent to each set it decodes into.
    let mut own = BlockOut::new();
    let mut bytes = Vec::new();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        // A set first, then a block (see the module comment).
        let mut set = match shared.free.lock().map(|rx| rx.recv()) {
            Ok(Ok(set)) => set,
            _ => return,
        };
        let k = shared.next.fetch_add(1, Ordering::Relaxed);
        if k >= shared.index.blocks.len() {
            return;
        }
        set.lend_scratch(&mut own);
        let result = decode_one(shared, k, &mut bytes, &mut set);
        set.lend_scratch(&mut own);
        if result.is_err() {
            shared.stop.store(true, Ordering::Relaxed);
        }
        if tx.send((k, result.map(|()| set))).is_err() {
            return;
        }
    }
}

/// Reads block `k` with one positioned read and decodes it into `out`.
fn decode_one(
    shared: &Shared,
    k: usize,
    bytes: &mut Vec<u8>,
    out: &mut BlockOut,
) -> Result<(), TraceError> {
    let header: &Header = &shared.index.header;
    let (at, head) = shared.index.blocks[k];
    let len = header.block_header_len() + head.stored_len as usize;
    bytes.resize(len, 0);
    shared
        .file
        .read_exact_at(bytes, at)
        .map_err(|e| TraceError::new(at, payload_error(e, false, k as u64)))?;
    decode_into(header, &shared.index, k, bytes, at, out, shared.summaries)
}
