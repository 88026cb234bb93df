//! In-memory records: the 48-byte pool header that starts every pool, and the arena record.

use super::POOL_HEADER_SIZE;
use std::ptr;

/// "No arena": the end of an arena list, or an empty `nfp2lasta` entry. Arena lists link
/// record indices rather than pointers, so growing the record table never invalidates them.
pub(crate) const NO_ARENA: u32 = u32::MAX;

/// Size-class index of a freshly carved pool that has not served any class yet, so that the
/// "same class as last time" shortcut never applies to it.
pub(crate) const NO_CLASS: u32 = u32::MAX;

/// The pool header, laid out as CPython's `struct pool_header` on 64-bit builds
/// (pymalloc.md §2): the block count padded to 8 bytes, the free-list head, the two links of
/// the used-pool list, then the arena index, size class, and the carving offsets.
#[repr(C)]
pub(crate) struct PoolHeader {
    /// Blocks handed out from this pool.
    pub count: u32,
    _pad: u32,
    /// Head of the free list, threaded through the first word of each free block; NULL when
    /// the pool is full.
    pub freeblock: *mut u8,
    /// Next pool of the same class's used list (or of the arena's `freepools` list).
    pub nextpool: *mut PoolHeader,
    /// Previous pool of the used list; NULL at the head (CPython uses a circular list with a
    /// phantom header instead; the head-pointer form has the same order and is movable).
    pub prevpool: *mut PoolHeader,
    /// Index of the owning arena's record.
    pub arenaindex: u32,
    /// Size class the pool serves (or served last, while it sits on `freepools`).
    pub szidx: u32,
    /// Offset of the next never-used block.
    pub nextoffset: u32,
    /// Largest offset at which a whole block still fits.
    pub maxnextoffset: u32,
}

const _: () = assert!(std::mem::size_of::<PoolHeader>() == POOL_HEADER_SIZE);

impl PoolHeader {
    /// Prepares a pool for size class `class`: the first block is returned, the second becomes
    /// the one-element free list, and carving resumes after it. The second block's link word is
    /// the only memory written beyond the header: pools are touched lazily, as in CPython.
    ///
    /// # Safety
    /// `pool` points at a pool of `pool_size` bytes mapped by the engine, with room for two
    /// blocks of `size` bytes after the header.
    #[inline]
    pub(crate) unsafe fn init_for_class(
        pool: *mut PoolHeader,
        class: u32,
        size: usize,
        pool_size: usize,
    ) -> *mut u8 {
        let p = &mut *pool;
        p.szidx = class;
        let first = pool.cast::<u8>().add(POOL_HEADER_SIZE);
        p.nextoffset = (POOL_HEADER_SIZE + 2 * size) as u32;
        p.maxnextoffset = (pool_size - size) as u32;
        p.freeblock = first.add(size);
        p.freeblock.cast::<*mut u8>().write(ptr::null_mut());
        first
    }
}

/// An arena record (CPython's `struct arena_object`). Records live in one table that grows by
/// doubling from 16; a record whose `address` is 0 is unused and sits on the unused list.
#[derive(Clone, Copy)]
pub(crate) struct ArenaRecord {
    /// Start of the mapping, or 0 when the record is unused.
    pub address: usize,
    /// The next never-carved pool.
    pub pool_address: usize,
    /// Free pools: cached empty ones plus never-carved ones.
    pub nfreepools: u32,
    /// Pools this arena can hold (one fewer when its start is not pool aligned).
    pub ntotalpools: u32,
    /// LIFO list of empty pools, linked through `nextpool`.
    pub freepools: *mut PoolHeader,
    /// Next arena in `usable_arenas` (or next unused record).
    pub next: u32,
    /// Previous arena in `usable_arenas`.
    pub prev: u32,
}

impl ArenaRecord {
    pub(crate) const UNUSED: ArenaRecord = ArenaRecord {
        address: 0,
        pool_address: 0,
        nfreepools: 0,
        ntotalpools: 0,
        freepools: ptr::null_mut(),
        next: NO_ARENA,
        prev: NO_ARENA,
    };
}
