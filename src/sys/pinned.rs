//! Pre-faulted, huge-page-advised buffers for the throughput loop's own data (the compact
//! event stream and the slot table).
//!
//! Why: noise on shared VMs is largely per process and slow — where the harness's buffers
//! land in physical memory (4 KiB pages scattered over the host vs. a few 2 MiB pages, TLB
//! reach) shifts every figure of a process by a constant (issue 12: three `null` processes of
//! one run at 7.1, 9.5 and 14.9 ns/event). Mapping the buffers ourselves, advising
//! `MADV_HUGEPAGE` (honoured when the THP mode is `madvise` or `always`) and touching every
//! page before the first measured pass fixes their placement and keeps first-touch page
//! faults out of every timed pass.

/// Alignment that lets the kernel back the buffer with 2 MiB pages.
const HUGE: usize = 2 << 20;

/// A fixed-length array of `T` in its own anonymous mapping, pre-faulted.
pub struct PinnedBuf<T: Copy> {
    ptr: *mut T,
    len: usize,
    map: *mut libc::c_void,
    map_len: usize,
}

// SAFETY: the buffer owns its mapping exclusively, like a Vec.
unsafe impl<T: Copy + Send> Send for PinnedBuf<T> {}

impl<T: Copy> PinnedBuf<T> {
    /// A buffer of `len` copies of `fill`. Returns an error when the mapping fails.
    pub fn new(len: usize, fill: T) -> std::io::Result<Self> {
        Self::from_fn(len, |_| fill)
    }

    /// A buffer holding a copy of `items`.
    pub fn from_slice(items: &[T]) -> std::io::Result<Self> {
        Self::from_fn(items.len(), |i| items[i])
    }

    /// A buffer whose element `i` is `item(i)`. Each element is written once: that single
    /// pass both fills the buffer and faults its pages in (filling with a default first and
    /// then overwriting went over the memory twice — the cache probe's up to 128 MiB, the
    /// compact stream's tens of MiB).
    pub fn from_fn(len: usize, mut item: impl FnMut(usize) -> T) -> std::io::Result<Self> {
        let bytes = (len * std::mem::size_of::<T>()).max(1);
        // Over-map by one huge page so the start can be aligned to it.
        let map_len = bytes.div_ceil(HUGE) * HUGE + HUGE;
        // SAFETY: an anonymous private mapping with no fixed address.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let start = (map as usize).next_multiple_of(HUGE);
        // SAFETY: [start, start + bytes) lies inside the mapping. The advice is a hint: it
        // fails harmlessly where THP is disabled, and the buffer works either way.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                bytes.next_multiple_of(HUGE),
                libc::MADV_HUGEPAGE,
            );
        }
        // Owned from here, so a panicking `item` still unmaps (elements are `Copy`: no drops).
        let buf = PinnedBuf {
            ptr: start as *mut T,
            len,
            map,
            map_len,
        };
        // Writing every element faults every page in now, outside any measured pass.
        for i in 0..len {
            // SAFETY: i < len, inside the mapping, properly aligned (page-aligned start).
            unsafe { buf.ptr.add(i).write(item(i)) };
        }
        Ok(buf)
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: ptr..ptr+len is initialised and owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as above, and &mut self guarantees exclusivity.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// A raw pointer to the first element, for loops that index without bounds checks.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Copy> Drop for PinnedBuf<T> {
    fn drop(&mut self) {
        // SAFETY: map/map_len describe the mapping made in new(), no longer referenced.
        unsafe { libc::munmap(self.map, self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_its_contents_and_is_huge_page_aligned() {
        let mut b = PinnedBuf::new(1_000_000, 7u64).unwrap();
        assert_eq!(b.len(), 1_000_000);
        assert!(b.as_slice().iter().all(|&x| x == 7));
        b.as_mut_slice()[999_999] = 3;
        assert_eq!(b.as_slice()[999_999], 3);
        assert_eq!(b.as_mut_ptr() as usize % HUGE, 0);
        let c = PinnedBuf::from_slice(&[1u32, 2, 3]).unwrap();
        assert_eq!(c.as_slice(), &[1, 2, 3]);
        assert!(PinnedBuf::<u8>::new(0, 0).unwrap().is_empty());
    }

    #[test]
    fn from_fn_puts_each_index_own_value() {
        let b = PinnedBuf::from_fn(3 * 4096, |i| (i * 7 + 1) as u32).unwrap();
        assert_eq!(b.len(), 3 * 4096);
        assert!(b
            .as_slice()
            .iter()
            .enumerate()
            .all(|(i, &x)| x == (i * 7 + 1) as u32));
    }
}
