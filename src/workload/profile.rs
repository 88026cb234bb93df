//! The allocator-relevant shape of an event stream, measured in one pass: what the realism
//! report (`realism.rs`) compares and what a stand-in (`fit/`) must reproduce.
//!
//! Everything here is a histogram or a scalar, never a sequence, so two streams of any
//! length can be compared, and a profile of a private trace gives away no program order.

use super::event::{Domain, Event};
use super::op_order::OpPredictor;
use super::pool_churn::PoolChurn;
use serde::Serialize;

/// Size bins: 0 bytes, the 32 pymalloc classes (16 … 512 B), and over 512 B.
pub const SIZE_BINS: usize = 34;
/// Log2 bins of a lifetime counted in later allocations (bin k holds ages with k significant
/// bits: 0, 1, 2–3, 4–7, …), the last one `never freed`.
pub const LIFE_BINS: usize = 28;
/// Log2 bins of a GC burst size (blocks freed right after a collection marker).
pub const BURST_BINS: usize = 20;
/// Bins of a realloc's new/old size ratio, in quarters of a power of two, from 1/16 to 16.
pub const GROWTH_BINS: usize = 34;
/// Points of the live-bytes curve (the stream cut into equal runs of allocations).
pub const CURVE_POINTS: usize = 20;

/// The bin of a request size.
pub fn size_bin(bytes: u64) -> usize {
    match bytes {
        0 => 0,
        1..=512 => 1 + ((bytes - 1) >> 4) as usize,
        _ => SIZE_BINS - 1,
    }
}

/// The bin of an age (allocations since birth); `never freed` is `LIFE_BINS - 1`.
pub fn life_bin(age: u64) -> usize {
    ((64 - age.leading_zeros()) as usize).min(LIFE_BINS - 2)
}

/// The bin of a new/old size ratio.
pub fn growth_bin(old: u64, new: u64) -> usize {
    let r = (new.max(1) as f64 / old.max(1) as f64).log2();
    ((r * 4.0).round() + 16.0).clamp(0.0, (GROWTH_BINS - 1) as f64) as usize
}

/// The shape of a stream. Histograms hold counts; `shares()` normalises them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Profile {
    pub events: u64,
    /// Allocations (alloc + calloc).
    pub allocs: u64,
    pub callocs: u64,
    pub reallocs: u64,
    /// Requests (alloc, calloc, realloc) by size bin.
    pub sizes: Vec<u64>,
    /// Requests by domain (raw, mem, obj).
    pub domains: [u64; 3],
    /// Blocks by lifetime bin, and their bytes (at free, or at the end for `never`).
    pub life_blocks: Vec<u64>,
    pub life_bytes: Vec<u64>,
    pub growth: Vec<u64>,
    /// Collections by burst-size bin.
    pub bursts: Vec<u64>,
    pub collections: u64,
    pub peak_live_blocks: u64,
    pub peak_live_bytes: u64,
    /// Live blocks and bytes averaged over every event.
    pub mean_live_blocks: f64,
    pub mean_live_bytes: f64,
    /// Live bytes after each twentieth of the allocations, as a share of the peak.
    pub curve: Vec<f64>,
    /// Allocations in the same size bin as the allocation before: programs allocate in runs
    /// (a list of ints, a dict's keys), which keeps one pool or page hot.
    pub size_repeats: u64,
    /// Frees of blocks that lived at least [`COHORT_MIN_AGE`] allocations, and those among
    /// them born within [`COHORT_SPAN`] allocations of the previous such free's block: a
    /// container's items die together, so a program's frees walk memory it allocated
    /// together (cache lines and pages already hot) where independent lifetimes scatter them.
    pub long_frees: u64,
    pub cohort_frees: u64,
    /// Long-lived frees by how far (in allocations, lifetime bins) the block's birth lies from
    /// the previous long-lived free's block: a structure torn down in the order it was built
    /// frees neighbours (small gaps: its slots and memory walked in order), where lifetimes
    /// drawn independently free all over the heap (gaps as large as the live set).
    pub long_gaps: Vec<u64>,
    /// Allocations by how long ago (in allocations, lifetime bins) the block a LIFO free list
    /// of their size bin would hand them was freed; the last bin: no freed block of that size
    /// waiting (fresh memory). pymalloc, mimalloc and jemalloc's caches all reuse the most
    /// recently freed block of a class first, so this is how hot the memory an allocation
    /// gets is: a loop that frees a temporary and allocates the next one reuses a block freed
    /// one allocation ago, where sizes drawn independently of the frees reuse cold ones.
    pub reuse: Vec<u64>,
    /// Small blocks that left their pymalloc pool, and those that left a full one, replayed
    /// into the engine ([`PoolChurn`]): frees into full pools relink and refill pools, and a
    /// stream that makes them where the program did not costs pymalloc what the program
    /// never paid.
    pub pool_frees: u64,
    pub pool_frees_from_full: u64,
    /// Allocations and frees, and those a global-history predictor of "malloc or free?"
    /// got wrong ([`OpPredictor`]): a program's loops repeat their order of calls, a stream
    /// drawn block by block does not, and the replay loop's branch pays for the difference
    /// unevenly across allocators.
    pub ops: u64,
    pub op_misses: u64,
}

