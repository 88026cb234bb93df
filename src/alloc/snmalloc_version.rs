//! How a snmalloc build names itself: shared, by path, by pybench's in-process allocator and
//! by its `LD_PRELOAD` library (`preload/snmalloc`). snmalloc has no version call, so it is
//! the version of the `snmalloc-sys` crate (which bundles its sources) that Cargo resolved,
//! read from Cargo.lock by each crate's build script (`preload/snmalloc/lock_version.rs`).

/// `snmalloc (snmalloc-sys X.Y.Z)`.
pub fn version() -> String {
    format!(
        "snmalloc (snmalloc-sys {})",
        env!("PYBENCH_SNMALLOC_SYS_VERSION")
    )
}
