//! How much of the shared last-level cache this process gets, measured before a run.
//!
//! On a virtual machine the L3 is shared with other tenants whom the load average cannot
//! see. On the 2-core AMD EPYC VM of 2026-12-05 (32 MiB L3), a pointer chase over one 10 MiB
//! buffer took 18 ns an access in one half-second and 124 the next (`docs/stability.md`,
//! "What the memory's speed is"), while a 2 MiB chase held at 14 ns and a 128 MiB one at
//! 157 – 177. Heaps of a few MiB (dicts 11 MB, json 8.5 MB) sit in that band, so the
//! allocators' costs, and their ratios wherever two allocators touch different amounts of
//! memory, move with the neighbours' cache use. The probe says how contended the cache was
//! when the run started, so a user reading a figure knows that it sits on a host whose
//! neighbours move it. It is a warning about the host, not a correction: a snapshot of under a
//! second at the start did not predict how fast a 2-minute run would be (correlation with the runs'
//! costs −0.53 … +0.92 over three sittings of five runs), and neither did the memory's
//! latency or this probe sampled before every round of every process (docs/stability.md,
//! attempts 39 – 41).
//!
//! The measurement: chases over three buffers — one in the L3 but outside the L2 (its hit
//! latency), one four times the L3 but at most 128 MiB (memory latency), and the probe itself
//! over half the L3 or 16 MiB, whichever is smaller: eight whole cycles, 25 ms apart. Each
//! sample's latency between the two references says what share of its reads missed the
//! cache (a chase's accesses are serial, so its mean latency is linear in its miss rate).
//!
//! Why at most 16 MiB: the question is whether a heap of the built-in workloads' size (8.5 –
//! 11 MB) stays in the cache, and sysfs may report an L3 this guest cannot hold. The
//! model-167 Intel guest of 2026-12-05 reports 480 MiB (the whole package's), while a chase
//! there steps from ≈ 45 to ≈ 140 ns an access between 32 and 64 MiB: a probe over half the
//! reported L3 read 48 – 53 % of its reads missed in every run of a quiet sitting, and the
//! runs that started with more missed ran *faster* (r −0.75 … −0.98 over five runs) — a
//! warning that fired on every run and said nothing. A 16 MiB chase on that guest does move
//! with its neighbours: 42 – 52 ns an access at 20:17, 63 – 69 at 20:22. And why 2 MiB pages: with 4 KiB pages
//! the chases pay page walks as well, so the references measured the TLB too (the 1 GiB
//! memory reference 233 ns there against 193 with 2 MiB pages).

use super::pinned::PinnedBuf;
use crate::pymalloc::parse_size;
use crate::stats::median;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Environment variable that replaces the measurement, for tests only: `HIT,MEMORY,S1,S2,…`
/// in ns an access (the warnings must be testable without a contended machine).
pub const FAKE_CACHE_PROBE_ENV: &str = "PYBENCH_FAKE_CACHE_PROBE";

/// Samples of the half-L3 chase (each one whole cycle through it: 4 – 45 ms on a 32 MiB L3),
/// and the pause before each (the neighbours' use changes from one half-second to the next,
/// so the samples are spread over a few tenths of a second).
const SAMPLES: usize = 8;
const PAUSE: Duration = Duration::from_millis(25);
/// Reads a sample of the memory reference: 20,000 serial misses take about 3 – 4 ms.
const MEMORY_STEPS: usize = 20_000;
/// A line-sized stride: one pointer per 64-byte line, so every read is its own line.
const LINE_WORDS: usize = 64 / std::mem::size_of::<usize>();
/// The probe's largest working set: the built-in workloads' heaps (8.5 – 11 MB) rounded up
/// to a power of two (module docs: why not half of whatever L3 sysfs reports).
const MAX_WORKING_SET: u64 = 16 << 20;
/// The memory reference's largest buffer (see `measure`).
const MAX_MEMORY_REFERENCE: u64 = 128 << 20;

/// The shared cache's state when a run started: the probe's working set, the two reference
/// latencies and each sample's latency, in ns an access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheShare {
    /// The last-level cache's size (sysfs), and the probe's working set (half of it, at most
    /// 16 MiB).
    pub llc_bytes: u64,
    pub working_set_bytes: u64,
    /// A chase that stays in the L3 (hit latency), and one four times its size (memory
    /// latency).
    pub hit_ns: f64,
    pub memory_ns: f64,
    pub samples_ns: Vec<f64>,
}

/// Median share of the probe's reads that missed the L3 from which the start of a run warns,
/// or a share in any one sample from which it does.
const WARN_MEDIAN_MISS: f64 = 0.2;
const WARN_ANY_MISS: f64 = 0.5;
/// The references must be this far apart for the shares to mean anything (a machine whose
/// "L3" is not slower to miss, or a probe interrupted while it timed the references).
const MIN_MEMORY_OVER_HIT: f64 = 1.5;

