//! Finding an installed CPython's shared library (`libpython3.X.so`) for `cpython:3.X`.
//!
//! Search order, first hit wins:
//! 1. `--libpython PATH`, when that library is CPython 3.X;
//! 2. pyenv: `$PYENV_ROOT` (or `~/.pyenv`) `/versions/3.X*/lib/libpython3.X.so*`, newest
//!    patch release first (free-threaded `3.13t` builds name their library
//!    `libpython3.13t.so` and so are never picked up: they use mimalloc, not pymalloc);
//! 3. the interpreter on `PATH`: `python3.X-config --prefix`, then `python3.X -c` asking
//!    `sysconfig` for `LIBDIR`;
//! 4. the dynamic linker's cache (`ldconfig -p`).
//!
//! Each candidate's version is read with `Py_GetVersion()` from the library itself
//! ([`probe_version`]), so a mislabelled file is caught before it is used.

use crate::workload::PyVersion;
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The CPython minor versions pybench drives: those whose obmalloc pymalloc.md describes.
pub const SUPPORTED_MINORS: std::ops::RangeInclusive<u8> = 8..=13;

/// A libpython found for some 3.X.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// The installation prefix to give `Py_SetPythonHome`, when the library sits in
    /// `PREFIX/lib/` next to `PREFIX/lib/python3.X/os.py` (pyenv, `make install`); `None`
    /// lets the interpreter use its compiled-in prefix (distribution packages).
    pub home: Option<PathBuf>,
    /// Full version from `Py_GetVersion()`, e.g. `3.11.7`.
    pub version: String,
    /// Which step found it (`--libpython`, `pyenv`, `python3.X-config`, `sysconfig`, `ldconfig`).
    pub via: &'static str,
}

/// One search step: candidate paths for a minor version, noting where it looked.
type SearchStep = fn(u8, &mut Vec<String>) -> Vec<PathBuf>;

