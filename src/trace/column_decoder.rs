//! The decoder of version-2 events blocks ([`super::columns`] is their encoder): the hot
//! loop of every trace read. An event's one-byte tag decides everything else about it (op,
//! domain or reference kind, a thread change, how its slot is named). A trace uses a few
//! dozen tags (22 on json_tool's, 29 on compileall's), and ten of them are nearly all its
//! events ([`HOT_TAGS`]): those get a copy of the event decoder compiled for that tag
//! ([`by_tag`]), which knows which columns it reads, which checks can fail and which variant
//! it builds, where the general copy, which the other tags share, tests all of it.

use super::columns::AllocOrder;
use super::decode::{
    admit_slot, bad, field, marker, slot_limit_after, slot_limit_at_start, varint, DOMAINS,
    SLOT_STEP,
};
use super::format::*;
use super::live::SlotSink;
use crate::workload::Event;
use std::mem::MaybeUninit;

/// Decodes `count` events of one version-2 block from its columns into `out` (and their
/// pace, in cycles, into `pace` when the trace has a pace column), reporting each allocator
/// event to `live` as it goes; returns the slot-table size after them (`table` is the size
/// before). Errors name the event's index in the block, and leave `out` and `pace` as they
/// were (`live` may have seen the events before the error: a caller stops at one).
pub fn decode_block(
    cols: &[Vec<u8>; COLUMNS],
    count: u32,
    table: u32,
    out: &mut Vec<Event>,
    mut pace: Option<&mut Vec<u64>>,
    order: &mut AllocOrder,
    live: &mut impl SlotSink,
) -> Result<u32, String> {
    let (events_before, pace_before) = (out.len(), pace.as_deref().map_or(0, Vec::len));
    let decoded = decode_columns::<true>(cols, count, table, out, pace.as_deref_mut(), order, live);
    if decoded.is_err() {
        out.truncate(events_before);
        if let Some(p) = pace {
            p.truncate(pace_before);
        }
    }
    decoded
}

/// [`decode_block`]'s work, which may leave what it decoded before an error in `out` and
/// `pace`. `HOT`: whether common tags take their specialised copies of the event decoder
/// (always, but for the test that holds them to the general copy).
fn decode_columns<const HOT: bool>(
    cols: &[Vec<u8>; COLUMNS],
    count: u32,
    table: u32,
    out: &mut Vec<Event>,
    mut pace: Option<&mut Vec<u64>>,
    order: &mut AllocOrder,
    live: &mut impl SlotSink,
) -> Result<u32, String> {
    let tags = &cols[COL_TAGS];
    if tags.len() != count as usize {
        return Err(format!("{} tags for {count} events", tags.len()));
    }
    if pace.is_none() && !cols[COL_PACE].is_empty() {
        return Err("a pace column in a trace whose header has no pace flag".into());
    }
    let mut pos = [0usize; COLUMNS];
    // The pace column on its own (it depends on nothing else), so the event loop below has
    // no per-event test for it.
    if let Some(p) = pace.as_deref_mut() {
        pos[COL_PACE] = decode_pace(&cols[COL_PACE], count, p)?;
    }
    slot_limit_at_start(table)?;
    out.reserve(count as usize);
    let start = out.len();
    // Each event is written straight into the reserved room (no capacity test per event);
    // the length is set once all are decoded.
    let room = &mut out.spare_capacity_mut()[..count as usize];
    // The block's allocations in order and its freed stack, each at most one entry an
    // event: slices sized once, with their depths in the cursor's locals, where pushing to
    // vectors reloaded and stored each length on every event.
    order.slots.resize(count as usize, 0);
    order.freed.resize(count as usize, 0);
    let mut rd = Columns { cols, pos };
    let mut cur = Cursor {
        table,
        slot_now: 0,
        thread: 0,
        refs: order.refs,
        placed: &mut order.slots[..],
        freed: &mut order.freed[..],
        head: 0,
        top: 0,
        last: 0,
    };
    for ((i, &tag), dst) in tags.iter().enumerate().zip(room) {
        if HOT {
            by_tag!(tag, cur, rd, i as u32, live, dst)?;
        } else {
            cur.event(Any(tag), &mut rd, i as u32, live, dst)?;
        }
    }
    // SAFETY: the loop wrote all `count` slots of `room` (one per tag, `tags.len() ==
    // count`), and `reserve` made room for them after `start`.
    unsafe { out.set_len(start + count as usize) };
    slot_limit_after(cur.table, &out[start..])?;
    all_read(cols, &rd.pos, count, pace.is_some())?;
    Ok(cur.table)
}

