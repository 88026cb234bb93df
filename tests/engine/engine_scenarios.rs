//! Scenario tests of the pymalloc engine. Every expected figure is derived from
//! `shared/docs/pymalloc.md` (the table of blocks per pool, the release rules, the realloc
//! rule), not from running the engine.

use pybench::pymalloc::{size_class, Geometry, Preset, Pymalloc};
use std::collections::BTreeMap;

/// pymalloc.md §2: (block size, blocks per pool, leftover bytes) for 4 KiB and 16 KiB pools.
const TABLE_4K: [(usize, usize, usize); 10] = [
    (16, 253, 0),
    (32, 126, 16),
    (48, 84, 16),
    (64, 63, 16),
    (80, 50, 48),
    (96, 42, 16),
    (128, 31, 80),
    (160, 25, 48),
    (256, 15, 208),
    (512, 7, 464),
];
const TABLE_16K: [(usize, usize, usize); 10] = [
    (16, 1021, 0),
    (32, 510, 16),
    (48, 340, 16),
    (64, 255, 16),
    (80, 204, 16),
    (96, 170, 16),
    (128, 127, 80),
    (160, 102, 16),
    (256, 63, 208),
    (512, 31, 464),
];

fn table_for(p: Preset) -> &'static [(usize, usize, usize); 10] {
    if p.geometry().pool_size() == 4096 {
        &TABLE_4K
    } else {
        &TABLE_16K
    }
}

fn alloc_n(e: &mut Pymalloc, size: usize, n: usize) -> Vec<*mut u8> {
    (0..n)
        .map(|_| {
            let p = e.malloc(size);
            assert!(e.owns(p), "a {size}-byte block must come from pymalloc");
            p
        })
        .collect()
}

fn free_all(e: &mut Pymalloc, blocks: impl IntoIterator<Item = *mut u8>) {
    for p in blocks {
        unsafe { e.free(p) };
    }
}

#[test]
fn blocks_per_pool_match_the_spec_for_every_preset() {
    for preset in Preset::ALL {
        let g = preset.geometry();
        for &(size, per_pool, leftover) in table_for(preset) {
            let class = size_class(size);
            assert_eq!(g.blocks_per_pool(class), per_pool, "{preset} {size}");
            assert_eq!(g.pool_leftover(class), leftover, "{preset} {size}");

            // Observed, not just computed: a pool takes exactly `per_pool` blocks.
            let mut e = Pymalloc::new(g);
            let blocks = alloc_n(&mut e, size, per_pool);
            let s = e.stats();
            assert_eq!(
                (s.class(class).pools, s.class(class).avail_blocks),
                (1, 0),
                "{preset} {size}"
            );
            let one_more = e.malloc(size);
            assert_eq!(
                e.stats().class(class).pools,
                2,
                "{preset} {size}: block {} needs a new pool",
                per_pool + 1
            );
            free_all(&mut e, blocks.into_iter().chain([one_more]));
            e.check_invariants().unwrap();
        }
    }
}

#[test]
fn filling_exactly_k_pools_gives_the_spec_accounting() {
    let k = 5;
    for preset in Preset::ALL {
        let g = preset.geometry();
        let (size, per_pool, leftover) = table_for(preset)[2]; // 48-byte blocks
        let mut e = Pymalloc::new(g);
        let blocks = alloc_n(&mut e, size, k * per_pool);
        let s = e.stats();
        let c = s.class(size_class(size));
        assert_eq!(
            (c.pools, c.blocks_in_use, c.avail_blocks),
            (k, k * per_pool, 0),
            "{preset}"
        );
        assert_eq!(s.bytes_in_allocated_blocks, k * per_pool * size);
        assert_eq!(s.bytes_in_available_blocks, 0);
        assert_eq!(s.bytes_lost_to_pool_headers, k * 48);
        assert_eq!(s.bytes_lost_to_quantization, k * leftover);
        assert_eq!(s.arenas_allocated_current, 1);
        assert_eq!(s.byte_lines_total(), g.arena_size());
        free_all(&mut e, blocks);
        // 3.9+ keep the only arena as a spare; 3.8 returns it.
        let expect = usize::from(g.keeps_spare_arena());
        assert_eq!(e.stats().arenas_allocated_current, expect, "{preset}");
    }
}

