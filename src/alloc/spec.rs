//! The one allocator type every command carries: parsed once from the command line, written
//! back with [`Display`](fmt::Display) (into cell specs, results files and plots), never
//! re-parsed or prefix-tested on the way.
//!
//! A bare `pymalloc` means one thing everywhere: *pymalloc as the workload's Python version
//! has it* — the engine preset of that version in a replay ([`AllocatorSpec::resolve`]), the
//! interpreter's own obmalloc in `exec`. The engine with a fixed configuration is
//! `pymalloc:PRESET` or `pymalloc:arena=SIZE,pool=SIZE` (in `exec`, the engine installed in the
//! interpreter). `tcmalloc`, `jemalloc@debian`, `mimalloc@debian` (Debian's libraries) and
//! `NAME=PATH` exist only as libraries preloaded into a real program (`exec`, `validate`); in
//! `exec`, `jemalloc`, `mimalloc` and `snmalloc` are pybench's own preload libraries, built from
//! the same crates the replay links (`preload/`, contender.rs).
//!
//! A new allocator gets a variant here, its name in [`FromStr`]/[`Display`](fmt::Display), and
//! its construction in `registry.rs` (in process) or `exec/contender.rs` (preloaded).

use super::libpython::SUPPORTED_MINORS;
use super::{AllocError, CrashAllocator};
use crate::pymalloc::{Geometry, Preset};
use crate::workload::PyVersion;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Every name form, for error messages and `--help`.
pub const VALID_NAMES: &str = "system, jemalloc, mimalloc, snmalloc, pymalloc, \
    pymalloc:PRESET (cpython-3.8 … cpython-3.13), pymalloc:arena=SIZE,pool=SIZE, \
    cpython:3.X (3.8 … 3.13), null, test-crash[:N], and for exec/validate only: tcmalloc, \
    jemalloc@debian, mimalloc@debian, NAME=PATH";

/// An allocator as the command line names it: cheap, and says nothing yet about whether it
/// can be built here (see `registry.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocatorSpec {
    /// glibc's malloc.
    System,
    /// jemalloc: the linked crate in a replay, pybench's preload library of the same crate
    /// build in `exec`.
    Jemalloc,
    /// mimalloc: as jemalloc.
    Mimalloc,
    /// snmalloc: as jemalloc.
    Snmalloc,
    /// `pymalloc`: pymalloc of the workload's own Python version (resolved per workload in a
    /// replay; the interpreter as it is in `exec`).
    Pymalloc,
    /// The pybench engine with a fixed preset or geometry.
    Engine(EngineConfig),
    /// The real obmalloc of a CPython's libpython, driven in process.
    Cpython(PyVersion),
    /// Does no allocation work: the harness's own cost.
    Null,
    /// Test-only: crashes after this many calls.
    Crash(u64),
    /// tcmalloc, Debian's library preloaded into the real program (exec only).
    Tcmalloc,
    /// Debian's build of jemalloc or mimalloc (`jemalloc@debian`), preloaded into the real
    /// program (exec only): another version than the crates the replay links.
    Debian(DebianBuild),
    /// Any allocator library preloaded into the real program, `NAME=PATH` (exec only).
    Preload { name: String, path: PathBuf },
}

/// The allocators of which Debian's build can be preloaded as `NAME@debian`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebianBuild {
    Jemalloc,
    Mimalloc,
}

impl DebianBuild {
    pub const ALL: [DebianBuild; 2] = [DebianBuild::Jemalloc, DebianBuild::Mimalloc];

    /// The crate build of the same allocator, which the replay links.
    pub fn crate_build(self) -> AllocatorSpec {
        match self {
            DebianBuild::Jemalloc => AllocatorSpec::Jemalloc,
            DebianBuild::Mimalloc => AllocatorSpec::Mimalloc,
        }
    }
}

/// The engine's configuration: a CPython version's preset or a custom geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineConfig {
    Preset(Preset),
    Geometry(Geometry),
}

/// The engine preset modelling CPython `v`.
pub fn preset_of(v: PyVersion) -> Preset {
    Preset::for_python(v.name()).expect("every supported Python version has a preset")
}

