//! Property tests: random malloc/calloc/realloc/free sequences against a simple model.
//!
//! After every step: live blocks never overlap, are 16-byte aligned and keep their contents
//! (a per-block canary pattern, checked across realloc and before free); calloc memory is
//! zeroed; realloc keeps the pointer exactly when the spec's 25 % rule says so; blocks in use
//! per size class equal the model's live blocks of that class; and the engine's structural
//! invariants hold, including byte lines adding up to arenas × arena size.
//!
//! CI runs 100 cases × up to 1,000 ops (≈10⁵ ops); `long_random_run_ten_million_ops` runs
//! 10⁷ ops and is ignored by default: `cargo test --release --test engine_props -- --ignored`.

use proptest::prelude::*;
use pybench::pymalloc::{
    class_size, size_class, ArenaPlacement, Geometry, Preset, Pymalloc, Stats, NUM_CLASSES,
};
use pybench::stats::SplitMix64;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Malloc(usize),
    Calloc(usize, usize),
    /// Index into the live list (modulo its length) and new size.
    Realloc(usize, usize),
    Free(usize),
    /// Every live block freed at once, as the harness's cleanup between passes does, with
    /// the engine holding the arenas it empties (`Pymalloc::hold_releases`) when the
    /// harness says so: they are taken again by the next arenas, with their old contents.
    FreeAllHeld,
}

/// Mostly Python-sized requests, some zero-byte and some beyond pymalloc's 512 bytes.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => 1usize..=512,
        1 => Just(0usize),
        1 => 513usize..3000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => size().prop_map(Op::Malloc),
        1 => (0usize..20, 0usize..40).prop_map(|(n, s)| Op::Calloc(n, s)),
        2 => (any::<usize>(), size()).prop_map(|(i, n)| Op::Realloc(i, n)),
        4 => any::<usize>().prop_map(Op::Free),
        // Rare: most sequences build a heap; some empty it once or twice and build again.
        1 => Just(Op::FreeAllHeld),
    ]
}

fn geometry() -> impl Strategy<Value = Geometry> {
    let presets: Vec<Geometry> = Preset::ALL.iter().map(|p| p.geometry()).collect();
    prop_oneof![
        3 => proptest::sample::select(presets),
        // Small arenas make arena creation, re-sorting and release frequent.
        1 => Just("arena=16K,pool=4K".parse().unwrap()),
        1 => Just("arena=64K,pool=8K,keep_spare=false".parse().unwrap()),
    ]
}

struct Live {
    ptr: *mut u8,
    size: usize,
    /// Size class of the pymalloc block, or None for a raw-allocator block.
    class: Option<usize>,
    tag: u8,
}

/// The engine under test plus what the model knows about every live block.
struct Harness {
    e: Pymalloc,
    live: Vec<Live>,
    /// Start → length of every live block, kept incrementally so overlap checks are O(log n).
    extents: BTreeMap<usize, usize>,
    /// Live pymalloc blocks per size class, according to the model.
    per_class: [usize; NUM_CLASSES],
    next_tag: u8,
    /// Whether `Op::FreeAllHeld` holds the arenas it empties.
    hold: bool,
}

impl Harness {
    fn new(g: Geometry) -> Self {
        Harness {
            e: Pymalloc::new(g),
            live: Vec::new(),
            extents: BTreeMap::new(),
            per_class: [0; NUM_CLASSES],
            next_tag: 1,
            hold: true,
        }
    }

    fn tag(&mut self) -> u8 {
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        self.next_tag
    }

    fn fill(p: *mut u8, n: usize, tag: u8) {
        unsafe { std::ptr::write_bytes(p, tag, n) };
    }

    fn check_contents(l: &Live, n: usize) {
        let bytes = unsafe { std::slice::from_raw_parts(l.ptr, n) };
        assert!(
            bytes.iter().all(|&b| b == l.tag),
            "block {:p} lost its contents",
            l.ptr
        );
    }

    /// pymalloc serves 1..=512 bytes; everything else is raw.
    fn expected_class(n: usize) -> Option<usize> {
        (1..=512).contains(&n).then(|| size_class(n))
    }

