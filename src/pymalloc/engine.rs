//! The engine's public face and its fast paths: taking a block from the head pool of a size
//! class and putting one back. Everything rarer (new pools, arenas, list re-sorting) lives in
//! `slow.rs`, so the hot code stays small enough to inline.

use super::ownership::OwnershipMap;
use super::placement::ArenaPlacement;
use super::pool::{ArenaRecord, PoolHeader, NO_ARENA};
use super::{class_size, Geometry, NUM_CLASSES, SMALL_REQUEST_THRESHOLD};
use crate::sys::arena_region::ArenaRegion;
use crate::sys::mem::{self as os, raw, MappedArray};
use crate::sys::parked::Parked;
use std::ptr;

/// CPython's small-object allocator, reproduced in Rust.
///
/// Blocks of 1–512 bytes come from 16-byte size classes carved out of pools, which are carved
/// out of `mmap`ed arenas; everything else goes to the system allocator, as in CPython. The
/// engine is single threaded, exactly like obmalloc under the GIL: wrap it in
/// [`LockedPymalloc`](super::LockedPymalloc) to share it or to install it as the global
/// allocator.
///
/// ```
/// use pybench::pymalloc::{Preset, Pymalloc};
///
/// let mut engine = Pymalloc::new(Preset::Cpython311.geometry());
/// let p = engine.malloc(64);
/// assert!(engine.owns(p));
/// assert_eq!(engine.stats().class(3).blocks_in_use, 1); // class 3 holds 64-byte blocks
/// unsafe { engine.free(p) };
/// ```
pub struct Pymalloc {
    pub(crate) geometry: Geometry,
    /// `pool_size - 1`: rounds a block address down to its pool header.
    pub(crate) pool_mask: usize,
    /// Head of each class's list of partly used pools, most recently (re)used first.
    pub(crate) usedpools: [*mut PoolHeader; NUM_CLASSES],
    pub(crate) arenas: MappedArray<ArenaRecord>,
    /// Head of the list of unused arena records.
    pub(crate) unused_records: u32,
    /// Head of `usable_arenas`: arenas with a free pool, sorted by free pools ascending.
    pub(crate) usable_arenas: u32,
    /// `nfp2lasta[k]`: the last arena of `usable_arenas` with exactly k free pools.
    pub(crate) nfp2lasta: MappedArray<u32>,
    pub(crate) map: OwnershipMap,
    pub(crate) arenas_current: usize,
    pub(crate) arenas_total: usize,
    pub(crate) arenas_highwater: usize,
    pub(crate) raw_requests: usize,
    /// Small requests that found no pool because no arena could be mapped (out of address
    /// space or memory: a 1 GiB arena under `ulimit -v`, two sweep cells of 2 GiB arenas at
    /// once); each went to the system allocator, as CPython's does. Counted because the
    /// accounting is then no longer the geometry's own.
    pub(crate) arena_failures: usize,
    /// Where arenas go relative to pool boundaries (`placement.rs`).
    pub(crate) placement: ArenaPlacement,
    /// Bytes of the pools carved so far in live arenas, and the most at once: every carved
    /// pool has had its header written, so this is the engine's model of the pool memory
    /// the OS holds resident (pymalloc never returns a pool's pages, only whole arenas).
    pub(crate) carved_bytes: usize,
    pub(crate) carved_bytes_highwater: usize,
    /// Arenas released while the harness cleans up between passes, kept mapped for the next
    /// pass's arenas (`sys/parked.rs`; [`Self::hold_releases`]).
    pub(crate) parked: Parked,
    /// The address space the engine's arenas are mapped into (`sys/arena_region.rs`: side
    /// by side, whatever else the process maps and unmaps).
    pub(crate) region: ArenaRegion,
}

// SAFETY: the engine exclusively owns every pool, arena and bookkeeping mapping it points to;
// moving it to another thread moves that ownership. It is not `Sync`: like obmalloc it needs
// one lock (a GIL) around every call, which `LockedPymalloc` provides.
unsafe impl Send for Pymalloc {}

impl Pymalloc {
    /// An engine with no arenas yet. `const`, so it can initialise a `static` global
    /// allocator; bookkeeping is mapped on the first small allocation.
    pub const fn new(geometry: Geometry) -> Self {
        Pymalloc {
            geometry,
            pool_mask: geometry.pool_size() - 1,
            usedpools: [ptr::null_mut(); NUM_CLASSES],
            arenas: MappedArray::empty(),
            unused_records: NO_ARENA,
            usable_arenas: NO_ARENA,
            nfp2lasta: MappedArray::empty(),
            map: OwnershipMap::new(geometry.arena_size()),
            arenas_current: 0,
            arenas_total: 0,
            arenas_highwater: 0,
            raw_requests: 0,
            arena_failures: 0,
            placement: ArenaPlacement::Mmap,
            carved_bytes: 0,
            carved_bytes_highwater: 0,
            parked: Parked::new(),
            region: ArenaRegion::new(),
        }
    }

