//! The `.pbt` trace file layout (docs/trace-format.md is the prose version of this file).
//!
//! ```text
//! header : magic[8] version:u16 flags:u16 meta_len:u32 meta[meta_len] (JSON) crc32:u32
//! block  : kind:u8 events:u32 raw_len:u32 stored_len:u32 crc32:u32 payload[stored_len]
//!          kind 1 = events: payload is one zstd frame of `raw_len` bytes of encoded events
//!          kind 2 = end:    payload is JSON (uncompressed) with the totals; `events` = 0
//! ```
//!
//! All integers are little-endian. The header CRC covers every header byte before it; a block
//! CRC covers the block's first 13 bytes and its payload, so a flipped length is caught too.
//! Events inside a block (state reset at each block start, so blocks decode independently):
//!
//! ```text
//! tag:u8  bits 0-2 op (0 alloc, 1 calloc, 2 realloc, 3 free, 4 phase, 5 gc)
//!         bits 3-4 domain (alloc/calloc; 0 otherwise)
//!         bit  5   a thread id varint follows (else: the previous event's thread)
//!         bits 6-7 slot: 0 = zigzag varint delta from the previous slot follows,
//!                        1 = alloc/calloc: the predicted slot (top of the stack of slots
//!                            freed in this block, else the next new slot);
//!                            realloc/free: the previous event's slot,
//!                        2 = previous + 1, 3 = previous - 1
//!         (every alloc/calloc pops that stack, every free pushes its slot)
//! then   [thread] [slot delta] and: alloc/realloc size; calloc n, size; phase id; gc generation
//! ```
//!
//! Slots follow the event model (design.md §2): dense, so an allocation names at most the
//! table size so far and any other op names a slot below it. That rule is the reader's
//! "slot out of range" check and lets a replay size its pointer table from the end block.

/// First eight bytes of every trace. The high byte and CR LF catch text-mode mangling, as
/// PNG's signature does.
pub const MAGIC: [u8; 8] = *b"\x89PBT\r\n\x1a\n";
/// Format version this build writes and the newest it reads (version 1 still reads).
pub const VERSION: u16 = 2;
/// Header flag (version 2): every events block carries a pace column.
pub const FLAG_PACE: u16 = 1;
/// Header flag (version 2): frees and reallocs may name their slot by its allocation's place
/// in the block's allocation order ([`TAG_ORDER`], [`TAG_ORDER_NEXT`]). A flag rather than
/// a new version, so a reader that predates it refuses such a file by name ("unknown header
/// flags") instead of failing at the first such event.
pub const FLAG_ORDER: u16 = 2;
/// Header flag (version 2): the end block's JSON is stored as one zstd frame (`raw_len` is
/// the JSON's length). A recording's accounting reports are 7 kB of text, 1.3 % of the
/// shipped compileall trace, and compress five-fold.
pub const FLAG_END_ZSTD: u16 = 4;
/// Flags this build understands; any other bit set is an error.
pub const KNOWN_FLAGS: u16 = FLAG_PACE | FLAG_ORDER | FLAG_END_ZSTD;
/// Flags this build's writer sets on every version-2 file it writes (with [`FLAG_PACE`] when
/// asked for pace).
pub const WRITER_FLAGS: u16 = FLAG_ORDER | FLAG_END_ZSTD;
/// Most events one block may declare, whatever the version (the writer uses
/// [`super::writer::BLOCK_TARGET_EVENTS`]): bounds a reader's batch buffer.
pub const MAX_BLOCK_EVENTS: u32 = 1 << 20;
/// Most events a trace may declare (2^40: a replay of it materialised would need 16 TiB).
pub const MAX_EVENTS: u64 = 1 << 40;
/// Bytes of a version-2 block header: kind, events, raw_len, stored_len, table_before, crc.
pub const BLOCK_HEADER_V2: usize = 21;
/// Columns of a version-2 events block, in payload order.
pub const COL_TAGS: usize = 0;
pub const COL_THREADS: usize = 1;
pub const COL_REFS: usize = 2;
pub const COL_SLOTS: usize = 3;
pub const COL_SIZES: usize = 4;
pub const COL_ARGS: usize = 5;
pub const COL_PACE: usize = 6;
pub const COLUMNS: usize = 7;
/// Version 2: a realloc or free with tag bit 3 set names its slot by how many allocations
/// ago it was allocated (1..RING), read from the refs column.
pub const TAG_RECENT: u8 = 1 << 3;
/// Recently allocated slots a version-2 block remembers (a power of two).
pub const RING: usize = 64;
/// Version 2 with [`FLAG_ORDER`]: a realloc or free with tag bit 4 set (bit 3 clear) names
/// the slot allocated `d` allocations after the last one named by allocation order (this tag
/// or [`TAG_RECENT`]), `d` a zigzag varint in the slots column. Programs drop structures in
/// the order they built them (compileall frees a module's syntax tree node after node):
/// there, a slot delta is two random bytes where `d` is a small repeated number.
pub const TAG_ORDER: u8 = 1 << 4;
/// Both bits 3 and 4: `d` = 1, nothing in any column — the block allocated right after the
/// last one named by order (half of compileall's explicitly coded frees).
pub const TAG_ORDER_NEXT: u8 = TAG_RECENT | TAG_ORDER;
/// Largest metadata JSON accepted (a command line and a phase table fit easily).
pub const MAX_META: u32 = 1 << 20;
/// Largest block payload, compressed or not: bounds the reader's memory whatever the input.
pub const MAX_BLOCK: u32 = 1 << 24;
/// Largest slot table a trace may need: 2^26 (67 M) blocks live at once, the heap of a
/// program holding 67 M of the smallest objects (≥ 2 GiB). A replay needs 8 bytes of
/// pointer a slot, `stats` 24 bytes of state: a 45 KB file must not ask for gigabytes
/// (issue 16). Version 1 allowed 2^28.
pub const MAX_SLOTS: u32 = 1 << 26;
/// Largest single request (calloc: n × size) a trace may hold: 4 GiB − 1, the `u32` of the
/// event model; anything larger is corruption.
pub const MAX_REQUEST: u64 = u32::MAX as u64;
/// Bytes of a block header.
pub const BLOCK_HEADER: usize = 17;

