//! How a trace's allocations and frees come in runs: the share of allocations (frees) that
//! sit in a run of at least N consecutive allocations (frees), for a few N. Long same-op runs
//! fill or drain an allocator's thread cache (jemalloc's tcache, mimalloc's page free lists),
//! so a stand-in that lacks them may rank allocators differently (issue 17).
//!
//! `cargo run --release --example op_runs -- TRACE.pbt [TRACE.pbt…]`

use pybench::trace::TraceReader;
use pybench::workload::event::Event;

const LENGTHS: [u64; 5] = [2, 4, 16, 256, 16384];

/// A model of a per-thread cache of freed blocks per size class, as jemalloc's tcache keeps
/// (bins of up to `cap` blocks): a free into a full bin flushes half of it to the shared
/// arena, an allocation from an empty bin fills half of it from there — both slow paths.
/// Size classes: 16-byte steps to 128 bytes, then four per doubling (jemalloc's spacing).
struct CacheModel {
    cap: u32,
    bins: std::collections::HashMap<u32, u32>,
    sizes: Vec<u32>,
    flushes: u64,
    fills: u64,
}

impl CacheModel {
    fn class(bytes: u64) -> u32 {
        if bytes <= 128 {
            return (bytes.max(1) as u32).div_ceil(16);
        }
        let top = 63 - (bytes - 1).leading_zeros(); // 2^top < bytes <= 2^(top+1)
        let step = 1u64 << (top - 2);
        8 + 4 * (top - 7) + ((bytes - 1 - (1 << top)) / step) as u32
    }

    fn alloc(&mut self, slot: u32, bytes: u64) {
        let c = Self::class(bytes);
        if slot as usize >= self.sizes.len() {
            self.sizes.resize(slot as usize + 1, 0);
        }
        self.sizes[slot as usize] = c;
        let n = self.bins.entry(c).or_default();
        if *n == 0 {
            self.fills += 1;
            *n = self.cap / 2;
        }
        *n -= 1;
    }

    /// A realloc into another class allocates there and frees the old block.
    fn realloc(&mut self, slot: u32, bytes: u64) {
        if self.sizes.get(slot as usize) != Some(&Self::class(bytes)) {
            self.free(slot);
            self.alloc(slot, bytes);
        }
    }

    fn free(&mut self, slot: u32) {
        let c = self.sizes.get(slot as usize).copied().unwrap_or(0);
        let n = self.bins.entry(c).or_default();
        if *n == self.cap {
            self.flushes += 1;
            *n = self.cap / 2;
        }
        *n += 1;
    }
}

/// Adds a finished run of `len` ops to `shares` (ops in runs of at least each length).
fn close(len: &mut u64, shares: &mut [u64; LENGTHS.len()]) {
    for (k, &n) in LENGTHS.iter().enumerate() {
        if *len >= n {
            shares[k] += *len;
        }
    }
    *len = 0;
}

fn main() -> anyhow::Result<()> {
    for path in std::env::args().skip(1) {
        let mut reader = TraceReader::open(std::path::Path::new(&path))?;
        let (mut allocs, mut frees) = ([0u64; LENGTHS.len()], [0u64; LENGTHS.len()]);
        let (mut a, mut f, mut total_a, mut total_f) = (0u64, 0u64, 0u64, 0u64);
        // The replay's slot table holds 8 pointers a cache line: the lines its last events
        // touched, most recent first, and how many frees' lines were among the last 1/4/16.
        let mut lines: Vec<u32> = Vec::new();
        let mut line_hits = [0u64; 3];
        let mut caches: Vec<CacheModel> = [20, 64, 200]
            .into_iter()
            .map(|cap| CacheModel {
                cap,
                bins: Default::default(),
                sizes: Vec::new(),
                flushes: 0,
                fills: 0,
            })
            .collect();
        while let Some(batch) = reader.next_batch()? {
            for e in batch {
                match *e {
                    Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                        for m in &mut caches {
                            m.alloc(slot, e.bytes().unwrap_or(0));
                        }
                        close(&mut f, &mut frees);
                        a += 1;
                        total_a += 1;
                    }
                    Event::Realloc { slot, size, .. } => {
                        for m in &mut caches {
                            m.realloc(slot, u64::from(size));
                        }
                    }
                    Event::Free { slot, .. } => {
                        for m in &mut caches {
                            m.free(slot);
                        }
                        let at = lines.iter().position(|&l| l == slot / 8);
                        for (k, n) in [1, 4, 16].into_iter().enumerate() {
                            line_hits[k] += u64::from(at.is_some_and(|i| i < n));
                        }
                        close(&mut a, &mut allocs);
                        f += 1;
                        total_f += 1;
                    }
                    _ => {}
                }
                if let Some(slot) = e.slot() {
                    if let Some(i) = lines.iter().position(|&l| l == slot / 8) {
                        lines.remove(i);
                    }
                    lines.insert(0, slot / 8);
                    lines.truncate(16);
                }
            }
        }
        close(&mut a, &mut allocs);
        close(&mut f, &mut frees);
        println!("{path}");
        for (name, shares, total) in [("allocs", allocs, total_a), ("frees", frees, total_f)] {
            print!("  {name:6} in runs");
            for (k, n) in LENGTHS.iter().enumerate() {
                print!("  >={n}: {:.2}", shares[k] as f64 / total.max(1) as f64);
            }
            println!();
        }
        for m in &caches {
            println!(
                "  a cache of {} blocks per class: fills {:.2}, flushes {:.2} per 1000 allocations",
                m.cap,
                m.fills as f64 * 1e3 / total_a.max(1) as f64,
                m.flushes as f64 * 1e3 / total_a.max(1) as f64
            );
        }
        print!("  frees whose slot-table line was touched in the last");
        for (k, n) in [1, 4, 16].into_iter().enumerate() {
            print!(" {n}: {:.2}", line_hits[k] as f64 / total_f.max(1) as f64);
        }
        println!();
    }
    Ok(())
}
