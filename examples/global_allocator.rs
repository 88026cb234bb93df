//! Runs an ordinary Rust program on the pymalloc engine, then prints the engine's accounting in
//! the layout of `sys._debugmallocstats()`.
//!
//!     cargo run --release --example global_allocator

use pybench::pymalloc::{LockedPymalloc, Preset};
use std::collections::HashMap;

#[global_allocator]
static GLOBAL: LockedPymalloc = LockedPymalloc::new(Preset::Cpython311.geometry());

fn main() {
    // A word count over generated text, across threads: strings, maps and vectors, mostly
    // small objects, as in a Python program.
    let counts: Vec<HashMap<String, usize>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    let mut counts = HashMap::new();
                    for i in 0..50_000usize {
                        *counts
                            .entry(format!("word{}", (i * 7 + t) % 3_000))
                            .or_insert(0) += 1;
                    }
                    counts
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let distinct: usize = counts.iter().map(HashMap::len).sum();
    println!("{distinct} distinct words counted on pymalloc\n");
    print!("{}", GLOBAL.stats());
}
