//! The engine's slow paths: giving a size class a new pool, retiring an empty pool, keeping
//! `usable_arenas` sorted in O(1), and mapping/unmapping arenas (pymalloc.md §3.3 and §4.4).

use super::class_size;
use super::engine::Pymalloc;
use super::pool::{ArenaRecord, PoolHeader, NO_ARENA, NO_CLASS};
use std::ptr::{self, NonNull};

/// CPython allocates 16 arena records at first and doubles the table when it runs out.
const INITIAL_ARENA_RECORDS: usize = 16;

impl Pymalloc {
    #[inline(always)]
    fn arena(&self, i: u32) -> &ArenaRecord {
        self.arenas.get(i as usize)
    }

    #[inline(always)]
    fn arena_mut(&mut self, i: u32) -> &mut ArenaRecord {
        self.arenas.get_mut(i as usize)
    }

    #[inline(always)]
    fn last_with(&self, nfree: u32) -> u32 {
        *self.nfp2lasta.get(nfree as usize)
    }

    #[inline(always)]
    fn set_last_with(&mut self, nfree: u32, arena: u32) {
        *self.nfp2lasta.get_mut(nfree as usize) = arena;
    }

    /// No partly used pool of `class` exists: take a pool from the most used arena (the head
    /// of `usable_arenas`, mapping a new arena when there is none), put it at the front of the
    /// class's used list and return its first free block (pymalloc.md §3 step 3).
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_from_new_pool(&mut self, class: usize) -> *mut u8 {
        let Some(ai) = self.usable_head() else {
            self.arena_failures += 1;
            return ptr::null_mut();
        };
        let pool = self.take_pool(ai);
        let pool_size = self.geometry.pool_size();
        // SAFETY: `pool` is a live pool of ours that sits on no list.
        unsafe {
            let hdr = &mut *pool;
            hdr.count = 1;
            hdr.nextpool = ptr::null_mut();
            hdr.prevpool = ptr::null_mut();
            self.usedpools[class] = pool;
            if hdr.szidx == class as u32 {
                // It last served this class, so its free list is still valid; it holds at
                // least two blocks, so popping one cannot empty it.
                let block = hdr.freeblock;
                hdr.freeblock = *block.cast::<*mut u8>();
                debug_assert!(!hdr.freeblock.is_null());
                return block;
            }
            PoolHeader::init_for_class(pool, class as u32, class_size(class), pool_size)
        }
    }

    /// The head of `usable_arenas`, a newly mapped arena when the list is empty (`None` when
    /// the mapping fails).
    fn usable_head(&mut self) -> Option<u32> {
        if self.usable_arenas == NO_ARENA {
            let ai = self.new_arena()?;
            let nfree = self.arena(ai).nfreepools;
            self.usable_arenas = ai;
            self.set_last_with(nfree, ai);
        }
        Some(self.usable_arenas)
    }

    /// Takes one free pool of arena `ai`, the head of `usable_arenas`: a cached one from its
    /// `freepools`, else the next never-used one carved from its mapping. An arena left
    /// with no free pool leaves the list.
    fn take_pool(&mut self, ai: u32) -> *mut PoolHeader {
        let nfree = self.arena(ai).nfreepools;
        // The head has the fewest free pools; taking one keeps it the head. It was the last
        // arena with `nfree` only if no other arena has that many, and is now the only one
        // with `nfree - 1`.
        if self.last_with(nfree) == ai {
            self.set_last_with(nfree, NO_ARENA);
        }
        if nfree > 1 {
            self.set_last_with(nfree - 1, ai);
        }
        let pool_size = self.geometry.pool_size();
        let a = self.arena_mut(ai);
        let (pool, carved) = if let Some(cached) = NonNull::new(a.freepools) {
            // SAFETY: pools on freepools are live pools of this arena.
            a.freepools = unsafe { (*cached.as_ptr()).nextpool };
            (cached.as_ptr(), false)
        } else {
            let pool = a.pool_address as *mut PoolHeader;
            a.pool_address += pool_size;
            // SAFETY: a never-carved pool inside the arena's mapping.
            unsafe {
                (*pool).arenaindex = ai;
                (*pool).szidx = NO_CLASS;
            }
            (pool, true)
        };
        a.nfreepools -= 1;
        if a.nfreepools == 0 {
            // A full arena leaves usable_arenas; it was the head.
            let next = a.next;
            a.next = NO_ARENA;
            self.usable_arenas = next;
            if next != NO_ARENA {
                self.arena_mut(next).prev = NO_ARENA;
            }
        }
        if carved {
            self.carved_bytes += pool_size;
            self.carved_bytes_highwater = self.carved_bytes_highwater.max(self.carved_bytes);
        }
        pool
    }

    /// A pool's last block was freed: move it to its arena's `freepools` and re-sort or
    /// release the arena (pymalloc.md §4 step 4).
    ///
    /// # Safety
    /// `pool` is a live pool of this engine on its class's used list, with no block in use.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn pool_became_empty(&mut self, pool: *mut PoolHeader) {
        self.unlink_used_pool(pool);
        let ai = (*pool).arenaindex;
        let a = self.arena_mut(ai);
        // LIFO: the pool freed last is reused first; pools freed earlier may be paged out.
        (*pool).nextpool = a.freepools;
        a.freepools = pool;
        a.nfreepools += 1;
        let nf = a.nfreepools;
        let (total, next, prev) = (a.ntotalpools, a.next, a.prev);