impl CacheShare {
    /// Each sample's share of reads that missed the L3 (0 – 1), or `None` when the references
    /// are too close to tell a hit from a miss.
    pub fn miss_shares(&self) -> Option<Vec<f64>> {
        let span = self.memory_ns - self.hit_ns;
        if !(self.hit_ns > 0.0 && self.memory_ns >= self.hit_ns * MIN_MEMORY_OVER_HIT) {
            return None;
        }
        let share = |s: f64| ((s - self.hit_ns) / span).clamp(0.0, 1.0);
        Some(self.samples_ns.iter().map(|&s| share(s)).collect())
    }

    /// The median, lowest and highest miss share over the samples.
    pub fn miss_summary(&self) -> Option<(f64, f64, f64)> {
        let shares = self.miss_shares()?;
        let low = shares.iter().copied().reduce(f64::min)?;
        let high = shares.iter().copied().reduce(f64::max)?;
        Some((median(&shares)?, low, high))
    }

    /// One line describing the cache's state: "a 16 MiB working set (in a 32 MiB L3) missed
    /// it on 62 % of its reads (median of 8 probes; 8 – 95 %; hit 14 ns, …)".
    pub fn describe(&self) -> Option<String> {
        self.miss_summary().map(|summary| self.line(summary))
    }

    /// [`CacheShare::describe`]'s line for a summary already taken.
    fn line(&self, (median, low, high): (f64, f64, f64)) -> String {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        format!(
            "a {:.0} MiB working set (in a {:.0} MiB L3) missed it on {:.0} % of its reads \
             (median of {} probes; {:.0} – {:.0} %; hit {:.0} ns, memory {:.0} ns)",
            mib(self.working_set_bytes),
            mib(self.llc_bytes),
            median * 100.0,
            self.samples_ns.len(),
            low * 100.0,
            high * 100.0,
            self.hit_ns,
            self.memory_ns
        )
    }

    /// A warning when others held a large share of the cache as the run started.
    pub fn warning(&self) -> Option<String> {
        let summary = self.miss_summary()?;
        let (median, _, high) = summary;
        (median >= WARN_MEDIAN_MISS || high >= WARN_ANY_MISS).then(|| {
            format!(
                "warning: the shared L3 is contended by others (not in the load average): {}; \
                 on such a host allocators' costs on heaps of a few MiB and more, and the \
                 ratios between them, move from run to run by more than their intervals show; \
                 runs to be compared agree more closely when made interleaved, shard by shard \
                 (`scripts/ab.sh` for two builds; README \"Stability\")",
                self.line(summary)
            )
        })
    }
}

/// Probes the cache (about half a second, and briefly up to 128 MiB of memory), or reads
/// [`FAKE_CACHE_PROBE_ENV`]. `None` when sysfs does not give the L3's size or the fake is
/// malformed.
pub fn measure() -> Option<CacheShare> {
    if let Ok(fake) = std::env::var(FAKE_CACHE_PROBE_ENV) {
        return parse_fake(&fake);
    }
    let llc = cache_size(3)?;
    let outside_l2 = cache_size(2).map_or(llc / 16, |l2| (2 * l2).min(llc / 4));
    // Whole cycles, so every line was last read one working set ago: the best of three is
    // the L3's hit latency.
    let mut hit = Chase::new(outside_l2 as usize)?;
    hit.cycle();
    let hit_ns = (0..3).map(|_| hit.cycle()).fold(f64::MAX, f64::min);
    // Four times the L3, at most 128 MiB (a 32 MiB L3's four times): past the 16 MiB probe
    // and past what a guest holds where sysfs reports a package's L3 (the 480 MiB one above:
    // 150 – 160 ns an access at 128 MiB, 160 – 170 at 256). A guest's first touch of memory
    // is slow (0.6 s for 256 MiB there, 0.07 s the second time in one process), so the
    // reference is no larger than it must be. Where the L3 truly holds it, the references
    // are too close and the probe gives no verdict rather than a wrong one. It is walked on
    // from where the last sample stopped: every read is a line not read since it was built.
    let mut memory = Chase::new((4 * llc).min(MAX_MEMORY_REFERENCE) as usize)?;
    let far: Vec<f64> = (0..3).map(|_| memory.walk(MEMORY_STEPS)).collect();
    drop(memory);
    let working_set = probe_working_set(llc);
    let mut probe = Chase::new(working_set as usize)?;
    probe.cycle(); // brings the working set in
    let samples_ns = (0..SAMPLES)
        .map(|_| {
            std::thread::sleep(PAUSE);
            probe.cycle()
        })
        .collect();
    Some(CacheShare {
        llc_bytes: llc,
        working_set_bytes: working_set,
        hit_ns,
        memory_ns: median(&far)?,
        samples_ns,
    })
}

