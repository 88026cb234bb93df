//! Streaming replay (issue 15): a replay that reads its events from a bounded ring instead of
//! holding the whole stream in memory, so a 10⁹-event trace replays in the slot table plus a
//! fixed buffer.
//!
//! A read-ahead thread decodes the trace (blocks in parallel on rayon's threads,
//! [`GroupDecoder`]), optionally compiles the events to the throughput loop's 8-byte records
//! ([`Compiler`]), and fills chunks of at most [`CHUNK`] events. [`RING`] chunk buffers
//! circulate between the two threads: the reader takes an empty one (waiting if the replay
//! has not given one back — the ring is full), fills it and sends it; the replay takes a full
//! one (waiting if decoding is behind), replays it and gives it back. Every buffer is
//! allocated and written once when the feed opens, so the replay never page-faults on the
//! ring and the read-ahead allocates nothing per pass ([`super::heap`] never frees).
//!
//! **Waiting is never measured.** The throughput loop reads the clock around each chunk's
//! replay and sums the chunk times ([`super::throughput`]); the wait for the next chunk lies
//! between two timed intervals. The clock is the thread's CPU time, whose two reads cost
//! about 0.1 – 0.5 µs; a chunk of 2^16 events takes ≥ 100 µs even with `null`, so the sum
//! differs from one interval around the whole pass by well under 1 %. The latency pass times
//! single calls, so waits never fall inside it either.
//!
//! **Passes.** Each pass re-reads the source from its start ([`Feed::begin`]). What a pass
//! leaves live is freed by one more chunk of free records marked `cleanup`, replayed untimed,
//! exactly as the materialised loop frees `live_at_end` after its clock stops. The cold first
//! pass of an allocator is still its first pass on a fresh allocator: the ring was faulted in
//! before, as the materialised buffer is.
//!
//! **Liveness.** A streamed trace gets what [`Source::materialize`] gives a materialised one:
//! with `--allow-malformed` every pass is repaired the same way ([`crate::trace::live::Repairer`]), and the
//! first pass's repairs become the feed's note, word for word the materialised cell's (an
//! events feed adds the stream's op-order note after them, as that cell does);
//! without it the first pass refuses an event that breaks liveness, as the materialised
//! read does (later passes re-read the same bytes, every block's CRC checked again). The
//! parent's [`Source::verify`] has refused such a trace already; this check keeps a feed
//! from handing an allocator a double free whatever it was opened on.
//!
//! A synthetic source is streamed by writing its events once to a temporary trace in a
//! private folder (removed once the reader has it open, so it never outlives the process)
//! and reading that back pass after pass: a generator re-run every pass would allocate its
//! object model anew each time.

use super::compact::{Compiler, Record, Wide};
use super::replay::Touch;
pub use super::stream_policy::{
    Decision, StreamMode, StreamPolicy, DEFAULT_BUDGET_MIB, EVENTS_PER_SCALE,
    MATERIALISED_BYTES_PER_EVENT,
};
use crate::sys::private_dir::PrivateDir;
use crate::trace::parallel::GroupDecoder;
use crate::trace::source::{Origin, Source};
use crate::trace::TraceReader;
use crate::workload::{Event, Overrides};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

mod ahead;
use ahead::{read_ahead, Guard};

/// How long the replay spins for its next chunk before it blocks (see [`recv_spinning`]):
/// 20 ms, or nothing on a single CPU, where the read-ahead needs the very core a spinning
/// replay would hold.
fn spin_budget() -> std::time::Duration {
    static BUDGET: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        match std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) {
            1 => std::time::Duration::ZERO,
            _ => std::time::Duration::from_millis(20),
        }
    })
}

