//! snmalloc has no version call, so the version this library reports is that of the
//! `snmalloc-sys` crate Cargo resolved, read from the lock file it resolved it in.

#[path = "lock_version.rs"]
mod lock_version;

fn main() {
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let version = lock_version::resolved_version(&lock, "snmalloc-sys");
    println!("cargo:rustc-env=PYBENCH_SNMALLOC_SYS_VERSION={version}");
}
