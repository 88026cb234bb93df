//! Allocator names as the command line spells them, and what each one turns into.
//!
//! `system`, `jemalloc`, `mimalloc`, `snmalloc`, `pymalloc` (engine, preset `cpython-3.11`),
//! `pymalloc:PRESET`, `pymalloc:arena=SIZE,pool=SIZE`, `cpython:3.X` (3.8 – 3.13), `null`,
//! `test-crash[:N]`.
//!
//! The default set (no allocator named) is every allocator that is available here, including
//! **every** `cpython:3.X` whose libpython is found: a run then compares all installed
//! interpreters with the engine presets, and a user who wants fewer names them. Unavailable
//! ones are skipped with a one-line reason; an unavailable allocator that was named is an
//! error before anything is measured ([`select`]).

use super::libpython::{self, SUPPORTED_MINORS};
use super::{
    Allocator, AllocatorVisitor, CpythonAllocator, CpythonError, CrashAllocator, NullAllocator,
    PymallocAllocator, SystemAllocator,
};
use crate::pymalloc::{Geometry, Preset};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Settings that affect how allocators are found.
#[derive(Debug, Clone, Default)]
pub struct AllocOptions {
    /// `--libpython PATH`: the library to use for the `cpython:3.X` of its version.
    pub libpython: Option<PathBuf>,
}

/// User-facing errors about allocator names (exit code 2 on the command line).
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    #[error("unknown allocator `{name}`; valid names: {}", VALID_NAMES)]
    Unknown { name: String },
    #[error("bad allocator `{name}`: {reason}")]
    BadArgument { name: String, reason: String },
    #[error("allocator {name} is not available: {reason}")]
    Unavailable { name: String, reason: String },
    #[error(transparent)]
    Cpython(#[from] CpythonError),
    #[error("cannot map the null allocator's scratch area: {0}")]
    Null(std::io::Error),
}

/// Every name form, for error messages and `--help`.
pub const VALID_NAMES: &str = "system, jemalloc, mimalloc, snmalloc, pymalloc, \
    pymalloc:PRESET (cpython-3.8 … cpython-3.13), pymalloc:arena=SIZE,pool=SIZE, \
    cpython:3.X (3.8 … 3.13), null, test-crash[:N]";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    System,
    Jemalloc,
    Mimalloc,
    Snmalloc,
    Pymalloc(PymallocConfig),
    Cpython(u8),
    Null,
    Crash(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PymallocConfig {
    Preset(Preset),
    Geometry(Geometry),
}

/// A parsed allocator name: cheap, and says nothing yet about whether it can be built here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocatorSpec {
    kind: Kind,
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
    pub skipped: Vec<(String, String)>,
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
        let kind = match (head, arg) {
            ("system", None) => Kind::System,
            ("jemalloc", None) => Kind::Jemalloc,
            ("mimalloc", None) => Kind::Mimalloc,
            ("snmalloc", None) => Kind::Snmalloc,
            ("null", None) => Kind::Null,
            ("pymalloc", None) => Kind::Pymalloc(PymallocConfig::Preset(Preset::Cpython311)),
            ("pymalloc", Some(a)) => Kind::Pymalloc(match a.parse::<Preset>() {
                Ok(p) => PymallocConfig::Preset(p),
                Err(_) => {
                    PymallocConfig::Geometry(a.parse::<Geometry>().map_err(|e| bad(e.to_string()))?)
                }
            }),
            ("cpython", None) => {
                return Err(bad("name the version: cpython:3.8 … cpython:3.13".into()))
            }
            ("cpython", Some(v)) => {
                let minor = v
                    .strip_prefix("3.")
                    .and_then(|m| m.parse::<u8>().ok())
                    .ok_or_else(|| bad(format!("`{v}` is not a version like 3.11")))?;
                if !SUPPORTED_MINORS.contains(&minor) {
                    return Err(bad("pybench drives CPython 3.8 … 3.13".into()));
                }
                Kind::Cpython(minor)
            }
            ("test-crash", None) => Kind::Crash(CrashAllocator::DEFAULT_CALLS),
            ("test-crash", Some(n)) => Kind::Crash(
                n.parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("`{n}` is not a call count ≥ 1")))?,
            ),
            _ => {
                return Err(AllocError::Unknown {
                    name: s.to_string(),
                })
            }
        };
        Ok(AllocatorSpec { kind })
    }
}