    /// While `hold` is on, arenas the engine releases stay mapped, and new arenas are taken
    /// from them before any is mapped: for the harness's untimed cleanup between throughput
    /// passes, so the next pass finds its heap's pages faulted in, as the allocators that
    /// cache freed memory do (`sys/parked.rs` says why). The accounting is unchanged: a
    /// parked arena counts as released, and as newly allocated when it is taken again.
    pub fn hold_releases(&mut self, hold: bool) {
        self.parked.holding = hold;
    }

    /// An engine whose arenas are placed by `placement` instead of wherever `mmap` puts them
    /// (for reproducible accounting: see [`ArenaPlacement`]).
    pub const fn with_placement(geometry: Geometry, placement: ArenaPlacement) -> Self {
        let mut e = Self::new(geometry);
        e.placement = placement;
        e
    }

    /// Bytes of pools carved in live arenas now, and the most there ever were: the engine's
    /// model of its resident pool memory. A carved pool counts whole: exact when a pool is
    /// one page (3.8/3.9's 4 KiB pools); for larger pools an upper bound, since a pool's
    /// blocks are carved lazily and its last pages may never have been written.
    pub fn carved_pool_bytes(&self) -> (usize, usize) {
        (self.carved_bytes, self.carved_bytes_highwater)
    }

