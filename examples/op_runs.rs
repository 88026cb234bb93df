//! How a trace's order looks to an allocator's thread cache: the share of allocations
//! (frees) that sit in a run of at least N consecutive allocations (frees), for a few N; the
//! slow paths of a model thread cache per size class; and how long before each free the
//! replay last touched the slot table's cache line that the free reads. Long same-op runs fill or drain a
//! thread cache (jemalloc's tcache, mimalloc's page free lists), so a stand-in that lacks them
//! might rank allocators differently (issue 17; docs/stand-ins.md "What the swap is not": json_tool's
//! trace and stand-in agree on the last two, and matching the runs did not undo the swap).
//!
//! Also the entropy of each small allocation's pymalloc size class, alone and given the
//! class before it (docs/stand-ins.md "The order of sizes").
//!
//! `cargo run --release --example op_runs -- TRACE.pbt [TRACE.pbt…]`

use pybench::trace::source::read_all;
use pybench::workload::event::Event;
use pybench::workload::op_order::OpPredictor;

const LENGTHS: [u64; 5] = [2, 4, 16, 256, 16384];

/// A model of a per-thread cache of freed blocks per size class, as jemalloc's tcache keeps
/// (bins of up to `cap` blocks): a free into a full bin flushes half of it to the shared
/// arena, an allocation from an empty bin fills half of it from there — both slow paths.
/// Size classes: 16-byte steps to 128 bytes, then four per doubling (jemalloc's spacing).
struct CacheModel {
    cap: u32,
    bins: std::collections::HashMap<u32, u32>,
    sizes: Vec<u32>,
    flushes: u64,
    fills: u64,
}

impl CacheModel {
    fn class(bytes: u64) -> u32 {
        if bytes <= 128 {
            return (bytes.max(1) as u32).div_ceil(16);
        }
        let top = 63 - (bytes - 1).leading_zeros(); // 2^top < bytes <= 2^(top+1)
        let step = 1u64 << (top - 2);
        8 + 4 * (top - 7) + ((bytes - 1 - (1 << top)) / step) as u32
    }

    fn alloc(&mut self, slot: u32, bytes: u64) {
        let c = Self::class(bytes);
        if slot as usize >= self.sizes.len() {
            self.sizes.resize(slot as usize + 1, 0);
        }
        self.sizes[slot as usize] = c;
        let n = self.bins.entry(c).or_default();
        if *n == 0 {
            self.fills += 1;
            *n = self.cap / 2;
        }
        *n -= 1;
    }

    /// A realloc into another class allocates there and frees the old block.
    fn realloc(&mut self, slot: u32, bytes: u64) {
        if self.sizes.get(slot as usize) != Some(&Self::class(bytes)) {
            self.free(slot);
            self.alloc(slot, bytes);
        }
    }

    fn free(&mut self, slot: u32) {
        let c = self.sizes.get(slot as usize).copied().unwrap_or(0);
        let n = self.bins.entry(c).or_default();
        if *n == self.cap {
            self.flushes += 1;
            *n = self.cap / 2;
        }
        *n += 1;
    }
}

/// Adds a finished run of `len` ops to `shares` (ops in runs of at least each length).
fn close(len: &mut u64, shares: &mut [u64; LENGTHS.len()]) {
    for (k, &n) in LENGTHS.iter().enumerate() {
        if *len >= n {
            shares[k] += *len;
        }
    }
    *len = 0;
}

/// Cache lines of the replay's slot table (8 pointers a line): when each was last named by
/// an event, and for each free how many events ago its line was — a line named thousands of
/// events ago has likely left the cache, and the replay's every free reads its slot.
#[derive(Default)]
struct SlotLines {
    last: Vec<u64>,
    now: u64,
    ages: [u64; Self::AGES.len() + 1],
}

impl SlotLines {
    /// Bounds of the age bins, in events (then "older", then "never named before").
    const AGES: [u64; 5] = [16, 256, 4096, 65536, 1 << 20];

    fn free(&mut self, slot: u32) {
        let age = self.now - self.last.get(slot as usize / 8).copied().unwrap_or(0);
        self.ages[Self::AGES.partition_point(|&b| b < age)] += 1;
    }

    fn touch(&mut self, slot: u32) {
        self.now += 1;
        let line = slot as usize / 8;
        if line >= self.last.len() {
            self.last.resize(line + 1, 0);
        }
        self.last[line] = self.now;
    }
}

/// The sequence of pymalloc size classes of small allocations: how often each class follows
/// each (index 32 = no small allocation yet). A program's requests follow its code (a dict,
/// then its keys, then its table), so the next class is far more predictable given the last
/// one; a stand-in draws each request on its own.
struct ClassChain {
    pairs: Vec<[u64; 33]>,
    prev: usize,
}

impl ClassChain {
    fn new() -> Self {
        ClassChain {
            pairs: vec![[0; 33]; 33],
            prev: 32,
        }
    }

