//! `snmalloc`: snmalloc built by `snmalloc-sys` (feature `build_cc`, so no CMake is needed),
//! called as an object.
//!
//! The crate's default Rust entry points are sized (`sn_rust_dealloc(ptr, align, size)`), which
//! CPython's unsized `free(p)` cannot call without a size lookup first. Its `libc-api`
//! feature compiles snmalloc's own C API (`override/malloc.cc`) with every name mangled to
//! `sn_…` (`sn_malloc`, `sn_free` …; see `override/rust.cc`), so it coexists with glibc and
//! its `free` does the one lookup snmalloc's C API always does. That is how snmalloc serves
//! a real Python (`LD_PRELOAD=libsnmallocshim.so`), so it is what is measured here.

use super::Allocator;
use snmalloc_sys as sn;

/// snmalloc through `sn_malloc`, `sn_calloc`, `sn_realloc`, `sn_free`.
#[derive(Debug, Default)]
pub struct SnmallocAllocator;

impl SnmallocAllocator {
    /// snmalloc has no version call; this is the version of the `snmalloc-sys` crate that
    /// bundles its sources, as Cargo resolved it (`src/alloc/snmalloc_version.rs`, shared
    /// with the preload library).
    pub fn library_version() -> String {
        super::snmalloc_version::version()
    }
}

impl Allocator for SnmallocAllocator {
    fn name(&self) -> String {
        "snmalloc".to_string()
    }

    fn version(&self) -> String {
        Self::library_version()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: sn_malloc accepts any size and returns a unique pointer for 0.
        unsafe { sn::sn_malloc(n).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: sn_calloc checks the product for overflow.
        unsafe { sn::sn_calloc(nelem, elsize).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        sn::sn_realloc(p.cast(), n.max(1)).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        sn::sn_free(p.cast())
    }
}

/// The build scripts' lock-file reader, here for its tests.
#[cfg(test)]
#[path = "../../preload/snmalloc/lock_version.rs"]
mod lock_version;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_named_after_the_snmalloc_sys_version_cargo_resolved() {
        let v = SnmallocAllocator::library_version();
        let number = v
            .strip_prefix("snmalloc (snmalloc-sys ")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{v}"));
        let parts: Vec<&str> = number.split('.').collect();
        assert_eq!(parts.len(), 3, "{v}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{v}");
    }

    #[test]
    fn the_lock_reader_takes_the_named_package_only() {
        let dir = std::env::temp_dir().join(format!("pybench-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("Cargo.lock");
        std::fs::write(
            &lock,
            "version = 4\n\n[[package]]\nname = \"snmalloc-sys-extra\"\nversion = \"9.9.9\"\n\n\
             [[package]]\nname = \"snmalloc-sys\"\nversion = \"0.7.6\"\nsource = \"registry\"\n",
        )
        .unwrap();
        let read = |name| super::lock_version::resolved_version(&lock, name);
        assert_eq!(read("snmalloc-sys"), "0.7.6");
        assert_eq!(read("snmalloc-sys-extra"), "9.9.9");
        assert_eq!(read("mimalloc"), "unknown");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read("snmalloc-sys"), "unknown", "no lock file");
    }

    #[test]
    fn contract() {
        crate::alloc::testing::check_contract(&mut SnmallocAllocator);
    }

    #[test]
    fn blocks_are_snmallocs() {
        let p = SnmallocAllocator.malloc(100);
        // SAFETY: p is live; snmalloc knows the size class of its own blocks (112 for 100).
        let usable = unsafe { sn::sn_malloc_usable_size(p.cast()) };
        assert_eq!(usable, 112);
        // SAFETY: as above.
        unsafe { SnmallocAllocator.free(p) };
    }
}
