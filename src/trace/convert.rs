//! Turns the hook's raw records (16 bytes per malloc or free, 32 per calloc or realloc, with
//! real pointers)
//! into slot-model events, so a replay indexes a dense table and never hashes a pointer.

use super::accounting::{Accounting, PrehookTracker, Snapshot};
use super::format::MAX_REQUEST;
use super::writer::TraceWriter;
use crate::workload::slots::Slots;
use crate::workload::{Domain, Event};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

/// Bytes of one raw record (`struct rec` in hook.c).
pub const RAW_RECORD: usize = 16;
/// Bytes of one raw record when recording pace: the record and the cycles the program ran
/// since its thread's previous allocator call (u64).
pub const PACED_RECORD: usize = 24;
const KIND_MALLOC: u8 = 0;
const KIND_CALLOC: u8 = 1;
const KIND_REALLOC: u8 = 2;
const KIND_FREE: u8 = 3;
/// Second record of a calloc (element count) or realloc (new address).
const KIND_EXTRA: u8 = 4;
/// A garbage collection of generation `size` starts.
const KIND_GC: u8 = 5;
/// The interpreter's obmalloc accounting: `size` bytes of text follow, padded to whole
/// records; domain 0 = at installation, 1 = at the end of the program.
const KIND_STATS: u8 = 6;
/// Longest accounting text accepted (hook.c's MAX_STATS_TEXT).
const MAX_STATS_TEXT: u32 = 1 << 20;
/// Written by the hook's `atexit` handler: the program shut down normally.
const KIND_END: u8 = 0x7f;
const KIND_OVERSIZE: u8 = 0x80;

/// Pointers are 16-byte aligned and already well spread: a multiply of the shifted value
/// hashes them well at a fraction of SipHash's cost.
#[derive(Default)]
pub struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

fn le64(r: &[u8; RAW_RECORD]) -> u64 {
    u64::from_le_bytes([r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]])
}

/// What a recording counted beyond its events (stored in the trace's end block).
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub records: u64,
    /// Frees of blocks allocated before the hook was installed: dropped.
    pub unknown_frees: u64,
    /// Reallocs of such blocks: recorded as allocations of the new size.
    pub unknown_reallocs: u64,
    /// An allocation returned an address still live in the map (a free the hook did not see,
    /// e.g. through an unhooked domain): a free of the old slot is inserted first.
    pub inserted_frees: u64,
    /// Requests over 4 GiB − 1 (a calloc's n × size included), which the event model cannot
    /// hold: dropped, and a block they replace is freed.
    pub oversized: u64,
    /// Records with an unknown kind or domain: dropped.
    pub malformed: u64,
    pub threads: u64,
}

