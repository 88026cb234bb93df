//! A full consistency check of the engine's lists, for tests and for anyone extending the
//! engine. It walks everything, so it is slow; the engine never calls it itself.

use super::engine::Pymalloc;
use super::pool::NO_ARENA;
use super::NUM_CLASSES;

/// What [`Pymalloc::check_invariants`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pymalloc invariant broken: {what} (arena record {arena:?}, class {class:?})")]
pub struct InvariantError {
    pub what: &'static str,
    pub arena: Option<u32>,
    pub class: Option<usize>,
}

fn broken(what: &'static str, arena: Option<u32>, class: Option<usize>) -> InvariantError {
    InvariantError { what, arena, class }
}

impl Pymalloc {
    /// Checks every structural invariant of pymalloc.md §2–§4:
    /// - each class's used list holds only partly used pools of that class, correctly linked,
    ///   with a non-empty free list;
    /// - each arena's free-pool count equals its cached empty pools plus never-carved pools;
    /// - `usable_arenas` holds exactly the live arenas with a free pool, correctly linked and
    ///   sorted by free pools ascending, and `nfp2lasta[k]` is its last arena with k free pools;
    /// - the byte lines of [`Pymalloc::stats`] add up to arenas × arena size;
    /// - the carved-pool byte counter equals the pools carved in live arenas.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        self.check_used_lists()?;
        self.check_arenas()?;
        self.check_usable_list()?;
        let s = self.stats();
        if s.byte_lines_total() != s.arena_bytes() {
            return Err(broken(
                "byte lines do not add up to arenas x arena size",
                None,
                None,
            ));
        }
        Ok(())
    }

    fn check_used_lists(&self) -> Result<(), InvariantError> {
        for class in 0..NUM_CLASSES {
            let per_pool = self.geometry.blocks_per_pool(class) as u32;
            let mut prev = std::ptr::null_mut();
            let mut pool = self.usedpools[class];
            while !pool.is_null() {
                // SAFETY: pools on used lists are live pools of ours.
                let hdr = unsafe { &*pool };
                let c = Some(class);
                let arena = Some(hdr.arenaindex);
                if hdr.szidx as usize != class {
                    return Err(broken("pool on the wrong class's used list", arena, c));
                }
                if hdr.count == 0 || hdr.count >= per_pool {
                    return Err(broken("empty or full pool on a used list", arena, c));
                }
                if hdr.freeblock.is_null() {
                    return Err(broken("used pool with an empty free list", arena, c));
                }
                if hdr.prevpool != prev {
                    return Err(broken("used list back link is wrong", arena, c));
                }
                if !self.owns(pool.cast()) {
                    return Err(broken(
                        "used list holds a pool outside every arena",
                        arena,
                        c,
                    ));
                }
                prev = pool;
                pool = hdr.nextpool;
            }
        }
        Ok(())
    }

    fn check_arenas(&self) -> Result<(), InvariantError> {
        let pool_size = self.geometry.pool_size();
        let mut carved = 0;
        for a in self.arenas() {
            let rec = self.arenas.get(a.index as usize);
            carved += rec.pool_address - ((a.address + self.pool_mask) & !self.pool_mask);
            let end = a.address + self.geometry.arena_size();
            let never_carved = (end - rec.pool_address) / pool_size;
            let mut cached = 0;
            let mut p = rec.freepools;
            while !p.is_null() {
                cached += 1;
                // SAFETY: pools on freepools are live pools of this arena.
                let hdr = unsafe { &*p };
                if hdr.count != 0 || hdr.arenaindex != a.index {
                    return Err(broken(
                        "freepools holds a pool in use or of another arena",
                        Some(a.index),
                        None,
                    ));
                }
                p = hdr.nextpool;
            }
            if cached + never_carved != a.free_pools {
                return Err(broken(
                    "nfreepools differs from cached + never-carved pools",
                    Some(a.index),
                    None,
                ));
            }
            let mut in_use = 0;
            self.for_each_carved_pool(rec, |pool| in_use += usize::from(pool.count != 0));
            if in_use + a.free_pools != a.total_pools {
                return Err(broken(
                    "pools in use + free pools != total pools",
                    Some(a.index),
                    None,
                ));
            }
        }
        if carved != self.carved_bytes || carved > self.carved_bytes_highwater {
            return Err(broken(
                "carved-pool bytes differ from the arenas' carved pools",
                None,
                None,
            ));
        }
        Ok(())
    }

    fn check_usable_list(&self) -> Result<(), InvariantError> {
        let mut prev = NO_ARENA;
        let mut count = 0;
        let mut last_nfree = 0;
        let mut i = self.usable_arenas;
        while i != NO_ARENA {
            let a = self.arenas.get(i as usize);
            let nf = a.nfreepools;
            if a.address == 0 || nf == 0 {
                return Err(broken(
                    "usable_arenas holds a dead or full arena",
                    Some(i),
                    None,
                ));
            }
            if a.prev != prev {
                return Err(broken("usable_arenas back link is wrong", Some(i), None));
            }
            if nf < last_nfree {
                return Err(broken(
                    "usable_arenas is not sorted by free pools",
                    Some(i),
                    None,
                ));
            }
            let is_last_of_group =
                a.next == NO_ARENA || self.arenas.get(a.next as usize).nfreepools != nf;
            if is_last_of_group && *self.nfp2lasta.get(nf as usize) != i {
                return Err(broken(
                    "nfp2lasta does not point at the last arena of its group",
                    Some(i),
                    None,
                ));
            }
            last_nfree = nf;
            prev = i;
            count += 1;
            i = a.next;
        }
        let with_free_pools = self.arenas().filter(|a| a.free_pools > 0).count();
        if count != with_free_pools {
            return Err(broken(
                "usable_arenas misses an arena with free pools",
                None,
                None,
            ));
        }
        self.check_nfp2lasta()
    }

    /// Every `nfp2lasta` entry names a live arena with that many free pools (or none).
    fn check_nfp2lasta(&self) -> Result<(), InvariantError> {
        for k in 0..self.nfp2lasta.len() {
            let last = *self.nfp2lasta.get(k);
            if last != NO_ARENA
                && (self.arenas.get(last as usize).nfreepools as usize != k
                    || self.arenas.get(last as usize).address == 0)
            {
                return Err(broken(
                    "nfp2lasta points at an arena with another free-pool count",
                    Some(last),
                    None,
                ));
            }
        }
        Ok(())
    }
}
