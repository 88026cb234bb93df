//! The core's effective clock as a run starts, measured: a chain of dependent integer adds,
//! one cycle each on every x86-64 core, timed by the wall clock.
//!
//! Why: on the 2-core Zen 5 VM of 2026-12-07 every allocator, pymalloc and `null` included,
//! ran 13 – 80 % slower in the evening than in the afternoon (`null` on dicts 1.46 – 1.59
//! ns/event in attempts 83 – 86, 1.83 – 2.11 in 87 – 89; docs/stability.md), and the ratios
//! moved with it. `/proc/cpuinfo` reports the nominal 2.6 GHz whatever the host does and the
//! VM has no cycle counter (perf's hardware events are absent), so nothing in a results file
//! said whether the core itself had slowed (a neighbour's power draw, the host's frequency
//! policy) or only its memory. The probe records the first; `compare` warns when two runs'
//! cores ran at clearly different speeds. Like the cache probe it is a snapshot at the start,
//! not a correction.

use crate::stats::median;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Environment variable that replaces the measurement, for tests only: `GHZ,GHZ,…`, one
/// figure a sample (the warnings must be testable without a host that changes speed).
pub const FAKE_CLOCK_PROBE_ENV: &str = "PYBENCH_FAKE_CLOCK_PROBE";

/// Samples, and the loop iterations in each: 8 dependent adds an iteration, so 2^20
/// iterations are about 8.4 M cycles, 2 – 4 ms at 2 – 4 GHz; the whole probe about 25 ms.
const SAMPLES: usize = 8;
const ITERATIONS: u64 = 1 << 20;
const ADDS_PER_ITERATION: u64 = 8;
/// A figure outside this range means the chain did not run as one add a cycle (a core that
/// breaks such chains, an emulator): no figure rather than a wrong one.
const PLAUSIBLE_GHZ: std::ops::RangeInclusive<f64> = 0.2..=8.0;

/// The effective clock of the core a run started on, in GHz, one figure a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockSpeed {
    pub samples_ghz: Vec<f64>,
}

impl ClockSpeed {
    /// The median sample: a preempted sample reads low, so one interruption does not move it.
    pub fn median_ghz(&self) -> Option<f64> {
        median(&self.samples_ghz)
    }
}

/// Measures the clock (about 25 ms), or reads [`FAKE_CLOCK_PROBE_ENV`]; `None` off x86-64,
/// when the chain's figures are implausible, or when the fake value is malformed.
pub fn measure() -> Option<ClockSpeed> {
    if let Ok(fake) = std::env::var(FAKE_CLOCK_PROBE_ENV) {
        return super::cache_probe::fake_numbers(&fake)
            .filter(|s| !s.is_empty())
            .map(|samples_ghz| ClockSpeed { samples_ghz });
    }
    let samples_ghz: Vec<f64> = (0..SAMPLES).map(|_| sample_ghz()).collect::<Option<_>>()?;
    let speed = ClockSpeed { samples_ghz };
    PLAUSIBLE_GHZ
        .contains(&speed.median_ghz()?)
        .then_some(speed)
}

/// One sample: cycles of the add chain over the nanoseconds it took.
fn sample_ghz() -> Option<f64> {
    let start = Instant::now();
    add_chain(ITERATIONS)?;
    let ns = start.elapsed().as_nanos() as f64;
    (ns > 0.0).then(|| (ITERATIONS * ADDS_PER_ITERATION) as f64 / ns)
}

/// Runs `iterations` × 8 dependent adds. Register plus register (not an immediate, which
/// some cores fold away at rename), so each add waits one cycle for the one before; the
/// loop's own decrement and branch run beside the chain.
#[cfg(target_arch = "x86_64")]
fn add_chain(iterations: u64) -> Option<u64> {
    let (mut x, step) = (std::hint::black_box(1u64), std::hint::black_box(3u64));
    if iterations == 0 {
        // The loop tests its count after a pass: 0 would wrap and run 2^64 of them.
        return Some(x);
    }
    // SAFETY: registers only (no memory, no stack); `n` counts down to 0 from at least 1.
    unsafe {
        std::arch::asm!(
            "2:",
            "add {x}, {s}", "add {x}, {s}", "add {x}, {s}", "add {x}, {s}",
            "add {x}, {s}", "add {x}, {s}", "add {x}, {s}", "add {x}, {s}",
            "dec {n}",
            "jnz 2b",
            x = inout(reg) x,
            s = in(reg) step,
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        );
    }
    Some(std::hint::black_box(x))
}

#[cfg(not(target_arch = "x86_64"))]
fn add_chain(_iterations: u64) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a timing assertion: a core that ran the chain as written reads between 0.2 and
    /// 8 GHz whatever its load (a preempted sample reads low, the median holds), and eight
    /// samples are kept.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_chain_reads_a_clock_a_core_could_have() {
        let speed = measure().expect("an x86-64 core runs the chain");
        assert_eq!(speed.samples_ghz.len(), SAMPLES);
        assert!(
            PLAUSIBLE_GHZ.contains(&speed.median_ghz().unwrap()),
            "{speed:?}"
        );
    }

    /// 1 + 2 iterations × 8 adds of 3; none for 0 iterations (not 2^64 of them).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_chain_adds_what_it_says() {
        assert_eq!(add_chain(2), Some(1 + 2 * 8 * 3));
        assert_eq!(add_chain(0), Some(1));
    }
}
