//! One 32-byte malloc+free pair per iteration, for every allocator, as design.md §6 and
//! anchors.md report it: `pair` frees the block it just got (hot, with one neighbour block
//! live), `ring64` frees the oldest of 64 live blocks and replaces it (a ring of 64 slots).
//!
//! Each allocator is called as its concrete type (no virtual call), as the harness's
//! monomorphised replay loop calls it. `cpython_3_11` is the real obmalloc of a CPython 3.11
//! reached through function pointers from `dlsym`; it is skipped when no libpython3.11 is found.
//!
//! Run: `cargo bench --bench allocators`.

use divan::{black_box, Bencher};
use pybench::alloc::{libpython, Allocator, CpythonAllocator, NullAllocator, PymallocAllocator};
use pybench::pymalloc::Preset;

fn main() {
    divan::main();
}

const RING: usize = 64;

/// First calls set up thread caches, arenas or pools; left in the first sample they make
/// divan pick one iteration per sample, which only measures its timer.
fn warm_up(a: &mut impl Allocator) {
    let blocks: Vec<*mut u8> = (0..1000).map(|_| a.malloc(32)).collect();
    for p in blocks {
        // SAFETY: each block is live and freed once.
        unsafe { a.free(p) };
    }
}

fn pair(b: Bencher, mut a: impl Allocator) {
    warm_up(&mut a);
    // One other block of the size stays live, as a running program's objects would: without
    // it, pymalloc-style allocators empty and re-take their only pool on every pair, which no
    // real interpreter does (the same setup for every allocator).
    let neighbour = a.malloc(32);
    b.bench_local(|| {
        let p = a.malloc(black_box(32));
        // SAFETY: p is the live block just allocated.
        unsafe { a.free(black_box(p)) };
    });
    // SAFETY: allocated above, freed once.
    unsafe { a.free(neighbour) };
}

fn ring64(b: Bencher, mut a: impl Allocator) {
    warm_up(&mut a);
    let mut slots = [std::ptr::null_mut(); RING];
    for s in &mut slots {
        *s = a.malloc(32);
    }
    let mut i = 0;
    b.bench_local(|| {
        // SAFETY: every slot holds a live block of this allocator.
        unsafe { a.free(slots[i]) };
        slots[i] = a.malloc(black_box(32));
        i = (i + 1) % RING;
    });
    for s in slots {
        // SAFETY: as above, freed once.
        unsafe { a.free(s) };
    }
}

macro_rules! allocator_benches {
    ($($module:ident => $make:expr;)*) => {$(
        mod $module {
            use super::*;

            #[divan::bench]
            fn pair(b: Bencher) {
                if let Some(a) = $make {
                    super::pair(b, a);
                }
            }

            #[divan::bench]
            fn ring64(b: Bencher) {
                if let Some(a) = $make {
                    super::ring64(b, a);
                }
            }
        }
    )*};
}

allocator_benches! {
    system => Some(pybench::alloc::SystemAllocator);
    jemalloc => jemalloc();
    mimalloc => mimalloc();
    snmalloc => snmalloc();
    pymalloc_engine_3_11 => Some(PymallocAllocator::from_preset(Preset::Cpython311));
    cpython_3_11 => cpython(11);
    null => NullAllocator::new().ok();
}

#[cfg(feature = "jemalloc")]
fn jemalloc() -> Option<pybench::alloc::JemallocAllocator> {
    Some(pybench::alloc::JemallocAllocator)
}
#[cfg(not(feature = "jemalloc"))]
fn jemalloc() -> Option<pybench::alloc::SystemAllocator> {
    None
}

#[cfg(feature = "mimalloc")]
fn mimalloc() -> Option<pybench::alloc::MimallocAllocator> {
    Some(pybench::alloc::MimallocAllocator)
}
#[cfg(not(feature = "mimalloc"))]
fn mimalloc() -> Option<pybench::alloc::SystemAllocator> {
    None
}

#[cfg(feature = "snmalloc")]
fn snmalloc() -> Option<pybench::alloc::SnmallocAllocator> {
    Some(pybench::alloc::SnmallocAllocator)
}
#[cfg(not(feature = "snmalloc"))]
fn snmalloc() -> Option<pybench::alloc::SystemAllocator> {
    None
}

/// The real obmalloc of CPython 3.`minor`, or `None` (with a note) when it is not installed.
fn cpython(minor: u8) -> Option<CpythonAllocator> {
    match libpython::find(minor, None) {
        Ok(found) => CpythonAllocator::load(&found, minor)
            .map_err(|e| eprintln!("skipping cpython:3.{minor}: {e}"))
            .ok(),
        Err(reason) => {
            eprintln!("skipping cpython:3.{minor}: {reason}");
            None
        }
    }
}
