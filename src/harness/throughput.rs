//! The throughput measurement (design.md §3, issue 12): passes over a [`CompactStream`] with
//! nothing in the loop but the record, the slot table and the allocator call; the clock is
//! read only at the ends of a pass (the loop and its contenders: [`super::throughput_loop`]).
//!
//! Several allocators ("contenders", always including `null`) live in one process and take
//! turns pass by pass, so the slow per-process noise of a shared VM (cache and memory
//! bandwidth of the host, page placement) hits all of them alike and cancels in the ratios
//! and net figures, which are taken pair by pair within a round.
//!
//! [`CompactStream`]: super::compact::CompactStream

use super::replay::ReplayError;
pub use super::throughput_loop::{Bench, StreamBench};
use crate::stats::SplitMix64;
use crate::sys::arena_region::arenas_outside_span;
use crate::sys::procfs::thread_minor_faults;
use serde::{Deserialize, Serialize};

/// An allocator ready to replay passes of its stream; object-safe so allocators of different
/// types can take turns in one process.
pub trait Contender {
    fn name(&self) -> &str;
    /// Events per pass.
    fn ops(&self) -> u64;
    /// One timed pass from an empty slot table, then every block still live freed (untimed).
    /// Returns the CPU time of the pass in nanoseconds (see [`crate::sys::procfs::thread_cpu_ns`]).
    fn pass(&mut self) -> Result<u64, ReplayError>;
    /// The engine's accounting now, when the allocator is the engine (`None` by default: only
    /// the tests comparing streamed and materialised replays ask).
    fn engine_stats(&self) -> Option<crate::pymalloc::Stats> {
        None
    }
    /// Whether its allocator's memory grows with the live blocks ([`Allocator::has_heap`]):
    /// only those get memory backed before their cold pass ([`ColdPrime`]).
    ///
    /// [`Allocator::has_heap`]: crate::alloc::Allocator::has_heap
    fn has_heap(&self) -> bool {
        true
    }
}

/// One contender's throughput figures from a group process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContenderSamples {
    pub allocator: String,
    /// The first pass on the fresh allocator, ns per event.
    pub cold_ns_per_op: f64,
    /// Passes summed into each sample: enough for the minimum time at the speed of the fastest
    /// plausible warm-up pass (a sample can come out shorter when later passes run faster;
    /// the rule and its guards: `passes_per_sample`).
    pub passes_per_sample: u32,
    /// One ns-per-event figure per round, in round order (aligned across contenders).
    pub samples_ns_per_op: Vec<f64>,
    /// Minor page faults this thread took per timed pass (the replay and the untimed cleanup
    /// after it), over every sample: a warm pass that faults pays the kernel for memory it
    /// had already been given, as pymalloc's did before the cleanup held its arenas (2,390
    /// a pass on dicts). Absent in results from before 2026-12-04.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_faults_per_pass: Option<f64>,
    /// pymalloc arenas mapped outside the span reserved for them during this contender's
    /// passes (`sys::arena_region::arenas_outside_span`): 0 but where the address
    /// space was refused (`ulimit -v`) or a heap outgrew the span.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub arenas_outside_span: u64,
}

/// Serde's test for a count that is left out of a results file when it is 0.
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a group process measured: every contender's samples, round by round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSamples {
    /// The workload's name as its spec or trace gives it.
    pub workload: String,
    pub events: u64,
    pub min_time_ns: u64,
    pub warmup_passes: u32,
    pub contenders: Vec<ContenderSamples>,
    /// Whether the process ran with address-space randomisation off (`--fixed-layout`), as
    /// the process itself saw it.
    #[serde(default)]
    pub fixed_layout: bool,
    /// Mutator mode: how its work was fitted to the recorded pace in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutator_fit: Option<super::mutator_fit::Fit>,
    /// The fingerprint of the events the process replayed ([`crate::workload::StreamHasher`],
    /// after any repair), which its cells record as `stream_fingerprint`: a cell measured
    /// for throughput alone has no other. `None` when the stream was never read whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_fingerprint: Option<u64>,
    /// Whether the events reached the loop streamed from a read-ahead ring ([`super::feed`])
    /// rather than held in memory.
    #[serde(default)]
    pub streamed: bool,
    /// How the events reached the loop: materialised or streamed, and why.
    #[serde(default)]
    pub replay: String,
    /// What the replay held in memory (streamed) or backed before its cold passes
    /// (materialised, [`ColdPrime::note`]): added to `replay`.
    #[serde(skip)]
    pub replay_detail: String,
    /// Bytes backed before each cold pass of an allocator with a heap ([`ColdPrime`]).
    #[serde(default)]
    pub cold_primed_bytes: u64,
}

