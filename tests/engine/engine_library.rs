//! The engine as a Rust user outside pybench meets it: the safe calls answer for any
//! pointer without reading memory the engine did not map, and seeds whose figures no
//! interpreter can report are errors, not panics or aborts.

use proptest::prelude::*;
use pybench::pymalloc::{
    class_size, size_class, ArenaPlacement, Geometry, Preset, Pymalloc, Seed, SeedClass, SeedError,
};
use std::collections::BTreeMap;

/// What `block_size` must say of `p`, from the blocks the test holds: the class size of the
/// pool `p` lies in when that pool holds a live block, `None` otherwise (an empty or
/// never-carved pool, an arena's head bytes before its first pool, anything outside).
fn expected(e: &Pymalloc, live: &BTreeMap<usize, usize>, p: usize) -> Option<usize> {
    let pool_size = e.geometry().pool_size();
    let arena = e.arena_of(p as *const u8)?;
    let pool = p & !(pool_size - 1);
    if pool < arena.address {
        return None;
    }
    live.range(pool..pool + pool_size)
        .next()
        .map(|(_, &n)| class_size(size_class(n)))
}

fn placement() -> impl Strategy<Value = ArenaPlacement> {
    prop_oneof![
        Just(ArenaPlacement::Unaligned),
        Just(ArenaPlacement::Aligned),
        Just(ArenaPlacement::Mmap),
    ]
}

fn geometry() -> impl Strategy<Value = Geometry> {
    prop_oneof![
        Just(Preset::Cpython311.geometry()),
        Just(Preset::Cpython39.geometry()),
        Just("arena=64K,pool=8K".parse().unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any pointer, into a live block or an arena's unused corners, gets the answer the
    /// blocks held say, and any pointer outside every arena `None`; the engine used to read
    /// the header of the pool a pointer rounds down to, which for an unaligned arena's head
    /// bytes lies before the arena (unmapped).
    #[test]
    fn block_size_answers_for_any_pointer(
        g in geometry(),
        place in placement(),
        sizes in proptest::collection::vec(1usize..=512, 1..3000),
        keep in proptest::collection::vec(any::<bool>(), 3000),
        probes in proptest::collection::vec((any::<u32>(), any::<u32>()), 200),
    ) {
        let mut e = Pymalloc::with_placement(g, place);
        let mut live = BTreeMap::new();
        for (&n, &k) in sizes.iter().zip(&keep) {
            let p = e.malloc(n);
            if k {
                live.insert(p as usize, n);
            } else {
                // SAFETY: a live block of this engine, freed once.
                unsafe { e.free(p) };
            }
        }
        let arenas: Vec<_> = e.arenas().collect();
        for &(a, off) in &probes {
            let arena = arenas[a as usize % arenas.len()];
            let p = arena.address + off as usize % g.arena_size();
            prop_assert_eq!(e.block_size(p as *const u8), expected(&e, &live, p), "{:#x}", p);
        }
        for a in &arenas {
            let head = a.address as *const u8;
            prop_assert!(e.owns(head));
            prop_assert_eq!(e.block_size(head), expected(&e, &live, a.address));
        }
        // Outside every arena (told from the arenas' own ranges, not from the engine's
        // lookup): no pool, so `None`, and not the engine's. Null and the top of the address
        // space, a block of libc's heap and one libc maps on its own, the bytes just before
        // and just past each arena (unless a neighbouring arena holds them).
        // SAFETY: plain libc allocations, freed below.
        let foreign = unsafe { [libc::malloc(64), libc::malloc(4 << 20)] };
        let mut outside = vec![
            0usize,
            1,
            usize::MAX,
            usize::MAX & !(g.pool_size() - 1),
            usize::MAX & !(g.arena_size() - 1),
        ];
        outside.extend(foreign.iter().map(|&f| f as usize));
        for a in &arenas {
            outside.extend([a.address.wrapping_sub(1), a.address + g.arena_size()]);
        }
        let in_an_arena = |q: usize| {
            arenas
                .iter()
                .any(|a| (a.address..a.address + g.arena_size()).contains(&q))
        };
        for q in outside.into_iter().filter(|&q| !in_an_arena(q)) {
            prop_assert!(!e.owns(q as *const u8), "{:#x}", q);
            prop_assert_eq!(e.block_size(q as *const u8), None, "{:#x}", q);
        }
        // SAFETY: the libc allocations above, freed once.
        unsafe { foreign.iter().for_each(|&f| libc::free(f)) };
        for (&p, &n) in &live {
            prop_assert_eq!(e.block_size((p + n - 1) as *const u8), Some(class_size(size_class(n))));
            // SAFETY: live blocks of this engine, freed once.
            unsafe { e.free(p as *mut u8) };
        }
        e.check_invariants().unwrap();
    }
}

#[test]
fn an_unaligned_arenas_head_is_the_arenas_but_no_blocks() {
    let mut e = Pymalloc::with_placement(Preset::Cpython311.geometry(), ArenaPlacement::Unaligned);
    let p = e.malloc(16);
    let arena = e.arena_of(p).unwrap();
    let head = arena.address as *const u8;
    assert!(e.owns(head), "CPython's check counts the whole arena");
    assert_eq!(e.block_size(head), None);
    assert_eq!(e.block_size(p), Some(16));
    // SAFETY: a live block of this engine, freed once.
    unsafe { e.free(p) };
    assert_eq!(e.block_size(p), None, "its pool is empty now");
}

/// Figures a hostile or damaged report can carry: they used to overflow (`capacity
/// overflow` panics) or ask for terabytes of bookkeeping (an abort) before any check.
#[test]
fn seeds_no_interpreter_can_report_are_errors() {
    let g = Preset::Cpython311.geometry();
    let mut e = Pymalloc::new(g);
    let mut seed = Seed {
        arenas: 1,
        ..Seed::default()
    };
    seed.classes[0] = SeedClass {
        pools: 1 << 60,
        blocks: 1 << 61,
    };
    assert_eq!(
        e.seed_from(&seed).unwrap_err(),
        SeedError::TooManyPools {
            pools: 1 << 60,
            arenas: 1,
            per_arena: 64
        }
    );
    // Two classes whose pools add up past usize::MAX.
    seed.classes[1] = seed.classes[0];
    seed.classes[0].pools = usize::MAX;
    seed.classes[0].blocks = usize::MAX;
    assert_eq!(seed.pools(), usize::MAX);
    assert!(matches!(
        e.seed_from(&seed),
        Err(SeedError::TooManyPools { .. })
    ));
    let mut seed = Seed {
        arenas: 1 << 40,
        ..Seed::default()
    };
    seed.classes[0] = SeedClass {
        pools: 1 << 40,
        blocks: 1 << 40,
    };
    assert_eq!(
        e.seed_from(&seed).unwrap_err(),
        SeedError::TooLarge {
            arenas: 1 << 40,
            arena_size: 1 << 20
        }
    );
    assert_eq!(e.stats().arenas_allocated_current, 0, "left unchanged");
    // Pools that fit still seed: one arena packed full.
    let mut seed = Seed {
        arenas: 1,
        ..Seed::default()
    };
    seed.classes[31] = SeedClass {
        pools: 63,
        blocks: 63,
    };
    let mut e = Pymalloc::with_placement(g, ArenaPlacement::Unaligned);
    assert_eq!(e.seed_from(&seed).unwrap().total(), 63);
}
