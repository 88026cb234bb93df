//! The throughput loop's input: a workload's events decoded once into 8-byte fixed-width
//! records in a pre-faulted, huge-page-advised buffer (design.md §3 "decode-free fixed-width
//! events").
//!
//! Everything the stream itself implies is worked out here, once, instead of in the loop:
//! which domain (glibc or the allocator under test) serves a block — so realloc and free need
//! no per-slot flag —, how many bytes of a block the touch policy writes, the peak of live
//! requested bytes, and which blocks are still live at the end (freed between passes). Rare
//! events that do not fit the record (calloc's n × size, sizes ≥ 256 MiB, a realloc that must
//! write into the grown part) go to a side table.

use super::replay::Touch;
use crate::sys::pinned::PinnedBuf;
use crate::workload::{Domain, Event};

/// Bits of a record's `word` that hold a size (or a side-table index).
const SIZE_BITS: u32 = 28;
const SIZE_MASK: u32 = (1 << SIZE_BITS) - 1;

/// Record codes (top four bits of `word`): operation × whether glibc serves the block.
pub(crate) const MALLOC: u32 = 0;
pub(crate) const MALLOC_RAW: u32 = 1;
pub(crate) const FREE: u32 = 2;
pub(crate) const FREE_RAW: u32 = 3;
pub(crate) const REALLOC: u32 = 4;
pub(crate) const REALLOC_RAW: u32 = 5;
pub(crate) const WIDE: u32 = 6;
pub(crate) const WIDE_RAW: u32 = 7;

/// One allocator event in 8 bytes: a slot and (code, size | side-table index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Record {
    pub slot: u32,
    pub word: u32,
}

impl Record {
    #[inline(always)]
    pub fn code(self) -> u32 {
        self.word >> SIZE_BITS
    }

    #[inline(always)]
    pub fn size(self) -> usize {
        (self.word & SIZE_MASK) as usize
    }
}

/// An event that does not fit a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wide {
    Malloc {
        size: u64,
    },
    Calloc {
        n: u64,
        size: u64,
    },
    /// A realloc whose touch policy writes bytes `touch_from..size` of the new block.
    Realloc {
        size: u64,
        touch_from: u64,
    },
}

impl Wide {
    /// Bytes of the block the event leaves in its slot (calloc's n × size).
    pub fn bytes(self) -> u64 {
        match self {
            Wide::Malloc { size } | Wide::Realloc { size, .. } => size,
            Wide::Calloc { n, size } => n * size,
        }
    }
}

/// A stream ready for the throughput loop; see the module documentation.
pub struct CompactStream {
    pub records: PinnedBuf<Record>,
    pub wide: Vec<Wide>,
    /// Entries the slot table needs.
    pub slots: usize,
    /// (slot, served by glibc) of every block live after the last event.
    pub live_at_end: Vec<(u32, bool)>,
    pub peak_live_bytes: u64,
    pub touch: Touch,
}

/// Why a stream cannot be compiled (a malformed trace; generators never produce these).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("event {index}: {what} of slot {slot}, which is not live")]
    NotLive {
        index: usize,
        what: &'static str,
        slot: u32,
    },
    // Not `#[from]`: that would also make the OS error the source, which `{:#}` prints
    // again after the message.
    #[error("cannot map the event buffer: {0}")]
    Map(std::io::Error),
}

impl From<std::io::Error> for CompileError {
    fn from(e: std::io::Error) -> Self {
        CompileError::Map(e)
    }
}

/// The compiler's state between events: per slot, the requested size and domain of the live
/// block, and the live-byte count. Incremental, so a streaming replay compiles chunk by chunk
/// on its read-ahead thread exactly as [`CompactStream::compile`] compiles a whole stream.
pub struct Compiler {
    /// Per slot: requested size | [`RAW`] of the live block, or [`FREE_SLOT`].
    live: Vec<u64>,
    raw_to_system: bool,
    touch: Touch,
    live_bytes: u64,
    pub peak_live_bytes: u64,
    /// Events compiled so far (markers included): the index errors name.
    index: usize,
}

const RAW: u64 = 1 << 63;
const FREE_SLOT: u64 = u64::MAX;

impl Compiler {
    /// A compiler for a stream needing `slots` table entries (grown if the stream names more).
    pub fn new(slots: usize, raw_to_system: bool, touch: Touch) -> Self {
        Compiler {
            live: vec![FREE_SLOT; slots],
            raw_to_system,
            touch,
            live_bytes: 0,
            peak_live_bytes: 0,
            index: 0,
        }
    }

    /// Entries the slot table needs.
    pub fn slots(&self) -> usize {
        self.live.len()
    }