/// How long and how often to measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Minimum duration of one sample (a pass, or a group of passes of a short stream).
    pub min_time_ns: u64,
    /// Samples (rounds) per contender.
    pub rounds: u32,
    /// Untimed passes after the cold one, before the first sample.
    pub warmup_passes: u32,
    /// Run the throughput processes with address-space randomisation off (`--fixed-layout`):
    /// one layout, measured reproducibly, instead of a fresh one per process.
    #[serde(default)]
    pub fixed_layout: bool,
    /// Let pymalloc unmap the arenas the untimed cleanup between passes empties
    /// (`--release-between-passes`), so each warm pass starts by faulting its heap in again,
    /// as every pybench measured before 2026-12-04; by default the cleanup holds them
    /// ([`crate::alloc::Allocator::hold_releases`]). Results written before the field
    /// existed read as `true`: that is how they were measured.
    #[serde(default = "released_before_the_field")]
    pub release_between_passes: bool,
    /// Whether pymalloc's arenas — the engine's and the real obmalloc's, the interpreter's
    /// first ones included — were mapped side by side in a span reserved for them
    /// (`sys/arena_region.rs`), as in every run since 2026-12-05. Results written before
    /// the field existed read as `false`: their arenas went wherever `mmap` found room, often
    /// a gap another contender's released memory left (README "Arenas side by side").
    #[serde(default)]
    pub arenas_side_by_side: bool,
    /// Whether each arena in the span started one page past a pool boundary
    /// (`sys/arena_region.rs`), as in every run since 2026-12-06: with 16 KiB pools each
    /// loses its first one, as most of a real interpreter's do. Results written before the
    /// field existed read as `false`: the span's start decided, and a kernel aligning large
    /// mappings to 2 MiB put every arena on a pool boundary (README "Arenas side by side").
    #[serde(default)]
    pub arenas_past_pool_boundary: bool,
    /// Whether a materialised replay, on a machine that reports free pages to its hypervisor,
    /// backs memory for each contender's heap just before its cold pass ([`ColdPrime`]). `run`
    /// sets it; `validate` does not: its cold pass predicts a real program, which pays the
    /// hypervisor's backing as it finds it, and its traces hold too few events for the
    /// harness's own memory to matter. Results written before the field existed read as
    /// `false`: nothing was primed.
    #[serde(default)]
    pub prime_cold_passes: bool,
}

/// Memory backed, untimed, just before each contender's cold pass
/// ([`crate::sys::hypervisor::back_free_memory`]). A materialised replay holds its events and
/// records (24 B an event) before any allocator runs, and on a machine that reports free
/// pages to its hypervisor that takes the free memory the hypervisor still backs: the
/// allocators' heaps then land on pages it must back again. pymalloc's cold pass on the
/// 10⁸-event webapp trace took 13.8 – 25.5 ns/event so (median 23.9) against 7.1 – 7.5
/// streamed, and 6.5 – 7.2 (median 6.65) with this priming against 6.9 – 7.3 streamed (five
/// alternated pairs each, model-167 Intel, 2026-12-06 11:40 – 11:49, load 1.4 – 1.6).
/// Reported blocks are dropped after ~2 s free, so each contender gets its own, sized to what
/// its heap can take: twice the stream's peak of live bytes, at most what the replay holds
/// (what it displaced) and a quarter of the available memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColdPrime {
    /// Bytes backed before each cold pass (0: none).
    pub bytes: u64,
}

impl ColdPrime {
    /// For a replay holding `held` bytes of stream whose live bytes peak at `peak_live`, with
    /// `available` bytes of memory free to allocate: nothing unless `wanted` (the calibration
    /// asks) and the machine `reports` free pages.
    pub fn sized(wanted: bool, reports: bool, held: u64, peak_live: u64, available: u64) -> Self {
        let bytes = if wanted && reports {
            held.min(peak_live.saturating_mul(2)).min(available / 4)
        } else {
            0
        };
        ColdPrime { bytes }
    }

