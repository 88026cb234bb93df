//! The accounting `sys._debugmallocstats()` prints (pymalloc.md §6), computed the way CPython
//! computes it: by walking every carved pool of every live arena.
//!
//! [`Stats`] is a plain fixed-size value (no heap), so it can be taken from an engine that is
//! the process's global allocator without allocating under its lock.

use super::engine::Pymalloc;
use super::pool::{ArenaRecord, PoolHeader, NO_ARENA};
use super::{class_size, Geometry, NUM_CLASSES, POOL_HEADER_SIZE};

/// Figures for one size class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassStats {
    /// Block size in bytes.
    pub size: usize,
    /// Pools serving this class: partly used plus full (empty cached pools are not counted).
    pub pools: usize,
    /// Blocks handed out and not yet freed.
    pub blocks_in_use: usize,
    /// Blocks-per-pool × pools − in use: free-list blocks and never-carved ones alike.
    pub avail_blocks: usize,
}

/// A snapshot of the engine's accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub geometry: Geometry,
    /// Per size class, indexed by class (class `c` holds blocks of `16 × (c + 1)` bytes).
    pub classes: [ClassStats; NUM_CLASSES],
    /// Times an arena was mapped.
    pub arenas_allocated_total: usize,
    /// Times an arena was unmapped (total − current).
    pub arenas_reclaimed: usize,
    /// Most arenas mapped at once.
    pub arenas_highwater: usize,
    /// Arenas mapped now.
    pub arenas_allocated_current: usize,
    pub bytes_in_allocated_blocks: usize,
    pub bytes_in_available_blocks: usize,
    /// Cached empty pools plus never-carved pools.
    pub unused_pools: usize,
    pub bytes_lost_to_pool_headers: usize,
    pub bytes_lost_to_quantization: usize,
    /// One pool for every arena whose start is not pool aligned.
    pub bytes_lost_to_arena_alignment: usize,
    /// Arenas whose start is not pool aligned (and so hold one pool fewer).
    pub unaligned_arenas: usize,
    /// Address space reserved by the ownership map: root array and leaves (mostly untouched).
    pub ownership_map_root_bytes: usize,
    pub ownership_map_leaves: usize,
    pub ownership_map_leaf_bytes: usize,
    /// Requests served by the system allocator.
    pub raw_requests: usize,
    /// Small requests among them that went there because no arena could be mapped: while
    /// not 0, the figures above are not the geometry's own.
    pub arena_failures: usize,
}

impl Stats {
    /// The figures of size class `class`.
    ///
    /// # Panics
    /// When `class` is not below [`NUM_CLASSES`], as indexing [`Self::classes`] does.
    pub fn class(&self, class: usize) -> &ClassStats {
        &self.classes[class]
    }

    /// Bytes mapped for arenas: arenas × arena size.
    pub fn arena_bytes(&self) -> usize {
        self.arenas_allocated_current * self.geometry.arena_size()
    }

    /// Bytes in cached-empty and never-carved pools.
    pub fn bytes_in_unused_pools(&self) -> usize {
        self.unused_pools * self.geometry.pool_size()
    }

    /// The six byte lines of pymalloc.md §6, which must add up to [`Stats::arena_bytes`].
    pub fn byte_lines_total(&self) -> usize {
        self.bytes_in_allocated_blocks
            + self.bytes_in_available_blocks
            + self.bytes_in_unused_pools()
            + self.bytes_lost_to_pool_headers
            + self.bytes_lost_to_quantization
            + self.bytes_lost_to_arena_alignment
    }

    /// Pools serving some class (partly used or full).
    pub fn pools_in_use(&self) -> usize {
        self.classes.iter().map(|c| c.pools).sum()
    }

    /// Blocks in use over all classes.
    pub fn blocks_in_use(&self) -> usize {
        self.classes.iter().map(|c| c.blocks_in_use).sum()
    }
}

/// One live arena, for inspection and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaInfo {
    /// Index of the arena's record (stable while the arena lives).
    pub index: u32,
    /// Start of the arena's mapping.
    pub address: usize,
    /// Free pools: cached empty ones plus never-carved ones.
    pub free_pools: usize,
    /// Pools the arena holds (63 instead of 64 when unaligned with 16 KiB pools).
    pub total_pools: usize,
}