/// Looks for libpython3.`minor`; the error is the one-line reason, naming every place looked.
pub fn find(minor: u8, override_path: Option<&Path>) -> Result<Found, String> {
    let mut looked = Vec::new();
    if let Some(path) = override_path {
        match probe_version(path) {
            Ok(v) if is_minor(&v, minor) => return Ok(found(path, minor, v, "--libpython")),
            Ok(v) => looked.push(format!("--libpython {} (CPython {v})", path.display())),
            // A library the user named but that cannot be used is an error, not a hint to
            // quietly measure some other interpreter.
            Err(e) => return Err(format!("--libpython {}: {e}", path.display())),
        }
    }
    let steps: [(&'static str, SearchStep); 4] = [
        ("pyenv", pyenv_candidates),
        ("python3.X-config", config_candidates),
        ("sysconfig", sysconfig_candidates),
        ("ldconfig", ldconfig_candidates),
    ];
    search(minor, &steps, looked)
}

/// [`find`]'s search through `steps` in turn, after the places already `looked` at.
fn search(
    minor: u8,
    steps: &[(&'static str, SearchStep)],
    mut looked: Vec<String>,
) -> Result<Found, String> {
    // A library that is there but cannot be loaded (an address-space limit, a broken
    // install) is named with the loader's reason: "not found" would send the user looking
    // for an interpreter they have.
    let mut unusable = None;
    for &(via, step) in steps {
        for path in step(minor, &mut looked) {
            match probe_version(&path) {
                Ok(v) if is_minor(&v, minor) => return Ok(found(&path, minor, v, via)),
                Ok(_) => {}
                Err(e) if unusable.is_none() && path.is_file() => {
                    unusable = Some(format!("{}: {e}", path.display()));
                }
                Err(_) => {}
            }
        }
    }
    Err(match unusable {
        Some(why) => format!("libpython3.{minor}.so found but not loadable ({why})"),
        None => format!(
            "no libpython3.{minor}.so found (looked in {}); pass --libpython PATH",
            looked.join(", ")
        ),
    })
}

fn found(path: &Path, minor: u8, version: String, via: &'static str) -> Found {
    let prefix = path.parent().and_then(Path::parent);
    let home = prefix
        .filter(|p| p.join(format!("lib/python3.{minor}/os.py")).is_file())
        .map(Path::to_path_buf);
    Found {
        path: path.to_path_buf(),
        home,
        version,
        via,
    }
}

/// Why a `--libpython` the user named cannot serve the CPython versions a command loads.
#[derive(Debug, PartialEq, Eq)]
pub enum NamedRefusal {
    /// It is no libpython at all: the whole line (`--libpython P: REASON`).
    Unusable(String),
    /// It is CPython `found` (`3.12.1`), none of the versions wanted.
    OtherVersion { found: String },
}

/// Checks a `--libpython` the user named against the versions the command will load from it
/// (`wanted`). [`find`] passes over a library of another version and searches on, so a
/// command that went ahead would measure an interpreter other than the one named and say
/// nothing of it: `fidelity` and `run` refuse [`NamedRefusal::OtherVersion`] instead, each
/// with its own advice ([`other_version_line`]).
pub fn check_named(path: &Path, wanted: &[PyVersion]) -> Result<(), NamedRefusal> {
    let found = probe_version(path)
        .map_err(|e| NamedRefusal::Unusable(format!("--libpython {}: {e}", path.display())))?;
    if wanted.iter().any(|v| is_minor(&found, minor_of(*v))) {
        return Ok(());
    }
    Err(NamedRefusal::OtherVersion { found })
}

/// The line refusing a `--libpython` of version `found`: which versions were `wanted`,
/// `whose` they are (`--python`, `-a cpython:3.11`), and what to do `instead`.
pub fn other_version_line(
    path: &Path,
    found: &str,
    wanted: &[PyVersion],
    whose: &str,
    instead: &str,
) -> String {
    let wanted: Vec<&str> = wanted.iter().map(|v| v.name()).collect();
    format!(
        "--libpython {} is CPython {found}, not {} ({whose}); {instead}",
        path.display(),
        wanted.join(" or ")
    )
}

/// The version pybench drives that a library's `found` version (`3.12.1`) is, if any: what
/// the advice of [`other_version_line`] can tell the user to ask for instead.
pub fn driven_version(found: &str) -> Option<PyVersion> {
    PyVersion::of_release(found)
}

/// [`check_named`] for `run`: `wanted` are its `cpython:3.X` allocators, `named` whether `-a`
/// named them (else they are the workloads' versions, taken by the default set).
pub fn check_named_for_run(path: &Path, wanted: &[PyVersion], named: bool) -> Result<(), String> {
    let found = match check_named(path, wanted) {
        Ok(()) => return Ok(()),
        Err(NamedRefusal::Unusable(line)) => return Err(line),
        Err(NamedRefusal::OtherVersion { found }) => found,
    };
    let whose = if named {
        let names: Vec<String> = wanted.iter().map(|v| format!("cpython:{v}")).collect();
        format!("-a {}", names.join(","))
    } else {
        "the workloads' version".to_string()
    };
    let want: Vec<String> = wanted.iter().map(|v| format!("libpython{v}")).collect();
    let instead = match driven_version(&found) {
        Some(v) if named => format!(
            "pass a {}, or -a cpython:{v} to measure it",
            want.join(" or ")
        ),
        Some(v) => format!(
            "pass a {}, or --python {v} to measure it",
            want.join(" or ")
        ),
        None => format!("pass a {} (cpython:3.X is 3.8 … 3.13)", want.join(" or ")),
    };
    Err(other_version_line(path, &found, wanted, &whose, &instead))
}

/// [`check_named`] for `list allocators`, which loads whichever of the versions pybench
/// drives the library is: one it can serve none of (no libpython, or CPython 3.7) would
/// otherwise mark every `cpython:3.X` row unavailable, or change none, and exit 0.
pub fn check_named_for_list(path: &Path) -> Result<(), String> {
    match check_named(path, &PyVersion::ALL) {
        Ok(()) => Ok(()),
        Err(NamedRefusal::Unusable(line)) => Err(line),
        Err(NamedRefusal::OtherVersion { found }) => Err(format!(
            "--libpython {} is CPython {found}, which pybench does not drive \
             (cpython:3.X is 3.8 … 3.13)",
            path.display()
        )),
    }
}

/// 11 of 3.11.
fn minor_of(v: PyVersion) -> u8 {
    crate::alloc::AllocatorSpec::Cpython(v)
        .cpython_minor()
        .expect("a cpython spec")
}

/// `"3.11.7"` is minor 11; `"3.1.2"` is not minor 11.
pub(crate) fn is_minor(version: &str, minor: u8) -> bool {
    crate::workload::cpython3_minor(version) == Some(u32::from(minor))
}

/// The library names to try inside a lib directory, unversioned link first.
fn in_libdir(dir: &Path, minor: u8) -> Vec<PathBuf> {
    ["so", "so.1.0"]
        .iter()
        .map(|ext| dir.join(format!("libpython3.{minor}.{ext}")))
        .filter(|p| p.exists())
        .collect()
}

fn pyenv_candidates(minor: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    let Some(versions) = root.map(|r| r.join("versions")) else {
        return Vec::new();
    };
    looked.push(format!("{}/3.{minor}*/lib", versions.display()));
    let Ok(entries) = std::fs::read_dir(&versions) else {
        return Vec::new();
    };
    let want = format!("3.{minor}");
    let mut dirs: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&want)?;
            // "3.11" or "3.11.7", not "3.1x" of another minor nor "3.13t"-style variants.
            let patch = match rest.strip_prefix('.') {
                Some(p) => p.parse::<u32>().ok()?,
                None if rest.is_empty() => 0,
                None => return None,
            };
            Some((patch, e.path().join("lib")))
        })
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    dirs.iter().flat_map(|(_, d)| in_libdir(d, minor)).collect()
}

