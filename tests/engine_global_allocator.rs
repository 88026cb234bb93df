//! This whole test binary — the test harness, its threads, and the work below — runs on the
//! pymalloc engine installed as Rust's global allocator.

use pybench::pymalloc::{LockedPymalloc, Preset};
use std::collections::{BTreeMap, HashMap};
use std::thread;

#[global_allocator]
static GLOBAL: LockedPymalloc = LockedPymalloc::new(Preset::Cpython311.geometry());

#[test]
fn collections_strings_and_threads_run_on_pymalloc() {
    let before = GLOBAL.stats().arenas_allocated_total;
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            thread::spawn(move || {
                let mut words: HashMap<String, u64> = HashMap::new();
                let mut order = BTreeMap::new();
                for i in 0..20_000u64 {
                    let w = format!("w{}-{}", t, i % 5_000);
                    *words.entry(w.clone()).or_default() += i;
                    order.insert(i, w);
                }
                let mut text = String::new();
                for w in order.values().take(1_000) {
                    text.push_str(w);
                    text.push(' ');
                }
                let big: Vec<u64> = (0..100_000).collect(); // > 512 bytes: the raw allocator
                (
                    words.len(),
                    words.values().sum::<u64>(),
                    text.split(' ').count(),
                    big.iter().sum::<u64>(),
                )
            })
        })
        .collect();
    let during = GLOBAL.stats();
    for h in handles {
        let (distinct, sum, pieces, big_sum) = h.join().unwrap();
        assert_eq!(distinct, 5_000);
        assert_eq!(sum, (0..20_000u64).sum::<u64>());
        assert_eq!(pieces, 1_001);
        assert_eq!(big_sum, 99_999 * 100_000 / 2);
    }
    let after = GLOBAL.stats();
    assert!(
        after.arenas_allocated_total > before,
        "the work mapped pymalloc arenas"
    );
    assert!(during.blocks_in_use() > 0 && after.raw_requests > 0);
    assert_eq!(after.byte_lines_total(), after.arena_bytes());
    // Aligned allocations beyond 16 bytes go to the raw allocator and come back correctly.
    #[repr(align(64))]
    struct Wide([u8; 64]);
    let wide: Vec<Box<Wide>> = (0..100).map(|i| Box::new(Wide([i as u8; 64]))).collect();
    assert!(wide
        .iter()
        .all(|w| (&**w as *const Wide as usize) % 64 == 0));
    assert!(wide.iter().enumerate().all(|(i, w)| w.0[63] == i as u8));
}