    /// What the cell's notes say of it (empty when nothing is primed).
    pub fn note(&self) -> String {
        match self.bytes {
            0 => String::new(),
            b => format!(
                "; before each cold pass {:.0} MiB faulted in and released, untimed (this \
                 machine reports free pages to its hypervisor, and the held stream took the \
                 memory it still backed)",
                b as f64 / f64::from(1u32 << 20)
            ),
        }
    }
}

/// What a results file without `release_between_passes` measured: pybench held nothing
/// between passes until 2026-12-04 (commit 96a6a52).
fn released_before_the_field() -> bool {
    true
}

impl Calibration {
    /// The calibration of `validate`'s replays (and the base of the mutator replay's): 20
    /// rounds of samples of at least 20 ms per allocator in each replay process, a third of
    /// the paired samples `run`'s defaults take over all their processes (20 processes of 3
    /// rounds, from its flags): a validation also runs the program and records it.
    pub const DEFAULT: Calibration = Calibration {
        min_time_ns: 20_000_000,
        rounds: 20,
        warmup_passes: 1,
        fixed_layout: false,
        release_between_passes: false,
        arenas_side_by_side: true,
        arenas_past_pool_boundary: true,
        prime_cold_passes: false,
    };

    /// Passes one contender makes in [`measure_group`] when every pass lasts at least
    /// `min_time_ns` ([`Self::contender_ns`] of such passes). Shorter passes make more.
    pub fn passes_per_contender(&self) -> u64 {
        let pass = self.min_time_ns.max(1);
        self.contender_ns(pass) / pass
    }

    /// Time [`measure_group`] spends on one contender whose passes all take `pass_ns`: its
    /// cold pass; in the first round its warm-up (`warm_up`: the asked passes, at least one,
    /// and at least `min_time_ns`) then a sample; in every later round a switch-in pass then
    /// a sample; a sample being the fewest passes that reach `min_time_ns`. With no rounds,
    /// the cold pass alone. The one statement of the schedule, for `validate`'s estimate of
    /// the mutator replay and the shard planner's cost ([`super::shard::estimate_cost`]).
    pub fn contender_ns(&self, pass_ns: u64) -> u64 {
        if self.rounds == 0 {
            return pass_ns;
        }
        let pass = pass_ns.max(1);
        let at_least_min = |n: u64| {
            let passes = n.max(self.min_time_ns.div_ceil(pass));
            passes.saturating_mul(pass)
        };
        let warm_up = at_least_min(u64::from(self.warmup_passes.max(1)));
        let sample = at_least_min(1);
        let rounds = u64::from(self.rounds);
        pass.saturating_add(warm_up)
            .saturating_add(sample.saturating_mul(rounds))
            .saturating_add(pass.saturating_mul(rounds - 1))
    }
}

