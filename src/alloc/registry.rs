//! Allocator names as the command line spells them, and what each one turns into.
//!
//! The names themselves are [`AllocatorSpec`] (spec.rs); this file says, for each, whether it
//! is available here ([`AllocatorSpec::availability`]) and builds it in process
//! ([`AllocatorSpec::visit`]). Exec-only allocators (tcmalloc, `NAME=PATH`) are built by
//! `exec/contender.rs` instead and are unavailable to a replay.
//!
//! The default set (no allocator named) is every allocator that is available here, including
//! **every** `cpython:3.X` whose libpython is found: a run then compares all installed
//! interpreters with the engine presets, and a user who wants fewer names them. Unavailable
//! ones are skipped with a one-line reason; an unavailable allocator that was named is an
//! error before anything is measured ([`select`]).

use super::libpython::{self, SUPPORTED_MINORS};
pub use super::spec::{AllocatorSpec, DebianBuild, EngineConfig, VALID_NAMES};
use super::{
    Allocator, AllocatorVisitor, CpythonAllocator, CpythonError, CrashAllocator, NullAllocator,
    PymallocAllocator, SystemAllocator,
};
use crate::workload::PyVersion;
use std::path::PathBuf;

/// Settings that affect how allocators are found.
#[derive(Debug, Clone, Default)]
pub struct AllocOptions {
    /// `--libpython PATH`: the library to use for the `cpython:3.X` of its version.
    pub libpython: Option<PathBuf>,
}

/// User-facing errors about allocator names (exit code 2 on the command line).
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    #[error(
        "unknown allocator `{name}`{}; valid names: {}",
        crate::suggest::did_you_mean(.name, suggestable(|_| true).iter().map(String::as_str)),
        VALID_NAMES
    )]
    Unknown { name: String },
    /// `-a ''`, `-a ,`: names given, none of them an allocator.
    #[error("no allocator named (the list is empty); valid names: {}", VALID_NAMES)]
    Empty,
    /// `-a system,,jemalloc`, `-a system,`: an empty name beside others, a typo to be
    /// refused rather than dropped.
    #[error("{}", empty_name(.value))]
    EmptyName { value: String },
    #[error("bad allocator `{name}`: {reason}")]
    BadArgument { name: String, reason: String },
    #[error("allocator {name} is not available: {reason}")]
    Unavailable { name: String, reason: String },
    #[error(transparent)]
    Cpython(#[from] CpythonError),
    #[error("cannot map the null allocator's scratch area: {0}")]
    Null(std::io::Error),
}

/// The message of [`AllocError::EmptyName`]: the value quoted where it shows the stray comma,
/// said in words where it is all blank (two backticks would show nothing).
fn empty_name(value: &str) -> String {
    if value.trim().is_empty() {
        "an empty allocator name beside the others: leave it out, or name an allocator".into()
    } else {
        format!(
            "an empty allocator name in `{value}` (two commas in a row, or one at an end): \
             name an allocator between every two commas"
        )
    }
}

/// What `pybench list allocators` shows for one allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub version: Option<String>,
    /// `Ok` with a note (e.g. the library path), or the one-line reason it is unavailable.
    pub status: Result<String, String>,
}

/// The allocators of a run, and those skipped with their reasons.
#[derive(Debug)]
pub struct Selection {
    pub specs: Vec<AllocatorSpec>,
    pub skipped: Vec<(AllocatorSpec, String)>,
}

/// `Err(reason)` for a C allocator whose cargo feature was off at build time.
#[cfg(not(all(feature = "jemalloc", feature = "mimalloc", feature = "snmalloc")))]
fn feature_off(feature: &str) -> String {
    format!("not built (feature `{feature}` off)")
}

/// Availability of a C allocator left out of this build.
#[cfg(not(all(feature = "jemalloc", feature = "mimalloc", feature = "snmalloc")))]
fn off(feature: &str) -> Availability {
    Availability {
        version: None,
        status: Err(feature_off(feature)),
    }
}

