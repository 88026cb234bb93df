//! How a mimalloc build names itself: shared, by path, by pybench's in-process allocator and
//! by its `LD_PRELOAD` library (`preload/mimalloc`), so both sides of `validate` report one
//! string for one build.

use libmimalloc_sys as mi;

/// `mimalloc X.Y.Z`, from `mi_version()`.
pub fn version() -> String {
    // SAFETY: mi_version has no preconditions.
    format!("mimalloc {}", decode(unsafe { mi::mi_version() }))
}

/// mimalloc encodes its version as an integer: `major*100 + minor*10 + patch` up to 2.1.x
/// (e.g. 212) and `major*10000 + minor*100 + patch` since (e.g. 20302 for 2.3.2; mimalloc.h
/// `MI_MALLOC_VERSION`).
pub fn decode(v: i32) -> String {
    if v >= 10_000 {
        format!("{}.{}.{}", v / 10_000, v / 100 % 100, v % 100)
    } else {
        format!("{}.{}.{}", v / 100, v / 10 % 10, v % 10)
    }
}