    /// Starts the stream again from an empty table (the next pass of a streamed replay).
    pub fn restart(&mut self) {
        self.live.fill(FREE_SLOT);
        self.live_bytes = 0;
        self.peak_live_bytes = 0;
        self.index = 0;
    }

    fn live_mut(&mut self, slot: u32) -> &mut u64 {
        let s = slot as usize;
        if s >= self.live.len() {
            self.live.resize(s + 1, FREE_SLOT);
        }
        &mut self.live[s]
    }

    /// The entry (size | [`RAW`]) of the block live in `slot`, or the error of a `what`
    /// naming a slot with none.
    fn live_entry(&self, slot: u32, what: &'static str) -> Result<u64, CompileError> {
        match self.live.get(slot as usize) {
            Some(&l) if l != FREE_SLOT => Ok(l),
            _ => Err(CompileError::NotLive {
                index: self.index,
                what,
                slot,
            }),
        }
    }

    /// Compiles `events` (the next of the stream), appending to `records` and `wide`.
    pub fn push(
        &mut self,
        events: &[Event],
        records: &mut Vec<Record>,
        wide: &mut Vec<Wide>,
    ) -> Result<(), CompileError> {
        for e in events {
            self.one(e, records, wide)?;
            self.index += 1;
            self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
        }
        Ok(())
    }

    #[inline]
    fn one(
        &mut self,
        e: &Event,
        records: &mut Vec<Record>,
        wide: &mut Vec<Wide>,
    ) -> Result<(), CompileError> {
        match *e {
            Event::Alloc {
                slot, size, domain, ..
            } => {
                let raw = self.allocated(slot, u64::from(size), domain);
                if size > SIZE_MASK {
                    push_wide(records, wide, Wide::Malloc { size: size.into() }, raw, slot);
                } else {
                    let code = if raw { MALLOC_RAW } else { MALLOC };
                    records.push(Record {
                        slot,
                        word: code << SIZE_BITS | size,
                    });
                }
            }
            Event::Calloc {
                slot,
                n,
                size,
                domain,
                ..
            } => {
                let raw = self.allocated(slot, u64::from(n) * u64::from(size), domain);
                let w = Wide::Calloc {
                    n: n.into(),
                    size: size.into(),
                };
                push_wide(records, wide, w, raw, slot);
            }
            Event::Realloc { slot, size, .. } => self.reallocated(slot, size, records, wide)?,
            Event::Free { slot, .. } => self.freed(slot, records)?,
            Event::Phase(_) | Event::Gc(_) => {}
        }
        Ok(())
    }

    /// [`Self::one`]'s accounting of an allocation of `bytes` into `slot`; returns whether
    /// glibc serves it. An allocation into a live slot leaks the old block, as the
    /// per-event replayer does; it stays counted as live.
    #[inline(always)]
    fn allocated(&mut self, slot: u32, bytes: u64, domain: Domain) -> bool {
        let raw = self.raw_to_system && domain == Domain::Raw;
        *self.live_mut(slot) = bytes | if raw { RAW } else { 0 };
        self.live_bytes += bytes;
        raw
    }

    /// [`Self::one`]'s realloc of `slot` to `size` bytes: a wide record when the replay must
    /// write the grown part or the size does not fit a narrow one.
    #[inline(always)]
    fn reallocated(
        &mut self,
        slot: u32,
        size: u32,
        records: &mut Vec<Record>,
        wide: &mut Vec<Wide>,
    ) -> Result<(), CompileError> {
        let l = self.live_entry(slot, "realloc")?;
        let (old, raw) = (l & !RAW, l & RAW != 0);
        let new = u64::from(size);
        self.live[slot as usize] = new | (l & RAW);
        self.live_bytes = self.live_bytes + new - old;
        let writes = match self.touch {
            Touch::None => false,
            Touch::Header => old < new.min(16),
            Touch::Full => old < new,
        };
        if writes || size > SIZE_MASK {
            let w = Wide::Realloc {
                size: new,
                touch_from: old,
            };
            push_wide(records, wide, w, raw, slot);
        } else {
            let code = if raw { REALLOC_RAW } else { REALLOC };
            records.push(Record {
                slot,
                word: code << SIZE_BITS | size,
            });
        }
        Ok(())
    }

    /// [`Self::one`]'s free of `slot`.
    #[inline(always)]
    fn freed(&mut self, slot: u32, records: &mut Vec<Record>) -> Result<(), CompileError> {
        let l = self.live_entry(slot, "free")?;
        self.live[slot as usize] = FREE_SLOT;
        self.live_bytes -= l & !RAW;
        let code = if l & RAW != 0 { FREE_RAW } else { FREE };
        records.push(Record {
            slot,
            word: code << SIZE_BITS,
        });
        Ok(())
    }

