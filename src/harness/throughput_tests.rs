//! Tests of the calibration and the round order (`throughput.rs`), with scripted and real
//! contenders.

use super::*;
use crate::alloc::{Allocator, NullAllocator, PymallocAllocator, SystemAllocator};
use crate::harness::compact::CompactStream;
use crate::harness::replay::Touch;
use crate::pymalloc::Preset;
use crate::workload::event::fixture;
use crate::workload::{Domain, Event};
use std::rc::Rc;

/// A calibration of `min_time_ns`, `rounds` and `warmup_passes`, address layout as it comes.
fn cal(min_time_ns: u64, rounds: u32, warmup_passes: u32) -> Calibration {
    Calibration {
        min_time_ns,
        rounds,
        warmup_passes,
        fixed_layout: false,
        release_between_passes: false,
        arenas_side_by_side: true,
        arenas_past_pool_boundary: true,
        prime_cold_passes: false,
    }
}

fn stream(n: u32) -> Rc<CompactStream> {
    let mut events = Vec::new();
    for i in 0..n {
        events.push(Event::Alloc {
            slot: i % 64,
            size: 16 + i % 200,
            domain: if i % 7 == 0 { Domain::Raw } else { Domain::Obj },
            thread: 0,
        });
        if i % 3 != 0 || i % 64 == 63 {
            events.push(Event::Free {
                slot: i % 64,
                thread: 0,
            });
        } else {
            events.push(Event::Realloc {
                slot: i % 64,
                size: 300,
                thread: 0,
            });
            events.push(Event::Free {
                slot: i % 64,
                thread: 0,
            });
        }
    }
    events.push(Event::Calloc {
        slot: 0,
        n: 4,
        size: 8,
        domain: Domain::Mem,
        thread: 0,
    });
    Rc::new(CompactStream::compile(&events, true, Touch::Header).unwrap())
}

#[test]
fn passes_replay_every_event_and_leave_nothing_live() {
    let s = stream(1000);
    let engine = PymallocAllocator::from_preset(Preset::Cpython311);
    let mut b = Bench::new("pymalloc", engine, Rc::clone(&s)).unwrap();
    for _ in 0..3 {
        assert!(b.pass().unwrap() > 0);
        // The engine's own accounting: no block of the pass survives it.
        let stats = b.engine_stats().unwrap();
        assert_eq!(stats.bytes_in_allocated_blocks, 0);
        assert!(
            stats.arenas_allocated_total > 0,
            "the pass allocated nothing"
        );
    }
}

/// 60,000 live 64-byte blocks: ≈ 3.8 MB, ≈ 940 one-page pools in 256 KiB arenas (3.9), all
/// freed by the cleanup after each pass.
fn live_blocks_stream() -> Rc<CompactStream> {
    let events: Vec<Event> = (0..60_000).map(|slot| fixture::alloc(slot, 64)).collect();
    Rc::new(CompactStream::compile(&events, false, Touch::Header).unwrap())
}

/// Minor faults of a `Bench` over the engine (3.9 preset), cold pass then warm pass, on
/// [`live_blocks_stream`].
fn cold_and_warm_faults<A: Allocator>(wrap: impl FnOnce(PymallocAllocator) -> A) -> (u64, u64) {
    use crate::sys::procfs::thread_minor_faults;
    let engine = wrap(PymallocAllocator::from_preset(Preset::Cpython39));
    let mut b = Bench::new("pymalloc", engine, live_blocks_stream()).unwrap();
    let f0 = thread_minor_faults();
    b.pass().unwrap();
    let cold = thread_minor_faults() - f0;
    b.pass().unwrap();
    let warm = thread_minor_faults() - f0 - cold;
    assert!(
        cold >= 900,
        "the cold pass faults in the heap: {cold} faults"
    );
    (cold, warm)
}

/// The untimed cleanup between passes holds the arenas it empties
/// (`Allocator::hold_releases`): the engine's warm pass finds its heap's pages faulted in, as
/// allocators that cache freed memory do, instead of faulting every page in again.
#[test]
fn a_warm_pass_does_not_fault_in_the_heap_the_cleanup_emptied() {
    let (cold, warm) = cold_and_warm_faults(|e| e);
    assert!(warm * 10 < cold, "cold {cold} faults, warm {warm}");
}