impl AllocatorSpec {
    /// Version and availability, without building anything. For `cpython:3.X` this finds the
    /// library and reads its version, but does not initialise it.
    pub fn availability(&self, opts: &AllocOptions) -> Availability {
        let ok = |version: String| Availability {
            version: Some(version),
            status: Ok(String::new()),
        };
        match self {
            AllocatorSpec::System => ok(SystemAllocator::library_version()),
            #[cfg(feature = "jemalloc")]
            AllocatorSpec::Jemalloc => ok(super::JemallocAllocator::library_version()),
            #[cfg(not(feature = "jemalloc"))]
            AllocatorSpec::Jemalloc => off("jemalloc"),
            #[cfg(feature = "mimalloc")]
            AllocatorSpec::Mimalloc => ok(super::MimallocAllocator::library_version()),
            #[cfg(not(feature = "mimalloc"))]
            AllocatorSpec::Mimalloc => off("mimalloc"),
            #[cfg(feature = "snmalloc")]
            AllocatorSpec::Snmalloc => ok(super::SnmallocAllocator::library_version()),
            #[cfg(not(feature = "snmalloc"))]
            AllocatorSpec::Snmalloc => off("snmalloc"),
            AllocatorSpec::Pymalloc
            | AllocatorSpec::Engine(_)
            | AllocatorSpec::Null
            | AllocatorSpec::Crash(_) => ok(format!("pybench {}", env!("CARGO_PKG_VERSION"))),
            AllocatorSpec::Tcmalloc | AllocatorSpec::Debian(_) | AllocatorSpec::Preload { .. } => {
                Availability {
                    version: None,
                    status: Err(EXEC_ONLY.to_string()),
                }
            }
            AllocatorSpec::Cpython(v) => {
                match libpython::find(minor(*v), opts.libpython.as_deref()) {
                    Ok(found) => Availability {
                        version: Some(format!("CPython {}", found.version)),
                        status: Ok(found.path.display().to_string()),
                    },
                    Err(reason) => Availability {
                        version: None,
                        status: Err(reason),
                    },
                }
            }
        }
    }

    /// Builds the allocator behind a virtual call per operation.
    pub fn build(&self, opts: &AllocOptions) -> Result<Box<dyn Allocator>, AllocError> {
        struct Boxer;
        impl AllocatorVisitor for Boxer {
            type Output = Box<dyn Allocator>;
            fn visit<A: Allocator + 'static>(self, a: A) -> Box<dyn Allocator> {
                Box::new(a)
            }
        }
        self.visit(opts, Boxer)
    }

    /// Builds the allocator and hands it to `visitor` as its concrete type, so the visitor's
    /// code is monomorphised (and the allocator's fast path inlined) per allocator.
    pub fn visit<V: AllocatorVisitor>(
        &self,
        opts: &AllocOptions,
        visitor: V,
    ) -> Result<V::Output, AllocError> {
        let unavailable = |reason: String| AllocError::Unavailable {
            name: self.name(),
            reason,
        };
        Ok(match self {
            // Without a workload, `pymalloc` is the preset of the specs' default Python.
            AllocatorSpec::Pymalloc => {
                return self.resolve(PyVersion::V3_11).visit(opts, visitor);
            }
            AllocatorSpec::Tcmalloc | AllocatorSpec::Debian(_) | AllocatorSpec::Preload { .. } => {
                return Err(unavailable(EXEC_ONLY.to_string()))
            }
            AllocatorSpec::System => visitor.visit(SystemAllocator),
            #[cfg(feature = "jemalloc")]
            AllocatorSpec::Jemalloc => visitor.visit(super::JemallocAllocator),
            #[cfg(feature = "mimalloc")]
            AllocatorSpec::Mimalloc => visitor.visit(super::MimallocAllocator),
            #[cfg(feature = "snmalloc")]
            AllocatorSpec::Snmalloc => visitor.visit(super::SnmallocAllocator),
            #[cfg(not(all(feature = "jemalloc", feature = "mimalloc", feature = "snmalloc")))]
            AllocatorSpec::Jemalloc | AllocatorSpec::Mimalloc | AllocatorSpec::Snmalloc => {
                return Err(unavailable(feature_off(&self.name())))
            }
            AllocatorSpec::Engine(EngineConfig::Preset(p)) => {
                visitor.visit(PymallocAllocator::from_preset(*p))
            }
            AllocatorSpec::Engine(EngineConfig::Geometry(g)) => {
                visitor.visit(PymallocAllocator::new(*g))
            }
            AllocatorSpec::Cpython(v) => {
                let found =
                    libpython::find(minor(*v), opts.libpython.as_deref()).map_err(unavailable)?;
                visitor.visit(CpythonAllocator::load(&found, minor(*v))?)
            }
            AllocatorSpec::Null => visitor.visit(NullAllocator::new().map_err(AllocError::Null)?),
            AllocatorSpec::Crash(n) => visitor.visit(CrashAllocator::new(*n)),
        })
    }
}

/// Why an exec-only allocator cannot be replayed.
pub const EXEC_ONLY: &str =
    "exec only: preloaded into a real program (pybench exec / validate), no in-process replay";