    /// The geometry this engine was built with.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Allocates `n` bytes, 16-byte aligned, like `PyObject_Malloc`. Returns NULL only when
    /// both pymalloc and the system allocator are out of memory (or `n > isize::MAX`).
    #[inline]
    pub fn malloc(&mut self, n: usize) -> *mut u8 {
        if n.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
            let p = self.alloc_small((n - 1) >> 4);
            if !p.is_null() {
                return p;
            }
        }
        self.raw_malloc(n)
    }

    /// Allocates zeroed memory for `nelem` elements of `elsize` bytes, like `PyObject_Calloc`.
    /// Returns NULL when the product overflows.
    #[inline]
    pub fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        let Some(n) = nelem
            .checked_mul(elsize)
            .filter(|&n| n <= isize::MAX as usize)
        else {
            return ptr::null_mut();
        };
        if n.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
            let p = self.alloc_small((n - 1) >> 4);
            if !p.is_null() {
                // SAFETY: p is a fresh block of at least n bytes.
                unsafe { ptr::write_bytes(p, 0, n) };
                return p;
            }
        }
        self.raw_requests += 1;
        raw::calloc(nelem, elsize)
    }

    /// Frees a block, like `PyObject_Free`. Pointers the engine does not own go to the system
    /// allocator's `free`, as in CPython.
    ///
    /// # Safety
    /// `p` is NULL, a live block returned by this engine, or a live system-allocator block.
    #[inline]
    pub unsafe fn free(&mut self, p: *mut u8) {
        if self.owns(p) {
            self.free_small(p);
        } else if !p.is_null() {
            raw::free(p);
        }
    }

    /// Resizes a block, like `PyObject_Realloc` (pymalloc.md §5): a block keeps its address
    /// when it shrinks by less than 25 %; otherwise a new block is allocated, the contents
    /// copied, and the old block freed. A block the engine does not own is resized by the
    /// system allocator (pymalloc never adopts raw blocks). On failure NULL is returned and
    /// the old block is left intact.
    ///
    /// # Safety
    /// As for [`Pymalloc::free`].
    pub unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        if p.is_null() {
            return self.malloc(n);
        }
        let Some(size) = self.owned_block_size(p) else {
            if n > isize::MAX as usize {
                return ptr::null_mut();
            }
            self.raw_requests += 1;
            return raw::realloc(p, n);
        };
        let mut keep = size;
        if n <= size {
            // Shrinking by less than a quarter: keep the block (CPython's `4 * n > 3 * size`).
            if 4 * n > 3 * size {
                return p;
            }
            keep = n;
        }
        let q = self.malloc(n);
        if !q.is_null() {
            ptr::copy_nonoverlapping(p, q, keep);
            self.free_small(p);
        }
        q
    }

    /// True when `p` points into one of the engine's arenas. Never reads memory the engine did
    /// not map (see `ownership.rs` for the method and its cost).
    #[inline(always)]
    pub fn owns(&self, p: *const u8) -> bool {
        self.map.contains(p as usize)
    }

    /// The block size of the pool holding `p`: the size class of any block it points into
    /// (at its start or not). `None` when `p` lies in no pool serving a class: outside the
    /// engine's arenas, in an empty or never-carved pool, or in the bytes an arena that is
    /// not pool aligned holds before its first pool (which [`Self::owns`] still counts as
    /// the arena's, as CPython's check does).
    ///
    /// Any pointer is safe to ask about. It used to read the header of the pool `p` rounds
    /// down to, which for an arena's head bytes lies before the arena, in memory that need
    /// not be mapped.
    pub fn block_size(&self, p: *const u8) -> Option<usize> {
        let pool = self.pool_of(p);
        if !self.owns(p) || !self.owns(pool.cast()) {
            return None;
        }
        // SAFETY: the pool's header lies in one of our arenas: mapped memory of ours. In a
        // pool never carved it holds stale or zero bytes, which the checks below reject.
        let hdr = unsafe { &*pool };
        let index = hdr.arenaindex as usize;
        if index >= self.arenas.len() || hdr.count == 0 {
            return None;
        }
        let a = self.arenas.get(index);
        let carved = a.address <= pool as usize && (pool as usize) < a.pool_address;
        (carved && (hdr.szidx as usize) < NUM_CLASSES).then(|| class_size(hdr.szidx as usize))
    }

    /// [`Self::block_size`] for the engine's own paths, which pass live blocks only: one
    /// ownership lookup and the header read.
    ///
    /// # Safety
    /// `p` is a live block of this engine or a pointer the engine does not own.
    #[inline]
    pub(crate) unsafe fn owned_block_size(&self, p: *const u8) -> Option<usize> {
        if !self.owns(p) {
            return None;
        }
        // SAFETY: p is a live block of ours, so its pool header is mapped memory of ours.
        let pool = unsafe { &*self.pool_of(p) };
        Some(class_size(pool.szidx as usize))
    }

    /// Requests served by the system allocator so far (0 bytes, > 512 bytes, foreign
    /// pointers, and small requests when no arena could be mapped).
    pub fn raw_requests(&self) -> usize {
        self.raw_requests
    }

    /// Small requests among those that went to the system allocator because no arena could
    /// be mapped ([`Stats::arena_failures`](super::Stats), without walking the pools).
    pub fn arena_failures(&self) -> usize {
        self.arena_failures
    }

    #[inline(always)]
    pub(crate) fn pool_of(&self, p: *const u8) -> *mut PoolHeader {
        ((p as usize) & !self.pool_mask) as *mut PoolHeader
    }

    #[cold]
    fn raw_malloc(&mut self, n: usize) -> *mut u8 {
        if n > isize::MAX as usize {
            return ptr::null_mut();
        }
        self.raw_requests += 1;
        raw::malloc(n)
    }

    /// Fast path of allocation (pymalloc.md §3 step 2): pop the head pool's free list. NULL
    /// only when no arena can be mapped.
    #[inline(always)]
    pub(crate) fn alloc_small(&mut self, class: usize) -> *mut u8 {
        debug_assert!(class < NUM_CLASSES);
        // SAFETY: class < NUM_CLASSES because the request was 1..=512 bytes.
        let pool = unsafe { *self.usedpools.get_unchecked(class) };
        if pool.is_null() {
            return self.alloc_from_new_pool(class);
        }
        // SAFETY: a pool on a used list is live and has a non-empty free list.
        unsafe {
            let hdr = &mut *pool;
            hdr.count += 1;
            let block = hdr.freeblock;
            hdr.freeblock = *block.cast::<*mut u8>();
            if hdr.freeblock.is_null() {
                self.extend_or_retire(pool, class);
            }
            self.debug_on_alloc(block);
            block
        }
    }

    /// Fast path of free (pymalloc.md §4 steps 2–3).
    ///
    /// # Safety
    /// `p` is a live block of this engine.
    #[inline(always)]
    pub(crate) unsafe fn free_small(&mut self, p: *mut u8) {
        let pool = self.pool_of(p);
        self.debug_check_free(pool, p);
        let hdr = &mut *pool;
        let last_free = hdr.freeblock;
        p.cast::<*mut u8>().write(last_free);
        hdr.freeblock = p;
        hdr.count -= 1;
        if last_free.is_null() {
            // The pool was full and on no list: it becomes the class's most recent pool.
            self.link_used_pool(pool);
        } else if hdr.count == 0 {
            self.pool_became_empty(pool);
        }
    }

    /// Carves the next never-used block of a pool whose free list just ran dry, or takes the
    /// pool off its used list because it is full.
    #[inline]
    unsafe fn extend_or_retire(&mut self, pool: *mut PoolHeader, class: usize) {
        let hdr = &mut *pool;
        if hdr.nextoffset <= hdr.maxnextoffset {
            let block = pool.cast::<u8>().add(hdr.nextoffset as usize);
            hdr.nextoffset += class_size(class) as u32;
            block.cast::<*mut u8>().write(ptr::null_mut());
            hdr.freeblock = block;
        } else {
            // Full: the pool sits on no list until one of its blocks is freed. It is the head.
            let next = hdr.nextpool;
            *self.usedpools.get_unchecked_mut(class) = next;
            if !next.is_null() {
                (*next).prevpool = ptr::null_mut();
            }
        }
    }

    /// Puts a pool that was full at the front of its class's used list, so the next
    /// allocation of the class fills it again ("optimal filling" in obmalloc's comments).
    #[cold]
    pub(crate) unsafe fn link_used_pool(&mut self, pool: *mut PoolHeader) {
        let class = (*pool).szidx as usize;
        let head = self.usedpools[class];
        (*pool).nextpool = head;
        (*pool).prevpool = ptr::null_mut();
        if !head.is_null() {
            (*head).prevpool = pool;
        }
        self.usedpools[class] = pool;
    }

    /// Takes a pool off its class's used list.
    pub(crate) unsafe fn unlink_used_pool(&mut self, pool: *mut PoolHeader) {
        let (prev, next) = ((*pool).prevpool, (*pool).nextpool);
        if prev.is_null() {
            self.usedpools[(*pool).szidx as usize] = next;
        } else {
            (*prev).nextpool = next;
        }
        if !next.is_null() {
            (*next).prevpool = prev;
        }
    }
}

