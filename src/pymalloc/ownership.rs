//! The ownership check: "did this pointer come from one of our arenas?"
//!
//! CPython 3.8/3.9 answer it by reading an arena index from the would-be pool header, which
//! reads memory pymalloc may not own (tolerable in C only because pools were OS pages). 3.10+
//! use a three-level radix tree over the address (pymalloc.md §7). Rust must never read memory
//! the engine did not map, so every preset here uses a radix tree of our own design:
//!
//! * the address space is cut into *slots* of one arena size each (the arena's "ideal"
//!   aligned position); an arena from `mmap` is only page aligned, so it covers the top part
//!   of one slot and the bottom part of the next;
//! * each slot records `lo_end` (an arena that started in the previous slot covers
//!   `[0, lo_end)` of this one) and `hi_len` (an arena starting here covers the last `hi_len`
//!   bytes). Zero means "none", so freshly mapped (zero-filled) leaves are empty;
//! * two levels: a root array of leaf pointers indexed by the high half of the slot number,
//!   leaves indexed by the low half. Both are mapped lazily; untouched pages cost nothing.
//!
//! Cost model: a lookup is two dependent loads (root entry, leaf slot) plus arithmetic — one
//! load fewer than CPython 3.10's tree and one more than 3.8's header read. Answers are the
//! same as CPython's for every pointer.

use crate::sys::mem as os;
use std::ptr::{self, NonNull};

/// User-space addresses on x86-64 and AArch64 Linux fit in 48 bits unless a program asks the
/// kernel for more; anything above is simply "not ours".
const ADDRESS_BITS: u32 = 48;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    lo_end: u32,
    hi_len: u32,
}

pub(crate) struct OwnershipMap {
    arena_bits: u32,
    leaf_bits: u32,
    root: *mut *mut Slot,
    leaves: usize,
}

impl OwnershipMap {
    pub(crate) const fn new(arena_size: usize) -> Self {
        let arena_bits = arena_size.trailing_zeros();
        let key_bits = ADDRESS_BITS - arena_bits;
        OwnershipMap {
            arena_bits,
            leaf_bits: key_bits - key_bits / 2,
            root: ptr::null_mut(),
            leaves: 0,
        }
    }

    fn key_bits(&self) -> u32 {
        ADDRESS_BITS - self.arena_bits
    }

    fn root_len(&self) -> usize {
        1 << (self.key_bits() - self.leaf_bits)
    }

    fn leaf_len(&self) -> usize {
        1 << self.leaf_bits
    }

    /// Bytes of address space reserved for the root array (mapped lazily, like CPython's).
    pub(crate) fn root_bytes(&self) -> usize {
        if self.root.is_null() {
            0
        } else {
            self.root_len() * std::mem::size_of::<*mut Slot>()
        }
    }

    /// Number of leaves created so far, and the bytes each reserves.
    pub(crate) fn leaves(&self) -> (usize, usize) {
        (self.leaves, self.leaf_len() * std::mem::size_of::<Slot>())
    }

    /// True when `p` lies inside an arena registered with [`Self::register`].
    #[inline(always)]
    pub(crate) fn contains(&self, p: usize) -> bool {
        let key = p >> self.arena_bits;
        if key >> self.key_bits() != 0 || self.root.is_null() {
            return false;
        }
        // SAFETY: key < 2^key_bits, so the root index is < root_len; the root is mapped.
        let leaf = unsafe { *self.root.add(key >> self.leaf_bits) };
        if leaf.is_null() {
            return false;
        }
        // SAFETY: the low bits index within the leaf, which is mapped.
        let slot = unsafe { *leaf.add(key & (self.leaf_len() - 1)) };
        let arena_size = 1usize << self.arena_bits;
        let tail = p & (arena_size - 1);
        tail < slot.lo_end as usize || tail + slot.hi_len as usize >= arena_size
    }

    /// Returns the slot for slot number `key`, creating its leaf (and the root) if needed.
    fn slot_mut(&mut self, key: usize) -> Option<&mut Slot> {
        if self.root.is_null() {
            let bytes = self.root_len() * std::mem::size_of::<*mut Slot>();
            self.root = os::map(bytes)?.as_ptr().cast();
        }
        // SAFETY: index < root_len as in `contains`.
        let entry = unsafe { &mut *self.root.add(key >> self.leaf_bits) };
        if entry.is_null() {
            *entry = os::map(self.leaf_len() * std::mem::size_of::<Slot>())?
                .as_ptr()
                .cast();
            self.leaves += 1;
        }
        // SAFETY: index < leaf_len; the leaf is mapped.
        Some(unsafe { &mut *entry.add(key & (self.leaf_len() - 1)) })
    }