fn minor(v: PyVersion) -> u8 {
    AllocatorSpec::Cpython(v)
        .cpython_minor()
        .expect("a cpython spec")
}

/// Every allocator `pybench list allocators` shows: the named kinds, `pymalloc` (per
/// workload), each engine preset, each supported `cpython:3.X`, `null`, the hidden
/// `test-crash`, and the exec-only `tcmalloc`, `jemalloc@debian`, `mimalloc@debian`.
pub fn all() -> Vec<AllocatorSpec> {
    let mut specs = vec![
        AllocatorSpec::System,
        AllocatorSpec::Jemalloc,
        AllocatorSpec::Mimalloc,
        AllocatorSpec::Snmalloc,
        AllocatorSpec::Pymalloc,
    ];
    specs.extend(
        crate::pymalloc::Preset::ALL.map(|p| AllocatorSpec::Engine(EngineConfig::Preset(p))),
    );
    debug_assert_eq!(SUPPORTED_MINORS.len(), PyVersion::ALL.len());
    specs.extend(PyVersion::ALL.map(AllocatorSpec::Cpython));
    specs.push(AllocatorSpec::Null);
    specs.push(AllocatorSpec::Crash(CrashAllocator::DEFAULT_CALLS));
    specs.push(AllocatorSpec::Tcmalloc);
    specs.extend(DebianBuild::ALL.map(AllocatorSpec::Debian));
    specs
}

/// The names a mistyped allocator is matched against ([`crate::suggest::did_you_mean`]):
/// those of [`all`] that `keep` accepts, never the hidden test allocator.
pub fn suggestable(keep: impl Fn(&AllocatorSpec) -> bool) -> Vec<String> {
    all()
        .iter()
        .filter(|s| !matches!(s, AllocatorSpec::Crash(_)) && keep(s))
        .map(AllocatorSpec::name)
        .collect()
}

/// The allocators of a run. With no names: every available allocator of [`all`] except
/// `null` (the harness measures it separately as its baseline), the fixed engine presets
/// (`pymalloc` stands for them), the hidden and the exec-only ones; the unavailable ones are
/// skipped with their reason. With names: each must parse and be available, else the
/// whole selection is an error, before anything is measured.
pub fn select(requested: &[String], opts: &AllocOptions) -> Result<Selection, AllocError> {
    select_specs(&AllocatorSpec::parse_list(requested)?, opts)
}

/// [`select`] of allocators already parsed.
pub fn select_specs(
    requested: &[AllocatorSpec],
    opts: &AllocOptions,
) -> Result<Selection, AllocError> {
    select_by(requested, |spec| spec.availability(opts).status)
}

