//! Behaviour of the built-in workloads: each checks the CPython facts its model encodes
//! (expected values from cpython-patterns.md). Properties of every stream (well-formedness,
//! determinism, golden hashes) are in `tests/workload_streams.rs`.

use pybench::workload::{Domain, Event, Summary, Workload};

/// A spec for `generator` with `params` (TOML lines) on `python`.
fn spec(generator: &str, python: &str, scale: u64, params: &str) -> Workload {
    let src = format!(
        "name = \"t\"\ndescription = \"test\"\ngenerator = \"{generator}\"\npython = \"{python}\"\nscale = {scale}\nseed = 3\n[params]\n{params}\n"
    );
    match Workload::from_toml("test.toml", &src) {
        Ok(w) => w,
        Err(e) => panic!("test spec refused: {e}"),
    }
}

fn events(w: &Workload) -> Vec<Event> {
    w.stream().collect()
}

fn allocs(ev: &[Event]) -> Vec<(u32, u32, Domain)> {
    ev.iter()
        .filter_map(|e| match *e {
            Event::Alloc {
                slot, size, domain, ..
            } => Some((slot, size, domain)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- dicts

/// For the first dict of a stream where every insert allocates exactly one value, returns
/// (keys-table size, values allocated before it) for each keys allocation, and the sizes
/// of keys tables freed while it grows.
fn first_dict_keys(
    python: &str,
    str_keys: bool,
    keys_sizes: &[u32],
) -> (Vec<(u32, u32)>, Vec<u32>) {
    let w = spec(
        "dicts",
        python,
        200,
        &format!(
            "temp_share = 0.0\nstr_keys = {}\nitems = {{ \"90\" = 1.0 }}\nnew_key_share = 0.0\nvalue_alloc_share = 1.0\nlive_dicts = 1\nlong_lived_share = 0.0",
            if str_keys { 1.0 } else { 0.0 }
        ),
    );
    let ev = events(&w);
    assert!(matches!(
        ev[0],
        Event::Alloc {
            size: 64,
            domain: Domain::Obj,
            ..
        }
    ));
    let mut keys = vec![];
    let mut key_slots = vec![];
    let mut freed = vec![];
    let mut values = 0;
    for e in &ev[1..] {
        match *e {
            Event::Alloc { slot, size, .. } if keys_sizes.contains(&size) => {
                keys.push((size, values));
                key_slots.push(slot);
            }
            Event::Alloc { .. } => values += 1,
            Event::Free { slot, .. } => match key_slots.iter().position(|k| *k == slot) {
                Some(i) => freed.push(keys[i].0),
                None => break, // a value: the first dict is being destroyed
            },
            _ => {}
        }
        if values == 90 {
            break;
        }
    }
    (keys, freed)
}

#[test]
fn dicts_311_str_keys_grow_120_208_400_768_at_documented_inserts() {
    let (keys, freed) = first_dict_keys("3.11", true, &[120, 208, 400, 768, 1520, 3264]);
    // A keys table is allocated at insert 1, then replaced at inserts 6, 11, 22, 43, 86:
    // the values allocated before each keys allocation are 0, 5, 10, 21, 42, 85.
    let sizes: Vec<u32> = keys.iter().take(4).map(|k| k.0).collect();
    assert_eq!(sizes, [120, 208, 400, 768]);
    assert_eq!(keys.len(), 6);
    assert_eq!(
        keys.iter().map(|k| k.1).collect::<Vec<_>>(),
        [0, 5, 10, 21, 42, 85]
    );
    // Growth is alloc new + free old; the smallest str-key table goes to the keys freelist
    // instead of being freed.
    assert_eq!(&freed[..3], &[208, 400, 768]);
}

#[test]
fn dicts_311_int_keys_use_24_byte_entries() {
    let (keys, _) = first_dict_keys("3.11", false, &[160, 288, 568, 1104]);
    let sizes: Vec<u32> = keys.iter().map(|k| k.0).collect();
    assert_eq!(sizes, [160, 288, 568, 1104]);
    assert_eq!(keys.iter().map(|k| k.1).collect::<Vec<_>>(), [0, 5, 10, 21]);
}

#[test]
fn dicts_38_to_310_have_one_keys_layout() {
    for v in ["3.8", "3.9", "3.10"] {
        for str_keys in [true, false] {
            let (keys, _) = first_dict_keys(v, str_keys, &[168, 296, 576, 1112]);
            let sizes: Vec<u32> = keys.iter().map(|k| k.0).collect();
            assert_eq!(sizes, [168, 296, 576, 1112], "python {v}");
        }
    }
}

#[test]
fn empty_dicts_are_64_byte_obj_blocks_without_keys() {
    let w = spec(
        "dicts",
        "3.11",
        5000,
        "items = { \"0\" = 1.0 }\nlive_dicts = 200\nlong_lived_share = 0.0",
    );
    let a = allocs(&events(&w));
    assert!(!a.is_empty());
    assert!(a.iter().all(|&(_, size, d)| size == 64 && d == Domain::Obj));
}

// ---------------------------------------------------------------- lists

fn list_capacities(python: &str) -> Vec<u32> {
    let w = spec(
        "lists",
        python,
        101,
        "temp_share = 0.0\nappend_share = 1.0\nlen = { \"100\" = 1.0 }\nitem_alloc_share = 0.0\nlive_lists = 4\nlong_lived_share = 0.0",
    );
    let ev = events(&w);
    assert!(matches!(
        ev[0],
        Event::Alloc {
            size: 56,
            domain: Domain::Obj,
            ..
        }
    ));
    let Event::Alloc {
        slot: items,
        size: first,
        domain: Domain::Mem,
        ..
    } = ev[1]
    else {
        panic!("second event should be the item array: {:?}", ev[1]);
    };
    let mut caps = vec![first / 8];
    for e in &ev[2..] {
        match *e {
            Event::Realloc { slot, size, .. } if slot == items => caps.push(size / 8),
            _ => break,
        }
    }
    caps
}

#[test]
fn lists_grow_by_realloc_with_version_rule() {
    assert_eq!(
        list_capacities("3.11")[..10],
        [4, 8, 16, 24, 32, 40, 52, 64, 76, 92]
    );
    assert_eq!(
        list_capacities("3.8")[..9],
        [4, 8, 16, 25, 35, 46, 58, 72, 88]
    );
}

#[test]
fn list_literals_are_sized_exactly_even_from_310() {
    for (v, bytes) in [("3.9", 24), ("3.10", 32), ("3.13", 32)] {
        let w = spec(
            "lists",
            v,
            100,
            "append_share = 0.0\nlen = { \"3\" = 1.0 }\nitem_alloc_share = 0.0\nlive_lists = 4",
        );
        let a = allocs(&events(&w));
        assert_eq!(a[1], (1, bytes, Domain::Mem), "python {v}");
    }
}

// ---------------------------------------------------------------- tuples

#[test]
fn tuples_up_to_19_recycle_through_freelist() {
    let w = spec(
        "tuples",
        "3.11",
        10_000,
        "temp_share = 0.0\nlen = { \"2\" = 1.0 }\nitem_alloc_share = 0.0\nlive_tuples = 10\nlong_lived_share = 0.0",
    );
    let ev = events(&w);
    // 11 tuples are alive at most (window of 10 plus the new one); after that every tuple
    // comes from the freelist: no more allocator calls at all.
    assert_eq!(ev.len(), 11);
    assert!(allocs(&ev).iter().all(|a| a.1 == 56));
}

#[test]
fn tuples_over_19_items_reach_the_allocator() {
    let w = spec(
        "tuples",
        "3.11",
        1000,
        "temp_share = 0.0\nlen = { \"30\" = 1.0 }\nitem_alloc_share = 0.0\nlive_tuples = 10\nlong_lived_share = 0.0",
    );
    let s = Summary::from_events(w.stream());
    assert_eq!(s.alloc.obj, 1000);
    assert_eq!(s.free.obj, 990);
    assert_eq!(
        s.size_classes[(280 - 1) / 16].count,
        1000,
        "40 + 8*30 = 280 bytes"
    );
}

// ---------------------------------------------------------------- strings

fn str_events(python: &str, kinds: &str, params: &str) -> Vec<Event> {
    let w = spec(
        "strings",
        python,
        50,
        &format!("temp_share = 0.0\nkinds = {kinds}\nlive_strings = 100\nlong_lived_share = 0.0\n{params}"),
    );
    events(&w)
}

#[test]
fn string_sizes_follow_version_formulas() {
    let one = "build_share = 0.0\nlen = { \"10\" = 1.0 }";
    for (v, kinds, bytes) in [
        ("3.11", "{ ascii = 1.0 }", 59),
        ("3.12", "{ ascii = 1.0 }", 51),
        ("3.8", "{ latin1 = 1.0 }", 83),
        ("3.13", "{ latin1 = 1.0 }", 67),
        ("3.10", "{ ucs2 = 1.0 }", 94),
        ("3.12", "{ ucs2 = 1.0 }", 78),
    ] {
        let a = allocs(&str_events(v, kinds, one));
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|x| x.1 == bytes), "{v} {kinds}: {:?}", &a[..2]);
    }
}

#[test]
fn one_char_latin1_and_empty_strings_are_singletons() {
    let a = allocs(&str_events(
        "3.11",
        "{ latin1 = 1.0 }",
        "build_share = 0.0\nlen = { \"0-1\" = 1.0 }",
    ));
    assert!(a.is_empty());
    let a = allocs(&str_events(
        "3.11",
        "{ ucs2 = 1.0 }",
        "build_share = 0.0\nlen = { \"1\" = 1.0 }",
    ));
    assert_eq!(a.len(), 50, "one-char UCS-2 strings are not cached");
}

#[test]
fn string_building_reallocs_in_place() {
    let ev = str_events(
        "3.11",
        "{ ascii = 1.0 }",
        "build_share = 1.0\nbuild_pieces = { \"3\" = 1.0 }\npiece_len = { \"5\" = 1.0 }",
    );
    let Event::Alloc { slot, size: 54, .. } = ev[0] else {
        panic!("{:?}", ev[0])
    };
    assert_eq!(
        ev[1],
        Event::Realloc {
            slot,
            size: 59,
            thread: 0
        }
    );
    assert_eq!(
        ev[2],
        Event::Realloc {
            slot,
            size: 64,
            thread: 0
        }
    );
}

// ---------------------------------------------------------------- numbers

#[test]
fn floats_recycle_through_freelist_of_100() {
    let w = spec(
        "numbers",
        "3.11",
        10_000,
        "temp_share = 0.0\nfloat_share = 1.0\nlive_numbers = 8\nlong_lived_share = 0.0",
    );
    let ev = events(&w);
    // 9 floats alive at most; the freelist serves every later one.
    assert_eq!(ev.len(), 9);
    assert!(allocs(&ev).iter().all(|a| a.1 == 24));
}

#[test]
fn int_sizes_by_version_and_origin() {
    for (v, parsed, arith, two) in [("3.10", 28, 28, 32), ("3.11", 28, 32, 36)] {
        let size = |p: &str| {
            let w = spec(
                "numbers",
                v,
                20,
                &format!("float_share = 0.0\nsmall_int_share = 0.0\n{p}"),
            );
            allocs(&events(&w))[0].1
        };
        assert_eq!(
            size("parsed_share = 1.0\ntwo_digit_share = 0.0"),
            parsed,
            "{v}"
        );
        assert_eq!(
            size("parsed_share = 0.0\ntwo_digit_share = 0.0"),
            arith,
            "{v}"
        );
        assert_eq!(
            size("parsed_share = 0.0\ntwo_digit_share = 1.0"),
            two,
            "{v}"
        );
    }
    let w = spec(
        "numbers",
        "3.11",
        1000,
        "float_share = 0.0\nsmall_int_share = 1.0",
    );
    assert!(events(&w).is_empty(), "small ints never allocate");
}

// ---------------------------------------------------------------- instances

#[test]
fn instance_layout_per_version() {
    for (v, layout) in [
        (
            "3.8",
            vec![(48, Domain::Obj), (64, Domain::Obj), (40, Domain::Mem)],
        ),
        (
            "3.10",
            vec![(48, Domain::Obj), (64, Domain::Obj), (40, Domain::Mem)],
        ),
        ("3.11", vec![(56, Domain::Obj), (40, Domain::Mem)]),
        ("3.12", vec![(48, Domain::Obj), (40, Domain::Mem)]),
        ("3.13", vec![(96, Domain::Obj)]),
    ] {
        let w = spec(
            "instances",
            v,
            30,
            "slots_share = 0.0\nattr_alloc_share = 0.0\nlive_instances = 100",
        );
        let a = allocs(&events(&w));
        let got: Vec<(u32, Domain)> = a.iter().take(layout.len()).map(|x| (x.1, x.2)).collect();
        assert_eq!(got, layout, "python {v}");
    }
    let w = spec(
        "instances",
        "3.11",
        30,
        "slots_share = 1.0\nattr_alloc_share = 0.0\nlive_instances = 100",
    );
    assert!(allocs(&events(&w)).iter().all(|a| a.1 == 48));
}

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
