//! Pool churn: how often a stream's frees land in a *full* pymalloc pool, replayed into the
//! engine (the `pool_churn` figure of the realism report).
//!
//! pymalloc keeps a pool on its size class's list only while the pool has a free block: the
//! allocation that takes a pool's last block unlinks it, and a free into a full pool links it
//! back at the head of the list, where the next allocation of that class refills it
//! (pymalloc.md §4). A program whose temporaries come and go in the pool it allocates from
//! rarely pays for that — json_tool's trace lands 1 small free in 1,000 in a full pool —
//! while a stream whose blocks die one at a time all over the heap pays it on every such
//! free and the refill after it: the first stand-ins of json_tool did it 25 times in 1,000,
//! and replayed slower under pymalloc than the trace while jemalloc did not. Lifetime
//! histograms do not see this: permuting the trace's lifetimes among allocations of one size
//! class within windows of 256 allocations keeps every lifetime figure and takes the rate to
//! 20 per 1,000 (within windows of 16: 1.1). It is the address-level consequence of which
//! block dies when, so it is measured where it happens, in the engine.
//!
//! Every stream is measured with one geometry (CPython 3.11's: 1 MiB arenas, 16 KiB pools),
//! so that figures compare across streams recorded on different versions.

use crate::pymalloc::{size_class, Preset, Pymalloc, SMALL_REQUEST_THRESHOLD};
use crate::workload::event::Event;
use std::collections::HashMap;

/// Largest request pymalloc serves from its pools (larger ones go to the system allocator
/// and never touch a pool).
const SMALL: u64 = SMALL_REQUEST_THRESHOLD as u64;

/// The engine with the stream's small blocks in it, and its pools' fill.
pub struct PoolChurn {
    engine: Pymalloc,
    /// The block in each slot, null when the slot is free or holds a large block.
    slots: Vec<*mut u8>,
    /// Per pool (by base address): live blocks, and blocks it holds when full.
    pools: HashMap<usize, (u32, u32)>,
    pool_mask: usize,
    /// Small blocks that left their pool (frees, and reallocs that moved the block).
    pub small_frees: u64,
    /// Among them, those that left a full pool.
    pub frees_from_full: u64,
}

impl Default for PoolChurn {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolChurn {
    pub fn new() -> Self {
        let engine = Pymalloc::new(Preset::Cpython311.geometry());
        PoolChurn {
            pool_mask: !(engine.geometry().pool_size() - 1),
            engine,
            slots: Vec::new(),
            pools: HashMap::new(),
            small_frees: 0,
            frees_from_full: 0,
        }
    }

    pub fn event(&mut self, e: &Event) {
        match *e {
            Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                // A malformed stream may allocate into a live slot: the old block is dropped.
                self.release(slot);
                let bytes = e.bytes().unwrap_or(0);
                self.place(slot, bytes);
            }
            Event::Realloc { slot, size, .. } => self.resize(slot, u64::from(size)),
            Event::Free { slot, .. } => self.release(slot),
            Event::Phase(_) | Event::Gc(_) => {}
        }
    }