/// Age (in later allocations) from which a free counts towards `free_cohorts`: younger blocks
/// are freed next to their neighbours by any lifetime model.
pub const COHORT_MIN_AGE: u64 = 16;
/// Births this close count as one cohort.
pub const COHORT_SPAN: u64 = 4;
/// Freed blocks remembered per size bin for [`Profile::reuse`]: a deeper stack only holds
/// blocks freed so long ago that their reuse is cold either way, and the bound keeps a
/// teardown of millions of frees from growing the meter.
const REUSE_DEPTH: usize = 4096;

#[derive(Clone, Copy, Default)]
struct Slot {
    bytes: u64,
    birth: u64,
    domain: u8,
    live: bool,
}

/// The one-pass measurement behind [`Profile::from_events`].
struct Meter {
    p: Profile,
    slots: Vec<Slot>,
    live_blocks: u64,
    live_bytes: u64,
    sum_blocks: f64,
    sum_bytes: f64,
    burst: Option<u64>,
    /// Live bytes after each allocation, sampled on a doubling stride so memory stays bounded
    /// whatever the stream length; resampled into `CURVE_POINTS` at the end.
    samples: Vec<u64>,
    stride: u64,
    /// Size bin of the previous allocation (`SIZE_BINS` before the first).
    prev_bin: usize,
    /// Birth of the block of the previous long-lived free.
    prev_long_birth: Option<u64>,
    /// Per size bin, when (in allocations) its freed blocks were freed, newest last.
    freed: Vec<std::collections::VecDeque<u64>>,
    churn: PoolChurn,
    order: OpPredictor,
}

impl Meter {
    fn end_burst(&mut self) {
        if let Some(n) = self.burst.take() {
            self.p.bursts[life_bin(n).min(BURST_BINS - 1)] += 1;
        }
    }

