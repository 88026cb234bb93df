//! Where a trace's frees land in pymalloc's pools: the share of frees into the pool of the
//! previous free, or of one of the last 4 / 16 distinct pools freed into; how soon a freed
//! address is handed out again; how often a pool is taken from its arena and emptied again
//! (the engine's slow paths), how often a pool fills or gets a free while full (its class
//! list changes), and how many arenas it mapped. A free touches its block and its
//! pool's header; frees that stay in a few pools hit the cache, frees scattered over the heap
//! miss it — and allocators differ in how much a scattered free costs (jemalloc's thread cache
//! defers the slab's metadata; pymalloc writes the pool header at once). And how long ago
//! (in events) the cache line of each freed block, of its pool's header, and of each
//! allocated block was last touched by the replay — what pymalloc reads and writes that
//! jemalloc's thread cache does not. Replayed into the engine's 3.11 preset.
//!
//! `cargo run --release --example free_locality -- TRACE.pbt [TRACE.pbt…]`

use pybench::pymalloc::{Preset, Pymalloc};
use pybench::trace::source::read_all;
use pybench::workload::event::Event;
use std::collections::HashMap;

const RECENT: [usize; 3] = [1, 4, 16];
/// Bounds of the bins of an allocation's reuse distance: events since its address was freed.
const REUSE: [u64; 5] = [1, 16, 256, 4096, 65536];
/// What a cache-line age is counted for (index into `Replay::ages`).
const BLOCK_AT_FREE: usize = 0;
const POOL_AT_FREE: usize = 1;
const BLOCK_AT_ALLOCATION: usize = 2;

/// The engine with the trace's blocks in it, and what its small blocks' addresses did.
struct Replay {
    engine: Pymalloc,
    mask: usize,
    slots: Vec<*mut u8>,
    now: u64,
    /// The last distinct pools freed into, most recent first, and frees into one of them.
    recent: Vec<usize>,
    hits: [u64; RECENT.len()],
    frees: u64,
    /// When each free small address was freed (event index), and the reuse distances' bins
    /// (then "more", then "never freed before").
    freed_at: HashMap<usize, u64>,
    reuse: [u64; REUSE.len() + 2],
    /// Live blocks per pool, and how often a pool went from empty to used and back.
    live: HashMap<usize, u32>,
    /// Blocks each pool holds when full, and how often one became full (the engine unlinks
    /// it from its class's list) or got a free while full (linked back at the front).
    capacity: HashMap<usize, u32>,
    pools_filled: u64,
    frees_into_full: u64,
    pools_taken: u64,
    pools_emptied: u64,
    /// When each cache line a small block or pool header sits on was last touched (event
    /// index), and the ages found: [block at free, pool header at free, block at allocation].
    lines: HashMap<usize, u64>,
    ages: [[u64; REUSE.len() + 2]; 3],
}

impl Replay {
    fn new() -> Self {
        let engine = Pymalloc::new(Preset::Cpython311.geometry());
        Replay {
            mask: !(engine.geometry().pool_size() - 1),
            engine,
            slots: Vec::new(),
            now: 0,
            recent: Vec::new(),
            hits: [0; RECENT.len()],
            frees: 0,
            freed_at: HashMap::new(),
            reuse: [0; REUSE.len() + 2],
            live: HashMap::new(),
            pools_taken: 0,
            pools_emptied: 0,
            capacity: HashMap::new(),
            pools_filled: 0,
            frees_into_full: 0,
            lines: HashMap::new(),
            ages: [[0; REUSE.len() + 2]; 3],
        }
    }

    /// Touches the cache line of `addr`; counts its age in `ages[what]` (`BLOCK_AT_FREE`, …).
    fn touch(&mut self, addr: usize, what: usize) {
        let bin = match self.lines.insert(addr / 64, self.now) {
            None => REUSE.len() + 1,
            Some(t) => REUSE.partition_point(|&b| b < self.now - t),
        };
        self.ages[what][bin] += 1;
    }

    /// A small block `p` was placed: its pool's count, its address's reuse distance.
    fn placed(&mut self, p: *mut u8, bytes: usize, fresh_allocation: bool) {
        if !self.engine.owns(p) {
            return;
        }
        let pool = p as usize & self.mask;
        let per_pool = self
            .engine
            .geometry()
            .blocks_per_pool((bytes.max(1) - 1) / 16) as u32;
        self.capacity.insert(pool, per_pool);
        self.touch(p as usize, BLOCK_AT_ALLOCATION);
        // Taking a block writes its pool's header too (that line's age is counted at frees only).
        self.lines.insert((p as usize & self.mask) / 64, self.now);
        let n = self.live.entry(p as usize & self.mask).or_default();
        self.pools_taken += u64::from(*n == 0);
        *n += 1;
        self.pools_filled += u64::from(*n == per_pool);
        if fresh_allocation {
            let bin = match self.freed_at.remove(&(p as usize)) {
                None => REUSE.len() + 1,
                Some(t) => REUSE.partition_point(|&b| b < self.now - t),
            };
            self.reuse[bin] += 1;
        }
    }