/// Runs the contenders: each one's cold pass, then `rounds` rounds in which every contender
/// takes one sample; the cold passes and each round in a fresh random order drawn from
/// `order_seed` ([`round_order`]).
///
/// Each sample starts with one untimed switch-in pass of the same contender — in the first
/// round its warm-up (`warm_up`), which also sets the passes a sample needs — so the timed
/// passes follow that allocator's own pass — as in a program that runs alone — and never
/// another contender's. Without it the figure depended on the neighbour: pymalloc-like
/// allocators then faulted in ~2,350 pages a pass on dicts (arenas unmapped when empty, until
/// the cleanup held them on 2026-12-04; glibc's heap trimmed), and those faults are cheaper
/// straight after another contender freed as many pages (the kernel hands the just-freed,
/// cache-hot pages out again), while the two compiled streams evict each other. Gross ns/event on dicts, ten processes per order (2026-11-30,
/// load 1.2): two identical engine contenders came out 6 – 18 % apart, the first listed
/// always the slower; cpython:3.11 took 1.19 – 1.24× the engine's time listed before it and
/// 0.97 – 1.09× listed after. With the switch-in pass (five processes per order): the twins
/// 0 – 6 % apart, cpython:3.11 1.08 – 1.14× in every order tried (before, after, and after
/// `system`).
///
/// The random order takes out what the switch-in pass leaves: with the order reversed every
/// other round, the last contender ran twice in a row at each turn while the ones in the
/// middle never did, and cpython:3.11 took 1.09 – 1.13× the engine's time listed before it
/// against 1.07 – 1.09× listed after (ten processes each, 2026-11-30, load 1.0); with both in
/// the middle of the list (`system` last) the two orders agreed (1.07 – 1.12×).
pub fn measure_group(
    contenders: &mut [Box<dyn Contender>],
    cal: Calibration,
    order_seed: u64,
    prime: ColdPrime,
) -> Result<GroupSamples, (String, ReplayError)> {
    let mut rng = SplitMix64::new(order_seed);
    let mut tallies = vec![Tally::default(); contenders.len()];
    let cold = cold_passes(contenders, &mut rng, &mut tallies, prime)?;
    let mut out: Vec<ContenderSamples> = contenders
        .iter()
        .zip(cold)
        .map(|(c, cold_ns_per_op)| ContenderSamples {
            allocator: c.name().to_string(),
            cold_ns_per_op,
            passes_per_sample: 0,
            samples_ns_per_op: Vec::with_capacity(cal.rounds as usize),
            warm_faults_per_pass: None,
            arenas_outside_span: 0,
        })
        .collect();
    for round in 0..cal.rounds {
        for i in round_order(contenders.len(), &mut rng) {
            let c = contenders[i].as_mut();
            take_turn(c, round, cal, &mut out[i], &mut tallies[i])?;
        }
    }
    for (o, t) in out.iter_mut().zip(tallies) {
        o.warm_faults_per_pass =
            (t.timed_passes > 0).then(|| t.faults as f64 / t.timed_passes as f64);
        o.arenas_outside_span = t.outside;
    }
    Ok(GroupSamples {
        workload: String::new(),
        events: contenders.first().map_or(0, |c| c.ops()),
        min_time_ns: cal.min_time_ns,
        warmup_passes: cal.warmup_passes.max(1),
        contenders: out,
        fixed_layout: crate::sys::process::layout_is_fixed(),
        mutator_fit: None,
        stream_fingerprint: None,
        streamed: false,
        replay: String::new(),
        replay_detail: String::new(),
        cold_primed_bytes: prime.bytes,
    })
}

/// What is counted around one contender's passes, outside the clock each pass reads: the
/// minor faults and number of its timed passes, and the pymalloc arenas mapped outside their
/// span over all its passes.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    faults: u64,
    timed_passes: u64,
    outside: u64,
}

/// Every contender's first, cold pass, in a random order as well: a cold pass is cheaper
/// straight after another contender released its pages, so a fixed order would favour a
/// place. Each after `prime`'s memory is backed. Returns each one's ns per event.
fn cold_passes(
    contenders: &mut [Box<dyn Contender>],
    rng: &mut SplitMix64,
    tallies: &mut [Tally],
    prime: ColdPrime,
) -> Result<Vec<f64>, (String, ReplayError)> {
    let mut cold = vec![0.0; contenders.len()];
    for i in round_order(contenders.len(), rng) {
        let c = &mut contenders[i];
        if c.has_heap() {
            // Best effort: memory that cannot be mapped now leaves the cold pass as it was.
            let _ = crate::sys::hypervisor::back_free_memory(prime.bytes);
        }
        let before = arenas_outside_span();
        let ticks = c.pass().map_err(|e| (c.name().to_string(), e))?;
        cold[i] = ticks as f64 / c.ops().max(1) as f64;
        tallies[i].outside += arenas_outside_span() - before;
    }
    Ok(cold)
}

/// One contender's turn in round `round`: its switch-in pass (in the first round its
/// warm-up, which sets the passes a sample sums), then one sample of timed passes.
fn take_turn(
    c: &mut dyn Contender,
    round: u32,
    cal: Calibration,
    out: &mut ContenderSamples,
    tally: &mut Tally,
) -> Result<(), (String, ReplayError)> {
    let before = arenas_outside_span();
    // The first round's switch-in is the warm-up: a separate warm-up before the rounds was
    // one more pass a contender (one in eight at `run`'s defaults on dicts) that left the
    // allocator no warmer than its switch-in does.
    if round == 0 {
        out.passes_per_sample = warm_up(c, cal)?;
    } else {
        c.pass().map_err(|e| (c.name().to_string(), e))?;
    }
    let mut ticks = 0;
    let f0 = thread_minor_faults();
    for _ in 0..out.passes_per_sample {
        ticks += c.pass().map_err(|e| (c.name().to_string(), e))?;
    }
    tally.faults += thread_minor_faults().saturating_sub(f0);
    tally.timed_passes += u64::from(out.passes_per_sample);
    let events = c.ops().max(1) as f64 * f64::from(out.passes_per_sample);
    out.samples_ns_per_op.push(ticks as f64 / events);
    tally.outside += arenas_outside_span() - before;
    Ok(())
}

