//! The event decoder of one block: the hot loop of every trace replay, so the common shapes
//! (one-byte tag, slot given by the tag, one- or two-byte size) take the short paths and
//! every error is built out of line.

use super::format::*;
use super::writer::DeltaState;
use crate::workload::{Domain, Event};

pub(super) const DOMAINS: [Domain; 3] = [Domain::Raw, Domain::Mem, Domain::Obj];
/// Slot change of modes SAME, NEXT and PREV (index 0 is never used).
pub(super) const SLOT_STEP: [u32; 4] = [0, 0, 1, u32::MAX];

/// A varint as [`get_varint`] reads it, with a branch-free fast path for the forms of at
/// most four bytes (values below 2^28: every size, slot delta and reference a real trace
/// holds): one bounds check and one 8-byte load instead of a branch per byte. Sizes mix one-
/// and two-byte forms at random, so a byte-by-byte reader mispredicts on many of them; the
/// forms of one or two bytes (values below 16 Ki, nearly all) take a shorter packing still,
/// a branch that real traces take almost always (2026-12-05: the column decoder 3 – 12 %
/// faster on four of five traces). Used by both block versions' decoders.
#[inline(always)]
pub fn varint(raw: &[u8], p: &mut usize) -> Option<u64> {
    if let Some(bytes) = raw.get(*p..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*bytes);
        // The first byte with its high bit clear ends the varint: `stop` has that bit
        // lowest, and `stop ^ (stop - 1)` keeps the varint's own bytes of `w`, so packing
        // their seven-bit groups needs no length-dependent mask.
        let stop = !w & 0x8080_8080_8080_8080;
        if stop & 0x8080_8080 != 0 {
            let w = w & (stop ^ (stop - 1));
            *p += (stop.trailing_zeros() / 8 + 1) as usize;
            let two = (w & 0x7f) | (w >> 1 & 0x3f80);
            // One or two bytes: every size below 16 KiB, nearly every slot delta.
            if stop & 0x8080 != 0 {
                return Some(two);
            }
            return Some(two | (w >> 2 & 0x1f_c000) | (w >> 3 & 0x0fe0_0000));
        }
    }
    get_varint(raw, p)
}

/// Checks event `i`'s slot against the slot-table size `table` and returns the size after
/// it. Slots are dense (format.rs): an allocation may open the next slot, growing the table
/// by one; nothing may name a slot past it. The [`MAX_SLOTS`] limit is not tested here, on
/// every event, but by [`slot_limit_at_start`] and [`slot_limit_after`] around each block:
/// the table grows one slot an event at most. Shared by both block versions' decoders.
#[inline(always)]
pub(super) fn admit_slot(i: u32, slot: u32, table: u32, allocating: bool) -> Result<u32, String> {
    if slot >= table + u32::from(allocating) {
        return Err(slot_out_of_range(i, slot, table));
    }
    Ok(table + u32::from(slot == table))
}

/// [`admit_slot`]'s error, apart so that its formatting stays out of the decoders' loops.
#[cold]
#[inline(never)]
fn slot_out_of_range(i: u32, slot: u32, table: u32) -> String {
    bad(i, &format!("slot {slot} out of range (table size {table})"))
}

/// A block may not start past [`MAX_SLOTS`] (its header's slot-table size).
pub(super) fn slot_limit_at_start(table: u32) -> Result<(), String> {
    if table > MAX_SLOTS {
        return Err(format!("the block starts at {table} slots, past the limit"));
    }
    Ok(())
}

/// A block's `events` may not take the slot table past [`MAX_SLOTS`] (`table`: its size
/// after them); the error names the first event to open a slot past the limit.
pub(super) fn slot_limit_after(table: u32, events: &[Event]) -> Result<(), String> {
    if table <= MAX_SLOTS {
        return Ok(());
    }
    let at = events
        .iter()
        .position(|e| e.slot().is_some_and(|s| s >= MAX_SLOTS));
    Err(bad(
        at.unwrap_or(0) as u32,
        &format!("slot {MAX_SLOTS} out of range (limit {MAX_SLOTS} blocks live at once)"),
    ))
}

/// A varint field of at most 32 bits; `what` names it in the error.
#[inline(always)]
pub(super) fn field(raw: &[u8], p: &mut usize, i: u32, what: &str) -> Result<u32, String> {
    match varint(raw, p) {
        Some(v) if v <= u64::from(u32::MAX) => Ok(v as u32),
        v => Err(field_error(i, what, v)),
    }
}