impl Counters {
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        [
            ("raw_records", self.records),
            ("unknown_frees", self.unknown_frees),
            ("unknown_reallocs", self.unknown_reallocs),
            ("inserted_frees", self.inserted_frees),
            ("oversized_dropped", self.oversized),
            ("malformed_records", self.malformed),
            ("threads", self.threads),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

pub struct Converter<W: Write> {
    map: HashMap<u64, u32, BuildHasherDefault<PtrHasher>>,
    slots: Slots,
    writer: TraceWriter<W>,
    pub counters: Counters,
    /// The hook's end marker arrived.
    pub ended: bool,
    /// A calloc or realloc record waiting for its EXTRA record.
    pending: Option<([u8; RAW_RECORD], u64)>,
    /// Pace of the record being converted, given to the first event it writes (an inserted
    /// free before an allocation takes it; the allocation then has none).
    pace: u64,
    /// An accounting report being received: (which, bytes expected, bytes so far).
    text: Option<(u8, usize, Vec<u8>)>,
    accounting: Accounting,
    prehook: PrehookTracker,
    /// Per slot: pymalloc serves the block (see [`pooled_size`]), so its address tells its
    /// pool's class to `prehook`.
    pooled: Vec<bool>,
}

/// Whether CPython's pymalloc serves a fresh MEM or OBJ request of `bytes` (1 – 512). Zero-byte
/// and larger requests go to the C allocator, as does every RAW one.
fn pooled_size(domain: Domain, bytes: u64) -> bool {
    domain != Domain::Raw && (1..=crate::pymalloc::SMALL_REQUEST_THRESHOLD as u64).contains(&bytes)
}

impl<W: Write> Converter<W> {
    pub fn new(writer: TraceWriter<W>) -> Self {
        Converter {
            map: HashMap::with_capacity_and_hasher(1 << 16, Default::default()),
            slots: Slots::new(),
            writer,
            counters: Counters::default(),
            ended: false,
            pending: None,
            pace: 0,
            text: None,
            accounting: Accounting::default(),
            prehook: PrehookTracker::default(),
            pooled: Vec::new(),
        }
    }

    /// One record's worth of an accounting report's text.
    fn feed_text(&mut self, rec: &[u8]) {
        let Some((which, need, mut buf)) = self.text.take() else {
            return;
        };
        buf.extend_from_slice(&rec[..rec.len().min(need - buf.len())]);
        if buf.len() < need {
            self.text = Some((which, need, buf));
            return;
        }
        let snap = Snapshot {
            event: self.writer.events(),
            text: String::from_utf8_lossy(&buf).into_owned(),
        };
        match which {
            0 if self.accounting.start.is_none() => {
                if let Ok(f) = snap.figures() {
                    self.prehook.start(f.pool_size);
                }
                self.accounting.start = Some(snap);
            }
            1 if self.accounting.end.is_none() && self.accounting.start.is_some() => {
                self.accounting.prehook_frees = self.prehook.finish();
                self.accounting.end = Some(snap);
            }
            _ => self.counters.malformed += 1,
        }
    }

    /// Notes whether the block now in `slot` (at `ptr`, `bytes` long) is pymalloc's; if it
    /// is, its pool tells the class of pre-hook frees. Only such blocks may: CPython leaves a
    /// block of the C allocator there when a realloc shrinks it to 512 bytes or less
    /// (pymalloc never takes a foreign block over), and a pre-hook block of the C allocator
    /// freed near it would otherwise take that size's class and free a phantom the
    /// interpreter never had.
    #[inline]
    fn seen(&mut self, slot: u32, pooled: bool, ptr: u64, bytes: u64) {
        // Without the start-up report nothing tracks pre-hook frees (a recording without
        // accounting): then the per-slot flags would be work for no reader.
        if !self.prehook.tracking() {
            return;
        }
        let i = slot as usize;
        if i >= self.pooled.len() {
            self.pooled.resize(i + 1, false);
        }
        self.pooled[i] = pooled;
        if pooled {
            self.prehook.allocated(ptr, bytes);
        }
    }

    /// A free or realloc of a block allocated before the hook.
    fn prehook_free(&mut self, domain: Domain, ptr: u64) {
        if domain != Domain::Raw {
            let at = self.writer.events();
            self.prehook.freed(ptr, at);
        }
    }

    /// Writes one event with the current record's pace (once).
    fn push(&mut self, e: &Event) -> io::Result<()> {
        let pace = std::mem::take(&mut self.pace);
        self.writer.push_paced(e, pace)
    }

    /// Allocates a slot for `ptr` with one hash lookup. Should the address still be live (a
    /// free the hook did not see), the stale slot is freed first, so the stream stays valid.
    fn take(&mut self, ptr: u64, thread: u16) -> io::Result<u32> {
        let slot = self.slots.take();
        if let Some(stale) = self.map.insert(ptr, slot) {
            self.counters.inserted_frees += 1;
            self.free_slot(stale, thread)?;
        }
        Ok(slot)
    }

    /// A new block at `ptr`: gives it a slot and writes the allocation.
    fn alloc(&mut self, ptr: u64, size: u32, domain: Domain, thread: u16) -> io::Result<u32> {
        let slot = self.take(ptr, thread)?;
        self.push(&Event::Alloc {
            slot,
            size,
            domain,
            thread,
        })?;
        Ok(slot)
    }

    fn free_slot(&mut self, slot: u32, thread: u16) -> io::Result<()> {
        self.slots.release(slot);
        self.push(&Event::Free { slot, thread })
    }

    /// Converts one record: [`RAW_RECORD`] bytes, or [`PACED_RECORD`] with the pace.
    pub fn feed(&mut self, rec: &[u8]) -> io::Result<()> {
        if self.text.is_some() {
            self.feed_text(rec);
            return Ok(());
        }
        self.counters.records += 1;
        let pace = rec
            .get(RAW_RECORD..PACED_RECORD)
            .map_or(0, |p| u64::from_le_bytes(p.try_into().unwrap_or_default()));
        let Ok(rec) = <&[u8; RAW_RECORD]>::try_from(&rec[..RAW_RECORD.min(rec.len())]) else {
            self.counters.malformed += 1;
            return Ok(());
        };
        let kind = rec[0];
        if kind == KIND_END {
            self.ended = true;
            return Ok(());
        }
        let base = kind & !KIND_OVERSIZE;
        if kind == KIND_STATS && self.pending.is_none() {
            let len = u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]);
            if len == 0 || len > MAX_STATS_TEXT {
                self.counters.malformed += 1;
            } else {
                self.text = Some((rec[1], len as usize, Vec::with_capacity(len as usize)));
            }
            return Ok(());
        }
        let (r, ptr2) = match self.pending.take() {
            Some((first, p)) if base == KIND_EXTRA => {
                self.pace = p;
                (first, le64(rec))
            }
            Some(_) => {
                // A first half without its second: the stream is damaged; skip both.
                self.counters.malformed += 1;
                return self.feed_again(rec);
            }
            None if base == KIND_CALLOC || base == KIND_REALLOC => {
                self.pending = Some((*rec, pace));
                return Ok(());
            }
            None => {
                self.pace = pace;
                (*rec, 0)
            }
        };
        self.apply(&r, ptr2)
    }