pub const BLOCK_EVENTS: u8 = 1;
/// Largest version-2 zstd level the writer uses: columns compress to ~10 % less than at 3,
/// and decoding speed does not depend on the level.
pub const ZSTD_LEVEL_V2: i32 = 9;
pub const BLOCK_END: u8 = 2;

pub const OP_ALLOC: u8 = 0;
pub const OP_CALLOC: u8 = 1;
pub const OP_REALLOC: u8 = 2;
pub const OP_FREE: u8 = 3;
pub const OP_PHASE: u8 = 4;
pub const OP_GC: u8 = 5;

pub const TAG_THREAD: u8 = 1 << 5;
pub const SLOT_EXPLICIT: u8 = 0;
pub const SLOT_SAME: u8 = 1;
/// Same bits as [`SLOT_SAME`], on an allocation.
pub const SLOT_PREDICTED: u8 = 1;
pub const SLOT_NEXT: u8 = 2;
pub const SLOT_PREV: u8 = 3;

/// Appends `v` as a LEB128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint of at most 10 bytes; `None` when the input ends or it is overlong.
#[inline(always)]
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    if b < 0x80 {
        return Some(u64::from(b));
    }
    let mut v = u64::from(b & 0x7f);
    let mut shift = 7;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Pace quantisation: cycles below 16 exactly, above that 4 significant bits (≤ 6.25 %
/// error), so a pace code is one varint byte up to 2^11 cycles and two up to 2^63.
pub fn pace_code(cycles: u64) -> u64 {
    if cycles < 16 {
        return cycles;
    }
    let b = 63 - u64::from(cycles.leading_zeros());
    16 * (b - 3) + ((cycles >> (b - 4)) & 15)
}

/// The cycles a pace code stands for (the lower end of its bucket).
pub fn pace_cycles(code: u64) -> Option<u64> {
    if code < 16 {
        return Some(code);
    }
    let b = code / 16 + 3;
    if b > 63 {
        return None;
    }
    Some((16 + (code & 15)) << (b - 4))
}

/// What a version-2 block's checksum covers before the block itself: the file id and the
/// block's sequence number (0 for the first block after the header), both little-endian.
pub fn block_binding(file_id: u64, seq: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&file_id.to_le_bytes());
    b[8..].copy_from_slice(&seq.to_le_bytes());
    b
}

/// CRC-32 (IEEE) of the concatenation of `parts`.
pub fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_overlong() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut p = 0;
            assert_eq!(get_varint(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
        }
        let mut p = 0;
        assert_eq!(get_varint(&[0xff; 11], &mut p), None);
        let mut p = 0;
        assert_eq!(get_varint(&[0x80], &mut p), None);
    }

    #[test]
    fn pace_codes_are_monotone_and_close() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 40) + 12345, u64::MAX]) {
            let c = pace_code(v);
            let back = pace_cycles(c).unwrap();
            assert!(c >= last || v == 0);
            last = c;
            assert!(
                back <= v && (v - back) as f64 <= v as f64 / 16.0,
                "{v} -> {back}"
            );
        }
        assert_eq!(pace_cycles(16 * 61), None);
    }

    #[test]
    fn zigzag_round_trip() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