/// [`field`]'s error, built out of line so the hot loop keeps no error text at hand.
#[cold]
#[inline(never)]
fn field_error(i: u32, what: &str, v: Option<u64>) -> String {
    match v {
        Some(v) => bad(i, &format!("{what} {v} is absurdly large")),
        None => bad(i, &format!("bad {what} varint, or its bytes end early")),
    }
}

#[cold]
#[inline(never)]
pub(super) fn bad(i: u32, msg: &str) -> String {
    format!("event {i}: {msg}")
}

/// Decodes `count` events of one block into `out`; returns the slot-table size after them
/// (`table` is the size before). Errors name the event's index within the block, and leave
/// `out` as it was: a refused block adds no events, as in version 2.
pub fn decode_block(
    raw: &[u8],
    count: u32,
    table: u32,
    out: &mut Vec<Event>,
) -> Result<u32, String> {
    let start = out.len();
    let decoded = decode_events(raw, count, table, out);
    if decoded.is_err() {
        out.truncate(start);
    }
    decoded
}

/// [`decode_block`]'s work, which may leave the events before an error in `out`.
fn decode_events(
    raw: &[u8],
    count: u32,
    mut table: u32,
    out: &mut Vec<Event>,
) -> Result<u32, String> {
    slot_limit_at_start(table)?;
    let start = out.len();
    out.reserve(count as usize);
    let mut st = DeltaState::default();
    let mut p = 0usize;
    for i in 0..count {
        let Some(&tag) = raw.get(p) else {
            return Err(bad(i, "payload ends early"));
        };
        p += 1;
        if tag & TAG_THREAD != 0 {
            let t = varint(raw, &mut p).ok_or_else(|| bad(i, "bad thread varint"))?;
            st.thread = u16::try_from(t).map_err(|_| bad(i, "thread id out of range"))?;
        }
        let thread = st.thread;
        let op = tag & 7;
        if op > OP_FREE {
            out.push(marker(raw, &mut p, i, tag, op)?);
            continue;
        }
        let allocating = op <= OP_CALLOC;
        let slot = slot_v1(raw, &mut p, i, tag, &mut st, table)?;
        table = admit_slot(i, slot, table, allocating)?;
        st.slot = slot;
        let e = allocator_event_v1(raw, &mut p, i, (op, (tag >> 3) & 3), slot, thread)?;
        if op == OP_FREE {
            st.freed.push(slot);
        }
        out.push(e);
    }
    slot_limit_after(table, &out[start..])?;
    if p != raw.len() {
        return Err(format!("{} bytes left after {count} events", raw.len() - p));
    }
    Ok(table)
}

/// The slot a version-1 allocator event with tag `tag` names. Every allocation pops the
/// freed stack (format.rs); the common modes are arithmetic on the previous slot, leaving
/// two well-shaped branches instead of a jump table.
#[inline(always)]
fn slot_v1(
    raw: &[u8],
    p: &mut usize,
    i: u32,
    tag: u8,
    st: &mut DeltaState,
    table: u32,
) -> Result<u32, String> {
    let (allocating, mode) = (tag & 7 <= OP_CALLOC, tag >> 6);
    let popped = if allocating { st.freed.pop() } else { None };
    Ok(if mode == SLOT_EXPLICIT {
        let v = varint(raw, p).ok_or_else(|| bad(i, "bad slot varint"))?;
        let s = i64::from(st.slot) + unzigzag(v);
        u32::try_from(s).unwrap_or(u32::MAX)
    } else if allocating && mode == SLOT_PREDICTED {
        popped.unwrap_or(table)
    } else {
        st.slot.wrapping_add(SLOT_STEP[mode as usize])
    })
}

/// A version-1 allocator event (`op` ≤ free, `domain` its tag's domain bits) in `slot`, its
/// fields read from `raw` at `p`.
#[inline(always)]
fn allocator_event_v1(
    raw: &[u8],
    p: &mut usize,
    i: u32,
    (op, domain): (u8, u8),
    slot: u32,
    thread: u16,
) -> Result<Event, String> {
    Ok(match op {
        OP_ALLOC | OP_CALLOC => {
            let Some(&domain) = DOMAINS.get(domain as usize) else {
                return Err(bad(i, "domain 3 does not exist"));
            };
            if op == OP_ALLOC {
                let size = field(raw, p, i, "size")?;
                Event::Alloc {
                    slot,
                    size,
                    domain,
                    thread,
                }
            } else {
                let n = field(raw, p, i, "calloc count")?;
                let size = field(raw, p, i, "size")?;
                if u64::from(n) * u64::from(size) > MAX_REQUEST {
                    return Err(bad(i, &format!("calloc({n}, {size}) is absurdly large")));
                }
                Event::Calloc {
                    slot,
                    n,
                    size,
                    domain,
                    thread,
                }
            }
        }
        _ if domain != 0 => return Err(bad(i, "domain bits set on a realloc or free")),
        OP_REALLOC => Event::Realloc {
            slot,
            size: field(raw, p, i, "size")?,
            thread,
        },
        _ => Event::Free { slot, thread },
    })
}