/// [`select`] with the availability check passed in, so its rules are testable on any machine.
fn select_by(
    requested: &[AllocatorSpec],
    available: impl Fn(&AllocatorSpec) -> Result<String, String>,
) -> Result<Selection, AllocError> {
    let mut selection = Selection {
        specs: Vec::new(),
        skipped: Vec::new(),
    };
    if requested.is_empty() {
        for spec in all().into_iter().filter(|s| {
            !s.is_hidden()
                && !s.is_null()
                && !s.is_exec_only()
                && !matches!(s, AllocatorSpec::Engine(_))
        }) {
            match available(&spec) {
                Ok(_) => selection.specs.push(spec),
                Err(reason) => selection.skipped.push((spec, reason)),
            }
        }
        return Ok(selection);
    }
    for spec in requested.iter().cloned() {
        if let Err(reason) = available(&spec) {
            return Err(AllocError::Unavailable {
                name: spec.name(),
                reason,
            });
        }
        selection.specs.push(spec);
    }
    Ok(selection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_parse_to_canonical_names() {
        for (given, canonical) in [
            ("system", "system"),
            ("jemalloc", "jemalloc"),
            ("mimalloc", "mimalloc"),
            ("snmalloc", "snmalloc"),
            ("pymalloc", "pymalloc"),
            ("pymalloc:cpython-3.8", "pymalloc:cpython-3.8"),
            ("cpython:3.9", "cpython:3.9"),
            ("cpython:3.13", "cpython:3.13"),
            ("null", "null"),
            ("test-crash", "test-crash:1000"),
            ("test-crash:7", "test-crash:7"),
        ] {
            let spec: AllocatorSpec = given.parse().unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(spec.name(), canonical);
        }
        let custom: AllocatorSpec = "pymalloc:arena=512K,pool=8K".parse().unwrap();
        assert!(
            custom.name().starts_with("pymalloc:arena="),
            "{}",
            custom.name()
        );
        assert_eq!(custom.name().parse::<AllocatorSpec>().unwrap(), custom);
    }

    #[test]
    fn names_in_results_tell_the_pymalloc_like_apart() {
        for name in [
            "pymalloc",
            "pymalloc:cpython-3.11",
            "pymalloc:arena=512K,pool=8K",
        ] {
            assert!(AllocatorSpec::named_pymalloc_like(name), "{name}");
        }
        assert!(AllocatorSpec::named_pymalloc_like("cpython:3.12"));
        for name in [
            "system", "jemalloc", "mimalloc", "snmalloc", "null", "hoard", "",
        ] {
            assert!(!AllocatorSpec::named_pymalloc_like(name), "{name}");
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "hoard".parse::<AllocatorSpec>().unwrap_err();
        assert!(matches!(err, AllocError::Unknown { .. }));
        let msg = err.to_string();
        for name in [
            "system",
            "jemalloc",
            "mimalloc",
            "snmalloc",
            "pymalloc",
            "cpython:3.X",
        ] {
            assert!(msg.contains(name), "{msg}");
        }
        assert!("system:1".parse::<AllocatorSpec>().is_err());
        assert!(
            !msg.contains("did you mean"),
            "nothing is near `hoard`: {msg}"
        );
    }

    #[test]
    fn a_mistyped_name_is_answered_with_the_nearest_one() {
        for (typed, meant) in [
            ("jemaloc", "jemalloc"),
            ("Mimalloc", "mimalloc"),
            ("cpyhton:3.12", "cpython:3.12"),
        ] {
            let msg = typed.parse::<AllocatorSpec>().unwrap_err().to_string();
            assert!(msg.contains(&format!("(did you mean `{meant}`?)")), "{msg}");
        }
    }

    #[test]
    fn bad_arguments_say_why() {
        for bad in [
            "cpython",
            "cpython:2.7",
            "cpython:3.7",
            "cpython:3.x",
            "pymalloc:arena=3K",
            "pymalloc:nonsense",
            "test-crash:0",
            "test-crash:many",
        ] {
            let err = bad.parse::<AllocatorSpec>().unwrap_err();
            assert!(
                matches!(err, AllocError::BadArgument { .. }),
                "{bad}: {err}"
            );
        }
    }

    /// Pretends no libpython 3.9 exists: named, it stops the run; by default, it is skipped.
    fn no_39(spec: &AllocatorSpec) -> Result<String, String> {
        match spec {
            AllocatorSpec::Cpython(PyVersion::V3_9) => {
                Err("no libpython3.9.so found (looked in x); pass --libpython PATH".into())
            }
            _ => Ok(String::new()),
        }
    }

    #[test]
    fn explicit_unavailable_allocator_is_an_error() {
        let specs = AllocatorSpec::parse_list(&["system", "cpython:3.9"]).unwrap();
        let err = select_by(&specs, no_39).unwrap_err();
        assert!(matches!(err, AllocError::Unavailable { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("cpython:3.9") && msg.contains("pass --libpython PATH"),
            "{msg}"
        );
    }

    #[test]
    fn default_set_skips_the_unavailable_with_a_reason() {
        let sel = select_by(&[], no_39).unwrap();
        let names: Vec<String> = sel.specs.iter().map(|s| s.name()).collect();
        assert_eq!(
            names[..5],
            ["system", "jemalloc", "mimalloc", "snmalloc", "pymalloc"]
        );
        assert!(names.contains(&"cpython:3.11".to_string()));
        assert!(!names
            .iter()
            .any(|n| n == "null" || n.starts_with("test-crash") || n == "tcmalloc"));
        assert!(!sel
            .specs
            .iter()
            .any(|s| matches!(s, AllocatorSpec::Engine(_))));
        assert_eq!(sel.skipped.len(), 1);
        assert_eq!(sel.skipped[0].0.name(), "cpython:3.9");
        assert!(!sel.skipped[0].1.contains('\n'));
    }

    #[test]
    fn unknown_name_in_selection_fails_before_anything_else() {
        // As `select` does it: every name is parsed before any library is probed.
        let err = AllocatorSpec::parse_list(&["system", "bogus"])
            .and_then(|specs| select_by(&specs, |_| panic!("nothing is probed")));
        assert!(matches!(err, Err(AllocError::Unknown { .. })));
    }

    #[test]
    fn built_allocators_carry_their_names() {
        let opts = AllocOptions::default();
        for name in ["system", "pymalloc:cpython-3.9", "null", "test-crash:50"] {
            let spec: AllocatorSpec = name.parse().unwrap();
            assert_eq!(spec.build(&opts).unwrap().name(), name);
        }
    }
}