/// pymalloc.md §4: allocate then free 30,000 16-byte blocks, 200 rounds. 3.8 maps and unmaps
/// every arena every round; 3.9+ keep one spare.
#[test]
fn arena_thrash_maps_every_round_on_38_but_keeps_a_spare_on_39_and_later() {
    const BLOCKS: usize = 30_000;
    const ROUNDS: usize = 200;
    for preset in [Preset::Cpython38, Preset::Cpython39, Preset::Cpython311] {
        let g = preset.geometry();
        let per_pool = table_for(preset)[0].1;
        let pools = BLOCKS.div_ceil(per_pool); // 119 with 4 KiB pools, 30 with 16 KiB
                                               // With 16 KiB pools an arena keeps 63 or 64 pools; 30 fit either way.
        let arenas_per_round = pools.div_ceil(g.pools_per_arena() - 1);
        let mut e = Pymalloc::new(g);
        for round in 0..ROUNDS {
            let blocks = alloc_n(&mut e, 16, BLOCKS);
            assert_eq!(e.stats().arenas_allocated_current, arenas_per_round);
            free_all(&mut e, blocks);
            let kept = e.stats().arenas_allocated_current;
            assert_eq!(
                kept,
                usize::from(g.keeps_spare_arena()),
                "{preset} round {round}"
            );
        }
        let total = e.stats().arenas_allocated_total;
        let expected = if !g.keeps_spare_arena() {
            ROUNDS * arenas_per_round // 400: both arenas, every round
        } else {
            // The spare serves the next round, so only the other arenas are mapped again:
            // 2 + 199 on 3.9, and a single arena for the whole run on 3.11.
            arenas_per_round + (ROUNDS - 1) * (arenas_per_round - 1)
        };
        assert_eq!(total, expected, "{preset}");
        e.check_invariants().unwrap();
    }
}

/// Groups blocks by the pool they live in, in allocation order of the pools.
fn by_pool(e: &Pymalloc, blocks: &[*mut u8]) -> Vec<Vec<*mut u8>> {
    let mask = !(e.geometry().pool_size() - 1);
    let mut pools: BTreeMap<usize, Vec<*mut u8>> = BTreeMap::new();
    for &p in blocks {
        pools.entry(p as usize & mask).or_default().push(p);
    }
    pools.into_values().collect()
}

#[test]
fn a_new_pool_comes_from_the_most_used_arena() {
    // 3.9: 4 KiB pools are page aligned, so every arena has exactly 64 pools.
    let g = Preset::Cpython39.geometry();
    let per_pool = TABLE_4K[0].1;
    let mut e = Pymalloc::new(g);
    let a_blocks = alloc_n(&mut e, 16, 64 * per_pool); // fills arena A
    let b_blocks = alloc_n(&mut e, 16, 10 * per_pool); // 10 pools of arena B
    let arena_a = e.arena_of(a_blocks[0]).unwrap();
    let arena_b = e.arena_of(b_blocks[0]).unwrap();
    assert_ne!(arena_a.index, arena_b.index);

    // Empty 20 pools of A: A has 20 free pools, B 54, so A is the most used.
    let a_pools = by_pool(&e, &a_blocks);
    for pool in &a_pools[..20] {
        free_all(&mut e, pool.iter().copied());
    }
    let order: Vec<_> = e.usable_arenas().map(|a| (a.index, a.free_pools)).collect();
    assert_eq!(order, vec![(arena_a.index, 20), (arena_b.index, 54)]);
    let p = e.malloc(32); // no pool of class 1 yet: needs a new pool
    assert_eq!(e.arena_of(p).unwrap().index, arena_a.index);
    unsafe { e.free(p) };

    // Empty 40 more pools of A: now B (54 free) is the most used.
    for pool in &a_pools[20..60] {
        free_all(&mut e, pool.iter().copied());
    }
    let order: Vec<_> = e.usable_arenas().map(|a| a.free_pools).collect();
    assert_eq!(order, vec![54, 60]);
    let q = e.malloc(32);
    assert_eq!(e.arena_of(q).unwrap().index, arena_b.index);
    e.check_invariants().unwrap();
}

