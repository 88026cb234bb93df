//! The lifetime-shaped built-ins (part of `tests/workload/workload_facts.rs`): gc_cycles,
//! arena_thrash, churn, json, webapp, temporaries, and loop bodies.

use super::*;

// ---------------------------------------------------------------- gc_cycles

fn gc_stream(python: &str) -> Vec<Event> {
    let w = spec(
        "gc_cycles",
        python,
        100_000,
        "cycle_share = 1.0\ngroup_objects = { \"2-4\" = 1.0 }\nlive_groups = 16\nlong_lived_share = 0.0",
    );
    events(&w)
}

#[test]
fn gc_cycles_are_freed_only_in_bursts_after_collections() {
    let ev = gc_stream("3.11");
    let mut prev_non_free = None;
    let mut frees = 0;
    for e in &ev {
        match e {
            Event::Free { .. } => {
                frees += 1;
                assert!(
                    matches!(prev_non_free, Some(Event::Gc(_))),
                    "free outside a GC burst"
                );
            }
            other => prev_non_free = Some(*other),
        }
    }
    assert!(frees > 1000);
}

#[test]
fn gen0_threshold_700_or_2000_and_gen1_every_10() {
    for (v, threshold) in [("3.11", 700), ("3.12", 700), ("3.13", 2000)] {
        let ev = gc_stream(v);
        // Containers: instances (56/48/96), lists (56) and dicts (64); keys tables (120)
        // and value arrays (MEM) are not GC-tracked.
        let container = |size: u32| matches!(size, 48 | 56 | 64 | 96);
        let first_gc = ev
            .iter()
            .position(|e| matches!(e, Event::Gc(_)))
            .expect("a collection");
        let before = allocs(&ev[..first_gc])
            .iter()
            .filter(|a| a.2 == Domain::Obj && container(a.1))
            .count();
        assert_eq!(before, threshold, "python {v}");
        assert_eq!(ev[first_gc], Event::Gc(0));
        let gens: Vec<u8> = ev
            .iter()
            .filter_map(|e| if let Event::Gc(g) = e { Some(*g) } else { None })
            .take(22)
            .collect();
        let mut expected = vec![0; 10];
        expected.push(1);
        expected.extend([0; 10]);
        expected.push(1);
        assert_eq!(gens, expected, "python {v}");
    }
}

/// Which generation frees the cycles depends on how long the groups live, as README's
/// table of built-ins says: the shipped spec keeps 14,000 groups, so every cycle is promoted
/// and only full collections free any; 64 groups (the generator's default) die young.
#[test]
fn how_long_groups_live_decides_which_generation_frees_them() {
    let shipped = Workload::builtin("gc_cycles").unwrap();
    let s = Summary::from_events(shipped.stream());
    assert_eq!(s.gc_collections, [875, 87, 8], "the README quotes these");
    assert_eq!((s.gc_freed[0], s.gc_freed[1]), (0, 0), "{:?}", s.gc_freed);
    assert!(s.gc_freed[2] > 1_000_000, "{:?}", s.gc_freed);
    let young = spec("gc_cycles", "3.11", 1_500_000, "live_groups = 64");
    let s = Summary::from_events(young.stream());
    assert!(s.gc_freed[0] > s.gc_freed[2], "{:?}", s.gc_freed);
    assert!(s.gc_freed[1] > 0, "{:?}", s.gc_freed);
}

// ---------------------------------------------------------------- arena_thrash, churn

#[test]
fn arena_thrash_alternates_allocate_all_free_all() {
    let w = spec("arena_thrash", "3.11", 20_000, "round_objects = 1000");
    let mut live = 0i64;
    let mut phase = None;
    let mut rounds = 0;
    for e in w.stream() {
        match e {
            Event::Phase(0) => {
                // Only the list object is left, parked on the list freelist.
                assert!(live <= 1, "a round starts with nothing live, got {live}");
                rounds += 1;
                phase = Some(0);
            }
            Event::Phase(1) => {
                assert!(live > 1000, "all objects and the list are live at the peak");
                phase = Some(1);
            }
            Event::Alloc { .. } => {
                assert_eq!(phase, Some(0));
                live += 1;
            }
            Event::Free { .. } => {
                assert_eq!(phase, Some(1));
                live -= 1;
            }
            _ => {}
        }
    }
    assert!(rounds >= 9);
}