/// Appends the pace of each of a block's `count` events to `pace`; returns the bytes of
/// the pace column read.
fn decode_pace(col: &[u8], count: u32, pace: &mut Vec<u64>) -> Result<usize, String> {
    let mut at = 0;
    pace.reserve(count as usize);
    for i in 0..count {
        let c = varint(col, &mut at)
            .and_then(pace_cycles)
            .ok_or_else(|| bad(i, "pace column ends early or holds a bad code"))?;
        pace.push(c);
    }
    Ok(at)
}

/// Every column after the tags was read to its end (`pos`), the pace column only when
/// `paced`: a byte left over means the block's columns disagree with its tags.
fn all_read(
    cols: &[Vec<u8>; COLUMNS],
    pos: &[usize; COLUMNS],
    count: u32,
    paced: bool,
) -> Result<(), String> {
    for (c, (col, &p)) in cols.iter().zip(pos).enumerate().skip(1) {
        // An unflagged pace column is refused before decoding; its bytes are not read here.
        let read = c != COL_PACE || paced;
        if read && p != col.len() {
            return Err(format!(
                "column {c}: {} bytes left after {count} events",
                col.len() - p
            ));
        }
    }
    Ok(())
}

/// The tags that make up nearly all of a trace, most common first (counted by
/// `examples/tag_mix.rs`: these ten are all but 0.1 % of json_tool's events, 97 % of
/// pip_list's and of `gen -w webapp`'s, 92 % of test_json's and 94 % of compileall's): an
/// allocation in the predicted slot, a free of the previous event's slot or of a recent
/// allocation, and so on. Twelve, adding the next two, were no faster (2026-12-05).
const HOT_TAGS: [u8; 10] = [
    OP_ALLOC | 2 << 3 | SLOT_PREDICTED << 6,  // object domain
    OP_FREE | SLOT_SAME << 6,                 // the previous event's slot
    OP_FREE | TAG_RECENT,                     // k allocations ago
    OP_ALLOC | 1 << 3 | SLOT_PREDICTED << 6,  // mem domain
    OP_CALLOC | 1 << 3 | SLOT_PREDICTED << 6, // mem domain
    OP_FREE,                                  // a slot delta in the slots column
    OP_FREE | SLOT_NEXT << 6,
    OP_FREE | SLOT_PREV << 6,
    OP_FREE | TAG_ORDER,      // a place relative to the last one named
    OP_FREE | TAG_ORDER_NEXT, // the place after it
];

/// Decodes one event with a copy of [`Cursor::event`] specialised for its tag when the tag
/// is one of [`HOT_TAGS`], else with the general copy. Each specialised copy knows at
/// compile time which columns it reads, which checks can fail and which variant it builds:
/// about 30 % fewer instructions an event. Written as comparisons in turn, which the
/// compiler makes into a jump table of eleven targets; a match over all 256 tags, each arm
/// its own copy, was ~10 % slower (2026-12-05).
macro_rules! by_tag {
    ($tag:expr, $cur:expr, $rd:expr, $i:expr, $live:expr, $dst:expr) => {{
        let t = $tag;
        by_tag!(@hot t, $cur, $rd, $i, $live, $dst; 0 1 2 3 4 5 6 7 8 9)
    }};
    (@hot $t:ident, $cur:expr, $rd:expr, $i:expr, $live:expr, $dst:expr; $($h:literal)*) => {
        $(
            if $t == HOT_TAGS[$h] {
                $cur.event(Fixed::<{ HOT_TAGS[$h] }>, &mut $rd, $i, $live, $dst)
            } else
        )* {
            $cur.event(Any($t), &mut $rd, $i, $live, $dst)
        }
    };
}
use by_tag;

