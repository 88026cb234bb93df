//! Version-2 events blocks: the fields of a block's events go to separate columns (tags,
//! thread ids, recent-allocation references, slot deltas, sizes, other arguments, pace),
//! each compressed as its own zstd frame. A column holds one kind of value, so zstd finds
//! its repeats (the same few sizes, the same tags) instead of seeing them interleaved; on
//! the shipped traces that alone saves 15 – 20 % over version 1's interleaved stream.

pub use super::column_decoder::decode_block;
use super::format::*;
use super::writer::DeltaState;
use crate::workload::Event;

/// The encoder of one block, mirrored by [`decode_block`]: version 1's delta state plus the
/// block's allocation order. Most frees that are not the previous event's slot or its
/// neighbour free a block allocated a few allocations earlier (a temporary list's items, a
/// frame's locals), so "k allocations ago" is one small number where a slot delta is two or
/// three random bytes; and a structure is often dropped in the order it was built, so "the
/// block allocated after the last one freed" is no number at all ([`TAG_ORDER_NEXT`]).
#[derive(Debug, Clone, Default)]
pub struct BlockEncoder {
    pub cols: [Vec<u8>; COLUMNS],
    /// Whether frees and reallocs may be named by allocation order ([`FLAG_ORDER`]); without
    /// it only the last [`RING`] allocations can be named, as before the flag existed.
    order_refs: bool,
    st: DeltaState,
    /// The slots this block allocated, in order.
    order: Vec<u32>,
    /// Slot → its latest place in `order`. Never cleared: an entry counts only where `order`
    /// holds the slot at that place, which a stale entry from an earlier block cannot pass (a
    /// slot allocated in this block has had its entry rewritten).
    index_of: Vec<u32>,
    /// The place in `order` of the last free or realloc named by order or recency.
    last: u32,
    pub events: u32,
    /// Slot-table size when the block started (stored in its header).
    pub table_before: u32,
}

impl BlockEncoder {
    /// An encoder for a file with ([`FLAG_ORDER`]) or without allocation-order references.
    pub fn new(order_refs: bool) -> Self {
        BlockEncoder {
            order_refs,
            ..BlockEncoder::default()
        }
    }

    /// Starts a new block at slot-table size `table`.
    pub fn reset(&mut self, table: u32) {
        for c in &mut self.cols {
            c.clear();
        }
        self.st.reset();
        self.order.clear();
        self.last = 0;
        self.events = 0;
        self.table_before = table;
    }

    /// Encodes one event; `table` is the slot-table size before it (already checked by the
    /// writer), `pace` its pace code when the trace has a pace column.
    pub fn push(&mut self, e: &Event, table: u32, pace: Option<u64>) {
        let (op, domain, thread, slot) = event_parts(e, self.st.thread);
        let mut tag = op | (domain << 3);
        if thread != self.st.thread {
            tag |= TAG_THREAD;
            put_varint(&mut self.cols[COL_THREADS], u64::from(thread));
            self.st.thread = thread;
        }
        if let Some(s) = slot {
            tag |= self.name_slot(s, op, table);
        }
        self.cols[COL_TAGS].push(tag);
        match *e {
            Event::Alloc { size, .. } | Event::Realloc { size, .. } => {
                put_varint(&mut self.cols[COL_SIZES], u64::from(size))
            }
            Event::Calloc { n, size, .. } => {
                put_varint(&mut self.cols[COL_ARGS], u64::from(n));
                put_varint(&mut self.cols[COL_SIZES], u64::from(size));
            }
            Event::Phase(id) => put_varint(&mut self.cols[COL_ARGS], u64::from(id)),
            Event::Gc(g) => put_varint(&mut self.cols[COL_ARGS], u64::from(g)),
            Event::Free { .. } => {}
        }
        if let Some(p) = pace {
            put_varint(&mut self.cols[COL_PACE], p);
        }
        self.events += 1;
    }