/// Runs a command and returns its trimmed stdout when it succeeds.
fn output_of(cmd: &str, args: &[&str]) -> Option<String> {
    let out = crate::sys::process::output_of(cmd, args).ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn config_candidates(minor: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
    let cmd = format!("python3.{minor}-config");
    looked.push(format!("`{cmd} --prefix`"));
    output_of(&cmd, &["--prefix"])
        .map(|prefix| in_libdir(&Path::new(&prefix).join("lib"), minor))
        .unwrap_or_default()
}

fn sysconfig_candidates(minor: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
    let cmd = format!("python3.{minor}");
    looked.push(format!("`{cmd}` sysconfig LIBDIR"));
    let script = "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')";
    output_of(&cmd, &["-c", script])
        .map(|dir| in_libdir(Path::new(&dir), minor))
        .unwrap_or_default()
}

fn ldconfig_candidates(minor: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
    looked.push("`ldconfig -p`".to_string());
    let Some(cache) =
        output_of("ldconfig", &["-p"]).or_else(|| output_of("/sbin/ldconfig", &["-p"]))
    else {
        return Vec::new();
    };
    parse_ldconfig(&cache, minor)
}

/// Lines of `ldconfig -p` look like `\tlibpython3.11.so.1.0 (libc6,x86-64) => /lib/…/libpython3.11.so.1.0`.
fn parse_ldconfig(cache: &str, minor: u8) -> Vec<PathBuf> {
    let want = format!("libpython3.{minor}.so");
    cache
        .lines()
        .filter_map(|l| {
            let (lib, path) = l.trim().split_once(" => ")?;
            let name = lib.split_whitespace().next()?;
            (name == want || name.starts_with(&format!("{want}."))).then(|| PathBuf::from(path))
        })
        .collect()
}

/// Reads the version (`3.11.7`) a libpython reports through `Py_GetVersion()`, which only
/// formats compile-time strings and is safe before initialisation. The library is opened with
/// `RTLD_LAZY | RTLD_LOCAL` and closed again; nothing of it runs but that function.
pub fn probe_version(path: &Path) -> Result<String, String> {
    crate::sys::library_file::check_library_file(path)?;
    let c_path = dlopen_name(path)?;
    // SAFETY: dlopen with a valid C string; libpython has no constructors that need setup.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL) };
    if handle.is_null() {
        // dlerror repeats the path the caller's line already names: "PATH: REASON".
        let e = dlerror();
        let named = c_path.to_string_lossy();
        return Err(e
            .strip_prefix(&format!("{named}: "))
            .map_or_else(|| e.clone(), str::to_string));
    }
    // SAFETY: handle is live; the symbol, if present, is `const char *Py_GetVersion(void)`.
    let version = unsafe {
        let sym = libc::dlsym(handle, c"Py_GetVersion".as_ptr());
        let v = if sym.is_null() {
            Err("not a libpython (no Py_GetVersion)".to_string())
        } else {
            let f: extern "C" fn() -> *const libc::c_char = std::mem::transmute(sym);
            Ok(version_token(&CStr::from_ptr(f()).to_string_lossy()))
        };
        libc::dlclose(handle);
        v
    };
    version
}

/// `path` as `dlopen` must be given it to open that very file. dlopen(3) searches the
/// library path (`LD_LIBRARY_PATH`, `ld.so.cache`, …) for a name without a slash instead
/// of the current directory, so `--libpython libpython3.11.so` in the library's own folder
/// was "No such file or directory" — or the system's library of that name, not the file
/// the user named.
pub(crate) fn dlopen_name(path: &Path) -> Result<CString, String> {
    let bytes = path.as_os_str().as_bytes();
    let named = if bytes.contains(&b'/') {
        bytes.to_vec()
    } else {
        [b"./".as_slice(), bytes].concat()
    };
    CString::new(named).map_err(|e| e.to_string())
}

/// `"3.11.7 (main, Jan  1 2024, …) [GCC 12.2.0]"` → `"3.11.7"`.
pub(crate) fn version_token(full: &str) -> String {
    full.split_whitespace().next().unwrap_or("").to_string()
}

/// The last `dlerror()` message.
pub(crate) fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated message.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        "unknown dlopen error".to_string()
    } else {
        // SAFETY: as above.
        unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_versions_match_exactly() {
        assert!(is_minor("3.11.7", 11));
        assert!(is_minor("3.9.18", 9));
        assert!(!is_minor("3.1.5", 11));
        assert!(!is_minor("3.11.7", 1));
        assert!(!is_minor("2.7.18", 7));
    }

    #[test]
    fn ldconfig_lines_are_read() {
        let cache = "3 libs found in cache `/etc/ld.so.cache'\n\
            \tlibpython3.11.so.1.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libpython3.11.so.1.0\n\
            \tlibpython3.11.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libpython3.11.so\n\
            \tlibpython3.1.so (libc6,x86-64) => /lib/libpython3.1.so\n";
        assert_eq!(
            parse_ldconfig(cache, 11),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libpython3.11.so.1.0"),
                PathBuf::from("/lib/x86_64-linux-gnu/libpython3.11.so")
            ]
        );
        assert!(parse_ldconfig(cache, 9).is_empty());
    }

    #[test]
    fn missing_library_is_a_one_line_reason() {
        // A library the user named must exist: that is an error, not a fallback.
        let err = find(99, Some(Path::new("/nonexistent/libpython3.99.so"))).unwrap_err();
        assert!(
            err.starts_with("--libpython /nonexistent/libpython3.99.so:"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        // Searching finds nothing for a version that does not exist, and says where it looked.
        let err = find(99, None).unwrap_err();
        assert!(
            err.starts_with("no libpython3.99.so found (looked in"),
            "{err}"
        );
        assert!(err.ends_with("pass --libpython PATH"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    /// A candidate that exists but does not load is named with the loader's reason, where
    /// a search that found no file at all says where it looked.
    #[test]
    fn a_library_found_but_not_loadable_is_named_with_its_reason() {
        fn broken(_: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
            looked.push("the test's folder".into());
            vec![std::env::temp_dir()
                .join(format!("pybench-{}-libpython3.99.so", std::process::id()))]
        }
        fn missing(_: u8, looked: &mut Vec<String>) -> Vec<PathBuf> {
            looked.push("nowhere".into());
            vec![PathBuf::from("/nonexistent/libpython3.99.so")]
        }
        let lib = broken(99, &mut Vec::new()).remove(0);
        std::fs::write(&lib, b"not an ELF file").unwrap();
        let err = search(99, &[("missing", missing), ("broken", broken)], Vec::new()).unwrap_err();
        std::fs::remove_file(&lib).unwrap();
        assert!(
            err.starts_with(&format!(
                "libpython3.99.so found but not loadable ({}: ",
                lib.display()
            )),
            "{err}"
        );
        assert!(!err.contains("nonexistent") && !err.contains('\n'), "{err}");
        let err = search(99, &[("missing", missing)], Vec::new()).unwrap_err();
        assert!(
            err.starts_with("no libpython3.99.so found (looked in nowhere)"),
            "{err}"
        );
    }

    #[test]
    fn non_python_library_is_refused() {
        let err = probe_version(Path::new("/lib/x86_64-linux-gnu/libc.so.6")).unwrap_err();
        assert!(err.contains("no Py_GetVersion"), "{err}");
    }

    #[test]
    fn a_named_library_that_is_no_libpython_is_one_line_and_the_versions_are_named() {
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        match check_named(libc, &[PyVersion::V3_11]) {
            Err(NamedRefusal::Unusable(line)) => {
                assert!(line.starts_with("--libpython /lib/x86_64-linux-gnu/libc.so.6: "));
                assert!(
                    line.contains("no Py_GetVersion") && !line.contains('\n'),
                    "{line}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(driven_version("3.12.1"), Some(PyVersion::V3_12));
        assert_eq!(driven_version("2.7.18"), None);
        assert_eq!(
            other_version_line(
                Path::new("/x/libpython3.12.so"),
                "3.12.1",
                &[PyVersion::V3_10, PyVersion::V3_11],
                "-a cpython:3.10,cpython:3.11",
                "pass one of those",
            ),
            "--libpython /x/libpython3.12.so is CPython 3.12.1, not 3.10 or 3.11 \
             (-a cpython:3.10,cpython:3.11); pass one of those"
        );
    }

    #[test]
    fn version_token_is_the_first_word() {
        assert_eq!(version_token("3.11.7 (main, Nov 1 2024) [GCC]"), "3.11.7");
    }
}
