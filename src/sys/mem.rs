//! Memory for the pymalloc engine: anonymous mappings for arenas and for its own bookkeeping,
//! the raw (system) allocator it falls back to, and the fatal-error exit.
//!
//! Nothing here touches the Rust global allocator, so the engine can itself *be* the global
//! allocator (see [`crate::pymalloc::LockedPymalloc`]) without recursing.

use std::ptr::{self, NonNull};

/// Maps `size` bytes of zero-filled, private, anonymous memory, like CPython's default arena
/// allocator (`_PyObject_ArenaMmap`). Returns `None` when the kernel refuses.
pub(crate) fn map(size: usize) -> Option<NonNull<u8>> {
    map_with(size, 0)
}

/// Reserves `size` bytes of address space without committing swap for it (`MAP_NORESERVE`):
/// for regions that are mostly never touched (the harness's bump heap, the null allocator's
/// scratch block). Zero-filled, private, anonymous. `None` when the kernel refuses.
pub(crate) fn reserve(size: usize) -> Option<NonNull<u8>> {
    map_with(size, libc::MAP_NORESERVE)
}

fn map_with(size: usize, extra_flags: libc::c_int) -> Option<NonNull<u8>> {
    // SAFETY: no fixed address: nothing else is replaced.
    unsafe { anon_mmap(0, size, libc::PROT_READ | libc::PROT_WRITE, extra_flags) }
}

/// One private, anonymous `mmap` of `size` bytes with protection `prot` and `flags` besides
/// `MAP_PRIVATE | MAP_ANONYMOUS`, at `at` when `flags` hold `MAP_FIXED` (else `at` is 0).
/// `None` when the kernel refuses. Every mapping of this module goes through it.
///
/// # Safety
/// With `MAP_FIXED`, `at .. at + size` is a page-aligned range of a mapping the caller owns
/// and no longer uses: whatever was there is replaced.
unsafe fn anon_mmap(
    at: usize,
    size: usize,
    prot: libc::c_int,
    flags: libc::c_int,
) -> Option<NonNull<u8>> {
    let p = libc::mmap(
        at as *mut libc::c_void,
        size,
        prot,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
        -1,
        0,
    );
    (p != libc::MAP_FAILED)
        .then(|| NonNull::new(p.cast()))
        .flatten()
}

/// Reserves `size` bytes of address space that cannot be touched (`PROT_NONE`,
/// `MAP_NORESERVE`): no memory and no commit charge until parts of it are mapped over with
/// [`map_fixed`] (`sys/arena_region.rs`). `None` when the kernel refuses.
pub(crate) fn reserve_none(size: usize) -> Option<NonNull<u8>> {
    // SAFETY: no fixed address: nothing else is replaced.
    unsafe { anon_mmap(0, size, libc::PROT_NONE, libc::MAP_NORESERVE) }
}

/// The largest of `span`, `span / 2`, `span / 4`, … down to `smallest` (or `span` itself if
/// smaller) that `reserve` grants, with its size: for reservations of address space sized
/// for the worst case, which an address-space limit (`ulimit -v`) refuses long before it
/// would refuse what is used of them.
pub(crate) fn largest_reservation(
    span: usize,
    smallest: usize,
    mut reserve: impl FnMut(usize) -> Option<NonNull<u8>>,
) -> Option<(NonNull<u8>, usize)> {
    let smallest = smallest.min(span).max(1);
    std::iter::successors(Some(span), |s| Some(s / 2))
        .take_while(|&s| s >= smallest)
        .find_map(|s| reserve(s).map(|p| (p, s)))
}

/// Maps `size` bytes of fresh zero-filled memory at `at`, over a part of a reservation
/// made by [`reserve_none`]. `None` (the reservation unchanged) when the kernel refuses.
pub(crate) fn map_fixed(at: usize, size: usize) -> Option<NonNull<u8>> {
    // SAFETY: callers pass a page-aligned range inside a reservation of their own, which
    // nothing else uses: replacing it disturbs no other mapping.
    unsafe {
        anon_mmap(
            at,
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED,
        )
    }
}