    fn slot(&mut self, slot: u32) -> &mut *mut u8 {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, std::ptr::null_mut());
        }
        &mut self.slots[i]
    }

    /// Allocates a small block for `slot` (large requests are not modelled: they never touch
    /// a pool) and counts it into its pool.
    fn place(&mut self, slot: u32, bytes: u64) {
        if bytes == 0 || bytes > SMALL {
            return;
        }
        let p = self.engine.malloc(bytes as usize);
        if p.is_null() {
            return;
        }
        *self.slot(slot) = p;
        self.entered(p, bytes);
    }

    fn entered(&mut self, p: *mut u8, bytes: u64) {
        let capacity = self
            .engine
            .geometry()
            .blocks_per_pool(size_class(bytes as usize)) as u32;
        let pool = self.pools.entry(p as usize & self.pool_mask).or_default();
        pool.0 += 1;
        pool.1 = capacity;
    }

    /// Counts `p` out of its pool: one small free, and whether the pool was full.
    fn left(&mut self, p: *mut u8) {
        let Some(pool) = self.pools.get_mut(&(p as usize & self.pool_mask)) else {
            return;
        };
        self.small_frees += 1;
        self.frees_from_full += u64::from(pool.0 == pool.1);
        pool.0 -= 1;
    }

    fn release(&mut self, slot: u32) {
        let p = std::mem::replace(self.slot(slot), std::ptr::null_mut());
        if p.is_null() {
            return;
        }
        self.left(p);
        // SAFETY: `p` is a live block this engine returned for `slot` and not yet freed.
        unsafe { self.engine.free(p) };
    }

    fn resize(&mut self, slot: u32, bytes: u64) {
        let p = *self.slot(slot);
        if p.is_null() || bytes == 0 || bytes > SMALL {
            // From nothing or a large block, or to a large one: it leaves or enters a pool.
            self.release(slot);
            self.place(slot, bytes);
            return;
        }
        // SAFETY: `p` is a live small block of this engine; on failure it stays live.
        let q = unsafe { self.engine.realloc(p, bytes as usize) };
        if q.is_null() || q == p {
            return;
        }
        self.left(p);
        *self.slot(slot) = q;
        self.entered(q, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workload::event::fixture::{alloc, free};

    /// Blocks of the 64-byte class in a 3.11 pool.
    fn per_pool() -> u32 {
        Preset::Cpython311
            .geometry()
            .blocks_per_pool(size_class(64)) as u32
    }

    #[test]
    fn temporaries_in_the_pool_being_filled_never_touch_a_full_one() {
        let mut m = PoolChurn::new();
        // A live set of one pool and a half, then a temporary freed after each allocation.
        for s in 0..per_pool() * 3 / 2 {
            m.event(&alloc(s, 64));
        }
        for _ in 0..1000 {
            m.event(&alloc(9999, 64));
            m.event(&free(9999));
        }
        assert_eq!(m.small_frees, 1000);
        assert_eq!(m.frees_from_full, 0);
    }

    #[test]
    fn frees_scattered_over_full_pools_each_hit_a_full_one() {
        let mut m = PoolChurn::new();
        let n = per_pool() * 4;
        for s in 0..n {
            m.event(&alloc(s, 64));
        }
        // One block out of each of the first three (full) pools, then its twin refills it.
        for pool in 0..3 {
            let s = pool * per_pool() + 7;
            m.event(&free(s));
            m.event(&alloc(s, 64));
        }
        assert_eq!((m.small_frees, m.frees_from_full), (3, 3));
        // Large requests and frees of free slots leave the count alone.
        m.event(&alloc(n, 4096));
        m.event(&free(n));
        m.event(&free(n + 1));
        assert_eq!(m.small_frees, 3);
    }

    #[test]
    fn a_realloc_that_moves_a_block_out_of_a_full_pool_counts_as_leaving_it() {
        let mut m = PoolChurn::new();
        for s in 0..per_pool() {
            m.event(&alloc(s, 64));
        }
        // Growing past its class moves the block: it leaves the (full) pool.
        m.event(&Event::Realloc {
            slot: 0,
            size: 200,
            thread: 0,
        });
        assert_eq!((m.small_frees, m.frees_from_full), (1, 1));
        // Shrinking by under a quarter keeps it in place: no departure.
        m.event(&Event::Realloc {
            slot: 0,
            size: 190,
            thread: 0,
        });
        assert_eq!(m.small_frees, 1);
        // To a large size: it leaves its pool; the free of a large block counts nothing.
        m.event(&Event::Realloc {
            slot: 0,
            size: 5000,
            thread: 0,
        });
        m.event(&free(0));
        assert_eq!((m.small_frees, m.frees_from_full), (2, 1));
    }
}