/// The probe's working set on an L3 of `llc` bytes: half of it, at most [`MAX_WORKING_SET`].
fn probe_working_set(llc: u64) -> u64 {
    (llc / 2).min(MAX_WORKING_SET)
}

/// `HIT,MEMORY,S1,…` as [`FAKE_CACHE_PROBE_ENV`] gives it, on a 32 MiB L3.
fn parse_fake(text: &str) -> Option<CacheShare> {
    let values = fake_numbers(text)?;
    let (refs, samples) = values.split_at_checked(2)?;
    Some(CacheShare {
        llc_bytes: 32 << 20,
        working_set_bytes: 16 << 20,
        hit_ns: refs[0],
        memory_ns: refs[1],
        samples_ns: samples.to_vec(),
    })
}

/// The numbers of a probe's fake (`A,B,…`, blanks allowed around each): `None` when any is
/// not a number. Shared with [`super::clock_probe`]'s fake.
pub(super) fn fake_numbers(text: &str) -> Option<Vec<f64>> {
    text.split(',').map(|v| v.trim().parse().ok()).collect()
}

/// The size of cpu0's unified or data cache of `level`, from sysfs.
fn cache_size(level: u32) -> Option<u64> {
    let base = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    (0..8).find_map(|i| {
        let dir = base.join(format!("index{i}"));
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let kind = read("type")?;
        if read("level")?.trim() != level.to_string() || kind.trim() == "Instruction" {
            return None;
        }
        // "32768K" in sysfs: the engine's geometry sizes read the same way.
        parse_size(&read("size")?)
            .filter(|&n| n > 0)
            .map(|n| n as u64)
    })
}

/// A cyclic walk through the lines of a buffer in a scrambled order: each read's address is
/// the value the read before it returned, so the reads are serial and each pays the full
/// latency of wherever its line is. The walk goes on from where the last timing stopped. The
/// buffer is a mapping of its own advised for 2 MiB pages (so a read pays the cache's
/// latency, not a page walk's too), unmapped when dropped: the probe's memory reference is
/// gone before the first cell starts.
struct Chase {
    next: PinnedBuf<usize>,
    lines: usize,
    at: usize,
}

impl Chase {
    /// A walk over the largest power of two of lines that fits in `bytes` (at least 4), in
    /// the order of a full-period linear congruential sequence: line `x` leads to
    /// `(5x + 2k + 1) mod lines`, which visits every line once per cycle (Hull – Dobell: the
    /// multiplier ≡ 1 mod 4, the increment odd, the modulus a power of two) without the
    /// strides a prefetcher could follow.
    fn new(bytes: usize) -> Option<Chase> {
        let lines = (bytes / 64).max(4);
        let lines = 1usize << (usize::BITS - 1 - lines.leading_zeros());
        let increment = (lines / 3) | 1;
        // One pass writes each line's link (its first word) and faults the buffer in.
        let next = PinnedBuf::from_fn(lines * LINE_WORDS, |w| match w % LINE_WORDS {
            0 => {
                let x = w / LINE_WORDS;
                (x.wrapping_mul(5).wrapping_add(increment) & (lines - 1)) * LINE_WORDS
            }
            _ => 0,
        })
        .ok()?;
        Some(Chase { next, lines, at: 0 })
    }

    /// Ns an access over `steps` reads.
    fn walk(&mut self, steps: usize) -> f64 {
        let mut at = self.at;
        let words = self.next.as_slice();
        let start = Instant::now();
        for _ in 0..steps {
            at = words[at];
        }
        let ns = start.elapsed().as_nanos() as f64 / steps as f64;
        self.at = std::hint::black_box(at);
        ns
    }

