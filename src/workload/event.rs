//! The event model of design.md §2: what a replay loop executes, whatever produced it.

use serde::Serialize;
use std::fmt;

/// CPython's three allocation domains. A replay can send only the pymalloc domains
/// (MEM, OBJ) to the allocator under test, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[repr(u8)]
pub enum Domain {
    /// `PyMem_RawMalloc`: never served by pymalloc.
    Raw = 0,
    /// `PyMem_Malloc`: list item arrays, instance value arrays, buffers.
    Mem = 1,
    /// `PyObject_Malloc`: the objects themselves.
    Obj = 2,
}

impl Domain {
    pub const ALL: [Domain; 3] = [Domain::Raw, Domain::Mem, Domain::Obj];

    pub const fn name(self) -> &'static str {
        match self {
            Domain::Raw => "raw",
            Domain::Mem => "mem",
            Domain::Obj => "obj",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of an [`Event`], for counting and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Op {
    Alloc,
    Calloc,
    Realloc,
    Free,
    Phase,
    Gc,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::Alloc,
        Op::Calloc,
        Op::Realloc,
        Op::Free,
        Op::Phase,
        Op::Gc,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Op::Alloc => "alloc",
            Op::Calloc => "calloc",
            Op::Realloc => "realloc",
            Op::Free => "free",
            Op::Phase => "phase",
            Op::Gc => "gc",
        }
    }
}

/// One allocator call or zero-cost marker.
///
/// `slot` is a dense index into the replay's pointer table: slots are recycled after a free,
/// so the table only needs as many entries as the peak number of live blocks. Sizes are the
/// bytes *requested* (as `PyObject_Malloc`/`PyMem_Malloc` would be asked). `thread` is 0 for
/// single-threaded streams. The type is `Copy` and 16 bytes so a replay can decode batches
/// of events into a flat buffer cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `malloc(size)` into a free slot.
    Alloc {
        slot: u32,
        size: u32,
        domain: Domain,
        thread: u16,
    },
    /// `calloc(n, size)` into a free slot.
    Calloc {
        slot: u32,
        n: u32,
        size: u32,
        domain: Domain,
        thread: u16,
    },
    /// `realloc(ptr[slot], size)`; the block keeps its slot and its domain.
    Realloc { slot: u32, size: u32, thread: u16 },
    /// `free(ptr[slot])`; the slot may be reused by a later allocation.
    Free { slot: u32, thread: u16 },
    /// Start of a named phase; the id indexes the stream's phase-name table.
    Phase(u16),
    /// A garbage collection of this generation (0, 1 or 2) starts here; frees it causes follow.
    Gc(u8),
}

impl Event {
    /// The operation of this event.
    pub const fn op(&self) -> Op {
        match self {
            Event::Alloc { .. } => Op::Alloc,
            Event::Calloc { .. } => Op::Calloc,
            Event::Realloc { .. } => Op::Realloc,
            Event::Free { .. } => Op::Free,
            Event::Phase(_) => Op::Phase,
            Event::Gc(_) => Op::Gc,
        }
    }

    /// The slot an allocator event touches, `None` for markers.
    pub const fn slot(&self) -> Option<u32> {
        match *self {
            Event::Alloc { slot, .. }
            | Event::Calloc { slot, .. }
            | Event::Realloc { slot, .. }
            | Event::Free { slot, .. } => Some(slot),
            Event::Phase(_) | Event::Gc(_) => None,
        }
    }

    /// Bytes requested by an allocating event (`n × size` for calloc), else `None`.
    pub const fn bytes(&self) -> Option<u64> {
        match *self {
            Event::Alloc { size, .. } | Event::Realloc { size, .. } => Some(size as u64),
            Event::Calloc { n, size, .. } => Some(n as u64 * size as u64),
            _ => None,
        }
    }

    /// A fixed 16-byte little-endian encoding, stable across machines and crate versions:
    /// what [`stream_hash`] hashes, and what a trace file could store.
    pub fn encode(&self) -> [u8; 16] {
        let (tag, domain, thread, a, b, c): (u8, u8, u16, u32, u32, u32) = match *self {
            Event::Alloc {
                slot,
                size,
                domain,
                thread,
            } => (0, domain as u8, thread, slot, size, 0),
            Event::Calloc {
                slot,
                n,
                size,
                domain,
                thread,
            } => (1, domain as u8, thread, slot, size, n),
            Event::Realloc { slot, size, thread } => (2, 0, thread, slot, size, 0),
            Event::Free { slot, thread } => (3, 0, thread, slot, 0, 0),
            Event::Phase(id) => (4, 0, 0, u32::from(id), 0, 0),
            Event::Gc(g) => (5, 0, 0, u32::from(g), 0, 0),
        };
        let mut out = [0u8; 16];
        out[0] = tag;
        out[1] = domain;
        out[2..4].copy_from_slice(&thread.to_le_bytes());
        out[4..8].copy_from_slice(&a.to_le_bytes());
        out[8..12].copy_from_slice(&b.to_le_bytes());
        out[12..16].copy_from_slice(&c.to_le_bytes());
        out
    }
}

/// FNV-1a (64-bit) over the [`Event::encode`] bytes of every event: a stream fingerprint
/// that is the same on every machine, used to check determinism.
pub fn stream_hash(events: impl IntoIterator<Item = Event>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for e in events {
        for b in e.encode() {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// Events for hand-built test streams: one-line constructors where a test spells out a
/// stream event by event.
#[cfg(test)]
pub mod fixture {
    use super::{Domain, Event};

    /// An object-domain allocation on thread 0.
    pub fn alloc(slot: u32, size: u32) -> Event {
        Event::Alloc {
            slot,
            size,
            domain: Domain::Obj,
            thread: 0,
        }
    }

    /// A free on thread 0.
    pub fn free(slot: u32) -> Event {
        Event::Free { slot, thread: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_small_and_copy() {
        assert!(std::mem::size_of::<Event>() <= 16);
    }

    #[test]
    fn encodings_differ_per_field() {
        let a = Event::Alloc {
            slot: 1,
            size: 32,
            domain: Domain::Obj,
            thread: 0,
        };
        let b = Event::Alloc {
            slot: 1,
            size: 32,
            domain: Domain::Mem,
            thread: 0,
        };
        let c = Event::Realloc {
            slot: 1,
            size: 32,
            thread: 0,
        };
        assert_ne!(a.encode(), b.encode());
        assert_ne!(a.encode(), c.encode());
        assert_ne!(stream_hash([a, c]), stream_hash([c, a]));
    }

    #[test]
    fn fnv1a_known_value() {
        // FNV-1a of the empty input is the offset basis.
        assert_eq!(stream_hash([]), 0xcbf2_9ce4_8422_2325);
    }
}