impl Pymalloc {
    /// Computes the accounting of pymalloc.md §6 by walking every carved pool.
    pub fn stats(&self) -> Stats {
        let g = self.geometry;
        let mut s = Stats {
            geometry: g,
            classes: [ClassStats::default(); NUM_CLASSES],
            arenas_allocated_total: self.arenas_total,
            arenas_reclaimed: self.arenas_total - self.arenas_current,
            arenas_highwater: self.arenas_highwater,
            arenas_allocated_current: self.arenas_current,
            bytes_in_allocated_blocks: 0,
            bytes_in_available_blocks: 0,
            unused_pools: 0,
            bytes_lost_to_pool_headers: 0,
            bytes_lost_to_quantization: 0,
            bytes_lost_to_arena_alignment: 0,
            unaligned_arenas: 0,
            ownership_map_root_bytes: self.map.root_bytes(),
            ownership_map_leaves: self.map.leaves().0,
            ownership_map_leaf_bytes: self.map.leaves().1,
            raw_requests: self.raw_requests,
            arena_failures: self.arena_failures,
        };
        for (class, c) in s.classes.iter_mut().enumerate() {
            c.size = class_size(class);
        }
        for a in self.live_records() {
            s.unused_pools += a.nfreepools as usize;
            if a.address & self.pool_mask != 0 {
                s.unaligned_arenas += 1;
            }
            self.for_each_carved_pool(a, |pool| {
                if pool.count == 0 {
                    return; // an empty pool cached on freepools
                }
                let c = &mut s.classes[pool.szidx as usize];
                c.pools += 1;
                c.blocks_in_use += pool.count as usize;
            });
        }
        for (class, c) in s.classes.iter_mut().enumerate() {
            c.avail_blocks = g.blocks_per_pool(class) * c.pools - c.blocks_in_use;
            s.bytes_in_allocated_blocks += c.blocks_in_use * c.size;
            s.bytes_in_available_blocks += c.avail_blocks * c.size;
            s.bytes_lost_to_pool_headers += c.pools * POOL_HEADER_SIZE;
            s.bytes_lost_to_quantization += c.pools * g.pool_leftover(class);
        }
        s.bytes_lost_to_arena_alignment = s.unaligned_arenas * g.pool_size();
        s
    }

    /// Every live arena, in record order.
    pub fn arenas(&self) -> impl Iterator<Item = ArenaInfo> + '_ {
        (0..self.arenas.len() as u32)
            .filter(|&i| self.arenas.get(i as usize).address != 0)
            .map(|i| self.arena_info(i))
    }

    /// The arenas of `usable_arenas` in list order: the next new pool comes from the first.
    pub fn usable_arenas(&self) -> impl Iterator<Item = ArenaInfo> + '_ {
        std::iter::successors(
            Some(self.usable_arenas).filter(|&i| i != NO_ARENA),
            move |&i| Some(self.arenas.get(i as usize).next).filter(|&n| n != NO_ARENA),
        )
        .map(|i| self.arena_info(i))
    }

    /// The live arena holding `p`, if any.
    pub fn arena_of(&self, p: *const u8) -> Option<ArenaInfo> {
        let addr = p as usize;
        self.arenas()
            .find(|a| addr.wrapping_sub(a.address) < self.geometry.arena_size())
    }

    fn arena_info(&self, i: u32) -> ArenaInfo {
        let a = self.arenas.get(i as usize);
        ArenaInfo {
            index: i,
            address: a.address,
            free_pools: a.nfreepools as usize,
            total_pools: a.ntotalpools as usize,
        }
    }

    pub(crate) fn live_records(&self) -> impl Iterator<Item = &ArenaRecord> + '_ {
        (0..self.arenas.len())
            .map(|i| self.arenas.get(i))
            .filter(|a| a.address != 0)
    }

    /// Calls `f` with the header of every pool carved so far in arena `a`.
    pub(crate) fn for_each_carved_pool(&self, a: &ArenaRecord, mut f: impl FnMut(&PoolHeader)) {
        let pool_size = self.geometry.pool_size();
        let mut p = (a.address + self.pool_mask) & !self.pool_mask;
        while p < a.pool_address {
            // SAFETY: pools below pool_address were carved, so their headers are initialised.
            f(unsafe { &*(p as *const PoolHeader) });
            p += pool_size;
        }
    }
}
