//! The `pybench stats` summary of an event stream. It takes any `Iterator<Item = Event>`,
//! so recorded traces and synthetic streams are summarised the same way and can be
//! compared side by side (cpython-patterns.md gives the measured figures to compare with).

use super::event::{Domain, Event, Op};
use serde::Serialize;
use std::fmt::Write as _;

/// Lifetime thresholds, in later allocations (cpython-patterns.md, "Lifetimes").
pub const LIFETIME_BUCKETS: [u64; 3] = [4, 128, 16_384];

/// Allocator calls of one op, by domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ByDomain {
    pub raw: u64,
    pub mem: u64,
    pub obj: u64,
}

impl ByDomain {
    fn add(&mut self, d: Domain) {
        match d {
            Domain::Raw => self.raw += 1,
            Domain::Mem => self.mem += 1,
            Domain::Obj => self.obj += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.raw + self.mem + self.obj
    }
}

/// One row of the size-class histogram: requests of `lo..=hi` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SizeClassCount {
    /// Block size of the pymalloc class (16, 32, …, 512).
    pub class_bytes: u32,
    pub count: u64,
}

/// Share of blocks freed within N later allocations, and still live at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Lifetimes {
    pub within_4: f64,
    pub within_128: f64,
    pub within_16k: f64,
    pub live_at_end: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub events: u64,
    pub alloc: ByDomain,
    pub calloc: ByDomain,
    pub realloc: ByDomain,
    pub free: ByDomain,
    pub phase_markers: u64,
    /// Collections per generation.
    pub gc_collections: [u64; 3],
    /// Blocks freed in the burst right after each generation's collections (frees that
    /// directly follow a `Gc` marker), summed: cpython-patterns.md measured ~116 per
    /// generation-0 run and ~6,800 per generation-1 run in a cycle-heavy program.
    pub gc_freed: [u64; 3],
    /// Requests (alloc, calloc, realloc) per pymalloc size class, ≤ 512 bytes.
    pub size_classes: Vec<SizeClassCount>,
    /// Requests over 512 bytes (served by the raw allocator behind pymalloc).
    pub over_512: u64,
    /// Zero-byte requests (also sent to the raw allocator).
    pub zero_bytes: u64,
    pub share_over_512: f64,
    /// reallocs / (allocs + callocs + reallocs).
    pub realloc_share: f64,
    pub lifetimes: Lifetimes,
    pub peak_live_blocks: u64,
    pub peak_live_bytes: u64,
    pub live_blocks_at_end: u64,
    pub live_bytes_at_end: u64,
    /// Events that did not fit the slot state (free/realloc of a dead slot…): 0 for a
    /// well-formed stream.
    pub malformed: u64,
    /// The stream's fingerprint ([`crate::workload::StreamHasher`], 16 hex digits): what a
    /// run's memory cells record as `stream_fingerprint` when they replay this stream
    /// unrepaired, so a results file can be matched to the trace or workload it replayed.
    pub fingerprint: String,
}

#[derive(Clone, Copy, Default)]
struct SlotState {
    bytes: u64,
    /// Allocations (alloc + calloc) before this block's.
    birth: u64,
    domain: u8,
    live: bool,
}

const DOMAINS: [Domain; 3] = Domain::ALL;

/// [`Summary::from_events`] one event at a time, for a stream read in batches (a trace's
/// blocks are summarised straight from the reader's buffers, not copied out one by one).
#[derive(Default)]
pub struct SummaryBuilder {
    s: Summary,
    slots: Vec<SlotState>,
    classes: [u64; 32],
    allocs: u64,
    live_blocks: u64,
    live_bytes: u64,
    freed_within: [u64; 3],
    /// Generation of the collection whose burst of frees is in progress, if any.
    burst: Option<usize>,
    hash: crate::workload::StreamHasher,
}

