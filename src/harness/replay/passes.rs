//! The passes of a memory or latency measurement over the replay loop ([`super::Replayer`]):
//! the untimed pass that samples RSS, and the pass that times one operation in N.

use super::{ReplayError, Replayer, OP_NAMES};
use crate::alloc::Allocator;
use crate::harness::feed::Feed;
use crate::harness::timer::Timer;
use crate::sys::procfs::RssReader;
use crate::workload::Event;
use hdrhistogram::Histogram;

/// What the untimed pass measured.
#[derive(Debug, Clone, Default)]
pub struct UntimedPass {
    pub ops: u64,
    pub elapsed_ns: u64,
    pub peak_live_bytes: u64,
    pub baseline_rss: u64,
    pub peak_rss: u64,
    pub final_rss: u64,
    /// (ops done, RSS − baseline).
    pub rss_series: Vec<(u64, u64)>,
}

/// A pass's events: all in memory, or streamed chunk by chunk from a [`Feed`].
pub enum Events<'a> {
    Slice(&'a [Event]),
    Feed(&'a mut Feed),
}

impl Events<'_> {
    /// Calls `f` on each chunk of one pass with the index of its first event. Waiting for a
    /// streamed chunk happens between calls, never inside one.
    pub fn each_chunk(
        &mut self,
        mut f: impl FnMut(&[Event], u64) -> Result<(), ReplayError>,
    ) -> Result<(), ReplayError> {
        match self {
            Events::Slice(e) => f(e, 0),
            Events::Feed(feed) => {
                feed.begin().map_err(ReplayError::Source)?;
                while let Some(c) = feed.next_chunk().map_err(ReplayError::Source)? {
                    let r = f(&c.events, c.first);
                    feed.give_back(c);
                    r?;
                }
                Ok(())
            }
        }
    }
}

/// Replays `events` (`total` of them, for sizing the RSS series) without timing individual
/// operations: memory. RSS is read every `rss_every` allocator events and at phase markers;
/// the baseline when the first chunk is in hand (a streamed source's read-ahead buffers
/// are then in place, so they count as baseline, not as the allocator's).
pub fn untimed_pass<A: Allocator>(
    r: &mut Replayer<'_, A>,
    events: &mut Events<'_>,
    total: u64,
    rss: &RssReader,
    rss_every: u64,
    timer: &Timer,
) -> Result<UntimedPass, ReplayError> {
    let mut out = UntimedPass {
        rss_series: Vec::with_capacity(1100 + (total / rss_every.max(1)) as usize),
        ..UntimedPass::default()
    };
    let sample = |ops: u64, out: &mut UntimedPass| {
        let now = rss.read().unwrap_or(0);
        out.peak_rss = out.peak_rss.max(now);
        if out.rss_series.len() < out.rss_series.capacity() {
            out.rss_series
                .push((ops, now.saturating_sub(out.baseline_rss)));
        }
    };
    let mut next_sample = rss_every;
    let mut started = false;
    let start = std::time::Instant::now();
    events.each_chunk(|chunk, first| {
        if !started {
            started = true;
            out.baseline_rss = rss.read().unwrap_or(0);
            out.peak_rss = out.baseline_rss;
        }
        for (i, ev) in chunk.iter().enumerate() {
            match r.apply::<false>(ev, timer, first + i as u64)? {
                Some(_) => {
                    out.ops += 1;
                    if out.ops == next_sample {
                        next_sample += rss_every;
                        sample(out.ops, &mut out);
                    }
                }
                None => {
                    if matches!(ev, Event::Phase(_) | Event::Gc(2)) {
                        sample(out.ops, &mut out);
                    }
                }
            }
        }
        Ok(())
    })?;
    out.elapsed_ns = start.elapsed().as_nanos() as u64;
    if !started {
        out.baseline_rss = rss.read().unwrap_or(0);
        out.peak_rss = out.baseline_rss;
    }
    sample(out.ops, &mut out);
    out.final_rss = out
        .rss_series
        .last()
        .map_or(out.baseline_rss, |s| s.1 + out.baseline_rss);
    out.peak_live_bytes = r.peak_live_bytes;
    Ok(out)
}

/// Latency histograms (in timer ticks) per operation kind.
pub struct Latencies {
    pub per_op: Vec<Histogram<u64>>,
    pub timed_ops: u64,
}

impl Latencies {
    pub fn new() -> Self {
        // 1 tick … 10¹¹ ticks (~30 s at 3 GHz), 3 significant digits; sized up front so
        // recording never allocates.
        let h = || Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid bounds");
        Latencies {
            per_op: (0..OP_NAMES.len()).map(|_| h()).collect(),
            timed_ops: 0,
        }
    }

    /// All kinds merged.
    pub fn all(&self) -> Histogram<u64> {
        let mut all = self.per_op[0].clone();
        for h in &self.per_op[1..] {
            all.add(h).expect("same bounds");
        }
        all
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

/// Replays `events` timing one operation in `sample_every` with the timer.
pub fn timed_pass<A: Allocator>(
    r: &mut Replayer<'_, A>,
    events: &mut Events<'_>,
    timer: &Timer,
    sample_every: u64,
    lat: &mut Latencies,
) -> Result<(), ReplayError> {
    let mut countdown = sample_every.max(1);
    events.each_chunk(|chunk, first| {
        for (i, ev) in chunk.iter().enumerate() {
            let index = first + i as u64;
            countdown -= 1;
            if countdown == 0 {
                countdown = sample_every.max(1);
                if let Some((op, ticks)) = r.apply::<true>(ev, timer, index)? {
                    lat.per_op[op].saturating_record(ticks.max(1));
                    lat.timed_ops += 1;
                }
            } else {
                r.apply::<false>(ev, timer, index)?;
            }
        }
        Ok(())
    })
}