/// Returns the pages of `size` bytes at `p` to the kernel, as [`unmap`] does, but leaves the
/// range reserved (`PROT_NONE`) rather than free for other mappings to land in. If the kernel
/// refuses to replace the mapping, the pages are discarded in place instead (the range stays
/// mapped and reads as zeros).
///
/// # Safety
/// `p` and `size` describe a page-aligned range of a mapping the caller owns and no longer
/// uses.
pub(crate) unsafe fn protect_none(p: NonNull<u8>, size: usize) {
    let at = p.as_ptr() as usize;
    if anon_mmap(
        at,
        size,
        libc::PROT_NONE,
        libc::MAP_FIXED | libc::MAP_NORESERVE,
    )
    .is_none()
    {
        libc::madvise(p.as_ptr().cast(), size, libc::MADV_DONTNEED);
    }
}

/// Maps `size` bytes starting `offset` bytes past a multiple of `align` (both powers of two,
/// `offset < align`, multiples of the page size): maps `size + 2 × align` and returns the
/// unused head and tail to the kernel, so the result is one mapping of exactly `size` bytes
/// that [`unmap`] releases like any other.
pub(crate) fn map_at(size: usize, align: usize, offset: usize) -> Option<NonNull<u8>> {
    debug_assert!(align.is_power_of_two() && offset < align);
    let total = size.checked_add(2 * align)?;
    let base = map(total)?.as_ptr() as usize;
    let start = ((base + align - 1) & !(align - 1)) + offset;
    // SAFETY: both pieces lie inside the mapping just made, are page aligned (base, start and
    // the sizes are multiples of the page size) and are referenced by nobody.
    unsafe {
        if start > base {
            unmap(NonNull::new_unchecked(base as *mut u8), start - base);
        }
        let tail = base + total - (start + size);
        if tail > 0 {
            unmap(NonNull::new_unchecked((start + size) as *mut u8), tail);
        }
    }
    NonNull::new(start as *mut u8)
}

/// The OS page size in bytes (asked once).
pub(crate) fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let n = if n > 0 { n as usize } else { 4096 };
            PAGE.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Returns a mapping made by [`map`] to the kernel.
///
/// # Safety
/// `p` and `size` must describe exactly one live mapping from [`map`], no longer used.
pub(crate) unsafe fn unmap(p: NonNull<u8>, size: usize) {
    // munmap only fails for invalid arguments, which the caller's contract rules out.
    libc::munmap(p.as_ptr().cast(), size);
}

/// The raw domain: the system allocator that pymalloc defers to for 0-byte and > 512-byte
/// requests and for pointers it does not own (CPython's `PyMem_RawMalloc` family, which turns
/// a request for 0 bytes into a request for 1 so that it never returns NULL for success).
pub(crate) mod raw {
    pub(crate) fn malloc(n: usize) -> *mut u8 {
        // SAFETY: malloc accepts any size.
        unsafe { libc::malloc(n.max(1)).cast() }
    }

    pub(crate) fn calloc(nelem: usize, elsize: usize) -> *mut u8 {
        let (nelem, elsize) = if nelem == 0 || elsize == 0 {
            (1, 1)
        } else {
            (nelem, elsize)
        };
        // SAFETY: calloc checks the product for overflow itself.
        unsafe { libc::calloc(nelem, elsize).cast() }
    }

    /// # Safety
    /// `p` is null or a live block of the system allocator.
    pub(crate) unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
        libc::realloc(p.cast(), n.max(1)).cast()
    }

    /// # Safety
    /// `p` is null or a live block of the system allocator.
    pub(crate) unsafe fn free(p: *mut u8) {
        libc::free(p.cast())
    }

    /// Memory aligned beyond 16 bytes (only reachable through `GlobalAlloc`).
    pub(crate) fn aligned_alloc(align: usize, n: usize) -> *mut u8 {
        let mut out: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: `align` is a power of two and a multiple of the pointer size (callers pass
        // layouts whose alignment exceeds 16).
        let rc = unsafe { libc::posix_memalign(&mut out, align, n.max(1)) };
        if rc == 0 {
            out.cast()
        } else {
            std::ptr::null_mut()
        }
    }
}