/// `run --release-between-passes` (the engine wrapped in `Unheld`): the cleanup lets the
/// engine unmap its emptied arenas, so the warm pass faults the heap in again, as pybench
/// measured before 2026-12-04.
#[test]
fn released_between_passes_the_warm_pass_faults_the_heap_in_again() {
    let (cold, warm) = cold_and_warm_faults(crate::alloc::Unheld);
    assert!(warm * 10 >= cold * 8, "cold {cold} faults, warm {warm}");
}

/// The group's samples count the faults of the timed passes: about the heap's pages a pass
/// when the cleanup lets the engine unmap its arenas, next to none when it holds them.
#[test]
fn a_group_counts_each_contenders_page_faults_per_warm_pass() {
    let s = live_blocks_stream();
    let engine = |unheld: bool| -> Box<dyn Contender> {
        let e = PymallocAllocator::from_preset(Preset::Cpython39);
        if unheld {
            Box::new(Bench::new("released", crate::alloc::Unheld(e), Rc::clone(&s)).unwrap())
        } else {
            Box::new(Bench::new("held", e, Rc::clone(&s)).unwrap())
        }
    };
    let mut cs = vec![engine(false), engine(true)];
    let g = measure_group(&mut cs, cal(1, 3, 1), 7, ColdPrime::default()).unwrap();
    let faults: Vec<f64> = g
        .contenders
        .iter()
        .map(|c| c.warm_faults_per_pass.unwrap())
        .collect();
    assert!(faults[1] >= 800.0, "released: {faults:?}");
    assert!(faults[0] * 10.0 < faults[1], "held vs released: {faults:?}");
}

#[test]
fn a_group_of_real_allocators_yields_one_positive_sample_per_round() {
    let s = stream(2000);
    let mut cs: Vec<Box<dyn Contender>> = vec![
        Box::new(Bench::new("null", NullAllocator::new().unwrap(), Rc::clone(&s)).unwrap()),
        Box::new(Bench::new("system", SystemAllocator, Rc::clone(&s)).unwrap()),
    ];
    let cal = cal(200_000, 5, 1);
    let g = measure_group(&mut cs, cal, 7, ColdPrime::default()).unwrap();
    let names: Vec<&str> = g.contenders.iter().map(|c| c.allocator.as_str()).collect();
    assert_eq!(
        names,
        ["null", "system"],
        "results keep the contenders' order"
    );
    assert_eq!(g.events, s.ops());
    for c in &g.contenders {
        assert_eq!(c.samples_ns_per_op.len(), 5);
        assert!(c.cold_ns_per_op > 0.0);
        assert!(c.passes_per_sample >= 1);
        assert!(c
            .samples_ns_per_op
            .iter()
            .all(|&x| x.is_finite() && x > 0.0));
    }
}

/// A contender whose passes take scripted CPU times, one after another, recording how many
/// passes it was asked for: the calibration's arithmetic without a real clock (a timed
/// assertion failed in CI when the warm-up happened to be slower than the rounds).
struct Scripted {
    times: Vec<u64>,
    /// Passes made so far (shared, so a test can read it after the group).
    next: Rc<std::cell::Cell<usize>>,
}

fn scripted(times: Vec<u64>) -> (Box<dyn Contender>, Rc<std::cell::Cell<usize>>) {
    let next = Rc::new(std::cell::Cell::new(0));
    let c = Scripted {
        times,
        next: Rc::clone(&next),
    };
    (Box::new(c), next)
}

impl Contender for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn ops(&self) -> u64 {
        10
    }
    fn pass(&mut self) -> Result<u64, ReplayError> {
        let n = self.next.get();
        self.next.set(n + 1);
        Ok(self.times[n.min(self.times.len() - 1)])
    }
}