impl fmt::Display for AllocatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::System => f.write_str("system"),
            Kind::Jemalloc => f.write_str("jemalloc"),
            Kind::Mimalloc => f.write_str("mimalloc"),
            Kind::Snmalloc => f.write_str("snmalloc"),
            Kind::Pymalloc(PymallocConfig::Preset(p)) => write!(f, "pymalloc:{p}"),
            Kind::Pymalloc(PymallocConfig::Geometry(g)) => write!(f, "pymalloc:{g}"),
            Kind::Cpython(m) => write!(f, "cpython:3.{m}"),
            Kind::Null => f.write_str("null"),
            Kind::Crash(n) => write!(f, "test-crash:{n}"),
        }
    }
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
    /// The canonical name (`pymalloc` → `pymalloc:cpython-3.11`).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// True for the engine and the real obmalloc: allocators that, like CPython's pymalloc,
    /// serve the MEM and OBJ domains only (RAW stays with the system allocator).
    pub fn is_pymalloc_like(&self) -> bool {
        matches!(self.kind, Kind::Pymalloc(_) | Kind::Cpython(_))
    }

    /// The CPython minor version of a `cpython:3.X` allocator.
    pub fn cpython_minor(&self) -> Option<u8> {
        match self.kind {
            Kind::Cpython(m) => Some(m),
            _ => None,
        }
    }

    /// Test-only allocators, hidden from `list allocators` unless `--all`.
    pub fn is_hidden(&self) -> bool {
        matches!(self.kind, Kind::Crash(_))
    }

    /// Version and availability, without building anything. For `cpython:3.X` this finds the
    /// library and reads its version, but does not initialise it.
    pub fn availability(&self, opts: &AllocOptions) -> Availability {
        let ok = |version: String| Availability {
            version: Some(version),
            status: Ok(String::new()),
        };
        match &self.kind {
            Kind::System => ok(SystemAllocator::library_version()),
            #[cfg(feature = "jemalloc")]
            Kind::Jemalloc => ok(super::JemallocAllocator::library_version()),
            #[cfg(not(feature = "jemalloc"))]
            Kind::Jemalloc => off("jemalloc"),
            #[cfg(feature = "mimalloc")]
            Kind::Mimalloc => ok(super::MimallocAllocator::library_version()),
            #[cfg(not(feature = "mimalloc"))]
            Kind::Mimalloc => off("mimalloc"),
            #[cfg(feature = "snmalloc")]
            Kind::Snmalloc => ok(super::SnmallocAllocator::library_version()),
            #[cfg(not(feature = "snmalloc"))]
            Kind::Snmalloc => off("snmalloc"),
            Kind::Pymalloc(_) | Kind::Null | Kind::Crash(_) => {
                ok(format!("pybench {}", env!("CARGO_PKG_VERSION")))
            }
            Kind::Cpython(minor) => match libpython::find(*minor, opts.libpython.as_deref()) {
                Ok(found) => Availability {
                    version: Some(format!("CPython {}", found.version)),
                    status: Ok(found.path.display().to_string()),
                },
                Err(reason) => Availability {
                    version: None,
                    status: Err(reason),
                },
            },
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
        Ok(match &self.kind {
            Kind::System => visitor.visit(SystemAllocator),
            #[cfg(feature = "jemalloc")]
            Kind::Jemalloc => visitor.visit(super::JemallocAllocator),
            #[cfg(feature = "mimalloc")]
            Kind::Mimalloc => visitor.visit(super::MimallocAllocator),
            #[cfg(feature = "snmalloc")]
            Kind::Snmalloc => visitor.visit(super::SnmallocAllocator),
            #[cfg(not(all(feature = "jemalloc", feature = "mimalloc", feature = "snmalloc")))]
            Kind::Jemalloc | Kind::Mimalloc | Kind::Snmalloc => {
                return Err(unavailable(feature_off(&self.name())))
            }
            Kind::Pymalloc(PymallocConfig::Preset(p)) => {
                visitor.visit(PymallocAllocator::from_preset(*p))
            }
            Kind::Pymalloc(PymallocConfig::Geometry(g)) => {
                visitor.visit(PymallocAllocator::new(*g))
            }
            Kind::Cpython(minor) => {
                let found =
                    libpython::find(*minor, opts.libpython.as_deref()).map_err(unavailable)?;
                visitor.visit(CpythonAllocator::load(&found, *minor)?)
            }
            Kind::Null => visitor.visit(NullAllocator::new().map_err(AllocError::Null)?),
            Kind::Crash(n) => visitor.visit(CrashAllocator::new(*n)),
        })
    }
}