    /// Records a new live block, checking it overlaps neither neighbour.
    fn track(&mut self, l: Live) {
        let start = l.ptr as usize;
        let len = l.class.map_or(l.size.max(1), class_size);
        if let Some((&prev, &prev_len)) = self.extents.range(..=start).next_back() {
            assert!(
                prev + prev_len <= start,
                "block {start:#x} overlaps the one at {prev:#x}"
            );
        }
        if let Some((&next, _)) = self.extents.range(start..).next() {
            assert!(
                start + len <= next,
                "block {start:#x} overlaps the one at {next:#x}"
            );
        }
        self.extents.insert(start, len);
        if let Some(c) = l.class {
            self.per_class[c] += 1;
        }
        self.live.push(l);
    }

    fn untrack(&mut self, i: usize) -> Live {
        let l = self.live.swap_remove(i);
        self.extents.remove(&(l.ptr as usize));
        if let Some(c) = l.class {
            self.per_class[c] -= 1;
        }
        l
    }

    fn check_new_block(&self, p: *mut u8, class: Option<usize>) {
        assert!(!p.is_null());
        assert_eq!(p as usize % 16, 0, "16-byte alignment");
        assert_eq!(self.e.owns(p), class.is_some(), "ownership of {p:p}");
    }

    /// Checks a block the engine just returned, gives it a canary and tracks it.
    fn adopt_new_block(&mut self, p: *mut u8, n: usize, class: Option<usize>) {
        self.check_new_block(p, class);
        let tag = self.tag();
        Self::fill(p, n, tag);
        self.track(Live {
            ptr: p,
            size: n,
            class,
            tag,
        });
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Malloc(n) => {
                let p = self.e.malloc(n);
                self.adopt_new_block(p, n, Self::expected_class(n));
            }
            Op::Calloc(nelem, elsize) => {
                let n = nelem * elsize;
                let p = self.e.calloc(nelem, elsize);
                assert!(!p.is_null());
                let zeroed = unsafe { std::slice::from_raw_parts(p, n) };
                assert!(zeroed.iter().all(|&b| b == 0), "calloc memory is zeroed");
                self.adopt_new_block(p, n, Self::expected_class(n));
            }
            Op::Realloc(i, n) if !self.live.is_empty() => {
                let i = i % self.live.len();
                let old = self.untrack(i);
                Self::check_contents(&old, old.size);
                let (old_ptr, old_size, old_class, tag) = (old.ptr, old.size, old.class, old.tag);
                let p = unsafe { self.e.realloc(old_ptr, n) };
                let class = match old_class {
                    Some(c) => {
                        let s = class_size(c);
                        let keep = n <= s && 4 * n > 3 * s;
                        assert_eq!(p == old_ptr, keep, "realloc {s}-byte block to {n}");
                        if keep {
                            Some(c)
                        } else {
                            Self::expected_class(n)
                        }
                    }
                    None => None, // a raw block stays raw
                };
                self.check_new_block(p, class);
                let kept = Live {
                    ptr: p,
                    size: old_size.min(n),
                    class,
                    tag,
                };
                Self::check_contents(&kept, kept.size);
                self.adopt_new_block(p, n, class);
            }
            Op::Free(i) if !self.live.is_empty() => {
                let l = self.untrack(i % self.live.len());
                Self::check_contents(&l, l.size);
                unsafe { self.e.free(l.ptr) };
            }
            Op::Realloc(..) | Op::Free(_) => {}
            Op::FreeAllHeld => {
                self.e.hold_releases(self.hold);
                self.free_everything();
                self.e.hold_releases(false);
            }
        }
    }

    /// The per-step checks against the engine's own accounting.
    fn check_model(&self) {
        let s = self.e.stats();
        for (c, expected) in self.per_class.iter().enumerate() {
            assert_eq!(
                s.class(c).blocks_in_use,
                *expected,
                "blocks in use of class {c}"
            );
        }
        assert_eq!(s.byte_lines_total(), s.arena_bytes());
    }

    fn free_everything(&mut self) {
        while !self.live.is_empty() {
            let l = self.untrack(self.live.len() - 1);
            Self::check_contents(&l, l.size);
            unsafe { self.e.free(l.ptr) };
        }
        let s = self.e.stats();
        assert_eq!(s.blocks_in_use(), 0);
        assert!(s.arenas_allocated_current <= usize::from(s.geometry.keeps_spare_arena()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_every_invariant(
        g in geometry(),
        ops in proptest::collection::vec(op(), 1..1000),
    ) {
        let mut h = Harness::new(g);
        for op in &ops {
            h.apply(op);
            h.check_model();
            if let Err(e) = h.e.check_invariants() {
                panic!("after {op:?}: {e}");
            }
        }
        h.free_everything();
        h.e.check_invariants().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 50, ..ProptestConfig::default() })]

    /// Holding released arenas changes where the next arenas' memory comes from, never the
    /// accounting: the same sequence with and without it gives the same figures at every
    /// step (a held arena counts as released, and as newly allocated when taken again).
    #[test]
    fn holding_released_arenas_leaves_the_accounting_unchanged(
        g in geometry(),
        ops in proptest::collection::vec(op(), 1..600),
    ) {
        // Placed on pool boundaries: where `mmap` puts an arena decides whether it loses a
        // pool (`ArenaPlacement`), and a held arena comes back where it was while a fresh
        // mapping lands anywhere.
        let placed = |g| Harness {
            e: Pymalloc::with_placement(g, ArenaPlacement::Aligned),
            ..Harness::new(g)
        };
        let (mut held, mut plain) = (placed(g), placed(g));
        plain.hold = false;
        for op in &ops {
            held.apply(op);
            plain.apply(op);
            prop_assert_eq!(
                accounting(held.e.stats()),
                accounting(plain.e.stats()),
                "after {:?}",
                op
            );
        }
    }
}