#[test]
fn the_fastest_warm_up_pass_sets_the_passes_per_sample_and_switch_in_passes_are_not_timed() {
    // Cold 900; in the first round the warm-up 500, 400, 300 (1,200 spent >= 1,000 minimum)
    // and ceil(1000 / 300) = 4 timed passes; in the second one switch-in pass (7,777,
    // untimed) and 4 timed passes.
    let times = vec![900, 500, 400, 300, 10, 20, 30, 40, 7777, 50, 50, 50, 50];
    let mut cs = vec![scripted(times).0];
    let cal = cal(1000, 2, 1);
    let g = measure_group(&mut cs, cal, 1, ColdPrime::default()).unwrap();
    let c = &g.contenders[0];
    assert_eq!(c.cold_ns_per_op, 90.0);
    assert_eq!(c.passes_per_sample, 4);
    // Each sample is its timed passes' sum over their events: 100 / 40 and 200 / 40.
    assert_eq!(c.samples_ns_per_op, vec![2.5, 5.0]);
}

proptest::proptest! {
    /// `contender_ns` (the shard planner's cost and, through `passes_per_contender`,
    /// `validate`'s estimate) is the time `measure_group` spends on a contender whose passes
    /// all take the same time, whatever that time, the minimum, the rounds and the warm-up.
    #[test]
    fn the_stated_schedule_is_the_one_measure_group_runs(
        pass in 1u64..5_000,
        min in 1u64..20_000,
        rounds in 0u32..6,
        warmup in 0u32..5,
    ) {
        let (c, passes) = scripted(vec![pass]);
        let cal = cal(min, rounds, warmup);
        measure_group(&mut [c], cal, 5, ColdPrime::default()).unwrap();
        proptest::prop_assert_eq!(passes.get() as u64 * pass, cal.contender_ns(pass));
    }

    /// Whatever the warm-up's pass times (all within a factor of two, so none is taken for
    /// a misread), a sample holds just enough passes to last the minimum time at the speed
    /// of the fastest warm-up pass, and the warm-up itself ran the asked passes and at
    /// least the minimum time.
    #[test]
    fn a_sample_holds_the_fewest_passes_that_reach_the_minimum_at_the_fastest_speed(
        times in proptest::collection::vec(2_500u64..5_000, 2..40),
        min in 1u64..20_000,
        asked in 1u32..6,
    ) {
        let (c, passes) = scripted(times.clone());
        let mut cs = vec![c];
        let cal = cal(min, 1, asked);
        let g = measure_group(&mut cs, cal, 1, ColdPrime::default()).unwrap();
        let per_sample = u64::from(g.contenders[0].passes_per_sample);
        // The warm-up's passes: every one after the cold one and before the one sample's
        // (the last time repeats).
        let warm_end = passes.get() - per_sample as usize;
        let warm: Vec<u64> = (1..warm_end).map(|i| times[i.min(times.len() - 1)]).collect();
        proptest::prop_assert!(warm.len() >= asked as usize);
        proptest::prop_assert!(warm.iter().sum::<u64>() >= min);
        let fastest = *warm.iter().min().unwrap();
        proptest::prop_assert!(per_sample * fastest >= min);
        proptest::prop_assert!(per_sample == 1 || (per_sample - 1) * fastest < min);
    }

    /// Whatever the clock reads (zeros, misreads, wild outliers), a sample never asks for
    /// more than four minimum times at the warm-up's mean speed, and at least one pass.
    #[test]
    fn a_sample_stays_bounded_whatever_the_clock_reads(
        warm in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(0u64), 1u64..200_000], 1..60),
        min in 1u64..50_000_000,
    ) {
        let w: Vec<f64> = warm.iter().map(|&t| t as f64).collect();
        let per_sample = f64::from(passes_per_sample(&w, min));
        let mean = (w.iter().sum::<f64>() / w.len() as f64).max(1.0);
        proptest::prop_assert!(per_sample >= 1.0);
        proptest::prop_assert!((per_sample - 1.0) * mean < 4.0 * min as f64);
    }
}