/// Receives the next message, spinning on the channel for up to `budget` before blocking.
///
/// Why spin: a replay that blocks between chunks leaves its core idle, and on the VMs measured
/// here an idle core comes back with the allocator's working set gone from its caches (the
/// guest's idle halts its virtual CPU; the host reuses or powers down the physical core). The
/// read-ahead decodes about as fast as a fast allocator replays, so the replay waits before
/// nearly every chunk, and every chunk paid for it: pymalloc replaying the stream from memory
/// and from a feed in one process, round by round (`examples/stream_twin.rs`, 2026-12-02, AMD
/// host, five paired trials each in one go, load 1.7), streamed ÷ materialised net speed
/// 0.82 – 0.89 blocking, 0.94 – 0.99 spinning. The wait is never timed, so spinning costs the measurement nothing; the budget
/// bounds the CPU burnt when the read-ahead is slow for long (a cold disk), and the spin
/// yields every 256 polls so it never keeps a runnable thread off a busy CPU.
fn recv_spinning<T>(
    rx: &Receiver<T>,
    budget: std::time::Duration,
) -> Result<T, std::sync::mpsc::RecvError> {
    use std::sync::mpsc::TryRecvError;
    let start = std::time::Instant::now();
    loop {
        for _ in 0..256 {
            match rx.try_recv() {
                Ok(m) => return Ok(m),
                Err(TryRecvError::Disconnected) => return Err(std::sync::mpsc::RecvError),
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= budget {
            return rx.recv();
        }
        // Keeps the core busy (no idle) while letting another runnable thread of this CPU —
        // on a loaded machine — have it.
        std::thread::yield_now();
    }
}

/// Events per chunk: 512 KiB of records, 1 MiB of events.
pub const CHUNK: usize = 1 << 16;
/// Chunk buffers in the ring.
pub const RING: usize = 8;

/// What a feed's chunks hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// The decoded events (the memory and latency passes).
    Events,
    /// The throughput loop's records, compiled as [`super::compact::CompactStream`] does.
    Compact { raw_to_system: bool, touch: Touch },
}

/// One buffer of the ring.
#[derive(Default)]
pub struct Chunk {
    pub events: Vec<Event>,
    pub records: Vec<Record>,
    pub wide: Vec<Wide>,
    /// Index in the stream of the chunk's first event (for error messages).
    pub first: u64,
    /// Events of the stream this chunk covers (markers included).
    pub covers: usize,
    /// The end-of-pass frees of what is still live: replayed, never timed.
    pub cleanup: bool,
}

impl Chunk {
    /// A buffer with room for [`CHUNK`] events, every page written once.
    fn faulted_in(content: Content) -> Chunk {
        let mut c = Chunk::default();
        match content {
            Content::Events => {
                c.events.resize(CHUNK, Event::Phase(0));
                c.events.clear();
            }
            Content::Compact { .. } => {
                c.records.resize(CHUNK, Record::default());
                c.records.clear();
            }
        }
        c
    }

    fn reset(&mut self, first: u64) {
        self.events.clear();
        self.records.clear();
        self.wide.clear();
        self.first = first;
        self.covers = 0;
        self.cleanup = false;
    }
}

enum Msg {
    Chunk(Chunk),
    /// The pass ended: what its events needed repaired, if anything (cell notes), and, from
    /// an events feed, the fingerprint of the events it handed out.
    End {
        notes: Vec<String>,
        fingerprint: Option<u64>,
    },
    Failed(String),
}

/// The replay's end of the ring; see the module documentation.
pub struct Feed {
    start: SyncSender<()>,
    rx: Receiver<Msg>,
    back: SyncSender<Chunk>,
    in_pass: bool,
    /// Entries the slot table needs (the trace's declared table size).
    pub slots: usize,
    /// Events per pass, markers included.
    pub events: u64,
    /// Bytes of the ring's buffers.
    pub ring_bytes: u64,
    /// What the results should say about the events (a synthetic stream cut at its scale's
    /// bound; after a pass, a repaired trace's repairs), as [`crate::trace::source::Materialized`]'s notes.
    pub notes: Vec<String>,
    /// Notes known when the feed opened; a pass's repair note is added to these.
    opened_notes: Vec<String>,
    /// An events feed's stream fingerprint, once a pass has read the whole stream (the
    /// events as replayed, after any repair: the same value a materialised cell records).
    pub fingerprint: Option<u64>,
}

/// The trace a feed reads: a trace source's file, or a synthetic one written out once (with
/// its generator's notes) into a private folder, removed with the folder once the reader has
/// it open (and by the next pybench if this one is killed first: [`PrivateDir`]).
fn trace_file(
    origin: &Origin,
    o: Overrides,
) -> anyhow::Result<(PathBuf, Option<PrivateDir>, Vec<String>)> {
    match Source::open(origin)? {
        Source::Trace { path, .. } => Ok((path, None, Vec::new())),
        Source::Synthetic { workload, .. } => {
            let w = workload.with(o);
            let dir = PrivateDir::create("stream")
                .context("cannot create a private temporary folder for the synthetic stream")?;
            // A fixed name: the workload's own may hold anything a spec's `name` can.
            let path = dir.path().join("stream.pbt");
            let written =
                crate::trace::generate::write_workload(&w, &path, vec!["(streamed replay)".into()])
                    .context("cannot write the synthetic stream to a temporary trace")?;
            Ok((path, Some(dir), written.notes))
        }
    }
}

/// Where the read-ahead thread's events come from: a version-2 file decoded group by
/// group in parallel, or a version-1 file read serially (re-opened every pass).
enum Reader {
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
    fn rewind(&mut self) -> Result<(), String> {
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

impl Feed {
    /// Opens the source of `origin` and starts its read-ahead thread (idle until
    /// [`Feed::begin`]).
    pub fn open(origin: &Origin, o: Overrides, content: Content) -> anyhow::Result<Feed> {
        let (path, temporary, notes) = trace_file(origin, o)?;
        let opened = Self::open_trace(&path, content, o.allow_malformed);
        // The reader holds the file open; nothing else needs its name.
        drop(temporary);
        let mut feed = opened?;
        feed.opened_notes = notes;
        feed.notes = feed.opened_notes.clone();
        Ok(feed)
    }

    fn open_trace(path: &Path, content: Content, allow_malformed: bool) -> anyhow::Result<Feed> {
        let (slots, events, reader) = open_reader(path, allow_malformed)?;
        let (start, start_rx) = sync_channel(1);
        let (tx, rx) = sync_channel(RING + 2);
        let (back, free) = sync_channel(RING);
        for _ in 0..RING {
            back.send(Chunk::faulted_in(content))
                .map_err(|_| anyhow::anyhow!("the ring closed"))?;
        }
        let compiler = match content {
            Content::Events => None,
            Content::Compact {
                raw_to_system,
                touch,
            } => Some(Compiler::new(slots as usize, raw_to_system, touch)),
        };
        let guard = Guard::new(allow_malformed);
        let per_event = match content {
            Content::Events => std::mem::size_of::<Event>(),
            Content::Compact { .. } => std::mem::size_of::<Record>(),
        };
        match reader {
            // On a worker of the decoder's own pool (see `GroupDecoder::spawn`).
            Reader::Groups { dec, .. } => dec.spawn(move |dec| {
                let reader = Reader::Groups {
                    dec: Box::new(dec),
                    group: 0,
                    block: 0,
                    blocks: 0,
                    table: 0,
                };
                read_ahead(reader, compiler, guard, start_rx, tx, free)
            }),
            serial => {
                std::thread::Builder::new()
                    .name("pybench-read-ahead".into())
                    .spawn(move || read_ahead(serial, compiler, guard, start_rx, tx, free))
                    .context("cannot start the read-ahead thread")?;
            }
        }
        Ok(Feed {
            start,
            rx,
            back,
            in_pass: false,
            slots: slots as usize,
            events,
            ring_bytes: (RING * CHUNK * per_event) as u64,
            notes: Vec::new(),
            opened_notes: Vec::new(),
            fingerprint: None,
        })
    }

    /// Starts a pass from the first event. A pass left unfinished (an error) is drained first.
    pub fn begin(&mut self) -> Result<(), String> {
        while self.in_pass {
            if let Some(c) = self.next_chunk()? {
                self.give_back(c);
            }
        }
        self.start
            .send(())
            .map_err(|_| "the read-ahead thread stopped".to_string())?;
        self.in_pass = true;
        Ok(())
    }

    /// The pass's next chunk (waiting for it if need be), or `None` at its end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, String> {
        match recv_spinning(&self.rx, spin_budget()) {
            Ok(Msg::Chunk(c)) => Ok(Some(c)),
            Ok(Msg::End { notes, fingerprint }) => {
                self.in_pass = false;
                self.notes = self.opened_notes.clone();
                self.notes.extend(notes);
                self.fingerprint = fingerprint;
                Ok(None)
            }
            Ok(Msg::Failed(m)) => {
                self.in_pass = false;
                Err(m)
            }
            Err(_) => {
                self.in_pass = false;
                Err("the read-ahead thread stopped".to_string())
            }
        }
    }

    /// Returns a replayed chunk's buffer to the ring.
    pub fn give_back(&self, c: Chunk) {
        // Never blocks: the ring has room for every buffer there is.
        let _ = self.back.try_send(c);
    }
}

/// The trace's reader for the read-ahead — parallel block groups for a version-2 file, the
/// serial reader otherwise — with the slot-table size and event count its end block declares.
fn open_reader(path: &Path, allow_malformed: bool) -> anyhow::Result<(u32, u64, Reader)> {
    let ctx = || path.display().to_string();
    // Decoding leaves one core to the replay (on a 2-core machine: one thread each), so
    // the replay is not preempted by its own read-ahead.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = Some(cores.saturating_sub(1).max(1));
    Ok(match GroupDecoder::open(path, threads).with_context(ctx)? {
        Some(dec) => {
            let end = dec.index().end.clone();
            let r = Reader::Groups {
                dec: Box::new(dec),
                group: 0,
                block: 0,
                blocks: 0,
                table: 0,
            };
            (end.slots, end.events, r)
        }
        None => {
            let r = TraceReader::open(path).with_context(ctx)?;
            let end = r.declared().cloned().unwrap_or_default();
            let r = Reader::Serial {
                path: path.to_path_buf(),
                allow_malformed,
                r: None,
            };
            (end.slots, end.events, r)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::recv_spinning;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    #[test]
    fn a_spinning_receive_gets_what_is_sent_whether_it_spins_or_blocks() {
        let (tx, rx) = sync_channel(4);
        tx.send(1).unwrap();
        assert_eq!(recv_spinning(&rx, Duration::ZERO), Ok(1));
        // From another thread, to a receive that spins all along (a budget it never reaches)
        // and to one that blocks at once (no budget): the same message either way.
        for (budget, v) in [(Duration::from_secs(3600), 2), (Duration::ZERO, 3)] {
            let tx = tx.clone();
            let t = std::thread::spawn(move || tx.send(v).unwrap());
            assert_eq!(recv_spinning(&rx, budget), Ok(v));
            t.join().unwrap();
        }
        // A sender gone: an error, whether found spinning or blocked.
        drop(tx);
        assert!(recv_spinning(&rx, Duration::from_secs(3600)).is_err());
        assert!(recv_spinning(&rx, Duration::ZERO).is_err());
    }
}
