//! Where a trace's frees land in pymalloc's pools: the share of frees into the pool of the
//! previous free, or of one of the last 4 / 16 distinct pools freed into, and how often
//! pymalloc fetched a fresh arena. A free touches its block and its pool's header; frees that
//! stay in a few pools hit the cache, frees scattered over the heap miss it — and allocators
//! differ in how much a scattered free costs (jemalloc's thread cache defers the slab's
//! metadata; pymalloc writes the pool header at once). Replayed into the engine's 3.11 preset.
//!
//! `cargo run --release --example free_locality -- TRACE.pbt [TRACE.pbt…]`

use pybench::pymalloc::{Preset, Pymalloc};
use pybench::trace::TraceReader;
use pybench::workload::event::Event;

const RECENT: [usize; 3] = [1, 4, 16];
/// Bounds of the bins of an allocation's reuse distance: events since its address was freed.
const REUSE: [u64; 5] = [1, 16, 256, 4096, 65536];

fn main() -> anyhow::Result<()> {
    for path in std::env::args().skip(1) {
        let mut reader = TraceReader::open(std::path::Path::new(&path))?;
        let mut engine = Pymalloc::new(Preset::Cpython311.geometry());
        let mask = !(engine.geometry().pool_size() - 1);
        let mut slots: Vec<*mut u8> = Vec::new();
        // The last distinct pools freed into, most recent first.
        let mut recent: Vec<usize> = Vec::new();
        let (mut hits, mut frees) = ([0u64; RECENT.len()], 0u64);
        // When each small address was last freed (event index), and the reuse distances.
        let mut freed_at: std::collections::HashMap<usize, u64> = Default::default();
        let mut reuse = [0u64; REUSE.len() + 2];
        let mut now = 0u64;
        // Live blocks per pool, and how often a pool went from empty to used and back: the
        // engine's slow paths (a pool taken from its arena, a pool returned to it).
        let mut live: std::collections::HashMap<usize, u32> = Default::default();
        let (mut pool_inits, mut pool_empties) = (0u64, 0u64);
        while let Some(batch) = reader.next_batch()? {
            for e in batch {
                now += 1;
                let bytes = e.bytes().unwrap_or(0) as usize;
                match *e {
                    Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => {
                        let s = slot as usize;
                        if s >= slots.len() {
                            slots.resize(s + 1, std::ptr::null_mut());
                        }
                        slots[s] = engine.malloc(bytes.max(1));
                        if engine.owns(slots[s]) {
                            let n = live.entry(slots[s] as usize & mask).or_default();
                            pool_inits += u64::from(*n == 0);
                            *n += 1;
                            let bin = match freed_at.remove(&(slots[s] as usize)) {
                                None => REUSE.len() + 1,
                                Some(t) => REUSE.partition_point(|&b| b < now - t),
                            };
                            reuse[bin] += 1;
                        }
                    }
                    Event::Realloc { slot, size, .. } => {
                        let p = &mut slots[slot as usize];
                        if engine.owns(*p) {
                            *live.get_mut(&(*p as usize & mask)).expect("its pool") -= 1;
                        }
                        // SAFETY: p came from this engine and is live (the trace is valid).
                        *p = unsafe { engine.realloc(*p, (size as usize).max(1)) };
                        if engine.owns(*p) {
                            *live.entry(*p as usize & mask).or_default() += 1;
                        }
                    }
                    Event::Free { slot, .. } => {
                        let p = std::mem::replace(&mut slots[slot as usize], std::ptr::null_mut());
                        if engine.owns(p) {
                            let pool = p as usize & mask;
                            let n = live.get_mut(&pool).expect("a live block's pool");
                            *n -= 1;
                            pool_empties += u64::from(*n == 0);
                            frees += 1;
                            let at = recent.iter().position(|&q| q == pool);
                            for (k, &n) in RECENT.iter().enumerate() {
                                hits[k] += u64::from(at.is_some_and(|i| i < n));
                            }
                            if let Some(i) = at {
                                recent.remove(i);
                            }
                            recent.insert(0, pool);
                            recent.truncate(RECENT[RECENT.len() - 1]);
                            freed_at.insert(p as usize, now);
                        }
                        // SAFETY: as above.
                        unsafe { engine.free(p) };
                    }
                    _ => {}
                }
            }
        }
        let st = engine.stats();
        println!("{path}");
        let allocs = reuse.iter().sum::<u64>().max(1) as f64;
        print!("  small allocations reusing an address freed");
        for (k, &b) in REUSE.iter().enumerate() {
            print!(" <={b}: {:.2}", reuse[k] as f64 / allocs);
        }
        println!(
            " more: {:.2}, fresh: {:.2} events ago",
            reuse[REUSE.len()] as f64 / allocs,
            reuse[REUSE.len() + 1] as f64 / allocs
        );
        print!("  small frees {frees}, into the pool of");
        for (k, &n) in RECENT.iter().enumerate() {
            print!(" the last {n}: {:.2}", hits[k] as f64 / frees.max(1) as f64);
        }
        println!(
            "\n  arenas allocated total {}, highwater {}; pools taken {pool_inits}, emptied \
             {pool_empties} (per 1000 small frees: {:.2})",
            st.arenas_allocated_total,
            st.arenas_highwater,
            pool_empties as f64 * 1000.0 / frees.max(1) as f64
        );
    }
    Ok(())
}