#[test]
fn a_pass_the_clock_misread_as_zero_does_not_set_the_sample() {
    // The CI hang of 2026-12-03: 150 µs passes, one read as 0 ns, a 20 ms minimum. The
    // fastest pass alone asked 20,000,000 passes a sample; the plausible fastest asks 134.
    let mut warm = vec![150_000.0; 123];
    warm.insert(43, 0.0);
    assert_eq!(passes_per_sample(&warm, 20_000_000), 134);
    // A reading a tenth of the rest is a misread too; one three quarters of it is not.
    warm[43] = 15_000.0;
    assert_eq!(passes_per_sample(&warm, 20_000_000), 134);
    warm[43] = 112_500.0;
    assert_eq!(passes_per_sample(&warm, 20_000_000), 178);
}

#[test]
fn a_clock_that_advances_in_coarse_steps_is_timed_by_the_mean() {
    // A 4 ms-step clock under 40 µs passes: 99 of 100 read 0, one 4 ms (mean 40 µs).
    let mut warm = vec![0.0; 99];
    warm.push(4_000_000.0);
    // Four minimum times at the mean speed: 4 × 20 ms / 40 µs.
    assert_eq!(passes_per_sample(&warm, 20_000_000), 2000);
}

#[test]
fn a_clock_that_never_advances_is_an_error_not_a_hang() {
    let mut cs = vec![scripted(vec![0]).0];
    let cal = cal(1000, 1, 1);
    let Err((who, e)) = measure_group(&mut cs, cal, 1, ColdPrime::default()) else {
        panic!("a stalled clock gave figures");
    };
    assert_eq!(who, "scripted");
    assert!(matches!(e, ReplayError::Clock(_)), "{e}");
    assert!(e.to_string().contains("does not advance"), "{e}");
}

#[test]
fn the_warm_up_runs_the_asked_passes_even_when_one_pass_is_longer_than_the_minimum() {
    let times = vec![900, 5000, 4000, 3000, 2000, 1000];
    let mut cs = vec![scripted(times).0];
    let cal = cal(1000, 1, 4);
    let g = measure_group(&mut cs, cal, 1, ColdPrime::default()).unwrap();
    let c = &g.contenders[0];
    // Four warm-up passes (fastest 2,000 > minimum): one pass per sample, the 1,000 one.
    assert_eq!(c.passes_per_sample, 1);
    assert_eq!(c.samples_ns_per_op, vec![100.0]);
}

#[test]
fn round_orders_are_permutations_that_give_every_place_alike() {
    let mut rng = SplitMix64::new(3);
    let n = 4;
    let mut count = [[0u32; 4]; 4];
    for _ in 0..4000 {
        let order = round_order(n, &mut rng);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3], "{order:?}");
        for (place, &c) in order.iter().enumerate() {
            count[c][place] += 1;
        }
    }
    // 1,000 expected per (contender, place); a fixed or alternating order would put
    // 0 or 2,000 in some.
    for row in count {
        for k in row {
            assert!((880..=1120).contains(&k), "{count:?}");
        }
    }
    assert_eq!(round_order(1, &mut rng), vec![0]);
    assert!(round_order(0, &mut rng).is_empty());
}

/// A contender whose pass costs 10 ns straight after its own pass and 20 ns after anyone
/// else's: the neighbour effect (kernel page recycling, shared streams) made extreme.
struct Neighbourly {
    id: usize,
    last: Rc<std::cell::Cell<Option<usize>>>,
}

impl Contender for Neighbourly {
    fn name(&self) -> &str {
        ["a", "b", "c"][self.id]
    }
    fn ops(&self) -> u64 {
        1
    }
    fn pass(&mut self) -> Result<u64, ReplayError> {
        let after_self = self.last.replace(Some(self.id)) == Some(self.id);
        Ok(if after_self { 10 } else { 20 })
    }
}

#[test]
fn every_timed_pass_follows_the_same_contenders_own_pass() {
    let last = Rc::new(std::cell::Cell::new(None));
    let mut cs: Vec<Box<dyn Contender>> = (0..3)
        .map(|id| {
            Box::new(Neighbourly {
                id,
                last: Rc::clone(&last),
            }) as Box<dyn Contender>
        })
        .collect();
    let cal = cal(1, 6, 1);
    let g = measure_group(&mut cs, cal, 7, ColdPrime::default()).unwrap();
    for c in &g.contenders {
        // The first pass of each is cold: it follows null's or another contender's.
        assert_eq!(c.cold_ns_per_op, 20.0, "{}", c.allocator);
        // Whatever its place in the list, no sample pays for a neighbour's pass.
        assert_eq!(c.samples_ns_per_op, vec![10.0; 6], "{}", c.allocator);
    }
}

