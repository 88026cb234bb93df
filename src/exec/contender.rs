//! How each allocator is put in effect for a real Python process.
//!
//! - `pymalloc`: the interpreter as it is (`PYTHONMALLOC` removed from the environment).
//! - `pymalloc:PRESET`, `pymalloc:arena=SIZE,pool=SIZE`: pybench's own engine serving the MEM
//!   and OBJ domains inside the interpreter (`engine_hook.rs`), with that geometry.
//! - `system`: `PYTHONMALLOC=malloc`, so every domain calls glibc's malloc.
//! - `jemalloc`, `mimalloc`, `snmalloc`: `PYTHONMALLOC=malloc` plus pybench's own preload
//!   library (`preload/`), built from exactly the crate builds the replay links, so both
//!   sides of `validate` measure the same allocator build.
//! - `jemalloc@debian`, `mimalloc@debian`, `tcmalloc`: Debian's libraries (`libjemalloc2`,
//!   `libmimalloc2.0`, `libtcmalloc-minimal4`, installed by `scripts/setup.sh`), whose
//!   versions differ from the crates (jemalloc 5.3.0, mimalloc 2.0.9).
//! - `--preload NAME=PATH`: any other allocator library.

use crate::alloc::{AllocatorSpec, EngineConfig};
use crate::pymalloc::Geometry;
use std::os::unix::process::ExitStatusExt;
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
    /// pybench's engine installed in the interpreter with this geometry, if any.
    pub engine: Option<Geometry>,
}

/// The names `exec` and `validate` take, for their refusals.
const EXEC_NAMES: &str = "pymalloc, pymalloc:PRESET, pymalloc:arena=SIZE,pool=SIZE, system, jemalloc, mimalloc, snmalloc, jemalloc@debian, mimalloc@debian, tcmalloc, or --preload NAME=PATH";

/// Problems with the allocators asked for (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ContenderError {
    #[error(
        "unknown exec allocator `{0}`{hint}; valid: {EXEC_NAMES}",
        hint = exec_hint(.0)
    )]
    Unknown(String),
    /// An allocator of `run`'s in-process replay only (`cpython:3.X`, `null`, `test-crash`):
    /// known, so "unknown" would send the user looking for a typo.
    #[error("`{0}` is an allocator of `pybench run`'s replay only; exec and validate run the real interpreter, whose own allocator is `pymalloc` (valid: {EXEC_NAMES})")]
    ReplayOnly(String),
    /// `-a ''`: names given, none of them an allocator.
    #[error("no allocator named (the list is empty); valid: {EXEC_NAMES}")]
    Empty,
    #[error("{name}: preload library {path} not found{hint}")]
    Missing {
        name: String,
        path: String,
        hint: String,
    },
    #[error("{name}: {path} is not an allocator (it does not define malloc and free)")]
    NotAnAllocator { name: String, path: String },
    #[error("{name}: {path} cannot be preloaded: {reason}")]
    NotLoadable {
        name: String,
        path: String,
        reason: String,
    },
    #[error("bad --preload `{0}`: expected NAME=PATH")]
    BadPreload(String),
    #[error("{name}: {reason}")]
    Engine { name: String, reason: String },
    /// One of pybench's own libraries (a preload, or the engine for `pymalloc:PRESET`) is not
    /// where this binary looks ([`built_library`]).
    #[error("{name}: {reason}")]
    OwnLibrary { name: String, reason: String },
    #[error("{0}: this pybench was built without the `{0}` feature, so it has no preload library for it")]
    NotBuilt(String),
}

/// A suggestion for a mistyped exec allocator: the in-process-only names (`null`, the
/// `cpython:3.X` libraries) are not exec allocators, so they are not suggested.
fn exec_hint(typed: &str) -> String {
    use crate::alloc::AllocatorSpec;
    let in_process_only =
        |s: &AllocatorSpec| matches!(s, AllocatorSpec::Cpython(_) | AllocatorSpec::Null);
    let names = crate::alloc::registry::suggestable(|s| !in_process_only(s));
    crate::suggest::did_you_mean(typed, names.iter().map(String::as_str))
}

/// Debian's multiarch library directory, where the packages install.
const LIB_DIRS: [&str; 2] = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];

