//! Built-in micro-scenarios that drive any [`Allocator`]: small, deterministic patterns used by
//! `pybench engine` and the benchmarks. Python-shaped workloads proper live in `workloads/`.

use crate::alloc::Allocator;
use crate::stats::SplitMix64;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A named pattern of allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The anchors' mixed pattern: 200,000 slots, half live at the start; each step picks a
    /// slot (70 % the next one, 30 % a random one) and frees it if live, otherwise allocates
    /// a Python-like size (16–512 bytes, 2 % larger) and touches its first byte.
    Mixed,
    /// pymalloc.md §4's thrash: allocate 30,000 16-byte blocks, free them all; repeat.
    Thrash,
}

impl Scenario {
    pub const ALL: [Scenario; 2] = [Scenario::Mixed, Scenario::Thrash];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Mixed => "mixed",
            Scenario::Thrash => "thrash",
        }
    }

    /// Steps run when the user gives no count: about a second or less on a laptop.
    pub fn default_steps(self) -> usize {
        match self {
            Scenario::Mixed => 5_000_000,
            Scenario::Thrash => 200, // rounds
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| format!("unknown scenario `{s}`; valid scenarios: mixed, thrash"))
    }
}

/// What a scenario did and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioRun {
    /// Allocator calls made (mallocs plus frees).
    pub calls: u64,
    pub elapsed: Duration,
}

impl ScenarioRun {
    pub fn ns_per_call(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.calls.max(1) as f64
    }
}

/// Slots of the mixed pattern.
pub const MIXED_SLOTS: usize = 200_000;

/// A Python-like request size: 16–512 bytes, 2 % between 513 and 4,096.
#[inline]
fn python_like_size(rng: &mut SplitMix64) -> usize {
    if rng.below(100) < 2 {
        513 + rng.below(4096 - 513) as usize
    } else {
        16 + rng.below(512 - 16 + 1) as usize
    }
}

/// Runs `scenario` for `steps` (mixed: allocator steps; thrash: rounds), then frees whatever
/// is still live. The slot table is allocated before the timed loop.
pub fn run<A: Allocator>(scenario: Scenario, a: &mut A, steps: usize, seed: u64) -> ScenarioRun {
    run_inspect(scenario, a, steps, seed, |_| {})
}

/// Like [`run`], calling `inspect` at the end of the timed part, while the scenario's blocks
/// are still live (mixed: the final state; thrash: the last round before its frees).
pub fn run_inspect<A: Allocator>(
    scenario: Scenario,
    a: &mut A,
    steps: usize,
    seed: u64,
    inspect: impl FnOnce(&A),
) -> ScenarioRun {
    match scenario {
        Scenario::Mixed => mixed(a, steps, seed, inspect),
        Scenario::Thrash => thrash(a, steps, inspect),
    }
}

/// The mixed pattern as a state machine, so benchmarks can time steps without the setup.
pub struct MixedPattern {
    slots: Vec<*mut u8>,
    cursor: usize,
    rng: SplitMix64,
}

impl MixedPattern {
    /// Allocates the slot table and fills every other slot.
    pub fn new(a: &mut impl Allocator, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut slots = vec![std::ptr::null_mut::<u8>(); MIXED_SLOTS];
        for slot in slots.iter_mut().step_by(2) {
            *slot = a.malloc(python_like_size(&mut rng));
        }
        MixedPattern {
            slots,
            cursor: 0,
            rng,
        }
    }

    /// One allocator call: free the chosen slot if live, else fill it and touch a byte.
    #[inline]
    pub fn step(&mut self, a: &mut impl Allocator) {
        let i = if self.rng.below(10) < 7 {
            self.cursor = (self.cursor + 1) % MIXED_SLOTS;
            self.cursor
        } else {
            self.rng.below(MIXED_SLOTS as u64) as usize
        };
        let p = self.slots[i];
        if p.is_null() {
            let q = a.malloc(python_like_size(&mut self.rng));
            // SAFETY: a fresh block of at least 16 bytes.
            unsafe { q.write(1) };
            self.slots[i] = q;
        } else {
            // SAFETY: p is live and owned by the slot table.
            unsafe { a.free(p) };
            self.slots[i] = std::ptr::null_mut();
        }
    }

    /// Frees every live slot.
    pub fn finish(mut self, a: &mut impl Allocator) {
        free_slots(a, &mut self.slots);
    }
}

fn mixed<A: Allocator>(
    a: &mut A,
    steps: usize,
    seed: u64,
    inspect: impl FnOnce(&A),
) -> ScenarioRun {
    let mut pattern = MixedPattern::new(a, seed);
    let start = Instant::now();
    for _ in 0..steps {
        pattern.step(a);
    }
    let elapsed = start.elapsed();
    inspect(a);
    pattern.finish(a);
    ScenarioRun {
        calls: steps as u64,
        elapsed,
    }
}

fn thrash<A: Allocator>(a: &mut A, rounds: usize, inspect: impl FnOnce(&A)) -> ScenarioRun {
    const BLOCKS: usize = 30_000;
    let mut slots = vec![std::ptr::null_mut::<u8>(); BLOCKS];
    let mut inspect = Some(inspect);
    let mut elapsed = Duration::ZERO;
    for round in 0..rounds {
        let start = Instant::now();
        for slot in slots.iter_mut() {
            *slot = a.malloc(16);
        }
        elapsed += start.elapsed();
        if round + 1 == rounds {
            if let Some(f) = inspect.take() {
                f(a);
            }
        }
        let start = Instant::now();
        free_slots(a, &mut slots);
        elapsed += start.elapsed();
    }
    ScenarioRun {
        calls: (rounds * BLOCKS * 2) as u64,
        elapsed,
    }
}

fn free_slots(a: &mut impl Allocator, slots: &mut [*mut u8]) {
    for slot in slots.iter_mut() {
        // SAFETY: every non-null slot is a live block of `a`.
        unsafe { a.free(*slot) };
        *slot = std::ptr::null_mut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::PymallocAllocator;
    use crate::pymalloc::Preset;

    #[test]
    fn python_like_sizes_stay_in_range_and_mostly_small() {
        let mut rng = SplitMix64::new(7);
        let sizes: Vec<usize> = (0..100_000).map(|_| python_like_size(&mut rng)).collect();
        assert!(sizes.iter().all(|&s| (16..4096).contains(&s)));
        let large = sizes.iter().filter(|&&s| s > 512).count() as f64 / sizes.len() as f64;
        assert!((0.015..0.025).contains(&large), "2 % large, got {large}");
    }

    #[test]
    fn scenarios_leave_no_block_behind() {
        for sc in Scenario::ALL {
            let mut a = PymallocAllocator::from_preset(Preset::Cpython39);
            let r = run(sc, &mut a, 3, 1);
            assert!(r.calls > 0);
            assert_eq!(a.engine().stats().blocks_in_use(), 0, "{sc}");
        }
    }
}