/// The figures holding must leave unchanged: all but the ownership map's size. The map
/// creates a leaf for each region of address space an arena lands in (4 GiB of 64 KiB
/// arenas), so it grows with where `mmap` puts a fresh arena, as CPython's radix tree does:
/// a held arena comes back where it was, a fresh one may land in a new region. Compared,
/// this failed once in a full test run (2026-12-05) and in none of 80,000 cases rerun.
fn accounting(mut s: Stats) -> Stats {
    s.ownership_map_root_bytes = 0;
    s.ownership_map_leaves = 0;
    s.ownership_map_leaf_bytes = 0;
    s
}

#[test]
#[ignore = "10⁷ ops: run with --release -- --ignored"]
fn long_random_run_ten_million_ops() {
    for (round, preset) in [Preset::Cpython38, Preset::Cpython311]
        .into_iter()
        .enumerate()
    {
        let mut rng = SplitMix64::new(0xC0FFEE + round as u64);
        let mut h = Harness::new(preset.geometry());
        for step in 0..5_000_000u64 {
            let r = rng.next_u64();
            // The live set drifts between ~0 and ~4,000 blocks, so arenas come and go.
            let phase_grows = (step / 200_000) % 2 == 0;
            let size = match r % 100 {
                0 => 0,
                1..=3 => 513 + (r >> 8) as usize % 2000,
                _ => 1 + (r >> 8) as usize % 512,
            };
            let op = match (r >> 40) % 10 {
                0..=4 if phase_grows || h.live.len() < 100 => Op::Malloc(size),
                5 => Op::Calloc(1 + (r >> 20) as usize % 8, (r >> 24) as usize % 64),
                6 => Op::Realloc((r >> 16) as usize, size),
                _ if h.live.len() > 4000 || !phase_grows => Op::Free((r >> 16) as usize),
                _ => Op::Malloc(size),
            };
            h.apply(&op);
            h.check_model();
            if step % 1000 == 0 {
                h.e.check_invariants()
                    .unwrap_or_else(|e| panic!("{preset} step {step}: {e}"));
            }
        }
        h.free_everything();
        h.e.check_invariants().unwrap();
    }
}