#[test]
fn churn_leaves_scattered_survivors() {
    let w = spec(
        "churn",
        "3.11",
        100_000,
        "round_objects = 10000\nsurvivor_share = 0.02\nkinds = { int = 1.0 }",
    );
    let mut live = 0i64;
    let mut at_round_start = vec![];
    let mut peak = 0;
    for e in w.stream() {
        match e {
            Event::Phase(0) => at_round_start.push(live),
            Event::Alloc { .. } => live += 1,
            Event::Free { .. } => live -= 1,
            _ => {}
        }
        peak = peak.max(live);
    }
    assert!(at_round_start.len() >= 5);
    assert!(peak > 10_000, "a whole round is live at its peak");
    // Each round leaves about 2 % of its 10 000 ints alive (plus the list object parked
    // on the freelist after the first round).
    for w in at_round_start.windows(2).skip(1) {
        let survivors = w[1] - w[0];
        assert!(
            (120..=280).contains(&survivors),
            "{survivors} survivors in a round"
        );
    }
}

// ---------------------------------------------------------------- json, webapp

#[test]
fn json_serialise_joins_into_large_strings_and_lists_grow() {
    let w = Workload::builtin("json").expect("builtin");
    let s = Summary::from_events(w.stream());
    assert!(s.over_512 > 0, "joined output strings exceed 512 bytes");
    assert!(s.realloc.mem > 0, "arrays grow by realloc");
    assert!(s.phase_markers > 0);
}

#[test]
fn webapp_frees_request_objects_at_request_end() {
    let w = Workload::builtin("webapp").expect("builtin");
    let mut live = 0i64;
    let mut at_marker = vec![];
    for e in w.stream() {
        match e {
            Event::Phase(0) => at_marker.push(live),
            Event::Alloc { .. } => live += 1,
            Event::Free { .. } => live -= 1,
            _ => {}
        }
    }
    assert!(at_marker.len() > 500);
    // Between requests only the cache (key, timestamp, tuple and the cached response: 4
    // blocks per request at `cache_response_share = 1`), freelists and uncollected cycles
    // remain, never a request's worth of objects (dozens of blocks) piling up.
    let last = *at_marker.last().unwrap_or(&0);
    assert!(
        last > 0 && last < at_marker.len() as i64 * 6,
        "live {last} after {} requests",
        at_marker.len()
    );
}

#[test]
fn temporaries_die_within_4_allocations() {
    // Tuples of 30 items never use a freelist, so every tuple is one alloc and one free.
    let w = spec(
        "tuples",
        "3.11",
        20_000,
        "temp_share = 0.5\nlen = { \"30\" = 1.0 }\nitem_alloc_share = 0.0\nlive_tuples = 16\nlong_lived_share = 0.0",
    );
    let s = Summary::from_events(w.stream());
    let young = s.lifetimes.within_4;
    assert!((0.45..0.55).contains(&young), "freed within 4: {young}");
    // The others wait for 16 more kept tuples (about 32 allocations).
    assert!(s.lifetimes.within_128 > 0.99, "{:?}", s.lifetimes);
}

// ---------------------------------------------------------------- loop bodies

/// Allocations per request size (shares) and the op-order miss rate of a tuples stream.
fn tuples_shape(loop_iterations: u32) -> (std::collections::BTreeMap<u32, f64>, f64) {
    let mut w = spec("tuples", "3.11", 300_000, "live_tuples = 2000");
    w.loop_iterations = loop_iterations;
    let ev = events(&w);
    let sizes = allocs(&ev);
    let mut shares = std::collections::BTreeMap::new();
    for (_, size, _) in &sizes {
        *shares.entry(*size).or_insert(0.0) += 1.0 / sizes.len() as f64;
    }
    let mut p = pybench::workload::op_order::OpPredictor::new();
    ev.iter().for_each(|e| p.event(e));
    (shares, p.miss_rate())
}

/// A loop body repeats its choices, so the order becomes learnable, but each loop draws
/// them from the spec's distributions: what is allocated stays what the spec says.
#[test]
fn loop_bodies_make_the_order_predictable_and_keep_the_size_mix() {
    let (fresh, fresh_miss) = tuples_shape(1);
    let (looped, looped_miss) = tuples_shape(16);
    assert!(fresh_miss > 0.2, "draws afresh: {fresh_miss}");
    assert!(
        looped_miss < fresh_miss / 2.0,
        "{looped_miss} vs {fresh_miss}"
    );
    for (size, share) in &fresh {
        let other = looped.get(size).copied().unwrap_or(0.0);
        assert!(
            (share - other).abs() < 0.03,
            "{size} B: {share:.3} of allocations without loops, {other:.3} with"
        );
    }
}
