//! How a trace's allocations and frees come in runs: the share of allocations (frees) that
//! sit in a run of at least N consecutive allocations (frees), for a few N. Long same-op runs
//! fill or drain an allocator's thread cache (jemalloc's tcache, mimalloc's page free lists),
//! so a stand-in that lacks them may rank allocators differently (issue 17).
//!
//! `cargo run --release --example op_runs -- TRACE.pbt [TRACE.pbt…]`

use pybench::trace::TraceReader;
use pybench::workload::event::Event;

const LENGTHS: [u64; 5] = [2, 4, 16, 256, 16384];

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
        while let Some(batch) = reader.next_batch()? {
            for e in batch {
                match e {
                    Event::Alloc { .. } | Event::Calloc { .. } => {
                        close(&mut f, &mut frees);
                        a += 1;
                        total_a += 1;
                    }
                    Event::Free { slot, .. } => {
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
        print!("  frees whose slot-table line was touched in the last");
        for (k, n) in [1, 4, 16].into_iter().enumerate() {
            print!(" {n}: {:.2}", line_hits[k] as f64 / total_f.max(1) as f64);
        }
        println!();
    }
    Ok(())
}