    /// A small block `p` left its pool (freed, or moved by a realloc).
    fn removed(&mut self, p: *mut u8) {
        if !self.engine.owns(p) {
            return;
        }
        let n = self
            .live
            .get_mut(&(p as usize & self.mask))
            .expect("a live block's pool");
        self.frees_into_full +=
            u64::from(Some(&*n) == self.capacity.get(&(p as usize & self.mask)));
        *n -= 1;
        self.pools_emptied += u64::from(*n == 0);
    }

    fn free_into(&mut self, p: *mut u8) {
        if !self.engine.owns(p) {
            return;
        }
        let pool = p as usize & self.mask;
        self.touch(p as usize, BLOCK_AT_FREE);
        self.touch(pool, POOL_AT_FREE);
        self.frees += 1;
        let at = self.recent.iter().position(|&q| q == pool);
        for (k, &n) in RECENT.iter().enumerate() {
            self.hits[k] += u64::from(at.is_some_and(|i| i < n));
        }
        self.recent.retain(|&q| q != pool);
        self.recent.insert(0, pool);
        self.recent.truncate(RECENT[RECENT.len() - 1]);
        self.freed_at.insert(p as usize, self.now);
    }

    fn event(&mut self, e: &Event) {
        self.now += 1;
        let bytes = (e.bytes().unwrap_or(0) as usize).max(1);
        match *e {
            Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                if slot as usize >= self.slots.len() {
                    self.slots.resize(slot as usize + 1, std::ptr::null_mut());
                }
                let p = self.engine.malloc(bytes);
                self.slots[slot as usize] = p;
                self.placed(p, bytes, true);
            }
            Event::Realloc { slot, .. } => {
                let old = self.slots[slot as usize];
                let counts = (self.pools_taken, self.pools_emptied);
                self.removed(old);
                // SAFETY: `old` came from this engine and is live (the trace is valid).
                let p = unsafe { self.engine.realloc(old, bytes) };
                self.slots[slot as usize] = p;
                self.placed(p, bytes, false);
                if p == old {
                    // Resized in place: its pool never emptied.
                    (self.pools_taken, self.pools_emptied) = counts;
                }
            }
            Event::Free { slot, .. } => {
                let p = std::mem::replace(&mut self.slots[slot as usize], std::ptr::null_mut());
                self.removed(p);
                self.free_into(p);
                // SAFETY: as above.
                unsafe { self.engine.free(p) };
            }
            _ => {}
        }
    }

    fn print(&self, path: &str) {
        let st = self.engine.stats();
        let allocs = self.reuse.iter().sum::<u64>().max(1) as f64;
        println!("{path}");
        print!("  small allocations reusing an address freed");
        for (k, &b) in REUSE.iter().enumerate() {
            print!(" <={b}: {:.2}", self.reuse[k] as f64 / allocs);
        }
        let [.., more, fresh] = self.reuse;
        let (more, fresh) = (more as f64 / allocs, fresh as f64 / allocs);
        println!(" more: {more:.2} events ago; fresh: {fresh:.2}");
        print!("  small frees {}, into the pool of", self.frees);
        for (k, &n) in RECENT.iter().enumerate() {
            print!(
                " the last {n}: {:.2}",
                self.hits[k] as f64 / self.frees.max(1) as f64
            );
        }
        println!(
            "\n  arenas allocated total {}, highwater {}; pools taken {}, emptied {} (per 1000 \
             small frees: {:.2})",
            st.arenas_allocated_total,
            st.arenas_highwater,
            self.pools_taken,
            self.pools_emptied,
            self.pools_emptied as f64 * 1000.0 / self.frees.max(1) as f64
        );
        println!(
            "  pools filled {:.2}, frees into a full pool {:.2} (per 1000 small frees)",
            self.pools_filled as f64 * 1000.0 / self.frees.max(1) as f64,
            self.frees_into_full as f64 * 1000.0 / self.frees.max(1) as f64
        );
        for (what, ages) in [
            "block at free",
            "pool header at free",
            "block at allocation",
        ]
        .iter()
        .zip(&self.ages)
        {
            let n = ages.iter().sum::<u64>().max(1) as f64;
            print!("  line of the {what}, last touched");
            for (k, &b) in REUSE.iter().enumerate() {
                print!(" <={b}: {:.3}", ages[k] as f64 / n);
            }
            let [.., more, never] = *ages;
            println!(
                " more: {:.3}; never: {:.3}",
                more as f64 / n,
                never as f64 / n
            );
        }
    }
}

fn main() -> anyhow::Result<()> {
    for path in std::env::args().skip(1) {
        let (events, _, _) = read_all(std::path::Path::new(&path))?;
        let mut replay = Replay::new();
        events.iter().for_each(|e| replay.event(e));
        replay.print(&path);
    }
    Ok(())
}
