//! `pymalloc[:PRESET|:GEOMETRY]`: the Rust pymalloc engine of this crate.

use super::Allocator;
use crate::pymalloc::{Geometry, Preset, Pymalloc};

// pymalloc has no trim call: CPython returns an arena to the OS as soon as it is wholly
// free (3.9+: but one), which the engine does by itself.

/// The engine as an [`Allocator`]; its fast paths inline into the caller.
pub struct PymallocAllocator {
    engine: Pymalloc,
    label: String,
}

impl PymallocAllocator {
    /// The engine with a custom geometry, named `pymalloc:arena=…,pool=…`.
    pub fn new(geometry: Geometry) -> Self {
        PymallocAllocator {
            engine: Pymalloc::new(geometry),
            label: format!("pymalloc:{geometry}"),
        }
    }

    /// The engine with a custom geometry whose arenas are placed by `placement` (see
    /// [`crate::pymalloc::ArenaPlacement`]); named like [`PymallocAllocator::new`].
    pub fn placed(geometry: Geometry, placement: crate::pymalloc::ArenaPlacement) -> Self {
        PymallocAllocator {
            engine: Pymalloc::with_placement(geometry, placement),
            label: format!("pymalloc:{geometry}"),
        }
    }

    /// The engine with a CPython preset, named `pymalloc:cpython-3.X`.
    pub fn from_preset(preset: Preset) -> Self {
        PymallocAllocator {
            engine: Pymalloc::new(preset.geometry()),
            label: format!("pymalloc:{preset}"),
        }
    }

    /// The engine, for its statistics.
    pub fn engine(&self) -> &Pymalloc {
        &self.engine
    }
}

impl Allocator for PymallocAllocator {
    fn name(&self) -> String {
        self.label.clone()
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.engine.malloc(n)
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        self.engine.calloc(nelem, elsize)
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        self.engine.realloc(p, n)
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        self.engine.free(p)
    }

    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        Some(self.engine.stats())
    }

    fn hold_releases(&mut self, hold: bool) {
        self.engine.hold_releases(hold)
    }
}