/// A phase or GC marker (rare: out of the hot loop); version 2's column decoder reads its
/// markers' arguments with this too.
#[inline(never)]
pub(super) fn marker(raw: &[u8], p: &mut usize, i: u32, tag: u8, op: u8) -> Result<Event, String> {
    if (tag >> 3) & !(TAG_THREAD >> 3) != 0 {
        return Err(bad(i, "slot or domain bits set on a marker"));
    }
    match op {
        OP_PHASE => {
            let id = field(raw, p, i, "phase id")?;
            Ok(Event::Phase(
                u16::try_from(id).map_err(|_| bad(i, "phase id out of range"))?,
            ))
        }
        OP_GC => match field(raw, p, i, "gc generation")? {
            g @ 0..=2 => Ok(Event::Gc(g as u8)),
            g => Err(bad(i, &format!("gc generation {g}"))),
        },
        _ => Err(bad(i, &format!("unknown op {op}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A version-1 block of `n` allocations of 16 bytes, each in the predicted slot (the
    /// table's next one, nothing having been freed).
    fn allocations(n: usize) -> Vec<u8> {
        [OP_ALLOC | (SLOT_PREDICTED << 6), 16].repeat(n)
    }

    #[test]
    fn the_slot_limit_holds_in_version_1_as_in_version_2() {
        // From MAX_SLOTS - 2, event 2 opens slot MAX_SLOTS, the first past the limit.
        let mut out = vec![Event::Phase(1)];
        let e = decode_block(&allocations(4), 4, MAX_SLOTS - 2, &mut out).unwrap_err();
        assert_eq!(
            e,
            format!(
                "event 2: slot {MAX_SLOTS} out of range (limit {MAX_SLOTS} blocks live at once)"
            )
        );
        assert_eq!(out, [Event::Phase(1)], "a refused block adds no events");
        // Two allocations from there stay within it.
        let table = decode_block(&allocations(2), 2, MAX_SLOTS - 2, &mut out).unwrap();
        assert_eq!((table, out.len()), (MAX_SLOTS, 3));
        // A block whose header starts it past the limit is refused before any event.
        let e = decode_block(&allocations(1), 1, MAX_SLOTS + 1, &mut out).unwrap_err();
        assert!(e.contains("past the limit"), "{e}");
    }

    #[test]
    fn a_block_refused_for_any_reason_adds_no_events() {
        let mut out = vec![Event::Phase(1)];
        // Two good events, then a cut-off third.
        let mut cut = allocations(3);
        cut.pop();
        assert!(decode_block(&cut, 3, 0, &mut out).is_err());
        // Three good events and a byte left over.
        let mut long = allocations(3);
        long.push(0);
        let e = decode_block(&long, 3, 0, &mut out).unwrap_err();
        assert_eq!(e, "1 bytes left after 3 events");
        assert_eq!(out, [Event::Phase(1)]);
    }

    #[test]
    fn a_slot_past_the_table_is_named_with_the_table_size() {
        // A free of slot 0 in an empty table: nothing was allocated there.
        let free = [OP_FREE | (SLOT_SAME << 6)];
        let e = decode_block(&free, 1, 0, &mut Vec::new()).unwrap_err();
        assert_eq!(e, "event 0: slot 0 out of range (table size 0)");
    }

    proptest! {
        /// The fast path reads exactly what the byte-by-byte reader reads, wherever the
        /// buffer ends and whatever the bytes (long, overlong and cut-off forms included).
        #[test]
        fn varint_fast_path_equals_the_plain_reader(
            values in prop::collection::vec(any::<u64>(), 0..40),
            shift in prop::collection::vec(0u32..64, 0..40),
            junk in prop::collection::vec(any::<u8>(), 0..24),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut buf = Vec::new();
            for (i, v) in values.iter().enumerate() {
                put_varint(&mut buf, v >> shift.get(i).copied().unwrap_or(0));
            }
            buf.extend_from_slice(&junk);
            let buf = &buf[..cut.index(buf.len() + 1)];
            let (mut p, mut q) = (0usize, 0usize);
            loop {
                let (a, b) = (varint(buf, &mut p), get_varint(buf, &mut q));
                prop_assert_eq!(a, b);
                prop_assert_eq!(p, q);
                if a.is_none() || p >= buf.len() {
                    break;
                }
            }
        }
    }
}