/// Reports an unrecoverable misuse (for example a double free detected in a debug build) on
/// stderr and aborts. It writes with `write(2)` directly: formatting or locking stderr could
/// allocate, and this may run inside the global allocator.
pub(crate) fn fatal(msg: &str) -> ! {
    let prefix = b"pybench pymalloc: fatal: ";
    // SAFETY: writing initialised byte slices to fd 2; errors are irrelevant since we abort.
    unsafe {
        libc::write(2, prefix.as_ptr().cast(), prefix.len());
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::write(2, b"\n".as_ptr().cast(), 1);
        libc::abort()
    }
}

/// A growable array of plain-old-data records living in its own anonymous mapping, for the
/// engine's bookkeeping (arena records, the `nfp2lasta` table). It never moves once handed
/// out except in [`MappedArray::grow`], and never touches the Rust global allocator.
pub(crate) struct MappedArray<T: Copy> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> MappedArray<T> {
    pub(crate) const fn empty() -> Self {
        MappedArray {
            ptr: ptr::null_mut(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn bytes(len: usize) -> usize {
        (len * std::mem::size_of::<T>()).max(1)
    }

    /// Reallocates to `new_len` records, copying the old ones and filling the rest with `fill`.
    /// Returns false (leaving the array unchanged) when the mapping fails.
    pub(crate) fn grow(&mut self, new_len: usize, fill: T) -> bool {
        debug_assert!(new_len >= self.len);
        let Some(p) = map(Self::bytes(new_len)) else {
            return false;
        };
        let p = p.as_ptr().cast::<T>();
        // SAFETY: the new mapping holds new_len records; the old one holds len records.
        unsafe {
            if self.len > 0 {
                ptr::copy_nonoverlapping(self.ptr, p, self.len);
            }
            for i in self.len..new_len {
                p.add(i).write(fill);
            }
            self.release();
        }
        self.ptr = p;
        self.len = new_len;
        true
    }

    /// # Safety
    /// The array must not be used again until `grow` re-creates it.
    unsafe fn release(&mut self) {
        if let Some(p) = NonNull::new(self.ptr.cast::<u8>()) {
            unmap(p, Self::bytes(self.len));
        }
        self.ptr = ptr::null_mut();
        self.len = 0;
    }

    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> &T {
        debug_assert!(i < self.len);
        // SAFETY: callers index within len (checked in debug builds).
        unsafe { &*self.ptr.add(i) }
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut T {
        debug_assert!(i < self.len);
        // SAFETY: as in `get`, and `&mut self` gives exclusive access.
        unsafe { &mut *self.ptr.add(i) }
    }
}

impl<T: Copy> Drop for MappedArray<T> {
    fn drop(&mut self) {
        // SAFETY: the array is being dropped and never used again.
        unsafe { self.release() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_reservation_is_halved_down_to_the_smallest_asked() {
        const SPAN: usize = 64 << 30;
        const SMALLEST: usize = 256 << 20;
        let granted = NonNull::<u8>::dangling();
        let mut asked = Vec::new();
        let mut up_to_1g = |s: usize| {
            asked.push(s);
            (s <= 1 << 30).then_some(granted)
        };
        assert_eq!(
            largest_reservation(SPAN, SMALLEST, &mut up_to_1g),
            Some((granted, 1 << 30))
        );
        assert_eq!(
            asked,
            [
                64 << 30,
                32 << 30,
                16 << 30,
                8 << 30,
                4 << 30,
                2 << 30,
                1 << 30
            ]
        );
        let mut none = |_| None;
        assert_eq!(largest_reservation(SPAN, SMALLEST, &mut none), None);
        let mut count = 0;
        let mut counting = |s: usize| {
            count += 1;
            assert!(s >= SMALLEST, "asked {s}");
            None
        };
        largest_reservation(SPAN, SMALLEST, &mut counting);
        assert_eq!(count, 9, "64 GiB down to 256 MiB");
        // A span smaller than the floor is tried as it is.
        let mut any = |_| Some(granted);
        assert_eq!(
            largest_reservation(1 << 20, SMALLEST, &mut any),
            Some((granted, 1 << 20))
        );
    }
}