    /// Marks `[base, base + arena_size)` as ours. Fails (changing nothing visible) when the
    /// arena lies above the mapped address range or a map node cannot be mapped.
    pub(crate) fn register(&mut self, base: usize) -> bool {
        let arena_size = 1usize << self.arena_bits;
        let key = base >> self.arena_bits;
        let offset = base & (arena_size - 1);
        let last_key = (base + arena_size - 1) >> self.arena_bits;
        if last_key >> self.key_bits() != 0 {
            return false;
        }
        // Create both leaves before writing either, so a failure leaves no half-registration.
        if self.slot_mut(key).is_none() || (offset != 0 && self.slot_mut(key + 1).is_none()) {
            return false;
        }
        self.set(key, offset, true);
        true
    }

    /// Forgets an arena registered at `base`. Map nodes are kept, as CPython keeps them.
    pub(crate) fn unregister(&mut self, base: usize) {
        let arena_size = 1usize << self.arena_bits;
        self.set(base >> self.arena_bits, base & (arena_size - 1), false);
    }

    fn set(&mut self, key: usize, offset: usize, present: bool) {
        let arena_size = 1usize << self.arena_bits;
        // hi_len = arena_size only for aligned arenas, which is < 2^32 by the geometry limits.
        let hi_len = if present {
            (arena_size - offset) as u32
        } else {
            0
        };
        if let Some(slot) = self.slot_mut(key) {
            slot.hi_len = hi_len;
        }
        if offset != 0 {
            if let Some(slot) = self.slot_mut(key + 1) {
                slot.lo_end = if present { offset as u32 } else { 0 };
            }
        }
    }
}

impl Drop for OwnershipMap {
    fn drop(&mut self) {
        let Some(root) = NonNull::new(self.root) else {
            return;
        };
        let leaf_bytes = self.leaf_len() * std::mem::size_of::<Slot>();
        for i in 0..self.root_len() {
            // SAFETY: i < root_len; non-null entries are leaves mapped by `slot_mut`.
            unsafe {
                if let Some(leaf) = NonNull::new(*root.as_ptr().add(i)) {
                    os::unmap(leaf.cast(), leaf_bytes);
                }
            }
        }
        // SAFETY: the root was mapped with exactly this size and is no longer used.
        unsafe {
            os::unmap(
                root.cast(),
                self.root_len() * std::mem::size_of::<*mut Slot>(),
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_unaligned_arenas_are_found_exactly() {
        let size = 1usize << 20;
        let mut m = OwnershipMap::new(size);
        assert!(!m.contains(0x7f00_0000_0000));
        let aligned = 0x7f00_0000_0000usize;
        let unaligned = 0x7f00_0030_3000usize; // starts 0x3000 into its slot
        assert!(m.register(aligned) && m.register(unaligned));
        for (base, name) in [(aligned, "aligned"), (unaligned, "unaligned")] {
            assert!(m.contains(base), "{name} start");
            assert!(m.contains(base + size - 1), "{name} last byte");
            assert!(!m.contains(base + size), "{name} one past the end");
            assert!(!m.contains(base - 1), "{name} byte before");
        }
        m.unregister(unaligned);
        assert!(!m.contains(unaligned) && !m.contains(unaligned + size - 1));
        assert!(m.contains(aligned + 12345));
    }

    #[test]
    fn neighbouring_unaligned_arenas_share_a_slot() {
        let size = 256usize << 10;
        let mut m = OwnershipMap::new(size);
        let a = 0x5555_0000_1000usize;
        let b = a + size; // starts in the slot where `a` ends
        assert!(m.register(a) && m.register(b));
        assert!(m.contains(a + size - 1) && m.contains(b) && m.contains(b + size - 1));
        m.unregister(a);
        assert!(!m.contains(a + size - 1) && m.contains(b));
    }

    #[test]
    fn addresses_beyond_48_bits_are_never_owned_or_registered() {
        let mut m = OwnershipMap::new(1 << 20);
        assert!(!m.contains(usize::MAX));
        assert!(!m.register(1usize << 48));
    }
}