    /// Ns an access over one whole cycle (every line once).
    fn cycle(&mut self) -> f64 {
        self.walk(self.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(hit: f64, memory: f64, samples: &[f64]) -> CacheShare {
        CacheShare {
            llc_bytes: 32 << 20,
            working_set_bytes: 16 << 20,
            hit_ns: hit,
            memory_ns: memory,
            samples_ns: samples.to_vec(),
        }
    }

    /// sysfs writes sizes as "32768K\n": the shared size parser reads that form.
    #[test]
    fn sysfs_sizes_read_through_the_shared_parser() {
        assert_eq!(parse_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_size("1024K"), Some(1 << 20));
    }

    /// Half a small L3, never more than a workload-sized heap however large sysfs says the
    /// L3 is (480 MiB on one Intel guest whose chase latency steps up past 32 MiB).
    #[test]
    fn the_working_set_is_half_the_l3_up_to_a_workloads_heap() {
        assert_eq!(probe_working_set(8 << 20), 4 << 20);
        assert_eq!(probe_working_set(32 << 20), 16 << 20);
        assert_eq!(probe_working_set(480 << 20), 16 << 20);
        assert_eq!(probe_working_set(4 << 30), 16 << 20);
    }

    #[test]
    fn samples_at_the_references_are_hits_and_misses() {
        let s = share(15.0, 165.0, &[15.0, 165.0, 90.0, 10.0, 300.0]);
        assert_eq!(s.miss_shares().unwrap(), vec![0.0, 1.0, 0.5, 0.0, 1.0]);
        assert_eq!(s.miss_summary(), Some((0.5, 0.0, 1.0)));
    }

    #[test]
    fn references_too_close_give_no_verdict() {
        let s = share(100.0, 120.0, &[110.0]);
        assert_eq!(s.miss_shares(), None);
        assert_eq!(s.warning(), None);
        assert_eq!(share(15.0, 165.0, &[]).miss_summary(), None);
    }

    #[test]
    fn the_warning_fires_on_a_contended_cache_only() {
        let quiet = share(15.0, 165.0, &[16.0, 18.0, 20.0, 17.0]);
        assert_eq!(quiet.warning(), None);
        let busy = share(15.0, 165.0, &[18.0, 120.0, 90.0, 60.0]);
        let w = busy.warning().unwrap();
        assert!(
            w.contains("contended") && w.contains("16 MiB working set"),
            "{w}"
        );
        // One sample past half its reads missed is enough, even with a quiet median.
        let burst = share(15.0, 165.0, &[16.0, 16.0, 16.0, 120.0]);
        assert!(burst.warning().is_some());
    }

    #[test]
    fn the_fake_measurement_is_parsed_or_refused() {
        let s = parse_fake("15, 165, 20,120").unwrap();
        assert_eq!((s.hit_ns, s.memory_ns), (15.0, 165.0));
        assert_eq!(s.samples_ns, vec![20.0, 120.0]);
        assert_eq!(parse_fake("15"), None);
        assert_eq!(parse_fake("15,x,3"), None);
    }

    proptest::proptest! {
        /// Shares are fractions, ordered as the samples' latencies are, and a probe whose
        /// samples are all slower warns whenever the faster one did.
        #[test]
        fn shares_are_fractions_ordered_by_latency(
            hit in 1.0f64..50.0,
            span in 1.0f64..500.0,
            samples in proptest::collection::vec(0.0f64..1000.0, 1..20),
            slower in 0.0f64..100.0,
        ) {
            let s = share(hit, hit + span.max(hit), &samples);
            let shares = s.miss_shares().unwrap();
            for (a, (x, y)) in shares.iter().zip(samples.iter()).enumerate() {
                proptest::prop_assert!((0.0..=1.0).contains(x));
                for (b, z) in shares.iter().enumerate() {
                    if samples[b] > *y {
                        proptest::prop_assert!(z >= x, "sample {b} slower than {a}");
                    }
                }
            }
            let (median, low, high) = s.miss_summary().unwrap();
            proptest::prop_assert!(low <= median && median <= high);
            let worse: Vec<f64> = samples.iter().map(|x| x + slower).collect();
            let w = share(hit, hit + span.max(hit), &worse);
            proptest::prop_assert!(s.warning().is_none() || w.warning().is_some());
        }
    }

    #[test]
    fn a_chase_visits_every_line_once_per_cycle() {
        // (bytes, lines): the largest power of two of lines that fits, at least 4.
        for (bytes, lines) in [
            (64, 4),
            (64 * 100, 64),
            (64 * 4096, 4096),
            (64 * 5000, 4096),
        ] {
            let mut c = Chase::new(bytes).unwrap();
            assert_eq!(c.lines, lines);
            let mut seen = std::collections::BTreeSet::new();
            let mut strides = std::collections::BTreeSet::new();
            for _ in 0..lines {
                assert!(
                    seen.insert(c.at),
                    "line {} seen twice in a cycle",
                    c.at / LINE_WORDS
                );
                let from = c.at;
                c.walk(1);
                strides.insert(c.at.wrapping_sub(from));
            }
            assert_eq!(c.at, 0, "one cycle returns to the start");
            assert_eq!(seen.len(), lines);
            // Not a fixed stride a prefetcher could follow.
            assert!(
                strides.len() >= lines / 8,
                "{} strides in {lines} lines",
                strides.len()
            );
            // Walks go on from where the last stopped.
            c.walk(3);
            assert_ne!(c.at, 0);
        }
    }
}