/// (name, library file, Debian package) of Debian's allocator libraries.
const KNOWN: [(&str, &str, &str); 3] = [
    ("jemalloc@debian", "libjemalloc.so.2", "libjemalloc2"),
    ("mimalloc@debian", "libmimalloc.so.2", "libmimalloc2.0"),
    (
        "tcmalloc",
        "libtcmalloc_minimal.so.4",
        "libtcmalloc-minimal4",
    ),
];

/// The allocators with a preload library built by pybench (`preload/`).
const PROJECT: [AllocatorSpec; 3] = [
    AllocatorSpec::Jemalloc,
    AllocatorSpec::Mimalloc,
    AllocatorSpec::Snmalloc,
];

/// The default contenders: the interpreter's own pymalloc, glibc, and pybench's own preload
/// libraries of every allocator the replay links. The second list holds the one-line
/// problems of those that cannot run (a preload library that was not built): the caller
/// runs the others and then reports them.
pub fn default_set() -> (Vec<Contender>, Vec<ContenderError>) {
    let mut set = vec![pymalloc(), system()];
    let mut problems = Vec::new();
    for spec in &PROJECT {
        match project(spec) {
            Ok(c) => set.push(c),
            Err(e) => problems.push(e),
        }
    }
    (set, problems)
}

/// A contender by name (see the module docs).
pub fn by_name(name: &str) -> Result<Contender, ContenderError> {
    match name.parse::<AllocatorSpec>() {
        Ok(spec) => by_spec(&spec),
        Err(crate::alloc::AllocError::BadArgument { reason, .. }) => Err(ContenderError::Engine {
            name: name.to_string(),
            reason,
        }),
        Err(_) => Err(ContenderError::Unknown(name.to_string())),
    }
}

/// The contender of an allocator spec; in-process-only allocators (`cpython:3.X`, null,
/// test-crash) have none.
pub fn by_spec(spec: &AllocatorSpec) -> Result<Contender, ContenderError> {
    match spec {
        AllocatorSpec::Pymalloc => Ok(pymalloc()),
        AllocatorSpec::System => Ok(system()),
        AllocatorSpec::Jemalloc | AllocatorSpec::Mimalloc | AllocatorSpec::Snmalloc => {
            project(spec)
        }
        AllocatorSpec::Debian(_) | AllocatorSpec::Tcmalloc => known(spec),
        AllocatorSpec::Engine(config) => engine(spec, *config),
        AllocatorSpec::Preload { name, path } => {
            preloaded(spec, name, path, String::new(), "custom".to_string())
        }
        AllocatorSpec::Cpython(_) | AllocatorSpec::Null | AllocatorSpec::Crash(_) => {
            Err(ContenderError::ReplayOnly(spec.name()))
        }
    }
}

/// `pymalloc:PRESET` or `pymalloc:arena=SIZE,pool=SIZE`: the engine inside the interpreter.
fn engine(spec: &AllocatorSpec, config: EngineConfig) -> Result<Contender, ContenderError> {
    let geometry: Geometry = match config {
        EngineConfig::Preset(p) => p.geometry(),
        EngineConfig::Geometry(g) => g,
    };
    // Checked here so that a library that was not built is a problem before any run.
    built_library(super::engine_site::ENGINE_LIBRARY).map_err(|reason| {
        ContenderError::OwnLibrary {
            name: spec.name(),
            reason,
        }
    })?;
    Ok(Contender {
        spec: spec.clone(),
        name: spec.name(),
        preload: None,
        python_malloc: false,
        // The engine's version, as the replay of the same geometry reports it.
        version: format!("pybench {}", env!("CARGO_PKG_VERSION")),
        engine: Some(geometry),
    })
}

/// Where pybench's own libraries are: next to the executable (`target/release/`), in its
/// `deps/` directory (where Cargo puts the preload libraries), or for a test binary in
/// `deps/` the directory above. `PYBENCH_LIB_DIR`, when set, is the only place looked in
/// (for installed copies, and to test what happens when a library was not built).
pub fn built_library(file: &str) -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("PYBENCH_LIB_DIR") {
        dirs.push(PathBuf::from(dir));
    } else if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("deps"));
        dirs.push(exe_dir.clone());
        if let Some(up) = exe_dir.parent() {
            dirs.push(up.to_path_buf());
        }
    }
    dirs.iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{file} not found (looked in {}): not built, or this pybench was copied away from \
                 the folder Cargo built it in; run `cargo build --release` (and see its warnings), \
                 or set PYBENCH_LIB_DIR to the folder that holds it",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// pybench's own preload library of `name`, reporting the in-process build's version: both