    /// The tag bits that name slot `s` of an allocator event with op `op` (its mode, and
    /// for an explicit one the reference kind), writing what the mode needs to its column;
    /// moves the previous slot, the freed stack and the allocation order past the event.
    /// `table` is the slot-table size before it: an allocation's predicted slot when the
    /// freed stack is empty.
    #[inline(always)]
    fn name_slot(&mut self, s: u32, op: u8, table: u32) -> u8 {
        let allocating = op <= OP_CALLOC;
        let predicted = allocating.then(|| self.st.freed.pop().unwrap_or(table));
        let d = i64::from(s) - i64::from(self.st.slot);
        let bits = match d {
            _ if predicted == Some(s) => SLOT_PREDICTED << 6,
            0 if !allocating => SLOT_SAME << 6,
            1 => SLOT_NEXT << 6,
            -1 => SLOT_PREV << 6,
            _ => self.explicit_slot(s, d, allocating) | SLOT_EXPLICIT << 6,
        };
        self.st.slot = s;
        if op == OP_FREE {
            self.st.freed.push(s);
        }
        if allocating {
            self.remember(s);
        }
        bits
    }

    /// Names slot `s` (`d` past the previous one) explicitly: a free or realloc by its place
    /// in the block's allocation order when it has one (returning the reference kind's tag
    /// bits), else by the delta in the slots column (no bits).
    fn explicit_slot(&mut self, s: u32, d: i64, allocating: bool) -> u8 {
        let Some((bits, place)) = (if allocating { None } else { self.by_order(s) }) else {
            put_varint(&mut self.cols[COL_SLOTS], zigzag(d));
            return 0;
        };
        match bits {
            TAG_RECENT => put_varint(
                &mut self.cols[COL_REFS],
                (self.order.len() - place as usize) as u64,
            ),
            TAG_ORDER => put_varint(
                &mut self.cols[COL_SLOTS],
                zigzag(i64::from(place) - i64::from(self.last)),
            ),
            _ => {}
        }
        self.last = place;
        bits
    }

    /// Appends an allocated slot to the block's allocation order.
    fn remember(&mut self, s: u32) {
        let i = s as usize;
        if i >= self.index_of.len() {
            self.index_of.resize(i + 1, u32::MAX);
        }
        self.index_of[i] = self.order.len() as u32;
        self.order.push(s);
    }

    /// How a free or realloc of `s` can name its slot through the allocation order, if this
    /// block allocated it: the tag bits and its place in the order. The cheapest form wins:
    /// the next place after the last one named (nothing stored), then a recent allocation (a
    /// one-byte k), then a place relative to the last one named.
    fn by_order(&self, s: u32) -> Option<(u8, u32)> {
        let place = *self.index_of.get(s as usize)?;
        if self.order.get(place as usize) != Some(&s) {
            return None;
        }
        let ago = self.order.len() - place as usize;
        if self.order_refs && place == self.last.wrapping_add(1) {
            Some((TAG_ORDER_NEXT, place))
        } else if ago < RING {
            Some((TAG_RECENT, place))
        } else if self.order_refs {
            Some((TAG_ORDER, place))
        } else {
            None
        }
    }

    /// Raw bytes of all columns.
    pub fn raw_len(&self) -> usize {
        self.cols.iter().map(Vec::len).sum()
    }
}

/// zstd's shortest match for the tag column, where level 9 would look for 5-byte ones: a
/// trace's tags repeat in runs of whole events, and with 6 the column came out 0.6 – 1.8 %
/// smaller on every shipped trace and a generated webapp one (compileall 0.399 → 0.396
/// B/event), `convert` ran 5 – 9 % faster in one sitting (not resolved in a noisier one) and
/// decoding was unchanged (2026-12-08, AMD EPYC family 26 model 2; docs/streaming.md, "zstd's
/// shortest match for the tags"). Only the writer sets it: a reader decodes any zstd frame alike, so earlier traces read unchanged.
/// The other columns keep the level's own: 6 for the sizes too made three of five traces
/// larger again, compileall back to 0.399.
const TAG_MIN_MATCH: u32 = 6;