    fn birth(&mut self, slot: u32, bytes: u64, domain: Domain) {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Slot::default());
        }
        if self.slots[i].live {
            // Malformed (allocation into a live slot): count the old block as never freed.
            self.death(slot, None);
        }
        self.slots[i] = Slot {
            bytes,
            birth: self.p.allocs,
            domain: domain as u8,
            live: true,
        };
        let bin = size_bin(bytes);
        let reuse = match self.freed[bin].pop_back() {
            Some(at) => life_bin(self.p.allocs - at),
            None => LIFE_BINS - 1,
        };
        self.p.reuse[reuse] += 1;
        self.p.allocs += 1;
        if bin == self.prev_bin {
            self.p.size_repeats += 1;
        }
        self.prev_bin = bin;
        self.p.sizes[bin] += 1;
        self.p.domains[domain as usize] += 1;
        self.live_blocks += 1;
        self.live_bytes += bytes;
        if self.p.allocs % self.stride == 0 {
            self.samples.push(self.live_bytes);
            if self.samples.len() >= 4096 {
                self.samples = self.samples.iter().skip(1).step_by(2).copied().collect();
                self.stride *= 2;
            }
        }
    }

    /// Frees a slot; `age` None means the block was never freed (end of stream).
    fn death(&mut self, slot: u32, age: Option<u64>) {
        let Some(s) = self.slots.get_mut(slot as usize).filter(|s| s.live) else {
            return;
        };
        s.live = false;
        let (bytes, birth) = (s.bytes, s.birth);
        let bin = match age {
            Some(_) => {
                let age = self.p.allocs - birth - 1;
                if age >= COHORT_MIN_AGE {
                    self.p.long_frees += 1;
                    if let Some(prev) = self.prev_long_birth {
                        let gap = prev.abs_diff(birth);
                        self.p.long_gaps[life_bin(gap)] += 1;
                        self.p.cohort_frees += u64::from(gap <= COHORT_SPAN);
                    }
                    self.prev_long_birth = Some(birth);
                }
                life_bin(age)
            }
            None => LIFE_BINS - 1,
        };
        self.p.life_blocks[bin] += 1;
        self.p.life_bytes[bin] += bytes;
        if age.is_some() {
            let stack = &mut self.freed[size_bin(bytes)];
            if stack.len() == REUSE_DEPTH {
                stack.pop_front();
            }
            stack.push_back(self.p.allocs);
        }
        self.live_blocks -= 1;
        self.live_bytes -= bytes;
    }

    fn event(&mut self, e: Event) {
        self.p.events += 1;
        self.churn.event(&e);
        if !matches!(e, Event::Free { .. }) {
            self.end_burst();
        }
        // Every allocation and free record, as the replay loop meets them (a free of a
        // block that is not live still reaches the loop's branch).
        self.order.event(&e);
        match e {
            Event::Alloc { slot, domain, .. } => self.birth(slot, e.bytes().unwrap_or(0), domain),
            Event::Calloc { slot, domain, .. } => {
                self.p.callocs += 1;
                self.birth(slot, e.bytes().unwrap_or(0), domain);
            }
            Event::Realloc { slot, size, .. } => {
                if let Some(s) = self.slots.get_mut(slot as usize).filter(|s| s.live) {
                    let (old, new) = (s.bytes, u64::from(size));
                    s.bytes = new;
                    self.p.reallocs += 1;
                    self.p.sizes[size_bin(new)] += 1;
                    self.p.domains[s.domain as usize] += 1;
                    self.p.growth[growth_bin(old, new)] += 1;
                    self.live_bytes = self.live_bytes - old + new;
                }
            }
            Event::Free { slot, .. } => {
                let live = self.slots.get(slot as usize).is_some_and(|s| s.live);
                if live {
                    if let Some(n) = self.burst.as_mut() {
                        *n += 1;
                    }
                    self.death(slot, Some(0));
                }
            }
            Event::Phase(_) => {}
            Event::Gc(_) => {
                self.p.collections += 1;
                self.burst = Some(0);
            }
        }
        self.p.peak_live_blocks = self.p.peak_live_blocks.max(self.live_blocks);
        self.p.peak_live_bytes = self.p.peak_live_bytes.max(self.live_bytes);
        self.sum_blocks += self.live_blocks as f64;
        self.sum_bytes += self.live_bytes as f64;
    }

    fn finish(mut self) -> Profile {
        self.end_burst();
        for i in 0..self.slots.len() {
            self.death(i as u32, None);
        }
        self.p.pool_frees = self.churn.small_frees;
        self.p.pool_frees_from_full = self.churn.frees_from_full;
        (self.p.ops, self.p.op_misses) = (self.order.ops(), self.order.misses());
        let n = self.p.events.max(1) as f64;
        self.p.mean_live_blocks = self.sum_blocks / n;
        self.p.mean_live_bytes = self.sum_bytes / n;
        let peak = self.p.peak_live_bytes.max(1) as f64;
        let k = self.samples.len();
        self.p.curve = (1..=CURVE_POINTS)
            .map(|i| match k {
                0 => 0.0,
                _ => self.samples[(i * k / CURVE_POINTS).clamp(1, k) - 1] as f64 / peak,
            })
            .collect();
        self.p
    }
}

impl Profile {
    /// Measures a stream in one pass; memory is proportional to its slot-table size, plus
    /// its live small blocks held in the engine for `pool_churn` (the program's small heap).
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Profile {
        let mut m = Meter {
            p: Profile {
                events: 0,
                allocs: 0,
                callocs: 0,
                reallocs: 0,
                sizes: vec![0; SIZE_BINS],
                domains: [0; 3],
                life_blocks: vec![0; LIFE_BINS],
                life_bytes: vec![0; LIFE_BINS],
                growth: vec![0; GROWTH_BINS],
                bursts: vec![0; BURST_BINS],
                collections: 0,
                peak_live_blocks: 0,
                peak_live_bytes: 0,
                mean_live_blocks: 0.0,
                mean_live_bytes: 0.0,
                curve: Vec::new(),
                size_repeats: 0,
                long_frees: 0,
                cohort_frees: 0,
                reuse: vec![0; LIFE_BINS],
                long_gaps: vec![0; LIFE_BINS],
                pool_frees: 0,
                pool_frees_from_full: 0,
                ops: 0,
                op_misses: 0,
            },
            slots: Vec::new(),
            live_blocks: 0,
            live_bytes: 0,
            sum_blocks: 0.0,
            sum_bytes: 0.0,
            burst: None,
            samples: Vec::new(),
            stride: 1,
            prev_bin: SIZE_BINS,
            prev_long_birth: None,
            freed: vec![std::collections::VecDeque::new(); SIZE_BINS],
            churn: PoolChurn::new(),
            order: OpPredictor::new(),
        };
        for e in events {
            m.event(e);
        }
        m.finish()
    }

    /// Requests of any kind (alloc, calloc, realloc).
    pub fn requests(&self) -> u64 {
        self.allocs + self.reallocs
    }
}

