//! One sweep cell: a stream replayed into the engine with one geometry, and the accounting
//! read at the end of the stream (blocks still live, as `pybench run` and `fidelity` read it).
//!
//! The replay is the harness's own ([`Replayer::apply`], RAW-domain events to the system
//! allocator as in a `run` cell of a pymalloc allocator), so a sweep cell and a `run` cell of
//! the same geometry make the same engine calls in the same order. Nothing is timed.

use crate::alloc::PymallocAllocator;
use crate::harness::cell::Materialized;
use crate::harness::replay::{Replayer, Touch};
use crate::harness::timer::Timer;
use crate::pymalloc::{ArenaPlacement, Geometry, Pymalloc};
use serde::Serialize;

/// The engine's accounting of one stream under one geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Accounting {
    /// Most arenas mapped at once.
    pub peak_arenas: usize,
    /// Arenas mapped at the end of the stream.
    pub final_arenas: usize,
    /// Arenas mapped (`mmap`) over the run.
    pub arenas_mapped: usize,
    /// Arenas returned to the OS (`munmap`) over the run.
    pub arenas_unmapped: usize,
    /// Most bytes of carved pools in live arenas at once: the engine's model of its peak
    /// resident heap ([`Pymalloc::carved_pool_bytes`]; raw > 512-byte blocks, the same in
    /// every geometry, are not counted).
    pub peak_heap_rss: usize,
    /// The same at the end of the stream.
    pub final_heap_rss: usize,
    /// The same averaged over the stream's allocator events: what the heap holds over time,
    /// which arenas too large to be returned after a peak push up (the peak itself hardly
    /// depends on the geometry, since pools are carved lazily).
    pub mean_heap_rss: usize,
    /// Bytes in cached-empty and never-carved pools at the end of the stream.
    pub unused_pool_bytes: usize,
    /// Bytes at the ends of pools too small for a block, at the end of the stream.
    pub quantization_bytes: usize,
}

impl Accounting {
    /// Arena churn: `mmap` plus `munmap` calls over the run.
    pub fn churn(&self) -> usize {
        self.arenas_mapped + self.arenas_unmapped
    }

    /// Reads the accounting of an engine as it stands (the mean heap RSS, which needs the
    /// whole run, is left at the current value; [`account`] fills it in).
    pub fn of(e: &Pymalloc) -> Accounting {
        let s = e.stats();
        let (carved, carved_peak) = e.carved_pool_bytes();
        Accounting {
            peak_arenas: s.arenas_highwater,
            final_arenas: s.arenas_allocated_current,
            arenas_mapped: s.arenas_allocated_total,
            arenas_unmapped: s.arenas_reclaimed,
            peak_heap_rss: carved_peak,
            final_heap_rss: carved,
            mean_heap_rss: carved,
            unused_pool_bytes: s.bytes_in_unused_pools(),
            quantization_bytes: s.bytes_lost_to_quantization,
        }
    }
}

/// A cell whose engine could not map an arena: its small requests went to the system
/// allocator meanwhile, so its figures are not the geometry's. Named and skipped, never
/// shown: with `--jobs 2` two cells of 2 GiB arenas mapping at once could each succeed or
/// fail, and the table and the Pareto front moved from one sweep to the next.
#[derive(Debug, thiserror::Error)]
#[error("{requests} small request(s) went to the system allocator because an arena of {} could not be mapped here (address space or memory: `ulimit -v`, or other cells' arenas at once; `--jobs 1` maps one cell's at a time)", crate::pymalloc::format_size(*.arena))]
pub struct ArenaUnmappable {
    pub requests: usize,
    pub arena: usize,
}

/// Replays `m` into a fresh engine of geometry `g` and returns its accounting at the end of
/// the stream. `timer` is only passed through: the untimed replay never reads it.
pub fn account(
    m: &Materialized,
    g: Geometry,
    placement: ArenaPlacement,
    timer: &Timer,
) -> anyhow::Result<Accounting> {
    let mut engine = PymallocAllocator::placed(g, placement);
    // Touch::None: what the replay writes into a block changes nothing in the accounting.
    let mut r = Replayer::new(&mut engine, m.slots, true, Touch::None);
    let (mut sum, mut ops) = (0u128, 0u64);
    for (i, ev) in m.events.iter().enumerate() {
        if r.apply::<false>(ev, timer, i as u64)?.is_some() {
            sum += r.allocator().engine().carved_pool_bytes().0 as u128;
            ops += 1;
        }
    }
    let failures = r.allocator().engine().arena_failures();
    if failures > 0 {
        r.free_all();
        return Err(ArenaUnmappable {
            requests: failures,
            arena: g.arena_size(),
        }
        .into());
    }
    let mut acc = Accounting::of(r.allocator().engine());
    acc.mean_heap_rss = if ops == 0 {
        0
    } else {
        (sum / ops as u128) as usize
    };
    r.free_all();
    Ok(acc)
}