impl AllocatorSpec {
    /// The canonical name (`Display`).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// What this allocator is for a workload of Python `v`: bare `pymalloc` becomes the
    /// engine preset of `v`; everything else names one allocator already.
    pub fn resolve(&self, v: PyVersion) -> AllocatorSpec {
        match self {
            AllocatorSpec::Pymalloc => AllocatorSpec::Engine(EngineConfig::Preset(preset_of(v))),
            other => other.clone(),
        }
    }

    /// True for the engine and the real obmalloc: allocators that, like CPython's pymalloc,
    /// serve the MEM and OBJ domains only (RAW stays with the system allocator).
    pub fn is_pymalloc_like(&self) -> bool {
        matches!(
            self,
            AllocatorSpec::Pymalloc | AllocatorSpec::Engine(_) | AllocatorSpec::Cpython(_)
        )
    }

    /// [`Self::is_pymalloc_like`] for an allocator named in a results file (where allocators
    /// are kept by name); false for a name this pybench does not parse.
    pub fn named_pymalloc_like(name: &str) -> bool {
        name.parse::<AllocatorSpec>()
            .is_ok_and(|s| s.is_pymalloc_like())
    }

    /// True for pymalloc in any form (the engine, per workload or fixed): the reference the
    /// summary's relative figures are computed against.
    pub fn is_engine(&self) -> bool {
        matches!(self, AllocatorSpec::Pymalloc | AllocatorSpec::Engine(_))
    }

    /// True for an engine preset named by its Python version (`pymalloc:cpython-3.11`, what
    /// a bare `pymalloc` becomes), false for a custom geometry and the bare name itself.
    pub fn is_engine_preset(&self) -> bool {
        matches!(self, AllocatorSpec::Engine(EngineConfig::Preset(_)))
    }

    /// The CPython version of a `cpython:3.X` allocator.
    pub fn cpython_version(&self) -> Option<PyVersion> {
        match self {
            AllocatorSpec::Cpython(v) => Some(*v),
            _ => None,
        }
    }

    /// The CPython minor version of a `cpython:3.X` allocator.
    pub fn cpython_minor(&self) -> Option<u8> {
        self.cpython_version().map(minor_of)
    }

    /// Test-only allocators, hidden from `list allocators` unless `--all`.
    pub fn is_hidden(&self) -> bool {
        matches!(self, AllocatorSpec::Crash(_))
    }

    /// Allocators that exist only as a library preloaded into a real program.
    pub fn is_exec_only(&self) -> bool {
        matches!(
            self,
            AllocatorSpec::Tcmalloc | AllocatorSpec::Debian(_) | AllocatorSpec::Preload { .. }
        )
    }

    /// The `baseline` allocator measured first in every group of a run.
    pub fn is_null(&self) -> bool {
        matches!(self, AllocatorSpec::Null)
    }

    /// Parses a list of `-a` values, each of which may hold several names separated by
    /// commas. A comma separates names only where a new name starts: the commas inside a
    /// custom geometry (`pymalloc:arena=512K,pool=8K`) belong to it.
    /// Values given but naming nothing (`-a ''`, `-a ,`) are an error, not the default list:
    /// the user meant to name something.
    pub fn parse_list<S: AsRef<str>>(values: &[S]) -> Result<Vec<AllocatorSpec>, AllocError> {
        Self::split_list(values)?
            .iter()
            .map(|n| n.parse())
            .collect()
    }

