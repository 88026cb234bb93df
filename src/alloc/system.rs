//! `system`: the C library's malloc (glibc on the machines this project targets).

use super::Allocator;
use std::ffi::CStr;

/// The process's C allocator, called directly through libc.
#[derive(Debug, Default)]
pub struct SystemAllocator;

impl SystemAllocator {
    /// `glibc X.Y` from `gnu_get_libc_version()`.
    pub fn library_version() -> String {
        // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
        format!("glibc {}", v.to_string_lossy())
    }
}

impl Allocator for SystemAllocator {
    fn name(&self) -> String {
        "system".to_string()
    }

    fn version(&self) -> String {
        Self::library_version()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: malloc accepts any size; 0 is bumped to 1 for a unique non-NULL pointer.
        unsafe { libc::malloc(n.max(1)).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: calloc checks the product for overflow itself.
        unsafe { libc::calloc(nelem.max(1), elsize.max(1)).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        libc::realloc(p.cast(), n.max(1)).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        libc::free(p.cast())
    }

    /// `malloc_trim(0)`: releases free memory at the top of the heap and, since glibc 2.8,
    /// whole free pages inside it.
    fn trim(&mut self) {
        // SAFETY: malloc_trim only inspects glibc's own heap.
        unsafe { libc::malloc_trim(0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract() {
        crate::alloc::testing::check_contract(&mut SystemAllocator);
    }

    #[test]
    fn version_names_glibc() {
        assert!(SystemAllocator.version().starts_with("glibc 2."));
    }
}