impl SummaryBuilder {
    /// Counts one request of `bytes` in its size class.
    fn request(&mut self, bytes: u64) {
        match bytes {
            0 => self.s.zero_bytes += 1,
            1..=512 => self.classes[((bytes - 1) >> 4) as usize] += 1,
            _ => self.s.over_512 += 1,
        }
    }

    /// Adds the stream's next events.
    pub fn extend(&mut self, events: &[Event]) {
        for e in events {
            self.push(e);
        }
    }

    /// Adds the stream's next event.
    pub fn push(&mut self, e: &Event) {
        let e = *e;
        self.s.events += 1;
        self.hash.event(&e);
        if !matches!(e, Event::Free { .. } | Event::Gc(_)) {
            self.burst = None;
        }
        match e {
            Event::Alloc { slot, domain, .. } | Event::Calloc { slot, domain, .. } => {
                self.allocate(&e, slot, domain)
            }
            Event::Realloc { slot, size, .. } => match self.slots.get_mut(slot as usize) {
                Some(st) if st.live => {
                    let (old, new) = (st.bytes, u64::from(size));
                    st.bytes = new;
                    self.s.realloc.add(DOMAINS[st.domain as usize]);
                    self.request(new);
                    self.live_bytes = self.live_bytes - old + new;
                }
                _ => self.s.malformed += 1,
            },
            Event::Free { slot, .. } => self.free(slot),
            Event::Phase(_) => self.s.phase_markers += 1,
            Event::Gc(g) => {
                if let Some(c) = self.s.gc_collections.get_mut(g as usize) {
                    *c += 1;
                    self.burst = Some(g as usize);
                } else {
                    self.s.malformed += 1;
                }
            }
        }
        self.s.peak_live_blocks = self.s.peak_live_blocks.max(self.live_blocks);
        self.s.peak_live_bytes = self.s.peak_live_bytes.max(self.live_bytes);
    }

    fn allocate(&mut self, e: &Event, slot: u32, domain: Domain) {
        let bytes = e.bytes().unwrap_or(0);
        if e.op() == Op::Alloc {
            self.s.alloc.add(domain);
        } else {
            self.s.calloc.add(domain);
        }
        self.request(bytes);
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, SlotState::default());
        }
        if self.slots[i].live {
            self.s.malformed += 1;
            self.live_bytes -= self.slots[i].bytes;
            self.live_blocks -= 1;
        }
        self.slots[i] = SlotState {
            bytes,
            birth: self.allocs,
            domain: domain as u8,
            live: true,
        };
        self.allocs += 1;
        self.live_blocks += 1;
        self.live_bytes += bytes;
    }

    fn free(&mut self, slot: u32) {
        let Some(st) = self.slots.get_mut(slot as usize).filter(|st| st.live) else {
            self.s.malformed += 1;
            return;
        };
        st.live = false;
        self.s.free.add(DOMAINS[st.domain as usize]);
        if let Some(g) = self.burst {
            self.s.gc_freed[g] += 1;
        }
        self.live_blocks -= 1;
        self.live_bytes -= st.bytes;
        // Allocations made after this block's, up to now.
        let age = self.allocs - st.birth - 1;
        for (n, limit) in self.freed_within.iter_mut().zip(LIFETIME_BUCKETS) {
            if age <= limit {
                *n += 1;
            }
        }
    }

    /// The summary of the events added.
    pub fn finish(self) -> Summary {
        let SummaryBuilder {
            mut s,
            classes,
            allocs,
            live_blocks,
            live_bytes,
            freed_within,
            hash,
            ..
        } = self;
        s.size_classes = classes
            .iter()
            .enumerate()
            .map(|(i, &count)| SizeClassCount {
                class_bytes: (i as u32 + 1) * 16,
                count,
            })
            .collect();
        let requests = s.alloc.total() + s.calloc.total() + s.realloc.total();
        let share = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        s.share_over_512 = share(s.over_512, requests);
        s.realloc_share = share(s.realloc.total(), requests);
        s.lifetimes = Lifetimes {
            within_4: share(freed_within[0], allocs),
            within_128: share(freed_within[1], allocs),
            within_16k: share(freed_within[2], allocs),
            live_at_end: share(live_blocks, allocs),
        };
        s.live_blocks_at_end = live_blocks;
        s.live_bytes_at_end = live_bytes;
        s.fingerprint = crate::workload::fingerprint_hex(hash.finish());
        s
    }
}

