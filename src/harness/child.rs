//! The child side of the one-process-per-cell protocol: the binary re-executes itself as
//! `pybench __cell SPEC-JSON`, measures the cell, and prints its `CellResult` as one JSON line
//! on stdout. A crash, abort or hang loses only this process; the parent reports the cell as
//! failed.

use super::cell::{materialize, measure, CellSpec};
use crate::alloc::{Allocator, PymallocAllocator, SystemAllocator};
use crate::pymalloc::{Geometry, Preset};
use crate::report::model::CellResult;

/// Name of the hidden subcommand.
pub const CELL_SUBCOMMAND: &str = "__cell";

/// Something to do with an allocator of whatever concrete type the name selects, so each
/// allocator gets its own monomorphised replay loop.
pub trait WithAllocator {
    type Output;
    fn run<A: Allocator>(self, a: &mut A, raw_to_system: bool) -> Self::Output;
}

/// Builds the allocator named `name` and hands it to `job`. RAW-domain events go to the
/// system allocator for pymalloc-style allocators, as in CPython (pymalloc serves only MEM
/// and OBJ); every other allocator replaces all three domains, as `PYTHONMALLOC=malloc`
/// with a preloaded allocator does.
pub fn with_allocator<J: WithAllocator>(name: &str, job: J) -> anyhow::Result<J::Output> {
    let (kind, arg) = name.split_once(':').unwrap_or((name, ""));
    match kind {
        "system" if arg.is_empty() => Ok(job.run(&mut SystemAllocator, false)),
        "pymalloc" => {
            let mut a = if arg.is_empty() {
                PymallocAllocator::from_preset(Preset::Cpython311)
            } else if let Ok(p) = arg.parse::<Preset>() {
                PymallocAllocator::from_preset(p)
            } else {
                PymallocAllocator::new(arg.parse::<Geometry>()?)
            };
            Ok(job.run(&mut a, true))
        }
        _ => anyhow::bail!("unknown allocator `{name}`; valid allocators: system, pymalloc, pymalloc:PRESET, pymalloc:GEOMETRY"),
    }
}

struct Measure<'a> {
    spec: &'a CellSpec,
    m: &'a super::cell::Materialized,
}

impl WithAllocator for Measure<'_> {
    type Output = anyhow::Result<CellResult>;
    fn run<A: Allocator>(self, a: &mut A, raw_to_system: bool) -> Self::Output {
        measure(self.spec, self.m, a, raw_to_system)
    }
}

/// Runs one cell in this process and prints its result line. Errors go to stderr; the exit
/// code tells the parent the cell failed.
pub fn main(spec_json: &str) -> anyhow::Result<()> {
    let spec: CellSpec = serde_json::from_str(spec_json)?;
    let m = materialize(&spec)?;
    let cell = with_allocator(&spec.allocator, Measure { spec: &spec, m: &m })??;
    println!("{}", serde_json::to_string(&cell)?);
    Ok(())
}

struct Check;

impl WithAllocator for Check {
    type Output = String;
    fn run<A: Allocator>(self, a: &mut A, _raw_to_system: bool) -> String {
        a.name()
    }
}

/// Fails with the reason when `name` is not an allocator this build can run here.
pub fn check_allocator(name: &str) -> anyhow::Result<()> {
    with_allocator(name, Check).map(|_| ())
}

/// The version string of an allocator, for the results manifest.
pub fn allocator_version(name: &str) -> String {
    let (kind, _) = name.split_once(':').unwrap_or((name, ""));
    match kind {
        "system" => crate::sys::procfs::glibc_version()
            .map(|v| format!("glibc {v}"))
            .unwrap_or_else(|| "unknown libc".to_string()),
        "pymalloc" => format!("pybench engine {}", env!("CARGO_PKG_VERSION")),
        _ => "unknown".to_string(),
    }
}