/// `passes_per_contender` (what `validate`'s estimate of the mutator replay counts) is the
/// schedule `measure_group` keeps when every pass lasts the minimum or longer.
#[test]
fn a_contender_whose_passes_last_the_minimum_makes_the_counted_passes() {
    for (rounds, warmup) in [(5, 1), (3, 4), (0, 0), (20, 1)] {
        let (c, passes) = scripted(vec![2000]);
        let cal = cal(1000, rounds, warmup);
        measure_group(&mut [c], cal, 3, ColdPrime::default()).unwrap();
        assert_eq!(
            passes.get() as u64,
            cal.passes_per_contender(),
            "{rounds} rounds, {warmup} warm-up passes"
        );
    }
}

/// A contender that notes the thread's minor faults when its cold pass starts.
struct FaultWatch {
    heap: bool,
    at_cold: Rc<std::cell::Cell<Option<u64>>>,
}

impl Contender for FaultWatch {
    fn name(&self) -> &str {
        "watch"
    }
    fn ops(&self) -> u64 {
        10
    }
    fn has_heap(&self) -> bool {
        self.heap
    }
    fn pass(&mut self) -> Result<u64, ReplayError> {
        if self.at_cold.get().is_none() {
            self.at_cold
                .set(Some(crate::sys::procfs::thread_minor_faults()));
        }
        Ok(100)
    }
}

/// Memory is backed just before the cold pass of a contender with a heap, and not before
/// `null`'s: 128 MiB takes at least 64 faults (2 MiB each with transparent huge pages, 4 KiB
/// without), where the group's own bookkeeping takes a few.
#[test]
fn memory_is_backed_before_the_cold_pass_of_contenders_with_a_heap_only() {
    let prime = ColdPrime { bytes: 128 << 20 };
    for heap in [true, false] {
        let at_cold = Rc::new(std::cell::Cell::new(None));
        let c = FaultWatch {
            heap,
            at_cold: Rc::clone(&at_cold),
        };
        let before = crate::sys::procfs::thread_minor_faults();
        measure_group(
            &mut [Box::new(c) as Box<dyn Contender>],
            cal(1, 1, 1),
            3,
            prime,
        )
        .unwrap();
        let faults = at_cold.get().unwrap() - before;
        assert_eq!(faults >= 64, heap, "heap {heap}: {faults} faults");
    }
}

#[test]
fn cold_prime_is_sized_by_the_heap_it_can_serve_and_the_memory_the_stream_took() {
    const MIB: u64 = 1 << 20;
    // Twice the peak of live bytes, when the held stream and the available memory allow.
    let p = ColdPrime::sized(true, true, 2400 * MIB, 600 * MIB, 20_000 * MIB);
    assert_eq!(p.bytes, 1200 * MIB);
    // Never more than the replay holds (what it displaced) or a quarter of what is free.
    assert_eq!(
        ColdPrime::sized(true, true, 24 * MIB, 600 * MIB, 20_000 * MIB).bytes,
        24 * MIB
    );
    assert_eq!(
        ColdPrime::sized(true, true, 2400 * MIB, 600 * MIB, 2000 * MIB).bytes,
        500 * MIB
    );
    // Nothing unless asked (validate) and the machine reports free pages.
    assert_eq!(
        ColdPrime::sized(false, true, 2400 * MIB, 600 * MIB, 20_000 * MIB),
        ColdPrime::default()
    );
    assert_eq!(
        ColdPrime::sized(true, false, 2400 * MIB, 600 * MIB, 20_000 * MIB),
        ColdPrime::default()
    );
    // The cell's note says how much, and nothing when nothing was primed.
    assert!(
        p.note()
            .starts_with("; before each cold pass 1200 MiB faulted in and released"),
        "{}",
        p.note()
    );
    assert!(
        p.note().contains("reports free pages to its hypervisor"),
        "{}",
        p.note()
    );
    assert_eq!(ColdPrime::default().note(), "");
}
