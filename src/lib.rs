//! pybench: which allocator serves Python-shaped allocation best, and by how much.
//!
//! The library is usable without the command line:
//! - [`pymalloc`]: a faithful Rust model of CPython's small-object allocator (obmalloc),
//!   with presets for CPython 3.8 – 3.13, its `sys._debugmallocstats()` accounting, and a
//!   locked wrapper usable as a Rust `#[global_allocator]`. Start at
//!   [`Pymalloc`](pymalloc::Pymalloc).
//! - [`workload`]: the built-in and user-written workloads as event streams
//!   ([`Workload`](workload::Workload), [`Event`](workload::Event)).
//! - [`trace`]: trace files, read with [`TraceReader`](trace::TraceReader) and written with
//!   [`TraceWriter`](trace::TraceWriter), in constant memory.
//!
//! The examples below are the README's ("Using the engine as a library"); a test keeps the
//! two the same, and these run as doctests.
//!
//! An engine of CPython 3.9's geometry, one block, and the accounting:
//!
//! ```
//! use pybench::pymalloc::{Preset, Pymalloc};
//!
//! let mut engine = Pymalloc::new(Preset::Cpython39.geometry());
//! let p = engine.malloc(48);
//! unsafe { engine.free(p) };
//! println!("{}", engine.stats()); // sys._debugmallocstats() layout
//! ```
//!
//! A built-in workload's events written as a trace, read back and replayed into the engine
//! through a slot table:
//!
//! ```
//! use pybench::pymalloc::{Preset, Pymalloc};
//! use pybench::trace::{Meta, TraceReader, TraceWriter};
//! use pybench::workload::{Event, Overrides, Workload};
//!
//! let small = Overrides { scale: Some(20_000), ..Overrides::default() };
//! let mut stream = Workload::builtin("dicts")?.with(small).stream();
//! let mut writer = TraceWriter::new(Vec::new(), &Meta::default())?;
//! while let Some(batch) = stream.next_batch() {
//!     batch.iter().try_for_each(|e| writer.push(e))?;
//! }
//! let file = writer.finish(Default::default())?;
//!
//! let mut engine = Pymalloc::new(Preset::Cpython311.geometry());
//! let mut slots: Vec<*mut u8> = Vec::new();
//! for event in TraceReader::new(&file[..])? {
//!     let (slot, block) = match event? {
//!         Event::Alloc { slot, size, .. } => (slot, engine.malloc(size as usize)),
//!         Event::Calloc { slot, n, size, .. } => (slot, engine.calloc(n as usize, size as usize)),
//!         // SAFETY: the reader checked liveness, so the slot holds a live block of the engine.
//!         Event::Realloc { slot, size, .. } => {
//!             (slot, unsafe { engine.realloc(slots[slot as usize], size as usize) })
//!         }
//!         Event::Free { slot, .. } => unsafe {
//!             engine.free(slots[slot as usize]);
//!             (slot, std::ptr::null_mut())
//!         },
//!         Event::Phase(_) | Event::Gc(_) => continue,
//!     };
//!     match slots.get_mut(slot as usize) {
//!         Some(s) => *s = block,
//!         None => slots.push(block), // dense: a new slot is the next one
//!     }
//! }
//! assert!(engine.stats().arenas_allocated_current > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Any Rust program on the engine, behind one lock (a GIL):
//!
//! ```no_run
//! #[global_allocator]
//! static GLOBAL: pybench::pymalloc::LockedPymalloc =
//!     pybench::pymalloc::LockedPymalloc::new(pybench::pymalloc::Preset::Cpython311.geometry());
//! ```

pub mod alloc;
pub mod cli;
pub mod compare;
pub mod exec;
pub mod exit;
pub mod harness;
pub mod metrics;
pub mod plot;
pub mod pymalloc;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod suggest;
pub mod sweep;
pub mod sys;
pub mod trace;
pub mod workload;

/// How this binary was built, as figures depend on it: `release`, or `checked` / `debug` when
/// the engine verifies every free against its pool (the `checked` feature the test command
/// enables, or debug assertions), which makes pymalloc's figures slower than a release
/// build's — runs measured with such a build are not comparable with release runs.
pub const BUILD: &str = if cfg!(debug_assertions) {
    "debug"
} else if cfg!(feature = "checked") {
    "checked"
} else {
    "release"
};
