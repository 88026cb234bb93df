//! Build steps: records the git commit the binary was built from (for result manifests) and
//! the snmalloc-sys version Cargo resolved (snmalloc's name in results), and compiles the
//! allocator hook that `pybench record` loads into CPython.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "preload/snmalloc/lock_version.rs"]
mod lock_version;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok());
    if let Some(c) = commit {
        println!("cargo:rustc-env=PYBENCH_GIT_COMMIT={}", c.trim());
    }
    // snmalloc has no version call: it is named after the crate that bundles it, as its
    // preload library names it (src/alloc/snmalloc_version.rs).
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    let snmalloc = lock_version::resolved_version(&lock, "snmalloc-sys");
    println!("cargo:rustc-env=PYBENCH_SNMALLOC_SYS_VERSION={snmalloc}");
    build_hook();
}

/// Compiles `src/trace/hook/hook.c` into `$OUT_DIR/pybench_hook.so`, embedded in the binary
/// with `include_bytes!`. Without a C compiler the build still succeeds with an empty hook,
/// and `pybench record` says why it cannot record.
fn build_hook() {
    let src = "src/trace/hook/hook.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let so = out.join("pybench_hook.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-o",
        ])
        .arg(&so)
        .arg(src)
        .arg("-lpthread")
        .arg("-ldl")
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            println!("cargo:warning=cannot compile {src} with `{cc}` ({other:?}); `pybench record` will not work");
            std::fs::write(&so, b"").expect("OUT_DIR is writable");
        }
    }
}