/// Debug builds, and optimised builds with the `checked` feature (the test command's), detect
/// a double free of an engine block (and frees of pointers into the middle of a pool) and abort
/// with a message rather than corrupting the free lists. A freed block's second word gets a
/// marker derived from its address; only when a freed pointer carries the marker is its pool's
/// free list walked to confirm, so a live block that happens to hold the marker value is never
/// misreported. Release builds without `checked` do none of this, like CPython.
impl Pymalloc {
    const FREED_MARK: usize = 0x5bd1_e995_dead_b10c;

    #[inline(always)]
    fn debug_on_alloc(&self, block: *mut u8) {
        if cfg!(any(debug_assertions, feature = "checked")) {
            // SAFETY: every block is at least 16 bytes.
            unsafe { block.cast::<usize>().add(1).write(0) };
        }
    }

    #[inline(always)]
    unsafe fn debug_check_free(&self, pool: *mut PoolHeader, p: *mut u8) {
        if !cfg!(any(debug_assertions, feature = "checked")) {
            return;
        }
        let hdr = &*pool;
        let offset = p as usize - pool as usize;
        let size = class_size(hdr.szidx.min(NUM_CLASSES as u32 - 1) as usize);
        if hdr.count == 0
            || offset < super::POOL_HEADER_SIZE
            || offset >= hdr.nextoffset as usize
            || (offset - super::POOL_HEADER_SIZE) % size != 0
        {
            if hdr.count == 0 {
                os::fatal("double free: the block's pool has no blocks in use");
            }
            os::fatal("free of a pointer that is not the start of a pymalloc block");
        }
        let mark = p.cast::<usize>().add(1);
        if *mark == (p as usize ^ Self::FREED_MARK) {
            let mut q = hdr.freeblock;
            while !q.is_null() {
                if q == p {
                    os::fatal("double free of a pymalloc block");
                }
                q = *q.cast::<*mut u8>();
            }
        }
        mark.write(p as usize ^ Self::FREED_MARK);
    }
}

impl Drop for Pymalloc {
    /// Returns every arena to the OS. Blocks still held by the caller become invalid; blocks
    /// that came from the system allocator are the caller's to free.
    fn drop(&mut self) {
        for i in 0..self.arenas.len() {
            let a = *self.arenas.get(i);
            if let Some(base) = ptr::NonNull::new(a.address as *mut u8) {
                // SAFETY: a live arena mapping of arena_size bytes, never used again; the
                // region is dropped with the engine.
                unsafe { self.region.forget(base, self.geometry.arena_size()) };
            }
        }
        self.parked.forget_all(&mut self.region);
    }
}
