//! `null`: an allocator that does no allocation work, so the harness can measure its own cost
//! per event (loop, slot table, memory touch, timer) and report throughput net of it
//! (design.md §3).
//!
//! Every request gets the **same** pointer: the start of one scratch mapping made when the
//! allocator is created. Its blocks therefore alias: writing to one writes to all, so a
//! harness must not check block contents (canaries) under `null`. The mapping is
//! [`NullAllocator::CAPACITY`] bytes of address space (`MAP_NORESERVE`, touched lazily), so
//! any request up to that size can be written in full; only the pages the harness touches
//! become resident. Larger requests get NULL, as from an allocator out of memory. Under an
//! address-space limit (`ulimit -v`) that refuses 4 GiB the mapping is a smaller one
//! ([`NullAllocator::UNDER_A_LIMIT`]).
//!
//! `calloc` still zeroes the requested bytes, because the C contract says it returns zeroed
//! memory and a harness may rely on that; that memset is the one piece of work `null` does.

use super::Allocator;

/// The no-work allocator; see the module documentation.
#[derive(Debug)]
pub struct NullAllocator {
    base: *mut u8,
    /// Bytes of the scratch mapping: [`Self::CAPACITY`] unless the kernel refused it.
    capacity: usize,
}

impl NullAllocator {
    /// Address space reserved for the scratch block: the largest request an event can carry
    /// (a trace's `MAX_REQUEST`, 4 GiB − 1, a calloc's n × size included), so `null` never
    /// fails a request another allocator could serve and take the whole run down with it.
    pub const CAPACITY: usize = 4 << 30;

    /// The scratch mapping taken where [`Self::CAPACITY`] is refused: 256 MiB, or down to
    /// 64 MiB — more than any single request of the built-in workloads, and modest, as the
    /// allocators measured beside `null` need the address space the limit leaves.
    pub const UNDER_A_LIMIT: (usize, usize) = (256 << 20, 64 << 20);

    /// Maps the scratch area. Fails only if not even 64 MiB of address space can be
    /// reserved.
    pub fn new() -> std::io::Result<Self> {
        use crate::sys::mem::{largest_reservation, reserve};
        let (most, least) = Self::UNDER_A_LIMIT;
        let (base, capacity) = reserve(Self::CAPACITY)
            .map(|p| (p, Self::CAPACITY))
            .or_else(|| largest_reservation(most, least, reserve))
            .ok_or_else(std::io::Error::last_os_error)?;
        // mmap returns page-aligned memory, so 16-byte alignment holds for every request.
        Ok(NullAllocator {
            base: base.as_ptr(),
            capacity,
        })
    }

    #[inline]
    fn block(&self, n: usize) -> *mut u8 {
        if n <= self.capacity {
            self.base
        } else {
            std::ptr::null_mut()
        }
    }
}

impl Drop for NullAllocator {
    fn drop(&mut self) {
        if let Some(base) = std::ptr::NonNull::new(self.base) {
            // SAFETY: base is the mapping made in new(), of `capacity` bytes, no longer used.
            unsafe { crate::sys::mem::unmap(base, self.capacity) };
        }
    }
}

impl Allocator for NullAllocator {
    fn name(&self) -> String {
        "null".to_string()
    }

    fn has_heap(&self) -> bool {
        false
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.block(n)
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        let Some(n) = nelem.checked_mul(elsize) else {
            return std::ptr::null_mut();
        };
        let p = self.block(n);
        if !p.is_null() {
            // SAFETY: n ≤ capacity bytes of the writable scratch mapping.
            unsafe { std::ptr::write_bytes(p, 0, n) };
        }
        p
    }

    /// The one block already holds "the old contents", so realloc only checks the size.
    #[inline]
    unsafe fn realloc(&mut self, _p: *mut u8, n: usize) -> *mut u8 {
        self.block(n)
    }

    #[inline]
    unsafe fn free(&mut self, _p: *mut u8) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_writable_block_for_everything() {
        let mut a = NullAllocator::new().unwrap();
        let p = a.malloc(32);
        let q = a.malloc(1 << 20);
        assert_eq!(p, q, "every block is the scratch block");
        assert_eq!(p as usize % 4096, 0);
        // SAFETY: the block is writable for up to CAPACITY bytes.
        unsafe {
            std::ptr::write_bytes(q, 0xAB, 1 << 20);
            assert_eq!(*p.add(100), 0xAB, "blocks alias");
            assert_eq!(a.realloc(p, 5000), p);
            a.free(p);
        }
        let z = a.calloc(100, 10);
        // SAFETY: as above.
        assert!(
            (0..1000).all(|i| unsafe { *z.add(i) } == 0),
            "calloc zeroes"
        );
        assert!(a.malloc(NullAllocator::CAPACITY + 1).is_null());
        // A 300 MiB request (a large bytes object) is served, not refused.
        let big = a.malloc(300 << 20);
        assert!(!big.is_null());
        // SAFETY: the block is writable for up to CAPACITY bytes.
        unsafe { *big.add((300 << 20) - 1) = 1 };
        assert!(
            NullAllocator::CAPACITY as u64 >= crate::trace::format::MAX_REQUEST,
            "every request an event can carry fits"
        );
        assert!(
            a.calloc(usize::MAX, 2).is_null(),
            "overflow is NULL, not a panic"
        );
    }
}