impl Summary {
    /// Summarises a stream in one pass; memory is proportional to the slot-table size.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Summary {
        let mut b = SummaryBuilder::default();
        for e in events {
            b.push(&e);
        }
        b.finish()
    }

    /// The human-readable report: one section per figure of the issue.
    pub fn render(&self, title: &str) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "{title}");
        let _ = writeln!(o, "events: {}", self.events);
        self.render_ops(&mut o);
        self.render_sizes(&mut o);
        let _ = writeln!(o, "\nshare > 512 B: {}", pct(self.share_over_512).trim());
        let _ = writeln!(o, "realloc share: {}", pct(self.realloc_share).trim());
        let l = self.lifetimes;
        let _ = writeln!(o, "\nlifetimes (freed within N later allocations):");
        let _ = writeln!(o, "  <= 4       {}", pct(l.within_4));
        let _ = writeln!(o, "  <= 128     {}", pct(l.within_128));
        let _ = writeln!(o, "  <= 16k     {}", pct(l.within_16k));
        let _ = writeln!(o, "  live at end {}", pct(l.live_at_end));
        let _ = writeln!(
            o,
            "\npeak live: {} blocks, {} bytes",
            self.peak_live_blocks, self.peak_live_bytes
        );
        let _ = writeln!(
            o,
            "live at end: {} blocks, {} bytes",
            self.live_blocks_at_end, self.live_bytes_at_end
        );
        if self.malformed > 0 {
            let _ = writeln!(o, "malformed events: {}", self.malformed);
        }
        let _ = writeln!(
            o,
            "fingerprint: {} (a run's cells record it as stream_fingerprint)",
            self.fingerprint
        );
        o
    }

    /// Events by op and domain, markers, and what each GC generation's collections free.
    fn render_ops(&self, o: &mut String) {
        let _ = writeln!(o, "\nevents by op and domain:");
        let _ = writeln!(
            o,
            "  {:<8} {:>10} {:>10} {:>10} {:>10}",
            "op", "raw", "mem", "obj", "total"
        );
        for (op, d) in [
            (Op::Alloc, self.alloc),
            (Op::Calloc, self.calloc),
            (Op::Realloc, self.realloc),
            (Op::Free, self.free),
        ] {
            let _ = writeln!(
                o,
                "  {:<8} {:>10} {:>10} {:>10} {:>10}",
                op.name(),
                d.raw,
                d.mem,
                d.obj,
                d.total()
            );
        }
        let _ = writeln!(
            o,
            "  markers: {} phase, gc collections gen0 {} / gen1 {} / gen2 {}",
            self.phase_markers,
            self.gc_collections[0],
            self.gc_collections[1],
            self.gc_collections[2]
        );
        if self.gc_collections.iter().any(|&c| c > 0) {
            let avg = |g: usize| self.gc_freed[g] as f64 / self.gc_collections[g].max(1) as f64;
            let _ = writeln!(
                o,
                "  blocks freed per collection: gen0 {:.0} / gen1 {:.0} / gen2 {:.0}",
                avg(0),
                avg(1),
                avg(2)
            );
        }
    }

    /// Requests per size class (zero-byte ones first), with their shares and a bar.
    fn render_sizes(&self, o: &mut String) {
        let requests = self.alloc.total() + self.calloc.total() + self.realloc.total();
        let _ = writeln!(
            o,
            "\nsize classes (requests incl. realloc, classes with any):"
        );
        // Zero-byte requests first, in the classes' columns and with their share: they count
        // among the requests every share is taken of, so without one the shares did not add
        // up and the line read as another kind of figure.
        let zero = SizeClassCount {
            class_bytes: 0,
            count: self.zero_bytes,
        };
        let classes = std::iter::once(&zero).chain(&self.size_classes);
        for c in classes.filter(|c| c.count > 0) {
            let share = c.count as f64 / requests.max(1) as f64;
            let bar = "#".repeat((share * 50.0).round() as usize);
            let _ = writeln!(
                o,
                "  {:>4} B {:>10} {} {}",
                c.class_bytes,
                c.count,
                pct(share),
                bar
            );
        }
        let _ = writeln!(
            o,
            "  > 512 B {:>9} {}",
            self.over_512,
            pct(self.share_over_512)
        );
    }
}

