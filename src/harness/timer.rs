//! Per-operation timing. On x86-64 the time-stamp counter (`rdtsc`, constant-rate on every
//! CPU this project targets) is read around each operation and converted to nanoseconds with
//! a factor calibrated against the monotonic clock; elsewhere `Instant` is used. The timer's
//! own cost is measured in the same process and reported next to the latencies: on the VMs
//! this project runs on one `rdtsc` costs ~10 ns, more than a jemalloc malloc+free pair
//! (design.md §3), so latencies are upper bounds and throughput comes from an untimed pass.

use std::time::{Duration, Instant};

/// A calibrated tick source.
#[derive(Debug, Clone, Copy)]
pub struct Timer {
    /// Nanoseconds per tick.
    ns_per_tick: f64,
    kind: TimerKind,
    /// Median cost of one back-to-back pair of reads, in ticks.
    overhead_ticks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Tsc,
    Instant,
}

impl TimerKind {
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Tsc => "tsc",
            TimerKind::Instant => "instant",
        }
    }
}

thread_local! {
    static EPOCH: Instant = Instant::now();
}

impl Timer {
    /// Calibrates the tick rate over ~20 ms and measures the read overhead.
    pub fn calibrate() -> Self {
        let kind = if cfg!(target_arch = "x86_64") {
            TimerKind::Tsc
        } else {
            TimerKind::Instant
        };
        let mut t = Timer {
            ns_per_tick: 1.0,
            kind,
            overhead_ticks: 0,
        };
        if kind == TimerKind::Tsc {
            let (i0, c0) = (Instant::now(), t.now());
            while i0.elapsed() < Duration::from_millis(20) {
                std::hint::spin_loop();
            }
            let (ns, ticks) = (i0.elapsed().as_nanos() as f64, t.now() - c0);
            t.ns_per_tick = ns / ticks.max(1) as f64;
        }
        let mut pairs: Vec<u64> = (0..10_001)
            .map(|_| {
                let a = t.now();
                let b = t.now();
                b.saturating_sub(a)
            })
            .collect();
        pairs.sort_unstable();
        t.overhead_ticks = pairs[pairs.len() / 2];
        t
    }

    /// The current tick count.
    #[inline(always)]
    pub fn now(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.kind == TimerKind::Tsc {
            // SAFETY: rdtsc is available on every x86-64 CPU.
            return unsafe { core::arch::x86_64::_rdtsc() };
        }
        EPOCH.with(|e| e.elapsed().as_nanos() as u64)
    }

    pub fn kind(&self) -> TimerKind {
        self.kind
    }

    pub fn ns_per_tick(&self) -> f64 {
        self.ns_per_tick
    }

    /// Ticks → nanoseconds.
    pub fn to_ns(&self, ticks: u64) -> f64 {
        ticks as f64 * self.ns_per_tick
    }

    /// The cost of one timing (two reads back to back), in nanoseconds.
    pub fn overhead_ns(&self) -> f64 {
        self.to_ns(self.overhead_ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_ticks_track_the_monotonic_clock() {
        let t = Timer::calibrate();
        let (i0, c0) = (Instant::now(), t.now());
        std::thread::sleep(Duration::from_millis(30));
        let (ns, ticks) = (i0.elapsed().as_nanos() as f64, t.now() - c0);
        let ratio = t.to_ns(ticks) / ns;
        assert!(
            (0.8..1.25).contains(&ratio),
            "tick conversion off by {ratio}"
        );
        assert!(
            t.overhead_ns() < 10_000.0,
            "one timing costs {} ns",
            t.overhead_ns()
        );
    }
}
