//! Hits drawn by gaps against the chances drawn item by item, and the runs of appends and
//! inserts against the single calls they stand for.

use super::*;
use crate::workload::gen::objects::DictObj;
use crate::workload::python::PyVersion;
use crate::workload::rng::Rng;
use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

fn version(i: usize) -> PyVersion {
    PyVersion::ALL[i % PyVersion::ALL.len()]
}

fn all_hits(n: u32, p: f64, rng: &mut Rng) -> Vec<u32> {
    let mut hits = Hits::new(n, p);
    std::iter::from_fn(|| hits.next(rng)).collect()
}

proptest! {
    /// Up to [`DRAWN_ONE_BY_ONE`] items, the hits and the generator's state after them are
    /// those of one `chance(p)` an item: the streams of every spec of such containers (every
    /// built-in's) are the ones they were.
    #[test]
    fn short_containers_draw_as_the_loops_did(n in 0..=DRAWN_ONE_BY_ONE, p in 0.0..=1.0f64, seed in 0u64..1000) {
        let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
        let hits = all_hits(n, p, &mut a);
        let looped: Vec<u32> = (0..n).filter(|_| b.chance(p)).collect();
        prop_assert_eq!(hits, looped);
        prop_assert_eq!(a.next_u64(), b.next_u64());
    }

    /// Past it, every hit is a new item inside the container, in order.
    #[test]
    fn hits_are_items_of_the_container_in_order(n in 0u32..200_000, p in 0.0..=1.0f64, seed in 0u64..1000) {
        let hits = all_hits(n, p, &mut Rng::new(seed));
        prop_assert!(hits.windows(2).all(|w| w[0] < w[1]), "{hits:?}");
        prop_assert!(hits.last().map_or(true, |&i| i < n));
    }

    /// A run of appends makes the events, length and capacity of as many single appends.
    #[test]
    fn extend_is_appends(v in 0usize..6, before in 0u32..300, k in 0u32..5000) {
        let (mut h1, mut h2) = (Heap::new(version(v), 1), Heap::new(version(v), 1));
        let (mut a, mut b) = (ListObj::new_empty(&mut h1), ListObj::new_empty(&mut h2));
        a.extend(&mut h1, before);
        b.extend(&mut h2, before);
        a.extend(&mut h1, k);
        for _ in 0..k {
            b.append(&mut h2);
        }
        prop_assert_eq!((a.len, a.cap), (b.len, b.cap));
        prop_assert_eq!(&h1.out, &h2.out);
    }

    /// A run of inserts makes the events and table of as many single inserts.
    #[test]
    fn insert_many_is_inserts(v in 0usize..6, str_keys: bool, before in 0u32..300, k in 0u32..5000) {
        let (mut h1, mut h2) = (Heap::new(version(v), 1), Heap::new(version(v), 1));
        let mut a = DictObj::new(&mut h1, str_keys);
        let mut b = DictObj::new(&mut h2, str_keys);
        a.insert_many(&mut h1, before);
        b.insert_many(&mut h2, before);
        a.insert_many(&mut h1, k);
        for _ in 0..k {
            b.insert(&mut h2);
        }
        prop_assert_eq!((a.used, a.log2, a.keys), (b.used, b.log2, b.keys));
        prop_assert_eq!(&h1.out, &h2.out);
    }
}

/// Drawn by gaps, the share of items that hit is still `p`: one million items past the
/// threshold at p = 0.003 and at p = 0.5 (counts within 5 standard deviations).
#[test]
fn gaps_keep_the_share_of_hits() {
    let past = 1_000_000u32;
    for (p, seed) in [(0.003, 1), (0.5, 2), (0.003, 3)] {
        let hits = all_hits(DRAWN_ONE_BY_ONE + past, p, &mut Rng::new(seed))
            .into_iter()
            .filter(|&i| i >= DRAWN_ONE_BY_ONE)
            .count() as f64;
        let (mean, sd) = (
            p * f64::from(past),
            (p * (1.0 - p) * f64::from(past)).sqrt(),
        );
        assert!(
            (hits - mean).abs() < 5.0 * sd,
            "p {p}: {hits} hits, {mean} expected"
        );
    }
}

/// None hit at p = 0 and all at p = 1, however long the container, with no draw per item.
#[test]
fn certain_chances_are_certain() {
    let n = 10_000_000;
    assert!(all_hits(n, 0.0, &mut Rng::new(1)).is_empty());
    let all = all_hits(2_000, 1.0, &mut Rng::new(1));
    assert_eq!(all, (0..2_000).collect::<Vec<u32>>());
}