    /// The names of a list of `-a` values, split as [`parse_list`](Self::parse_list) splits
    /// them, trimmed: for callers that treat each name's error apart. A list naming nothing
    /// is [`AllocError::Empty`]; an empty name beside others (`system,,jemalloc`,
    /// `system,`) is [`AllocError::EmptyName`] — until 2026-12-05 it was dropped without a
    /// word, so a name lost to a typo went unmeasured.
    pub fn split_list<S: AsRef<str>>(values: &[S]) -> Result<Vec<String>, AllocError> {
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            for piece in v.as_ref().split(',') {
                let continues_geometry = ["arena=", "pool=", "keep_spare="]
                    .iter()
                    .any(|k| piece.trim_start().starts_with(k));
                // Only within one `-a` value: `-a pymalloc:arena=512K -a pool=8K` was
                // joined into one allocator (until 2026-12-07), so a second flag's stray
                // key silently changed the first's geometry.
                match names.last_mut() {
                    Some((last, at))
                        if continues_geometry && last.starts_with("pymalloc:") && *at == i =>
                    {
                        last.push(',');
                        last.push_str(piece);
                    }
                    _ => names.push((piece.to_string(), i)),
                }
            }
        }
        if !values.is_empty() && names.iter().all(|(n, _)| n.trim().is_empty()) {
            return Err(AllocError::Empty);
        }
        if let Some((_, i)) = names.iter().find(|(n, _)| n.trim().is_empty()) {
            return Err(AllocError::EmptyName {
                value: values[*i].as_ref().to_string(),
            });
        }
        Ok(names
            .into_iter()
            .map(|(n, _)| n.trim().to_string())
            .collect())
    }
}

fn minor_of(v: PyVersion) -> u8 {
    v.name()[2..].parse().expect("3.X")
}

impl FromStr for AllocatorSpec {
    type Err = AllocError;

    fn from_str(s: &str) -> Result<Self, AllocError> {
        let bad = |reason: String| AllocError::BadArgument {
            name: s.to_string(),
            reason,
        };
        let (head, arg) = match s.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (s, None),
        };
        Ok(match (head, arg) {
            ("system", None) => AllocatorSpec::System,
            ("jemalloc", None) => AllocatorSpec::Jemalloc,
            ("mimalloc", None) => AllocatorSpec::Mimalloc,
            ("snmalloc", None) => AllocatorSpec::Snmalloc,
            ("tcmalloc", None) => AllocatorSpec::Tcmalloc,
            ("jemalloc@debian", None) => AllocatorSpec::Debian(DebianBuild::Jemalloc),
            ("mimalloc@debian", None) => AllocatorSpec::Debian(DebianBuild::Mimalloc),
            ("null", None) => AllocatorSpec::Null,
            ("pymalloc", None) => AllocatorSpec::Pymalloc,
            ("pymalloc", Some(a)) => AllocatorSpec::Engine(match a.parse::<Preset>() {
                Ok(p) => EngineConfig::Preset(p),
                Err(_) => {
                    EngineConfig::Geometry(a.parse::<Geometry>().map_err(|e| bad(e.to_string()))?)
                }
            }),
            ("cpython", None) => {
                return Err(bad("name the version: cpython:3.8 … cpython:3.13".into()))
            }
            ("cpython", Some(v)) => AllocatorSpec::Cpython(cpython_version(v).map_err(bad)?),
            ("test-crash", None) => AllocatorSpec::Crash(CrashAllocator::DEFAULT_CALLS),
            ("test-crash", Some(n)) => AllocatorSpec::Crash(
                n.parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("`{n}` is not a call count ≥ 1")))?,
            ),
            // `--preload NAME=PATH`, also accepted as an `-a` name by exec and validate.
            _ => preload(s).ok_or_else(|| AllocError::Unknown {
                name: s.to_string(),
            })?,
        })
    }
}

/// The version of a `cpython:VERSION` spec, one pybench drives (3.8 … 3.13), or why not.
fn cpython_version(v: &str) -> Result<PyVersion, String> {
    let minor = v
        .strip_prefix("3.")
        .and_then(|m| m.parse::<u8>().ok())
        .ok_or_else(|| format!("`{v}` is not a version like 3.11"))?;
    if !SUPPORTED_MINORS.contains(&minor) {
        return Err("pybench drives CPython 3.8 … 3.13".into());
    }
    v.parse()
}

/// A `NAME=PATH` preload spec, if `s` is one.
fn preload(s: &str) -> Option<AllocatorSpec> {
    let (name, path) = s.split_once('=')?;
    (is_preload_name(name) && !path.is_empty()).then(|| AllocatorSpec::Preload {
        name: name.to_string(),
        path: PathBuf::from(path),
    })
}