    fn alloc(&mut self, bytes: u64) {
        if (1..=512).contains(&bytes) {
            let c = (bytes as usize - 1) / 16;
            self.pairs[self.prev][c] += 1;
            self.prev = c;
        }
    }

    /// Entropy in bits of the next class, unconditioned and given the previous class.
    fn entropies(&self) -> (f64, f64) {
        let h = |row: &[u64]| {
            let n = row.iter().sum::<u64>() as f64;
            let bits = row.iter().filter(|&&k| k > 0).map(|&k| {
                let p = k as f64 / n;
                -p * p.log2()
            });
            (n, bits.sum::<f64>())
        };
        let mut next = [0u64; 33];
        for row in &self.pairs {
            next.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        let (total, plain) = h(&next);
        let given = self
            .pairs
            .iter()
            .map(|r| h(r))
            .map(|(n, b)| n * b)
            .sum::<f64>();
        (plain, given / total.max(1.0))
    }
}

/// What one trace's order looks like to a thread cache.
struct Profile {
    allocs: [u64; LENGTHS.len()],
    frees: [u64; LENGTHS.len()],
    /// The current run of allocations and of frees, and all of each.
    run: (u64, u64),
    total: (u64, u64),
    lines: SlotLines,
    caches: Vec<CacheModel>,
    predictor: OpPredictor,
    classes: ClassChain,
}

impl Profile {
    fn new() -> Self {
        let cache = |cap| CacheModel {
            cap,
            bins: Default::default(),
            sizes: Vec::new(),
            flushes: 0,
            fills: 0,
        };
        Profile {
            allocs: [0; LENGTHS.len()],
            frees: [0; LENGTHS.len()],
            run: (0, 0),
            total: (0, 0),
            lines: SlotLines::default(),
            caches: [20, 64, 200].into_iter().map(cache).collect(),
            predictor: OpPredictor::new(),
            classes: ClassChain::new(),
        }
    }

    fn event(&mut self, e: &Event) {
        match *e {
            Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                self.caches
                    .iter_mut()
                    .for_each(|m| m.alloc(slot, e.bytes().unwrap_or(0)));
                close(&mut self.run.1, &mut self.frees);
                self.predictor.op(true);
                self.classes.alloc(e.bytes().unwrap_or(0));
                self.run.0 += 1;
                self.total.0 += 1;
            }
            Event::Realloc { slot, size, .. } => {
                self.caches
                    .iter_mut()
                    .for_each(|m| m.realloc(slot, u64::from(size)));
            }
            Event::Free { slot, .. } => {
                self.caches.iter_mut().for_each(|m| m.free(slot));
                self.lines.free(slot);
                close(&mut self.run.0, &mut self.allocs);
                self.predictor.op(false);
                self.run.1 += 1;
                self.total.1 += 1;
            }
            _ => {}
        }
        if let Some(slot) = e.slot() {
            self.lines.touch(slot);
        }
    }

    fn print(mut self, path: &str) {
        close(&mut self.run.0, &mut self.allocs);
        close(&mut self.run.1, &mut self.frees);
        let share = |n: u64, of: u64| n as f64 / of.max(1) as f64;
        println!("{path}");
        for (name, shares, total) in [
            ("allocs", self.allocs, self.total.0),
            ("frees", self.frees, self.total.1),
        ] {
            print!("  {name:6} in runs");
            for (k, n) in LENGTHS.iter().enumerate() {
                print!("  >={n}: {:.2}", share(shares[k], total));
            }
            println!();
        }
        for m in &self.caches {
            println!(
                "  a cache of {} blocks per class: fills {:.2}, flushes {:.2} per 1000 allocations",
                m.cap,
                1e3 * share(m.fills, self.total.0),
                1e3 * share(m.flushes, self.total.0)
            );
        }
        println!(
            "  alloc-or-free mispredicted by a {}-op global-history predictor: {:.3} of ops",
            OpPredictor::HISTORY,
            share(self.predictor.misses(), self.predictor.ops())
        );
        let (plain, given) = self.classes.entropies();
        println!(
            "  small allocations' size class: {plain:.2} bits of entropy, {given:.2} given the \
             previous one's"
        );
        print!("  frees whose slot-table line was last named");
        for (k, n) in SlotLines::AGES.into_iter().enumerate() {
            print!(" <={n}: {:.3}", share(self.lines.ages[k], self.total.1));
        }
        let older = self.lines.ages[SlotLines::AGES.len()];
        println!(" more: {:.3} events before", share(older, self.total.1));
    }
}

fn main() -> anyhow::Result<()> {
    for path in std::env::args().skip(1) {
        let (events, _, _) = read_all(std::path::Path::new(&path))?;
        let mut profile = Profile::new();
        events.iter().for_each(|e| profile.event(e));
        profile.print(&path);
    }
    Ok(())
}
