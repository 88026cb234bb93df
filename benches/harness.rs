//! The harness's own cost and the engine against the real obmalloc, in one process.
//!
//! - `null_replay`: the untimed replay loop with the null allocator — what the harness itself
//!   costs per event (target ≤ 2 ns).
//! - `timer`: one timing (two calibrated TSC reads), the overhead every latency carries.
//! - `replay/{dicts,json}`: the same materialized stream replayed into the engine
//!   (`pymalloc:cpython-3.11`) and into CPython 3.11's real obmalloc (`cpython:3.11`, called
//!   through function pointers from its libpython), per event, blocks freed at the end.
//!   Skipped with a message when libpython3.11 is not installed.
//!
//! Run: `cargo bench --bench harness`.

use divan::{counter::ItemsCount, Bencher};
use pybench::alloc::{libpython, Allocator, CpythonAllocator, NullAllocator, PymallocAllocator};
use pybench::harness::cell::Materialized;
use pybench::harness::replay::{Replayer, Touch};
use pybench::harness::timer::Timer;
use pybench::pymalloc::Preset;
use pybench::trace::Source;
use pybench::workload::{Overrides, PyVersion};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn events(workload: &str) -> Materialized {
    Source::load(workload)
        .and_then(|s| {
            s.materialize(Overrides {
                python: Some(PyVersion::V3_11),
                ..Overrides::default()
            })
        })
        .expect("built-in workload")
}

fn timer() -> &'static Timer {
    static T: OnceLock<Timer> = OnceLock::new();
    T.get_or_init(Timer::calibrate)
}

/// One full replay of `m` into `a`, then every live block freed.
fn replay<A: Allocator>(b: Bencher, a: &mut A, m: &Materialized, raw_to_system: bool) {
    let t = timer();
    let mut r = Replayer::new(a, m.slots, raw_to_system, Touch::Header);
    b.counter(ItemsCount::new(m.events.len())).bench_local(|| {
        for (i, ev) in m.events.iter().enumerate() {
            r.apply::<false>(ev, t, i as u64).expect("no OOM");
        }
        r.free_all();
    });
}

#[divan::bench]
fn null_replay(b: Bencher) {
    let m = events("dicts");
    let mut a = NullAllocator::new().expect("scratch mapping");
    replay(b, &mut a, &m, false);
}

#[divan::bench]
fn timer_pair(b: Bencher) {
    let t = timer();
    b.bench_local(|| {
        let start = t.now();
        divan::black_box(t.now() - start)
    });
}

#[divan::bench(args = ["dicts", "json"])]
fn replay_engine(b: Bencher, workload: &str) {
    let m = events(workload);
    let mut a = PymallocAllocator::from_preset(Preset::Cpython311);
    replay(b, &mut a, &m, true);
}

#[divan::bench(args = ["dicts", "json"])]
fn replay_cpython_3_11(b: Bencher, workload: &str) {
    let found = match libpython::find(11, None) {
        Ok(f) => f,
        Err(reason) => {
            eprintln!("skipped cpython:3.11: {reason}");
            return;
        }
    };
    let m = events(workload);
    let mut a = CpythonAllocator::load(&found, 11).expect("libpython3.11 loads");
    replay(b, &mut a, &m, true);
}