/// Compresses the columns into a block payload: a directory of `(raw_len, stored_len)` per
/// column (u32 each, little-endian), then the non-empty columns' zstd frames in order.
pub fn pack(
    cols: &[Vec<u8>; COLUMNS],
    zstd: &mut zstd::bulk::Compressor<'static>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    out.clear();
    out.resize(COLUMNS * 8, 0);
    let mut frame = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let mut stored = 0usize;
        if !c.is_empty() {
            frame.clear();
            frame.reserve(zstd::zstd_safe::compress_bound(c.len()));
            // 0: the compression level's own value.
            let min_match = if i == COL_TAGS { TAG_MIN_MATCH } else { 0 };
            zstd.set_parameter(zstd::stream::raw::CParameter::MinMatch(min_match))?;
            zstd.compress_to_buffer(c, &mut frame)?;
            out.extend_from_slice(&frame);
            stored = frame.len();
        }
        out[i * 8..i * 8 + 4].copy_from_slice(&(c.len() as u32).to_le_bytes());
        out[i * 8 + 4..i * 8 + 8].copy_from_slice(&(stored as u32).to_le_bytes());
    }
    Ok(())
}

/// Reverses [`pack`] into `cols`, checking every length against the payload and the block's
/// declared `raw_len` before allocating.
pub fn unpack(
    payload: &[u8],
    raw_len: u32,
    cols: &mut [Vec<u8>; COLUMNS],
    zstd: &mut zstd::bulk::Decompressor<'static>,
) -> Result<(), String> {
    if payload.len() < COLUMNS * 8 {
        return Err("payload shorter than its column directory".into());
    }
    let mut at = COLUMNS * 8;
    let mut total = 0u64;
    for (i, col) in cols.iter_mut().enumerate() {
        let d = &payload[i * 8..i * 8 + 8];
        let raw = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
        let stored = u32::from_le_bytes([d[4], d[5], d[6], d[7]]) as usize;
        total += raw as u64;
        if total > u64::from(raw_len) || stored > payload.len() - at || (raw == 0) != (stored == 0)
        {
            return Err(format!(
                "column {i}: lengths {raw}/{stored} do not fit the block"
            ));
        }
        col.clear();
        if raw > 0 {
            col.reserve(raw);
            let n = zstd
                .decompress_to_buffer(&payload[at..at + stored], col)
                .map_err(|e| format!("column {i}: zstd: {e}"))?;
            if n != raw {
                return Err(format!(
                    "column {i}: decompressed to {n} bytes, directory says {raw}"
                ));
            }
        }
        at += stored;
    }
    if at != payload.len() || total != u64::from(raw_len) {
        return Err(format!(
            "columns hold {total} bytes in {at} stored, header says {raw_len} in {}",
            payload.len()
        ));
    }
    Ok(())
}

/// What a block's decoder needs besides its columns: whether the file allows allocation-order
/// references ([`FLAG_ORDER`]), and room for the block's allocation order, kept from block to
/// block so decoding allocates nothing per block.
#[derive(Debug, Clone, Default)]
pub struct AllocOrder {
    pub refs: bool,
    pub(super) slots: Vec<u32>,
    /// The block's stack of freed slots (format.rs: every allocation pops it), kept here for
    /// the same reason.
    pub(super) freed: Vec<u32>,
}

impl AllocOrder {
    /// For a file with these header flags.
    pub fn for_flags(flags: u16) -> Self {
        AllocOrder {
            refs: flags & FLAG_ORDER != 0,
            ..AllocOrder::default()
        }
    }
}

/// What the encoders write of an event: its op code, domain bits, thread (a marker keeps the
/// current one) and slot. Shared by both format versions' writers.
pub(super) fn event_parts(e: &Event, current_thread: u16) -> (u8, u8, u16, Option<u32>) {
    match *e {
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
        Event::Phase(_) => (OP_PHASE, 0, current_thread, None),
        Event::Gc(_) => (OP_GC, 0, current_thread, None),
    }
}

#[cfg(test)]
#[path = "columns_tests.rs"]
mod tests;
