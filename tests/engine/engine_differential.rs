//! The engine against the real obmalloc, request by request: one seeded stream of malloc,
//! calloc, realloc and free goes to a `Pymalloc` of a preset and to the obmalloc of the same
//! CPython, loaded without starting its interpreter (so it holds nothing before the first
//! request, as the engine). After every request the real block must lie where the engine's
//! does relative to the first block each served (so in the same arena, pool and block), and
//! a realloc must stay in place in both or in neither; every 20,000 requests their
//! `_debugmallocstats` figures (blocks in use per class among them) must be equal. A review on 2026-12-07 ran this
//! comparison ad hoc over 3.8 – 3.11 (up to 10⁶ requests, 171 arenas mapped and released) and
//! found no difference; this keeps it, for every installed version of 3.8 – 3.11, each in a
//! process of its own (skipped, with a message, when none is installed).

use pybench::alloc::{Allocator, CpythonAllocator, DebugMallocStats};
use pybench::pymalloc::{Preset, Pymalloc};
use pybench::stats::SplitMix64;

/// A request size: mostly small (1 – 512 bytes, pymalloc's), some 0 and some above 512
/// (raw malloc's), so that realloc crosses between the two.
fn size(rng: &mut SplitMix64) -> usize {
    match rng.below(20) {
        0 => 0,
        1 => 513 + rng.below(600) as usize,
        _ => 1 + rng.below(512) as usize,
    }
}

/// How many blocks the stream aims to hold at request `i`: 30,000 and 10 in turns of 40,000
/// requests, so arenas fill, empty, are released and are reused in `usable_arenas` order.
fn target_live(i: usize) -> usize {
    if (i / 40_000) % 2 == 0 {
        30_000
    } else {
        10
    }
}

/// Where the two allocators' blocks lie: each side's first pymalloc block is its origin.
#[derive(Default)]
struct Origins {
    engine: usize,
    real: usize,
}

impl Origins {
    /// Whether the blocks `e` (engine) and `r` (real) agree: both null or neither, and where
    /// the engine served `e` itself, the real block at the same offset from its origin (an
    /// arena may lie below the first one: offsets wrap). A block the engine left to raw
    /// malloc is not placed by pymalloc on either side if they agree; were the real one
    /// pymalloc's, its pools would hold a block more, which the next blocks' offsets and
    /// the accounting ([`same_stats`]) show.
    fn agree(&mut self, engine: &Pymalloc, e: *mut u8, r: *mut u8) -> bool {
        if e.is_null() || r.is_null() {
            return e.is_null() == r.is_null();
        }
        if !engine.owns(e) {
            return true;
        }
        if self.engine == 0 {
            (self.engine, self.real) = (e as usize, r as usize);
        }
        (e as usize).wrapping_sub(self.engine) == (r as usize).wrapping_sub(self.real)
    }
}

fn same_stats(engine: &Pymalloc, real: &CpythonAllocator) -> Result<(), String> {
    let mut e = DebugMallocStats::from(&engine.stats());
    let mut r = real.debug_stats().map_err(|err| err.to_string())?;
    // The ownership map's lines differ by design (the engine's map, CPython's radix tree).
    e.other.clear();
    r.other.clear();
    (e == r)
        .then_some(())
        .ok_or_else(|| format!("engine {e:?}\nreal   {r:?}"))
}

/// Set in the child processes the test starts, one per version: the version that child
/// compares.
const MINOR_VAR: &str = "PYBENCH_DIFFERENTIAL_MINOR";

/// Every installed version of 3.8 – 3.11, each in a process of its own (one libpython can be
/// loaded per process): this test binary started again on this test alone, with
/// [`MINOR_VAR`] naming the version.
#[test]
fn every_block_lands_where_the_real_obmalloc_puts_it() {
    if let Some(minor) = std::env::var(MINOR_VAR).ok().and_then(|m| m.parse().ok()) {
        return compare_one(minor);
    }
    let minors: Vec<u8> = (8..=11)
        .filter(|m| pybench::alloc::libpython::find(*m, None).is_ok())
        .collect();
    if minors.is_empty() {
        eprintln!("skipped: no shared libpython 3.8 – 3.11 on this machine");
        return;
    }
    let me = std::env::current_exe().expect("the test binary's path");
    let name = "engine_differential::every_block_lands_where_the_real_obmalloc_puts_it";
    for minor in minors {
        let out = std::process::Command::new(&me)
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .env(MINOR_VAR, minor.to_string())
            .output()
            .expect("the test binary starts");
        let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "3.{minor}:\n{said}");
        assert!(said.contains("1 passed"), "3.{minor} did not run:\n{said}");
    }
}

/// The comparison on CPython 3.`minor`.
fn compare_one(minor: u8) {
    let found = pybench::alloc::libpython::find(minor, None).expect("found by the parent");
    let preset = Preset::for_python(&format!("3.{minor}")).expect("a preset per version");
    let mut engine = Pymalloc::new(preset.geometry());
    let mut real = CpythonAllocator::load_unstarted(&found, minor).expect("libpython loads");
    let mut rng = SplitMix64::new(20261207);
    let mut origins = Origins::default();
    let mut live: Vec<(*mut u8, *mut u8)> = Vec::new();
    for i in 0..200_000 {
        let grow = live.len() < target_live(i);
        let roll = rng.below(100);
        let what = if live.is_empty() || (grow && roll < 60) {
            let (e, r, what) = if rng.below(5) == 0 {
                let (n, s) = (rng.below(4) as usize, rng.below(80) as usize);
                (
                    engine.calloc(n, s),
                    real.calloc(n, s),
                    format!("calloc({n}, {s})"),
                )
            } else {
                let n = size(&mut rng);
                (engine.malloc(n), real.malloc(n), format!("malloc({n})"))
            };
            live.push((e, r));
            Some((e, r, what))
        } else if roll < if grow { 80 } else { 15 } {
            let at = rng.below(live.len() as u64) as usize;
            let (old_e, old_r) = live[at];
            let n = size(&mut rng);
            let ours = engine.owns(old_e);
            // SAFETY: both blocks are live, from these allocators.
            let (e, r) = unsafe { (engine.realloc(old_e, n), real.realloc(old_r, n)) };
            let moved = |new: *mut u8, old: *mut u8| new != old;
            assert!(
                !ours || moved(e, old_e) == moved(r, old_r),
                "request {i}: realloc to {n} moved the block in one allocator only"
            );
            live[at] = (e, r);
            Some((e, r, format!("realloc(…, {n})")))
        } else {
            let at = rng.below(live.len() as u64) as usize;
            let (e, r) = live.swap_remove(at);
            // SAFETY: both blocks are live, from these allocators, freed once.
            unsafe {
                engine.free(e);
                real.free(r);
            }
            None
        };
        if let Some((e, r, what)) = what {
            assert!(
                origins.agree(&engine, e, r),
                "request {i}, {what} on 3.{minor}: the engine's block ({e:?}) and the real one \
                 ({r:?}) differ in where they lie"
            );
        }
        if i % 20_000 == 19_999 {
            if let Err(diff) = same_stats(&engine, &real) {
                panic!("after request {i} on 3.{minor}, the accounting differs:\n{diff}");
            }
        }
    }
}
