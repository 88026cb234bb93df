//! The pymalloc engine against the system allocator (glibc malloc), in the same run.
//!
//! - `pair`: one malloc+free pair of a Python-sized block, hot. One extra block of the same
//!   class stays live, as a running interpreter's other objects would keep the pool in use
//!   (otherwise every pair would empty and re-create the pool).
//! - `ring64`: 64 slots of 32-byte blocks, each step frees the oldest and allocates anew
//!   (design.md §6 measured jemalloc 4.0, mimalloc 4.3, snmalloc 7.5, system 8.1 ns/pair).
//! - `mixed`: the anchors.md mixed pattern (200,000 slots, half live, 70 % sequential, sizes
//!   16–512 B with 2 % larger), per allocator call, including cache misses.
//!
//! Run: `cargo bench --bench engine`. Compare the rows of one run; absolute times drift.

use divan::{black_box, counter::ItemsCount, Bencher};
use pybench::alloc::{Allocator, PymallocAllocator, SystemAllocator};
use pybench::pymalloc::Preset;
use pybench::scenario::MixedPattern;

fn main() {
    divan::main();
}

/// Builds a fresh allocator of each kind for a benchmark.
trait Make: Allocator {
    fn make() -> Self;
}

impl Make for PymallocAllocator {
    fn make() -> Self {
        PymallocAllocator::from_preset(Preset::Cpython311)
    }
}

impl Make for SystemAllocator {
    fn make() -> Self {
        SystemAllocator
    }
}

const SIZES: &[usize] = &[16, 32, 64, 128, 256, 512];

#[divan::bench(types = [PymallocAllocator, SystemAllocator], args = SIZES)]
fn pair<A: Make>(b: Bencher, size: usize) {
    let mut a = A::make();
    let keep = a.malloc(size);
    b.bench_local(|| unsafe {
        let p = a.malloc(black_box(size));
        a.free(black_box(p));
    });
    unsafe { a.free(keep) };
}

#[divan::bench(types = [PymallocAllocator, SystemAllocator])]
fn ring64<A: Make>(b: Bencher) {
    let mut a = A::make();
    let mut ring: Vec<*mut u8> = (0..64).map(|_| a.malloc(32)).collect();
    let mut i = 0;
    b.bench_local(|| unsafe {
        a.free(ring[i]);
        ring[i] = a.malloc(black_box(32));
        i = (i + 1) & 63;
    });
    for p in ring {
        unsafe { a.free(p) };
    }
}

#[divan::bench(types = [PymallocAllocator, SystemAllocator])]
fn mixed<A: Make>(b: Bencher) {
    const STEPS: usize = 10_000;
    let mut a = A::make();
    let mut pattern = MixedPattern::new(&mut a, 42);
    b.counter(ItemsCount::new(STEPS)).bench_local(|| {
        for _ in 0..STEPS {
            pattern.step(&mut a);
        }
    });
    pattern.finish(&mut a);
}
