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
/// Format version this build writes and the newest it reads.
pub const VERSION: u16 = 1;
/// Largest metadata JSON accepted (a command line and a phase table fit easily).
pub const MAX_META: u32 = 1 << 20;
/// Largest block payload, compressed or not: bounds the reader's memory whatever the input.
pub const MAX_BLOCK: u32 = 1 << 24;
/// Largest slot table a trace may need (2^28 live blocks is 4 GiB of pointers alone).
pub const MAX_SLOTS: u32 = 1 << 28;
/// Largest single request (calloc: n × size) a trace may hold: 4 GiB − 1, the `u32` of the
/// event model; anything larger is corruption.
pub const MAX_REQUEST: u64 = u32::MAX as u64;
/// Bytes of a block header.
pub const BLOCK_HEADER: usize = 17;

pub const BLOCK_EVENTS: u8 = 1;
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
    fn zigzag_round_trip() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
