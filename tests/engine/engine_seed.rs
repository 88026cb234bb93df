//! Property tests of `Pymalloc::seed_from` (issue 14.3): a seeded engine shows exactly the
//! seed's pools and blocks per class and its arenas, its structural invariants hold, it keeps
//! working under ordinary traffic, and freeing every phantom block (in the order the seed
//! hands them out, mixed with that traffic) leaves it with nothing in use.

use proptest::prelude::*;
use pybench::pymalloc::{
    class_size, Geometry, Preset, Pymalloc, Seed, SeedClass, SeedError, NUM_CLASSES,
};

fn geometry() -> impl Strategy<Value = Geometry> {
    let presets: Vec<Geometry> = Preset::ALL.iter().map(|p| p.geometry()).collect();
    prop_oneof![
        3 => proptest::sample::select(presets),
        1 => Just("arena=16K,pool=4K".parse().unwrap()),
        1 => Just("arena=64K,pool=8K,keep_spare=false".parse().unwrap()),
    ]
}

/// A seed the geometry can hold: per class a few pools with 1 – all blocks each, and as many
/// arenas as fit between "packed" and "one pool each" (one more with a spare arena).
fn seed_for(g: Geometry) -> impl Strategy<Value = Seed> {
    let classes = proptest::collection::vec((0usize..4, 0u32..=1000), NUM_CLASSES);
    (classes, 0u32..=1000).prop_map(move |(cs, arena_pick)| {
        let mut seed = Seed::default();
        for (c, (pools, fill)) in cs.into_iter().enumerate() {
            let per_pool = g.blocks_per_pool(c);
            let lo = pools;
            let hi = pools * per_pool;
            let blocks = lo + (hi - lo) * fill as usize / 1000;
            seed.classes[c] = SeedClass { pools, blocks };
        }
        let pools = seed.pools();
        // An unaligned arena holds one pool fewer.
        let cap = g.pools_per_arena() - usize::from(g.pool_size() > 4096);
        let min = pools.div_ceil(cap);
        let max = pools + usize::from(g.keeps_spare_arena());
        seed.arenas = min + (max - min) * arena_pick as usize / 1000;
        seed
    })
}

#[derive(Debug, Clone)]
enum Step {
    Malloc(usize),
    Free(usize),
    /// Free one phantom of this class (if any is left).
    Phantom(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..=600).prop_map(Step::Malloc),
        2 => any::<usize>().prop_map(Step::Free),
        3 => (0..NUM_CLASSES).prop_map(Step::Phantom),
    ]
}

fn case() -> impl Strategy<Value = (Geometry, Seed, Vec<Step>)> {
    geometry().prop_flat_map(|g| {
        (
            Just(g),
            seed_for(g),
            proptest::collection::vec(step(), 0..400),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn seeding_reproduces_the_state_and_unwinds_to_empty((g, seed, steps) in case()) {
        let mut e = Pymalloc::new(g);
        let mut phantoms = e.seed_from(&seed).unwrap();
        e.check_invariants().unwrap();
        let s = e.stats();
        for c in 0..NUM_CLASSES {
            prop_assert_eq!(s.class(c).pools, seed.classes[c].pools, "class {}", c);
            prop_assert_eq!(s.class(c).blocks_in_use, seed.classes[c].blocks, "class {}", c);
            prop_assert_eq!(phantoms.remaining(c), seed.classes[c].blocks);
        }
        // Exactly the seed's arenas, unless the engine's own arenas lost a pool to alignment
        // and one more was needed.
        let cap = g.pools_per_arena() - usize::from(g.pool_size() > 4096);
        prop_assert!(
            s.arenas_allocated_current == seed.arenas
                || (seed.pools() > seed.arenas * cap
                    && s.arenas_allocated_current == seed.arenas + 1),
            "{} arenas for a seed of {}", s.arenas_allocated_current, seed.arenas
        );

        // Ordinary traffic mixed with phantom frees keeps every invariant.
        let mut live: Vec<*mut u8> = Vec::new();
        for st in steps {
            match st {
                Step::Malloc(n) => live.push(e.malloc(n)),
                Step::Free(i) if !live.is_empty() => {
                    let p = live.swap_remove(i % live.len());
                    // SAFETY: a live block of this engine, freed once.
                    unsafe { e.free(p) };
                }
                Step::Free(_) => {}
                Step::Phantom(c) => {
                    if let Some(p) = phantoms.take(c) {
                        prop_assert_eq!(e.block_size(p.as_ptr()), Some(class_size(c)));
                        // SAFETY: a live phantom, handed out once.
                        unsafe { e.free(p.as_ptr()) };
                    }
                }
            }
        }
        e.check_invariants().unwrap();
        for p in live {
            // SAFETY: live blocks of this engine, freed once.
            unsafe { e.free(p) };
        }
        for c in 0..NUM_CLASSES {
            while let Some(p) = phantoms.take(c) {
                // SAFETY: as above.
                unsafe { e.free(p.as_ptr()) };
            }
        }
        prop_assert_eq!(phantoms.total(), 0);
        e.check_invariants().unwrap();
        let s = e.stats();
        prop_assert_eq!(s.classes.iter().map(|c| c.blocks_in_use).sum::<usize>(), 0);
        prop_assert_eq!(s.classes.iter().map(|c| c.pools).sum::<usize>(), 0);
        // Empty again: every arena unmapped, but for the one spare 3.9+ keeps.
        prop_assert!(s.arenas_allocated_current <= usize::from(g.keeps_spare_arena()));
    }
}

#[test]
fn phantoms_empty_the_fullest_pools_last() {
    // Two pools of 64-byte blocks, one full and one with a single block: handing out the
    // single block first would empty its pool at once.
    let g = Preset::Cpython38.geometry();
    let per_pool = g.blocks_per_pool(3);
    let mut seed = Seed {
        arenas: 1,
        ..Seed::default()
    };
    seed.classes[3] = SeedClass {
        pools: 2,
        blocks: per_pool + 1,
    };
    let mut e = Pymalloc::new(g);
    let mut ph = e.seed_from(&seed).unwrap();
    for _ in 0..per_pool - 1 {
        let p = ph.take(3).unwrap();
        // SAFETY: a live phantom, freed once.
        unsafe { e.free(p.as_ptr()) };
        assert_eq!(e.stats().class(3).pools, 2, "no pool empties early");
    }
}

#[test]
fn impossible_seeds_are_refused_and_leave_the_engine_empty() {
    let g = Preset::Cpython38.geometry();
    let mut e = Pymalloc::new(g);
    let mut seed = Seed::default();
    seed.classes[0] = SeedClass {
        pools: 2,
        blocks: 1,
    };
    assert!(matches!(
        e.seed_from(&seed),
        Err(SeedError::Class { class: 0, .. })
    ));
    seed.classes[0] = SeedClass {
        pools: 1,
        blocks: 1,
    };
    assert_eq!(
        e.seed_from(&seed).unwrap_err(),
        SeedError::NoArena { pools: 1 }
    );
    seed.arenas = 2; // 3.8 keeps no spare: a second arena would hold nothing
    assert!(matches!(
        e.seed_from(&seed),
        Err(SeedError::TooManyArenas { .. })
    ));
    assert_eq!(e.stats().arenas_allocated_current, 0);
    seed.arenas = 1;
    let _ph = e.seed_from(&seed).unwrap();
    assert_eq!(e.seed_from(&seed).unwrap_err(), SeedError::NotEmpty);
}