/// Every allocator `pybench list allocators` shows: the named kinds, `pymalloc` with its
/// default preset, each supported `cpython:3.X`, `null`, and the hidden `test-crash`.
pub fn all() -> Vec<AllocatorSpec> {
    let mut specs: Vec<AllocatorSpec> = ["system", "jemalloc", "mimalloc", "snmalloc", "pymalloc"]
        .iter()
        .map(|n| n.parse().expect("built-in names parse"))
        .collect();
    specs.extend(SUPPORTED_MINORS.map(|m| AllocatorSpec {
        kind: Kind::Cpython(m),
    }));
    specs.push(AllocatorSpec { kind: Kind::Null });
    specs.push(AllocatorSpec {
        kind: Kind::Crash(CrashAllocator::DEFAULT_CALLS),
    });
    specs
}

/// The allocators of a run. With no names: every available allocator of [`all`] except
/// `null` (the harness measures it separately as its baseline) and the hidden ones, the
/// others skipped with their reason. With names: each must parse and be available, else the
/// whole selection is an error, before anything is measured.
pub fn select(requested: &[String], opts: &AllocOptions) -> Result<Selection, AllocError> {
    select_by(requested, |spec| spec.availability(opts).status)
}

/// [`select`] with the availability check passed in, so its rules are testable on any machine.
fn select_by(
    requested: &[String],
    available: impl Fn(&AllocatorSpec) -> Result<String, String>,
) -> Result<Selection, AllocError> {
    let mut selection = Selection {
        specs: Vec::new(),
        skipped: Vec::new(),
    };
    if requested.is_empty() {
        for spec in all()
            .into_iter()
            .filter(|s| !s.is_hidden() && s.kind != Kind::Null)
        {
            match available(&spec) {
                Ok(_) => selection.specs.push(spec),
                Err(reason) => selection.skipped.push((spec.name(), reason)),
            }
        }
        return Ok(selection);
    }
    // Parse every name first: a typo anywhere is reported before any library is probed.
    let specs = requested
        .iter()
        .map(|n| n.parse())
        .collect::<Result<Vec<AllocatorSpec>, _>>()?;
    for spec in specs {
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
            ("pymalloc", "pymalloc:cpython-3.11"),
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
    fn unknown_names_list_the_valid_ones() {
        let err = "tcmalloc".parse::<AllocatorSpec>().unwrap_err();
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
        match spec.kind {
            Kind::Cpython(9) => {
                Err("no libpython3.9.so found (looked in x); pass --libpython PATH".into())
            }
            _ => Ok(String::new()),
        }
    }

    #[test]
    fn explicit_unavailable_allocator_is_an_error() {
        let err = select_by(&["system".into(), "cpython:3.9".into()], no_39).unwrap_err();
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
            [
                "system",
                "jemalloc",
                "mimalloc",
                "snmalloc",
                "pymalloc:cpython-3.11"
            ]
        );
        assert!(names.contains(&"cpython:3.11".to_string()));
        assert!(!names
            .iter()
            .any(|n| n == "null" || n.starts_with("test-crash")));
        assert_eq!(sel.skipped.len(), 1);
        assert_eq!(sel.skipped[0].0, "cpython:3.9");
        assert!(!sel.skipped[0].1.contains('\n'));
    }

    #[test]
    fn unknown_name_in_selection_fails_before_anything_else() {
        let err = select_by(&["system".into(), "bogus".into()], |_| {
            panic!("nothing is probed")
        });
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