#[test]
fn an_arena_is_returned_when_its_last_pool_empties() {
    for preset in [Preset::Cpython38, Preset::Cpython39] {
        let g = preset.geometry();
        let mut e = Pymalloc::new(g);
        let a_blocks = alloc_n(&mut e, 64, 64 * TABLE_4K[3].1); // arena A, full
        let b_blocks = alloc_n(&mut e, 64, 3); // arena B, one pool: 63 free pools
        assert_eq!(e.stats().arenas_allocated_current, 2);

        // A empties. While it still has a block it stays; its last block releases it on both
        // presets (on 3.9 because B, with as many free pools, follows it in usable_arenas).
        let (last, rest) = a_blocks.split_last().unwrap();
        free_all(&mut e, rest.iter().copied());
        assert_eq!(
            e.stats().arenas_allocated_current,
            2,
            "{preset}: A still has a block"
        );
        unsafe { e.free(*last) };
        let s = e.stats();
        assert_eq!(
            (s.arenas_allocated_current, s.arenas_reclaimed),
            (1, 1),
            "{preset}"
        );
        assert!(!e.owns(*last), "{preset}: A's memory is no longer ours");

        // B empties and is the only arena: 3.8 returns it, 3.9 keeps it as the spare.
        free_all(&mut e, b_blocks.iter().copied());
        let s = e.stats();
        let spare = usize::from(g.keeps_spare_arena());
        assert_eq!(s.arenas_allocated_current, spare, "{preset}");
        assert_eq!(
            (s.arenas_allocated_total, s.arenas_reclaimed),
            (2, 2 - spare)
        );
        assert_eq!(e.owns(b_blocks[0]), g.keeps_spare_arena(), "{preset}");
        e.check_invariants().unwrap();
    }
}

#[test]
fn realloc_keeps_the_block_when_shrinking_by_less_than_a_quarter() {
    let mut e = Pymalloc::new(Preset::Cpython311.geometry());
    unsafe {
        let p = e.malloc(64);
        for n in 49..=64 {
            // 4n > 3 × 64 = 192 ⇔ n ≥ 49
            assert_eq!(e.realloc(p, n), p, "64 → {n} keeps the block");
        }
        p.copy_from(
            b"0123456789abcdef0123456789abcdef0123456789abcdef".as_ptr(),
            48,
        );
        let q = e.realloc(p, 48); // 4 × 48 = 192 is not > 192: moves to the 48-byte class
        assert_ne!(q, p);
        assert_eq!(e.block_size(q), Some(48));
        assert_eq!(
            std::slice::from_raw_parts(q, 48),
            b"0123456789abcdef0123456789abcdef0123456789abcdef"
        );
        let r = e.realloc(q, 49); // growth always moves to the bigger class
        assert_eq!(e.block_size(r), Some(64));
        assert_eq!(
            std::slice::from_raw_parts(r, 48),
            b"0123456789abcdef0123456789abcdef0123456789abcdef"
        );
        let big = e.realloc(r, 1000); // beyond 512: the raw allocator
        assert!(!big.is_null() && !e.owns(big));
        let still_raw = e.realloc(big, 100); // pymalloc never adopts a raw block
        assert!(!e.owns(still_raw));
        e.free(still_raw);
        assert_eq!(e.stats().blocks_in_use(), 0);
    }
}

#[test]
fn zero_and_large_requests_and_foreign_pointers_go_to_the_raw_allocator() {
    let mut e = Pymalloc::new(Geometry::default());
    let zero = e.malloc(0);
    let big = e.malloc(513);
    let edge = e.malloc(512);
    assert!(!zero.is_null() && !e.owns(zero));
    assert!(!big.is_null() && !e.owns(big));
    assert!(e.owns(edge));
    assert!(
        e.calloc(usize::MAX, 2).is_null(),
        "calloc overflow gives NULL"
    );
    assert!(e.malloc(usize::MAX).is_null());
    let z = e.calloc(10, 20);
    assert!(e.owns(z));
    assert!(unsafe { std::slice::from_raw_parts(z, 200) }
        .iter()
        .all(|&b| b == 0));
    unsafe {
        let foreign = libc::malloc(24).cast::<u8>();
        assert!(!e.owns(foreign));
        e.free(foreign); // must reach libc's free, not a pool
        for p in [zero, big, edge, z] {
            e.free(p);
        }
    }
    assert_eq!(e.raw_requests(), 2);
    assert_eq!(e.stats().blocks_in_use(), 0);
}