/// An event's tag, known at compile time ([`Fixed`]) or only at run time ([`Any`]).
trait Tag: Copy {
    fn get(self) -> u8;
}
#[derive(Clone, Copy)]
struct Fixed<const T: u8>;
impl<const T: u8> Tag for Fixed<T> {
    #[inline(always)]
    fn get(self) -> u8 {
        T
    }
}
#[derive(Clone, Copy)]
struct Any(u8);
impl Tag for Any {
    #[inline(always)]
    fn get(self) -> u8 {
        self.0
    }
}

/// A block's columns, and where each one's next value starts.
struct Columns<'a> {
    cols: &'a [Vec<u8>; COLUMNS],
    pos: [usize; COLUMNS],
}

/// The decoder's state between two events of a block.
struct Cursor<'a> {
    /// The slot-table size so far.
    table: u32,
    /// The previous event's slot, which relative slot modes step from.
    slot_now: u32,
    thread: u16,
    /// Whether the file allows allocation-order references ([`FLAG_ORDER`]).
    refs: bool,
    /// The block's allocations in order (`head` of them so far).
    placed: &'a mut [u32],
    /// The block's freed stack (`top` deep): every allocation pops it (format.rs).
    freed: &'a mut [u32],
    head: usize,
    top: usize,
    /// The place in `placed` of the last free or realloc named by order or recency.
    last: usize,
}