/// A share as a percentage, five wide with one decimal.
fn pct(x: f64) -> String {
    format!("{:5.1} %", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::event::fixture::alloc_in as alloc;

    #[test]
    fn counts_lifetimes_peaks_and_classes() {
        let mut ev = vec![alloc(0, 24, Domain::Obj), alloc(1, 600, Domain::Mem)];
        ev.push(Event::Free { slot: 0, thread: 0 }); // age 1
        ev.push(Event::Realloc {
            slot: 1,
            size: 32,
            thread: 0,
        });
        for i in 0..200 {
            ev.push(alloc(2 + i, 16, Domain::Obj));
        }
        ev.push(Event::Free { slot: 1, thread: 0 }); // age 200
        let s = Summary::from_events(ev);
        assert_eq!(s.alloc.obj, 201);
        assert_eq!(s.alloc.mem, 1);
        assert_eq!(s.realloc.mem, 1);
        assert_eq!(s.free.total(), 2);
        assert_eq!(s.over_512, 1);
        assert_eq!(
            s.size_classes[1].count, 2,
            "24 and 32 bytes are the 32-byte class"
        );
        assert_eq!(s.peak_live_blocks, 201);
        assert_eq!(s.peak_live_bytes, 32 + 200 * 16);
        assert!((s.lifetimes.within_4 - 1.0 / 202.0).abs() < 1e-12);
        assert!((s.lifetimes.within_16k - 2.0 / 202.0).abs() < 1e-12);
        assert!((s.lifetimes.live_at_end - 200.0 / 202.0).abs() < 1e-12);
        assert_eq!(s.malformed, 0);
    }

    /// The `0 B` line had a count and no share, where every other class has both.
    #[test]
    fn zero_byte_requests_get_a_share_like_every_class() {
        let ev = vec![
            alloc(0, 0, Domain::Mem),
            alloc(1, 16, Domain::Obj),
            alloc(2, 16, Domain::Obj),
            alloc(3, 16, Domain::Obj),
        ];
        let text = Summary::from_events(ev).render("t");
        let lines: Vec<&str> = text.lines().collect();
        let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
        assert_eq!(
            lines[at("     0 B")],
            "     0 B          1  25.0 % #############"
        );
        assert_eq!(at("     0 B") + 1, at("    16 B"), "{text}");
    }

    #[test]
    fn counts_gc_bursts() {
        let free = |slot| Event::Free { slot, thread: 0 };
        let ev = vec![
            alloc(0, 16, Domain::Obj),
            alloc(1, 16, Domain::Obj),
            alloc(2, 16, Domain::Obj),
            Event::Gc(0),
            free(0),
            free(1),
            alloc(0, 16, Domain::Obj),
            free(2), // not part of the burst
            Event::Gc(1),
            free(0),
        ];
        let s = Summary::from_events(ev);
        assert_eq!(s.gc_collections, [1, 1, 0]);
        assert_eq!(s.gc_freed, [2, 1, 0]);
    }
}
