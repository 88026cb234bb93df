//! The version of a package that Cargo resolved, read from a Cargo.lock: for build scripts
//! (pybench's and `preload/snmalloc`'s, which include this file by path), so a library
//! without a version call of its own (snmalloc) is named after the crate that bundles it.

use std::path::Path;

/// The `version` of the `[[package]]` named `name` in the lock file at `lock`, telling
/// Cargo to re-run the build script when that file changes; "unknown" when the file or the
/// package is missing.
pub fn resolved_version(lock: &Path, name: &str) -> String {
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let wanted = format!("name = \"{name}\"");
    text.split("[[package]]")
        .find(|p| p.lines().any(|l| l.trim() == wanted))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map_or("unknown", |v| v.trim_end_matches('"'))
        .to_string()
}