/// Wall time after which a warm-up whose passes all read 0 ns is called a broken clock: any
/// real pass costs some CPU time (the clock reads alone do), and even a clock that advances in
/// coarse steps (a scheduler tick, 1 – 10 ms) has stepped within a second of busy passes.
const STALLED_CLOCK: std::time::Duration = std::time::Duration::from_secs(1);

/// A contender's warm-up: at least the asked passes and at least one minimum time; returns
/// how many passes a sample needs, which the warm-up's pass times set ([`passes_per_sample`]).
fn warm_up(c: &mut dyn Contender, cal: Calibration) -> Result<u32, (String, ReplayError)> {
    let fail = |c: &dyn Contender, e| (c.name().to_string(), e);
    // The first KEPT passes' times are kept for the count (a tiny stream's warm-up can make
    // millions of passes, and a stalled clock's second far more).
    const KEPT: usize = 100_000;
    let (mut times, mut spent, mut n) = (Vec::new(), 0u64, 0u32);
    let began = std::time::Instant::now();
    while n < cal.warmup_passes.max(1) || spent < cal.min_time_ns {
        let t = c.pass().map_err(|e| fail(c, e))?;
        if times.len() < KEPT {
            times.push(t as f64);
        }
        spent = spent.saturating_add(t);
        n = n.saturating_add(1);
        if spent == 0 && began.elapsed() >= STALLED_CLOCK {
            let why = format!(
                "the thread CPU clock read 0 ns for each of {n} passes over {} s \
                 (CLOCK_THREAD_CPUTIME_ID does not advance on this system)",
                STALLED_CLOCK.as_secs()
            );
            return Err(fail(c, ReplayError::Clock(why)));
        }
    }
    Ok(passes_per_sample(&times, cal.min_time_ns))
}

/// Passes per sample: enough for the minimum time at the speed of the fastest warm-up pass
/// (passes speed up as the allocator warms, and a sample must not come out short), ignoring
/// passes read as less than half the median — a misread, not a fast pass — and never more than
/// four minimum times at the warm-up's mean speed.
///
/// Why both guards: on 2026-12-03 a 150 µs `system` pass on dicts read 0 ns of thread CPU time
/// (one of that process's 124; about one pass in 54,000 over 25 processes on the model-167
/// host; why the clock misreads is not pinned down), and the fastest pass alone then asked 20
/// million passes a sample: the throughput process ran until the 600 s timeout (CI's `run`
/// test). The median guard drops such a reading; the mean cap bounds a sample whatever the
/// readings (a clock that advances in coarse steps reads most passes as 0, and only the mean
/// is right then).
fn passes_per_sample(warm_up: &[f64], min_time_ns: u64) -> u32 {
    let min_time = min_time_ns as f64;
    let median = crate::stats::median(warm_up).unwrap_or(0.0);
    let mean = warm_up.iter().sum::<f64>() / warm_up.len().max(1) as f64;
    let fastest = warm_up
        .iter()
        .copied()
        .filter(|&t| t >= median / 2.0)
        .fold(f64::INFINITY, f64::min);
    let by_fastest = (min_time / fastest.max(1.0)).ceil();
    let cap = (4.0 * min_time / mean.max(1.0)).ceil();
    by_fastest.min(cap).clamp(1.0, f64::from(u32::MAX)) as u32
}

/// A uniformly random order of `n` contenders (Fisher–Yates), so that over a run's rounds no
/// contender keeps a place in the round or a neighbour: whatever a place or a neighbour does
/// to a figure becomes spread the intervals see, not a bias they hide.
pub fn round_order(n: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
}

#[cfg(test)]
#[path = "throughput_tests.rs"]
mod tests;