        if nf == 1 {
            // The arena was full, so on no list; one free pool is the minimum: it goes first.
            let head = self.usable_arenas;
            let a = self.arena_mut(ai);
            a.next = head;
            a.prev = NO_ARENA;
            if head != NO_ARENA {
                self.arena_mut(head).prev = ai;
            }
            self.usable_arenas = ai;
            if self.last_with(1) == NO_ARENA {
                self.set_last_with(1, ai);
            }
            return;
        }

        // The arena leaves the group of arenas with `nf - 1` free pools.
        let last_old = self.last_with(nf - 1);
        if last_old == ai {
            let still = prev != NO_ARENA && self.arena(prev).nfreepools == nf - 1;
            self.set_last_with(nf - 1, if still { prev } else { NO_ARENA });
        }

        // Wholly free: give it back, unless (3.9+) it is the last of usable_arenas. Keeping that
        // one spare stops allocate/free-all loops from mapping and unmapping every round.
        if nf == total && (!self.geometry.keeps_spare_arena() || next != NO_ARENA) {
            self.unlink_usable(ai);
            self.release_arena(ai);
            return;
        }

        if self.last_with(nf) == NO_ARENA {
            self.set_last_with(nf, ai);
        }
        if last_old == ai {
            // It was the rightmost with nf - 1 free pools, so the order still holds.
            return;
        }
        // Arenas with nf - 1 free pools follow it: move it right after the last of them.
        self.unlink_usable(ai);
        let after = self.arena(last_old).next;
        let a = self.arena_mut(ai);
        a.prev = last_old;
        a.next = after;
        self.arena_mut(last_old).next = ai;
        if after != NO_ARENA {
            self.arena_mut(after).prev = ai;
        }
    }

    fn unlink_usable(&mut self, ai: u32) {
        let (prev, next) = (self.arena(ai).prev, self.arena(ai).next);
        if prev == NO_ARENA {
            self.usable_arenas = next;
        } else {
            self.arena_mut(prev).next = next;
        }
        if next != NO_ARENA {
            self.arena_mut(next).prev = prev;
        }
    }

    /// Maps a new arena and returns its record, or `None` when the kernel (or the record
    /// table) is out of memory — the caller then falls back to the system allocator, as
    /// CPython does.
    fn new_arena(&mut self) -> Option<u32> {
        if self.unused_records == NO_ARENA && !self.grow_records() {
            return None;
        }
        let arena_size = self.geometry.arena_size();
        // A parked arena was placed as this one would be (same size, same placement) and
        // its pages are already faulted in.
        let base = match self.parked.take(arena_size) {
            Some(b) => b,
            None => {
                let pool_size = self.geometry.pool_size();
                self.placement
                    .map(arena_size, pool_size, &mut self.region)?
            }
        };
        let address = base.as_ptr() as usize;
        if !self.map.register(address) {
            // SAFETY: the mapping was just made and is not referenced anywhere.
            unsafe { self.region.unmap(base, arena_size) };
            return None;
        }
        let ai = self.unused_records;
        let pool_size = self.geometry.pool_size();
        let mut pools = self.geometry.pools_per_arena() as u32;
        let mut first_pool = address;
        let excess = address & self.pool_mask;
        if excess != 0 {
            // mmap only promises page alignment: with pools larger than a page the first
            // pool is rounded up and one pool per arena is lost ("arena alignment").
            pools -= 1;
            first_pool += pool_size - excess;
        }
        let a = self.arena_mut(ai);
        let next_unused = a.next;
        *a = ArenaRecord {
            address,
            pool_address: first_pool,
            nfreepools: pools,
            ntotalpools: pools,
            freepools: ptr::null_mut(),
            next: NO_ARENA,
            prev: NO_ARENA,
        };
        self.unused_records = next_unused;
        self.arenas_current += 1;
        self.arenas_total += 1;
        self.arenas_highwater = self.arenas_highwater.max(self.arenas_current);
        Some(ai)
    }

    /// Doubles the arena record table (16 records at first), threading the new records onto
    /// the unused list. Records are linked by index, so moving the table is harmless.
    fn grow_records(&mut self) -> bool {
        if self.nfp2lasta.len() == 0
            && !self
                .nfp2lasta
                .grow(self.geometry.pools_per_arena() + 1, NO_ARENA)
        {
            return false;
        }
        let old = self.arenas.len();
        let new = if old == 0 {
            INITIAL_ARENA_RECORDS
        } else {
            old * 2
        };
        if new >= NO_ARENA as usize || !self.arenas.grow(new, ArenaRecord::UNUSED) {
            return false;
        }
        for i in old..new {
            let next = if i + 1 < new {
                (i + 1) as u32
            } else {
                NO_ARENA
            };
            self.arenas.get_mut(i).next = next;
        }
        self.unused_records = old as u32;
        true
    }

    /// Unmaps an arena that is off every list and recycles its record.
    fn release_arena(&mut self, ai: u32) {
        let arena_size = self.geometry.arena_size();
        let (address, pool_address) = (self.arena(ai).address, self.arena(ai).pool_address);
        self.carved_bytes -= pool_address - ((address + self.pool_mask) & !self.pool_mask);
        self.map.unregister(address);
        if let Some(base) = NonNull::new(address as *mut u8) {
            // SAFETY: the arena is wholly free and referenced by no list any more.
            unsafe { self.parked.release(base, arena_size, &mut self.region) };
        }
        let unused = self.unused_records;
        let a = self.arena_mut(ai);
        *a = ArenaRecord::UNUSED;
        a.next = unused;
        self.unused_records = ai;
        self.arenas_current -= 1;
    }
}