/// Counts normalised to shares (all zeros stay zeros).
pub fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| {
            if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::event::fixture::{alloc, free};

    #[test]
    fn bins_are_ordered_and_bounded() {
        assert_eq!(size_bin(0), 0);
        assert_eq!(size_bin(16), 1);
        assert_eq!(size_bin(17), 2);
        assert_eq!(size_bin(512), 32);
        assert_eq!(size_bin(513), 33);
        assert_eq!(life_bin(0), 0);
        assert_eq!(life_bin(1), 1);
        assert_eq!(life_bin(3), 2);
        assert_eq!(life_bin(u64::MAX), LIFE_BINS - 2);
        assert_eq!(growth_bin(10, 10), 16);
        assert_eq!(growth_bin(10, 20), 20);
        assert_eq!(growth_bin(1, u64::MAX), GROWTH_BINS - 1);
    }

    #[test]
    fn measures_lifetimes_bursts_and_growth() {
        let ev = vec![
            alloc(0, 100),
            alloc(1, 600),
            Event::Realloc {
                slot: 1,
                size: 1200,
                thread: 0,
            },
            free(0), // age 1
            Event::Gc(0),
            free(1),      // age 0, in a burst of 1
            alloc(0, 16), // never freed
        ];
        let p = Profile::from_events(ev);
        assert_eq!(p.allocs, 3);
        assert_eq!(p.reallocs, 1);
        assert_eq!(p.life_blocks[1], 1);
        assert_eq!(p.life_blocks[0], 1);
        assert_eq!(p.life_bytes[0], 1200);
        assert_eq!(p.life_blocks[LIFE_BINS - 1], 1);
        assert_eq!(p.bursts[1], 1, "one collection freeing one block");
        assert_eq!(p.growth[20], 1, "doubling is four quarter-steps up");
        assert_eq!(p.peak_live_bytes, 1300);
        assert_eq!(p.sizes[SIZE_BINS - 1], 2);
    }

    #[test]
    fn measures_size_runs_and_free_cohorts() {
        // 4 blocks of 32 B then 4 of 64 B (6 repeats of the previous bin), 40 fillers of
        // 512 B (39 repeats; their first changes bin), then the eight freed, in birth order:
        // every free after the first is born next to the previous one.
        let mut ev: Vec<Event> = (0..4).map(|i| alloc(i, 32)).collect();
        ev.extend((4..8).map(|i| alloc(i, 64)));
        ev.extend((8..48).map(|i| alloc(i, 512)));
        ev.extend((0..8).map(free));
        let p = Profile::from_events(ev.clone());
        assert_eq!(p.size_repeats, 3 + 3 + 39);
        assert_eq!((p.long_frees, p.cohort_frees), (8, 7));
        assert_eq!(
            p.long_gaps[1], 7,
            "each born one allocation after the one before"
        );
        // Freed zig-zag: births 7, 6 and 5 apart first, then 4 and less (still a cohort).
        let order = [0u32, 7, 1, 6, 2, 5, 3, 4];
        let n = ev.len() - 8;
        for (k, &slot) in order.iter().enumerate() {
            ev[n + k] = free(slot);
        }
        let p = Profile::from_events(ev);
        assert_eq!((p.long_frees, p.cohort_frees), (8, 4));
        // Gaps 7, 6, 5, 4 (bin 3: 4 – 7), 3, 2 (bin 2) and 1.
        assert_eq!(&p.long_gaps[..5], &[0, 1, 2, 4, 0]);
        // A block freed young does not count.
        let p = Profile::from_events(vec![alloc(0, 8), free(0)]);
        assert_eq!(p.long_frees, 0);
    }

    #[test]
    fn measures_how_recently_a_reused_block_was_freed() {
        let ev = vec![
            alloc(0, 32), // fresh: nothing freed yet
            free(0),
            alloc(1, 32), // reuses the block freed before it: age 0
            alloc(2, 64), // fresh
            alloc(3, 64), // fresh
            free(2),
            free(3),      // newest on the 64 B list
            alloc(4, 32), // fresh: the 32 B list is empty
            alloc(5, 64), // gets slot 3's block, freed one allocation ago
            alloc(6, 64), // gets slot 2's block, freed two allocations ago
            alloc(7, 32), // fresh
        ];
        let p = Profile::from_events(ev);
        let mut want = vec![0; LIFE_BINS];
        want[0] = 1;
        want[1] = 1;
        want[2] = 1;
        want[LIFE_BINS - 1] = 5;
        assert_eq!(p.reuse, want);
        // A teardown of more frees than a size bin remembers keeps the newest ones.
        let mut ev: Vec<Event> = (0..5000).map(|i| alloc(i, 48)).collect();
        ev.extend((0..5000).map(free));
        ev.extend((0..REUSE_DEPTH as u32 + 10).map(|i| alloc(i, 48)));
        let p = Profile::from_events(ev);
        assert_eq!(p.reuse[LIFE_BINS - 1], 5000 + 10);
        assert_eq!(p.reuse.iter().sum::<u64>(), p.allocs);
    }
}
