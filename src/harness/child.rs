//! The child side of the one-process-per-cell protocol: the binary re-executes itself as
//! `pybench __cell SPEC-JSON`, measures the cell, and prints its `CellResult` as one JSON line
//! on stdout. A crash, abort or hang loses only this process; the parent reports the cell as
//! failed.

use super::cell::{measure, CellSpec, Input};
use crate::alloc::{AllocOptions, Allocator, AllocatorSpec, AllocatorVisitor};
use crate::report::model::CellResult;

/// Name of the hidden subcommand.
pub const CELL_SUBCOMMAND: &str = "__cell";

/// Measures the cell with the allocator the registry builds, as its concrete type, so every
/// allocator gets its own monomorphised replay loop.
struct Measure<'a> {
    spec: &'a CellSpec,
    input: &'a mut Input,
    raw_to_system: bool,
}

impl AllocatorVisitor for Measure<'_> {
    type Output = anyhow::Result<CellResult>;
    fn visit<A: Allocator + 'static>(self, mut a: A) -> Self::Output {
        measure(self.spec, self.input, &mut a, self.raw_to_system)
    }
}

/// Runs one cell in this process and prints its result line. Errors go to stderr; the exit
/// code tells the parent the cell failed.
pub fn main(spec_json: &str) -> anyhow::Result<()> {
    // From here on the harness's own allocations stay out of the system allocator's heap.
    super::heap::HarnessHeap::activate();
    let spec: CellSpec = serde_json::from_str(spec_json)?;
    let allocator: &AllocatorSpec = &spec.allocator;
    let opts = AllocOptions {
        libpython: spec.libpython.clone(),
    };
    let (mut input, how) = Input::prepare(&spec)?;
    // RAW-domain events go to glibc when the allocator stands for pymalloc (CPython's RAW
    // domain is never pymalloc's); any other allocator replaces all three domains, as
    // PYTHONMALLOC=malloc with a preloaded allocator does.
    let raw_to_system = allocator.is_pymalloc_like();
    let visitor = Measure {
        spec: &spec,
        input: &mut input,
        raw_to_system,
    };
    let mut cell = allocator.visit(&opts, visitor)??;
    cell.notes.push(format!("memory and latency: {how}"));
    println!("{}", serde_json::to_string(&cell)?);
    Ok(())
}
