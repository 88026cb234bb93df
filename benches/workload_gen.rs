//! Generation speed of every built-in workload, in events per second (target ≥ 20 M/s on
//! one core). Run: `cargo bench --bench workload_gen`.

use divan::counter::ItemsCount;
use divan::Bencher;
use pybench::workload::{Workload, BUILTINS};

fn main() {
    divan::main();
}

fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.0)
}

/// Pulls a whole default-scale stream event by event, as a replay loop would.
#[divan::bench(args = names(), sample_count = 10, sample_size = 1)]
fn generate(bencher: Bencher, name: &str) {
    let w = Workload::builtin(name).expect("built-in workload parses");
    let events = w.stream().count();
    bencher.counter(ItemsCount::new(events)).bench(|| {
        divan::black_box(w.stream()).fold(0u64, |acc, e| acc ^ u64::from(e.slot().unwrap_or(0)))
    });
}

/// The same through `next_batch`, the interface a replay loop that decodes ahead uses.
#[divan::bench(args = names(), sample_count = 10, sample_size = 1)]
fn generate_batches(bencher: Bencher, name: &str) {
    let w = Workload::builtin(name).expect("built-in workload parses");
    let events = w.stream().count();
    bencher.counter(ItemsCount::new(events)).bench(|| {
        let mut s = w.stream();
        let mut n = 0usize;
        while let Some(b) = s.next_batch() {
            n += divan::black_box(b).len();
        }
        n
    });
}