    /// Applies one whole record (`ptr2`: its second half's pointer or calloc count, for a
    /// realloc or calloc; else 0) to the slot map and the trace.
    fn apply(&mut self, r: &[u8; RAW_RECORD], ptr2: u64) -> io::Result<()> {
        let (kind, thread) = (r[0], u16::from_le_bytes([r[2], r[3]]));
        let size = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
        let ptr = le64(r);
        let domain = match r[1] {
            0 => Domain::Raw,
            1 => Domain::Mem,
            2 => Domain::Obj,
            _ => {
                self.counters.malformed += 1;
                return Ok(());
            }
        };
        self.counters.threads = self.counters.threads.max(u64::from(thread) + 1);
        // Each calloc factor fits 32 bits (else the hook flags it); their product may not.
        let oversize = kind & KIND_OVERSIZE != 0
            || (kind & !KIND_OVERSIZE == KIND_CALLOC
                && u128::from(ptr2) * u128::from(size) > u128::from(MAX_REQUEST));
        match kind & !KIND_OVERSIZE {
            KIND_MALLOC | KIND_CALLOC if oversize => {
                self.counters.oversized += 1;
                if let Some(old) = self.map.remove(&ptr) {
                    self.counters.inserted_frees += 1;
                    self.free_slot(old, thread)?;
                }
            }
            KIND_MALLOC => {
                let slot = self.alloc(ptr, size, domain, thread)?;
                let pooled = pooled_size(domain, u64::from(size));
                self.seen(slot, pooled, ptr, u64::from(size));
            }
            KIND_CALLOC => {
                let bytes = ptr2.saturating_mul(u64::from(size));
                let slot = self.take(ptr, thread)?;
                self.seen(slot, pooled_size(domain, bytes), ptr, bytes);
                self.push(&Event::Calloc {
                    slot,
                    n: ptr2 as u32,
                    size,
                    domain,
                    thread,
                })?;
            }
            KIND_REALLOC => self.realloc(ptr, ptr2, size, domain, thread, oversize)?,
            KIND_GC if size <= 2 => self.push(&Event::Gc(size as u8))?,
            KIND_FREE => match self.map.remove(&ptr) {
                Some(slot) => self.free_slot(slot, thread)?,
                None => {
                    self.counters.unknown_frees += 1;
                    self.prehook_free(domain, ptr);
                }
            },
            _ => self.counters.malformed += 1,
        }
        Ok(())
    }

    /// [`Self::apply`]'s realloc of the block at `ptr` to `size` bytes at `ptr2`.
    fn realloc(
        &mut self,
        ptr: u64,
        ptr2: u64,
        size: u32,
        domain: Domain,
        thread: u16,
        oversize: bool,
    ) -> io::Result<()> {
        match self.map.remove(&ptr) {
            Some(slot) if oversize => {
                self.counters.oversized += 1;
                self.free_slot(slot, thread)?;
            }
            Some(slot) => {
                // pymalloc keeps or moves its own block within pymalloc while the new
                // size is one it serves; the C allocator's stays the C allocator's.
                let pooled = self.pooled.get(slot as usize).copied().unwrap_or(false)
                    && pooled_size(domain, u64::from(size));
                self.seen(slot, pooled, ptr2, u64::from(size));
                if let Some(stale) = self.map.insert(ptr2, slot) {
                    self.counters.inserted_frees += 1;
                    self.free_slot(stale, thread)?;
                }
                self.push(&Event::Realloc { slot, size, thread })?;
            }
            None if oversize => self.counters.oversized += 1,
            None => {
                // Its block predates the hook: from here on it is a new allocation.
                self.counters.unknown_reallocs += 1;
                self.prehook_free(domain, ptr);
                // Which allocator holds the new block depends on the old one's, which the
                // recording never saw: its address tells nothing.
                let slot = self.alloc(ptr2, size, domain, thread)?;
                self.seen(slot, false, ptr2, u64::from(size));
            }
        }
        Ok(())
    }

    fn feed_again(&mut self, rec: &[u8; RAW_RECORD]) -> io::Result<()> {
        self.counters.records -= 1;
        self.feed(rec)
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.writer.events()
    }

    /// Writes the end block with the counters (plus `extra`) and returns the output.
    pub fn finish(self, extra: BTreeMap<String, u64>) -> io::Result<W> {
        let mut c = self.counters.to_map();
        c.extend(extra);
        c.insert("live_at_end".into(), self.map.len() as u64);
        let accounting = self.accounting.start.is_some().then_some(self.accounting);
        self.writer.finish_with(c, accounting)
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
