//! Behaviour of the built-in workloads: each checks the CPython facts its model encodes
//! (expected values from cpython-patterns.md). Properties of every stream (well-formedness,
//! determinism, golden hashes) are in `tests/workload/workload_streams.rs`.

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

/// An instance of a class without `__slots__` is allocated as its version lays it out (the
/// object, then its `__dict__` or values), and one with `__slots__` as a single 48-byte object.
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
    let slotted = allocs(&events(&w));
    assert!(!slotted.is_empty(), "the instances are allocated");
    assert!(
        slotted.iter().all(|a| a.1 == 48),
        "with __slots__ every instance is one 48-byte block"
    );
}

#[path = "workload_facts/lifetimes.rs"]
mod lifetimes;