    /// (slot, served by glibc) of every block live now, in slot order, from `from` on, at
    /// most `max` of them; returns the slot to continue from (`None` when done). A streamed
    /// pass frees what is still live at its end through these, as untimed free records.
    pub fn live_from(&self, from: usize, max: usize, out: &mut Vec<Record>) -> Option<usize> {
        let mut n = 0;
        for (s, &l) in self.live.iter().enumerate().skip(from) {
            if l == FREE_SLOT {
                continue;
            }
            if n == max {
                return Some(s);
            }
            let code = if l & RAW != 0 { FREE_RAW } else { FREE };
            out.push(Record {
                slot: s as u32,
                word: code << SIZE_BITS,
            });
            n += 1;
        }
        None
    }
}

impl CompactStream {
    /// Decodes `events` once. `raw_to_system` sends RAW-domain blocks to glibc (as when
    /// pymalloc serves MEM and OBJ); `touch` fixes how many bytes each new block gets written.
    pub fn compile(
        events: &[Event],
        raw_to_system: bool,
        touch: Touch,
    ) -> Result<Self, CompileError> {
        let mut slots = 0usize;
        for e in events {
            if let Some(s) = e.slot() {
                slots = slots.max(s as usize + 1);
            }
        }
        let mut c = Compiler::new(slots, raw_to_system, touch);
        let mut records = Vec::with_capacity(events.len());
        let mut wide = Vec::new();
        c.push(events, &mut records, &mut wide)?;
        let live_at_end = c
            .live
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != FREE_SLOT)
            .map(|(s, &l)| (s as u32, l & RAW != 0))
            .collect();
        Ok(CompactStream {
            records: PinnedBuf::from_slice(&records)?,
            wide,
            slots,
            live_at_end,
            peak_live_bytes: c.peak_live_bytes,
            touch,
        })
    }

    /// Allocator events per pass.
    pub fn ops(&self) -> u64 {
        self.records.len() as u64
    }
}

/// Appends a record pointing at `w`, the next entry of `wide`.
#[inline(always)]
fn push_wide(records: &mut Vec<Record>, wide: &mut Vec<Wide>, w: Wide, raw: bool, slot: u32) {
    let code = if raw { WIDE_RAW } else { WIDE };
    records.push(Record {
        slot,
        word: code << SIZE_BITS | wide.len() as u32,
    });
    wide.push(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::event::fixture::alloc_in as alloc;

    #[test]
    fn an_os_error_is_printed_once_in_the_chain() {
        let e = CompileError::from(std::io::Error::from_raw_os_error(libc::ENOMEM));
        let text = format!("{:#}", anyhow::Error::from(e));
        assert!(text.starts_with("cannot map the event buffer: "), "{text}");
        assert_eq!(text.matches("os error").count(), 1, "{text}");
    }

    #[test]
    fn records_carry_domain_size_and_the_stream_facts() {
        let events = [
            alloc(0, 32, Domain::Obj),
            alloc(1, 100, Domain::Raw),
            Event::Phase(0),
            Event::Realloc {
                slot: 0,
                size: 64,
                thread: 0,
            },
            Event::Realloc {
                slot: 1,
                size: 8,
                thread: 0,
            },
            Event::Calloc {
                slot: 2,
                n: 3,
                size: 10,
                domain: Domain::Mem,
                thread: 0,
            },
            Event::Free { slot: 0, thread: 0 },
        ];
        let s = CompactStream::compile(&events, true, Touch::Header).unwrap();
        let codes: Vec<u32> = s.records.as_slice().iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [MALLOC, MALLOC_RAW, REALLOC, REALLOC_RAW, WIDE, FREE]
        );
        assert_eq!(s.records.as_slice()[1].size(), 100);
        assert_eq!(s.wide, [Wide::Calloc { n: 3, size: 10 }]);
        assert_eq!(s.peak_live_bytes, 32 + 100 + 32); // after the first realloc
        assert_eq!(s.live_at_end, [(1, true), (2, false)]);
        // Without raw_to_system every block goes to the allocator under test.
        let all = CompactStream::compile(&events, false, Touch::Full).unwrap();
        assert!(all.records.as_slice().iter().all(|r| r.code() % 2 == 0));
        // Under full touch a growing realloc writes its new bytes: a side-table event.
        assert_eq!(
            all.wide[0],
            Wide::Realloc {
                size: 64,
                touch_from: 32
            }
        );
    }

    #[test]
    fn malformed_streams_are_refused() {
        let stray = [Event::Free { slot: 3, thread: 0 }];
        assert!(CompactStream::compile(&stray, true, Touch::Header).is_err());
    }
}