/// A preload's name: a plain word, so it can never be mistaken for another spec.
fn is_preload_name(name: &str) -> bool {
    !name.is_empty()
        && !["arena", "pool", "keep_spare"].contains(&name)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl fmt::Display for AllocatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocatorSpec::System => f.write_str("system"),
            AllocatorSpec::Jemalloc => f.write_str("jemalloc"),
            AllocatorSpec::Mimalloc => f.write_str("mimalloc"),
            AllocatorSpec::Snmalloc => f.write_str("snmalloc"),
            AllocatorSpec::Tcmalloc => f.write_str("tcmalloc"),
            AllocatorSpec::Debian(b) => write!(f, "{}@debian", b.crate_build()),
            AllocatorSpec::Pymalloc => f.write_str("pymalloc"),
            AllocatorSpec::Engine(EngineConfig::Preset(p)) => write!(f, "pymalloc:{p}"),
            AllocatorSpec::Engine(EngineConfig::Geometry(g)) => write!(f, "pymalloc:{g}"),
            AllocatorSpec::Cpython(v) => write!(f, "cpython:{}", v.name()),
            AllocatorSpec::Null => f.write_str("null"),
            AllocatorSpec::Crash(n) => write!(f, "test-crash:{n}"),
            AllocatorSpec::Preload { name, path } => write!(f, "{name}={}", path.display()),
        }
    }
}

/// Serialised as its name, so cell specs and results files stay readable.
impl serde::Serialize for AllocatorSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AllocatorSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_naming_nothing_is_empty_not_an_unknown_name() {
        for empty in [&[""][..], &[","], &[" , ", ""]] {
            let err = AllocatorSpec::parse_list(empty).unwrap_err();
            assert!(matches!(err, AllocError::Empty), "{empty:?}: {err}");
            assert!(err.to_string().starts_with("no allocator named"), "{err}");
        }
    }

    #[test]
    fn names_round_trip_through_display() {
        for name in [
            "system",
            "jemalloc",
            "pymalloc",
            "pymalloc:cpython-3.8",
            "cpython:3.12",
            "null",
            "test-crash:7",
            "tcmalloc",
            "jemalloc@debian",
            "mimalloc@debian",
            "mine=/opt/lib/libmine.so",
        ] {
            let spec: AllocatorSpec = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(spec.to_string(), name);
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<AllocatorSpec>(&json).unwrap(), spec);
        }
    }

    #[test]
    fn bare_pymalloc_resolves_to_the_workloads_preset() {
        let spec: AllocatorSpec = "pymalloc".parse().unwrap();
        assert_eq!(
            spec.resolve(PyVersion::V3_9).to_string(),
            "pymalloc:cpython-3.9"
        );
        let fixed: AllocatorSpec = "pymalloc:cpython-3.12".parse().unwrap();
        assert_eq!(fixed.resolve(PyVersion::V3_9), fixed);
        assert_eq!(
            AllocatorSpec::System.resolve(PyVersion::V3_8),
            AllocatorSpec::System
        );
    }

    #[test]
    fn lists_split_only_where_a_new_name_starts() {
        let specs = AllocatorSpec::parse_list(&[
            "system,pymalloc:arena=512K,pool=8K,jemalloc",
            "pymalloc:arena=1M,pool=16K,keep_spare=false",
        ])
        .unwrap();
        let names: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(names[0], "system");
        assert!(matches!(
            specs[1],
            AllocatorSpec::Engine(EngineConfig::Geometry(_))
        ));
        assert_eq!(names[2], "jemalloc");
        assert!(matches!(
            specs[3],
            AllocatorSpec::Engine(EngineConfig::Geometry(_))
        ));
        // A stray geometry key with nothing to continue is refused, not ignored; nor does a
        // key in another -a value continue the previous value's geometry.
        assert!(AllocatorSpec::parse_list(&["arena=1M"]).is_err());
        assert!(AllocatorSpec::parse_list(&["pymalloc:arena=512K", "pool=8K"]).is_err());
    }
}