/// come from the same crate build (Cargo resolves one version; `preload/*/Cargo.toml`).
fn project(spec: &AllocatorSpec) -> Result<Contender, ContenderError> {
    let name = spec.name();
    let name = name.as_str();
    let version: Option<String> = match spec {
        #[cfg(feature = "jemalloc")]
        AllocatorSpec::Jemalloc => Some(crate::alloc::JemallocAllocator::library_version()),
        #[cfg(feature = "mimalloc")]
        AllocatorSpec::Mimalloc => Some(crate::alloc::MimallocAllocator::library_version()),
        #[cfg(feature = "snmalloc")]
        AllocatorSpec::Snmalloc => Some(crate::alloc::SnmallocAllocator::library_version()),
        _ => None,
    };
    let version = version.ok_or_else(|| ContenderError::NotBuilt(name.to_string()))?;
    let file = format!("libpybench_preload_{name}.so");
    let path = built_library(&file).map_err(|reason| ContenderError::OwnLibrary {
        name: name.to_string(),
        reason,
    })?;
    preloaded(spec, name, &path, String::new(), version)
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
        engine: None,
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
        engine: None,
    }
}

fn known(spec: &AllocatorSpec) -> Result<Contender, ContenderError> {
    let name = spec.name();
    let name = name.as_str();
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
    preloaded(spec, name, &path, hint, package_version(package))
}

/// A contender preloading `path`, once it is known to be an allocator library the dynamic
/// loader will load.
fn preloaded(
    spec: &AllocatorSpec,
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
    // A text file, a folder or a static `.a` is no library at all, which "does not define
    // malloc" would not tell.
    if let Err(reason) = crate::sys::library_file::check_library_file(path) {
        return Err(ContenderError::NotLoadable {
            name: name.to_string(),
            path: path.display().to_string(),
            reason,
        });
    }
    if !defines_malloc(path) {
        return Err(ContenderError::NotAnAllocator {
            name: name.to_string(),
            path: path.display().to_string(),
        });
    }
    // Absolute: ld.so looks a bare `lib.so` up in the library path, not the current folder,
    // so `--preload mine=lib.so` beside it was "cannot open shared object file" after every
    // check above had read the very file.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(reason) = preload_refused(&absolute) {
        return Err(ContenderError::NotLoadable {
            name: name.to_string(),
            path: path.display().to_string(),
            reason,
        });
    }
    Ok(Contender {
        spec: spec.clone(),
        name: name.to_string(),
        preload: Some(absolute),
        python_malloc: true,
        version,
        engine: None,
    })
}

/// True when the library itself defines `malloc` and `free` (not merely imports libc's).
fn defines_malloc(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| super::elf::defines_all(&bytes, &["malloc", "free"]))
}

/// Why the dynamic loader will not preload `path`, found by preloading it into a throwaway
/// process (this binary's `--version`): ld.so skips a library it cannot load (missing
/// dependency, wrong machine, no loadable segments) with one line on stderr and runs the
/// program anyway, so every run would measure glibc under the library's name, and exit 0.
/// `dlopen` in this process cannot stand in: it runs the library's code here, and refuses
/// libraries with initial-exec TLS (Debian's libjemalloc) that preload fine. `None` when
/// it loads, or when the probe itself cannot start (the real runs then say why).
fn preload_refused(path: &Path) -> Option<String> {
    let out = crate::sys::process::self_version_with_preload(path).ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(line) = stderr.lines().find(|l| l.contains("cannot be preloaded")) {
        // "ERROR: ld.so: object 'P' from LD_PRELOAD cannot be preloaded (REASON): ignored."
        let reason = line
            .split_once("cannot be preloaded (")
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or(line, |(reason, _)| reason);
        return Some(reason.to_string());
    }
    // Its exit code is not the library's doing (a test binary refuses `--version`); a signal,
    // a constructor crashing, is.
    let sig = out.status.signal()?;
    Some(format!(
        "a process with it preloaded was killed by {}",
        crate::sys::signal::describe(sig)
    ))
}

/// The installed Debian package's version, e.g. "libjemalloc2 5.3.0-1".
fn package_version(package: &str) -> String {
    crate::sys::process::output_of("dpkg-query", &["-W", "-f=${Version}", package])
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
        assert!(matches!(
            by_name("pymalloc:arena=64K,pool=128K"),
            Err(ContenderError::Engine { .. })
        ));
    }
}
