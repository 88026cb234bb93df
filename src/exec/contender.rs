//! How each allocator is put in effect for a real Python process.
//!
//! - `pymalloc`: the interpreter as it is (`PYTHONMALLOC` removed from the environment).
//! - `system`: `PYTHONMALLOC=malloc`, so every domain calls glibc's malloc.
//! - any other: `PYTHONMALLOC=malloc` plus the allocator's shared library in `LD_PRELOAD`,
//!   which replaces malloc for the whole process.
//!
//! The preload libraries are Debian's (`libjemalloc2`, `libmimalloc2.0`,
//! `libtcmalloc-minimal4`, installed by `scripts/setup.sh`); their versions differ from the
//! crates linked for in-process replay (jemalloc 5.3.0 vs 5.3.1, mimalloc 2.0.9 vs 3.x), so both
//! are reported. `--preload NAME=PATH` adds any other allocator library.

use crate::alloc::AllocatorSpec;
use std::path::{Path, PathBuf};

/// One way of running the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contender {
    /// The allocator as named (`pymalloc`, `jemalloc`, `tcmalloc`, `NAME=PATH` …).
    pub spec: AllocatorSpec,
    /// The name results use: the spec's, or NAME of a `--preload NAME=PATH`.
    pub name: String,
    /// Library put in `LD_PRELOAD`, if any.
    pub preload: Option<PathBuf>,
    /// Whether `PYTHONMALLOC=malloc` is set (else it is removed).
    pub python_malloc: bool,
    pub version: String,
}

/// Problems with the allocators asked for (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ContenderError {
    #[error("unknown exec allocator `{0}`; valid: pymalloc, system, jemalloc, mimalloc, tcmalloc, or --preload NAME=PATH")]
    Unknown(String),
    #[error("{name}: preload library {path} not found{hint}")]
    Missing {
        name: String,
        path: String,
        hint: String,
    },
    #[error("{name}: {path} is not an allocator (it does not define malloc and free)")]
    NotAnAllocator { name: String, path: String },
    #[error("bad --preload `{0}`: expected NAME=PATH")]
    BadPreload(String),
}

/// Debian's multiarch library directory, where the packages install.
const LIB_DIRS: [&str; 2] = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];

/// (name, library file, Debian package) of the allocators with a known preload library.
const KNOWN: [(&str, &str, &str); 3] = [
    ("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
    ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
    (
        "tcmalloc",
        "libtcmalloc_minimal.so.4",
        "libtcmalloc-minimal4",
    ),
];

/// The default contenders: the interpreter's own pymalloc, glibc, and every known preload
/// library that is installed. Returns the others' one-line reasons for being skipped.
pub fn default_set() -> (Vec<Contender>, Vec<String>) {
    let mut set = vec![pymalloc(), system()];
    let mut skipped = Vec::new();
    for (name, ..) in KNOWN {
        match known(name) {
            Ok(c) => set.push(c),
            Err(e) => skipped.push(e.to_string()),
        }
    }
    (set, skipped)
}

/// A contender by name (`pymalloc`, `system`, `jemalloc`, `mimalloc`, `tcmalloc`,
/// `NAME=PATH`).
pub fn by_name(name: &str) -> Result<Contender, ContenderError> {
    match name.parse::<AllocatorSpec>() {
        Ok(spec) => by_spec(&spec),
        Err(_) => Err(ContenderError::Unknown(name.to_string())),
    }
}

/// The contender of an allocator spec; in-process-only allocators (snmalloc, the engine
/// presets, `cpython:3.X`, null) have none.
pub fn by_spec(spec: &AllocatorSpec) -> Result<Contender, ContenderError> {
    match spec {
        AllocatorSpec::Pymalloc => Ok(pymalloc()),
        AllocatorSpec::System => Ok(system()),
        AllocatorSpec::Jemalloc | AllocatorSpec::Mimalloc | AllocatorSpec::Tcmalloc => {
            known(&spec.name())
        }
        AllocatorSpec::Preload { name, path } => {
            preloaded(name, path, String::new(), "custom".to_string())
        }
        _ => Err(ContenderError::Unknown(spec.name())),
    }
}

/// `--preload NAME=PATH`.
pub fn from_preload_arg(arg: &str) -> Result<Contender, ContenderError> {
    match arg.parse::<AllocatorSpec>() {
        Ok(spec @ AllocatorSpec::Preload { .. }) => by_spec(&spec),
        _ => Err(ContenderError::BadPreload(arg.to_string())),
    }
}

fn pymalloc() -> Contender {
    Contender {
        spec: AllocatorSpec::Pymalloc,
        name: "pymalloc".into(),
        preload: None,
        python_malloc: false,
        version: "the interpreter's own obmalloc".into(),
    }
}

fn system() -> Contender {
    Contender {
        spec: AllocatorSpec::System,
        name: "system".into(),
        preload: None,
        python_malloc: true,
        version: crate::sys::procfs::glibc_version()
            .map_or("glibc".into(), |v| format!("glibc {v}")),
    }
}

fn known(name: &str) -> Result<Contender, ContenderError> {
    let (_, file, package) = KNOWN
        .iter()
        .find(|k| k.0 == name)
        .ok_or_else(|| ContenderError::Unknown(name.to_string()))?;
    let path = LIB_DIRS
        .iter()
        .map(|d| Path::new(d).join(file))
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new(LIB_DIRS[0]).join(file));
    let hint = format!(" (install the Debian package {package}: scripts/setup.sh)");
    preloaded(name, &path, hint, package_version(package))
}

fn preloaded(
    name: &str,
    path: &Path,
    hint: String,
    version: String,
) -> Result<Contender, ContenderError> {
    if !path.exists() {
        return Err(ContenderError::Missing {
            name: name.to_string(),
            path: path.display().to_string(),
            hint,
        });
    }
    if !defines_malloc(path) {
        return Err(ContenderError::NotAnAllocator {
            name: name.to_string(),
            path: path.display().to_string(),
        });
    }
    // The Debian builds go by their own names; anything else is the `NAME=PATH` it was given.
    let spec = match KNOWN.iter().find(|k| k.0 == name && path.ends_with(k.1)) {
        Some(_) => name.parse().expect("known names parse"),
        None => AllocatorSpec::Preload {
            name: name.to_string(),
            path: path.to_path_buf(),
        },
    };
    Ok(Contender {
        spec,
        name: name.to_string(),
        preload: Some(path.to_path_buf()),
        python_malloc: true,
        version,
    })
}

/// True when the library itself defines `malloc` and `free` (not merely imports libc's).
fn defines_malloc(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| super::elf::defines_all(&bytes, &["malloc", "free"]))
}

/// The installed Debian package's version, e.g. "libjemalloc2 5.3.0-1".
fn package_version(package: &str) -> String {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| package.to_string(), |v| format!("{package} {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_preload_arguments_are_refused() {
        assert!(matches!(
            from_preload_arg("x"),
            Err(ContenderError::BadPreload(_))
        ));
        assert!(matches!(
            from_preload_arg("=/a"),
            Err(ContenderError::BadPreload(_))
        ));
        assert!(matches!(
            from_preload_arg("mine=/nonexistent/lib.so"),
            Err(ContenderError::Missing { .. })
        ));
        assert!(matches!(by_name("hoard"), Err(ContenderError::Unknown(_))));
    }
}