#[test]
fn pools_larger_than_a_page_lose_one_pool_per_unaligned_arena() {
    let g = Preset::Cpython311.geometry();
    let mut e = Pymalloc::new(g);
    // Enough 512-byte blocks for several arenas (31 per pool, 63–64 pools per arena).
    let blocks = alloc_n(&mut e, 512, 31 * 64 * 4);
    let mut unaligned = 0;
    for a in e.arenas() {
        let aligned = a.address % g.pool_size() == 0;
        assert_eq!(a.total_pools, if aligned { 64 } else { 63 });
        unaligned += usize::from(!aligned);
    }
    let s = e.stats();
    assert_eq!(s.unaligned_arenas, unaligned);
    assert_eq!(s.bytes_lost_to_arena_alignment, unaligned * g.pool_size());
    assert_eq!(
        s.byte_lines_total(),
        s.arenas_allocated_current * g.arena_size()
    );
    free_all(&mut e, blocks);
}

/// Empty pools go on their arena's LIFO `freepools` list and are reused last-emptied first
/// (docs/pymalloc.md §2, §3.3). Reused for the class it last served, a pool keeps its free
/// list: blocks come back last-freed first, so a refill hands out the emptied pool's blocks in
/// the reverse of the order they were freed in (a pool re-initialised instead would hand them
/// out from its first block up).
#[test]
fn empty_pools_are_reused_lifo_and_keep_their_free_list_for_the_same_class() {
    let g = Preset::Cpython39.geometry();
    let mut e = Pymalloc::new(g);
    let per_pool = TABLE_4K[1].1;
    let blocks = alloc_n(&mut e, 32, 3 * per_pool);
    let pools = by_pool(&e, &blocks);
    free_all(&mut e, pools[0].iter().copied());
    free_all(&mut e, pools[1].iter().copied());
    // Pool 1 was emptied last, so it is reused first, its free list as the frees left it.
    let fresh = alloc_n(&mut e, 32, per_pool);
    assert_eq!(
        fresh[0],
        *pools[1].last().unwrap(),
        "the first block handed out is the last one freed into the pool"
    );
    let mut last_freed_first = pools[1].clone();
    last_freed_first.reverse();
    assert_eq!(
        fresh, last_freed_first,
        "pool 1 refilled from its kept free list, last freed first"
    );
    // Then pool 0, also with its free list kept: its last freed block comes first.
    let next = e.malloc(32);
    assert_eq!(next, *pools[0].last().unwrap());
    e.check_invariants().unwrap();
}

/// An empty pool reused for another size class is re-initialised (docs/pymalloc.md §3.3):
/// its old free list, threaded through blocks of the old size, is dropped, and blocks are
/// carved from the first one, right after the pool header (`POOL_HEADER_SIZE`, 48 bytes),
/// one block size apart.
#[test]
fn an_empty_pool_reused_for_another_class_starts_again_at_its_first_block() {
    use pybench::pymalloc::POOL_HEADER_SIZE;
    let g = Preset::Cpython39.geometry();
    let mut e = Pymalloc::new(g);
    let per_pool = TABLE_4K[1].1;
    let blocks = alloc_n(&mut e, 32, 2 * per_pool);
    let pools = by_pool(&e, &blocks);
    let pool_mask = !(g.pool_size() - 1);
    let base = pools[1][0] as usize & pool_mask;
    // Freed first block first: a kept free list would hand out its last block first.
    free_all(&mut e, pools[1].iter().copied());
    // No used pool of 48-byte blocks: the request takes the pool just emptied.
    let first = e.malloc(48);
    let second = e.malloc(48);
    assert_eq!(
        first as usize,
        base + POOL_HEADER_SIZE,
        "first block of the pool"
    );
    assert_eq!(second as usize, base + POOL_HEADER_SIZE + 48, "carved next");
    e.check_invariants().unwrap();
}