impl Cursor<'_> {
    /// Decodes event `i`, whose tag is `tag`, into `dst` and reports it to `live`. The event
    /// is written straight into its place: returned by value inside a `Result`, it was
    /// stored field by field on the stack and read back whole, a store-forwarding stall that
    /// cost ~3 ns an event (2026-12-05).
    #[inline(always)]
    fn event<L: SlotSink>(
        &mut self,
        tag: impl Tag,
        rd: &mut Columns,
        i: u32,
        live: &mut L,
        dst: &mut MaybeUninit<Event>,
    ) -> Result<(), String> {
        let tag = tag.get();
        if tag & TAG_THREAD != 0 {
            let t = field(&rd.cols[COL_THREADS], &mut rd.pos[COL_THREADS], i, "thread")?;
            self.thread = u16::try_from(t).map_err(|_| bad(i, "thread id out of range"))?;
        }
        let (op, domain, mode) = (tag & 7, (tag >> 3) & 3, tag >> 6);
        if op > OP_FREE {
            dst.write(marker(
                &rd.cols[COL_ARGS],
                &mut rd.pos[COL_ARGS],
                i,
                tag,
                op,
            )?);
            return Ok(());
        }
        let allocating = op <= OP_CALLOC;
        let slot = self.slot(tag, rd, i)?;
        // Every allocation pops the freed stack, whichever way it names its slot.
        self.top -= usize::from(allocating && self.top > 0);
        self.table = admit_slot(i, slot, self.table, allocating)?;
        self.slot_now = slot;
        let thread = self.thread;
        let e = match op {
            OP_ALLOC | OP_CALLOC => {
                let Some(&domain) = DOMAINS.get(domain as usize) else {
                    return Err(bad(i, "domain 3 does not exist"));
                };
                self.placed[self.head] = slot;
                self.head += 1;
                let size = field(&rd.cols[COL_SIZES], &mut rd.pos[COL_SIZES], i, "size")?;
                if op == OP_ALLOC {
                    Event::Alloc {
                        slot,
                        size,
                        domain,
                        thread,
                    }
                } else {
                    self.calloc(rd, i, slot, size, domain)?
                }
            }
            _ if domain != 0 && mode != SLOT_EXPLICIT => {
                return Err(bad(i, "domain bits set on a realloc or free"))
            }
            OP_REALLOC => Event::Realloc {
                slot,
                size: field(&rd.cols[COL_SIZES], &mut rd.pos[COL_SIZES], i, "size")?,
                thread,
            },
            _ => {
                self.freed[self.top] = slot;
                self.top += 1;
                Event::Free { slot, thread }
            }
        };
        live.touch(i, slot, allocating, op != OP_REALLOC);
        dst.write(e);
        Ok(())
    }

    /// The slot that event `i` (an allocator event with tag `tag`) names.
    #[inline(always)]
    fn slot(&mut self, tag: u8, rd: &mut Columns, i: u32) -> Result<u32, String> {
        let (allocating, domain, mode) = (tag & 7 <= OP_CALLOC, (tag >> 3) & 3, tag >> 6);
        if mode == SLOT_EXPLICIT {
            if !allocating && domain != 0 {
                self.last = self.by_order(rd, i, domain)?;
                return Ok(self.placed[self.last]);
            }
            let v = varint(&rd.cols[COL_SLOTS], &mut rd.pos[COL_SLOTS])
                .ok_or_else(|| bad(i, "slot column ends early"))?;
            let s = i64::from(self.slot_now) + unzigzag(v);
            Ok(u32::try_from(s).unwrap_or(u32::MAX))
        } else if allocating && mode == SLOT_PREDICTED {
            Ok(match self.top {
                0 => self.table,
                top => self.freed[top - 1],
            })
        } else {
            Ok(self.slot_now.wrapping_add(SLOT_STEP[mode as usize]))
        }
    }

    /// The place in the block's allocation order that a free or realloc of event `i` names
    /// with reference kind `kind` (its tag's domain bits): `k` allocations ago, a place
    /// relative to the last one named, or the place after it.
    #[inline(always)]
    fn by_order(&mut self, rd: &mut Columns, i: u32, kind: u8) -> Result<usize, String> {
        let (head, last) = (self.head, self.last);
        match kind {
            1 => {
                let k = varint(&rd.cols[COL_REFS], &mut rd.pos[COL_REFS]).unwrap_or(0);
                if k == 0 || k >= RING as u64 || k > head as u64 {
                    return Err(bad(i, "bad recent-allocation reference"));
                }
                Ok(head - k as usize)
            }
            2 if self.refs => {
                let v = varint(&rd.cols[COL_SLOTS], &mut rd.pos[COL_SLOTS])
                    .ok_or_else(|| bad(i, "slot column ends early"))?;
                let place = (last as i64).wrapping_add(unzigzag(v));
                if !(0..head as i64).contains(&place) {
                    return Err(bad(i, "allocation-order reference out of the block"));
                }
                Ok(place as usize)
            }
            3 if self.refs && last + 1 < head => Ok(last + 1),
            3 if self.refs => Err(bad(i, "allocation-order reference out of the block")),
            _ => Err(bad(i, "allocation-order bits without the order flag")),
        }
    }

    /// A calloc's event, once its count (from the arguments column) is checked.
    #[inline(always)]
    fn calloc(
        &mut self,
        rd: &mut Columns,
        i: u32,
        slot: u32,
        size: u32,
        domain: crate::workload::Domain,
    ) -> Result<Event, String> {
        let n = field(&rd.cols[COL_ARGS], &mut rd.pos[COL_ARGS], i, "calloc count")?;
        if u64::from(n) * u64::from(size) > MAX_REQUEST {
            return Err(bad(i, &format!("calloc({n}, {size}) is absurdly large")));
        }
        Ok(Event::Calloc {
            slot,
            n,
            size,
            domain,
            thread: self.thread,
        })
    }
}

#[cfg(test)]
#[path = "column_decoder_tests.rs"]
mod tests;
