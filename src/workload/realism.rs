//! The realism report: how far a stream's allocator-relevant shape ([`Profile`]) is from
//! real programs', one distance in [0, 1] per figure (0 = same, 1 = as far as it gets).
//!
//! Distances, per kind of figure:
//! - **histogram over unordered bins** (size classes, domain mix): total variation distance,
//!   ½ Σ |p − q| — the share of requests that would have to change bin.
//! - **histogram over ordered bins** (lifetimes, realloc growth, GC bursts): the
//!   Kolmogorov–Smirnov statistic, max |P(X ≤ x) − Q(X ≤ x)| over bin edges. If only one
//!   stream has any entries the distance is 1; if neither has, 0.
//! - **magnitudes** (peak and mean live blocks and bytes): orders of magnitude apart,
//!   min(1, |log10(a / b)|): a factor 2 is 0.30, a factor 10 or more is 1.
//! - **shares** (calloc, realloc among requests): |a − b| / max(a, b, 1 %), capped at 1, so
//!   shares both under 1 % count as alike.
//! - **sequence shares** (size runs, free cohorts): the same as shares — what a stream's
//!   order does to an allocator's caches: runs of one size keep one pool hot, frees of blocks
//!   born together walk memory allocated together.
//! - **block reuse**: how long ago the block a LIFO free list hands each allocation was
//!   freed (ordered bins, Kolmogorov–Smirnov): hot reuse or cold.
//! - **pool churn**: small frees that leave a full pymalloc pool per 1,000 small frees,
//!   replayed into the engine ([`super::pool_churn`]); a rate spanning orders of magnitude
//!   (1 to 185 per 1,000 on the shipped traces), so compared as magnitudes with a floor of 1
//!   per 1,000: ×2 is 0.30, ×10 or more is 1.
//! - **op order**: the share of allocations and frees a 16-operation global-history
//!   predictor of "malloc or free?" gets wrong ([`super::op_order`]), compared as a share: a
//!   program's loops repeat their order (0.8 – 9.9 % missed on the shipped traces), a
//!   stream drawn block by block does not (32 – 40 % on their stand-ins).
//! - **phase shape**: the live-bytes curve (live bytes after each twentieth of the
//!   allocations, as a share of the stream's own peak), mean |a − b| over the 20 points.
//!
//! Overall score = 1 − mean of the selected figures' distances: 1 for identical shapes.

mod figure;

pub use figure::{figure, parse_figures, Figure};

use super::profile::{shares, Profile};
use serde::Serialize;
use std::fmt::Write as _;

/// Total variation distance between two count histograms.
pub fn tvd(a: &[u64], b: &[u64]) -> f64 {
    let (pa, pb) = (shares(a), shares(b));
    pa.iter().zip(&pb).map(|(x, y)| (x - y).abs()).sum::<f64>() / 2.0
}

/// Kolmogorov–Smirnov statistic between two histograms over ordered bins.
pub fn ks(a: &[u64], b: &[u64]) -> f64 {
    let (na, nb) = (a.iter().sum::<u64>(), b.iter().sum::<u64>());
    match (na, nb) {
        (0, 0) => return 0.0,
        (0, _) | (_, 0) => return 1.0,
        _ => {}
    }
    let (pa, pb) = (shares(a), shares(b));
    let (mut ca, mut cb, mut d) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in pa.iter().zip(&pb) {
        ca += x;
        cb += y;
        d = d.max((ca - cb).abs());
    }
    d.min(1.0)
}

/// Orders of magnitude between two positive quantities, capped at 1.
pub fn magnitude(a: f64, b: f64) -> f64 {
    ((a.max(1.0) / b.max(1.0)).log10().abs()).min(1.0)
}

/// Relative difference of two shares, with shares under 1 % counting as alike.
pub fn share_distance(a: f64, b: f64) -> f64 {
    ((a - b).abs() / a.max(b).max(0.01)).min(1.0)
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Share of a histogram's mass in its first `bins` bins.
fn head(h: &[u64], bins: usize) -> f64 {
    ratio(h[..bins].iter().sum(), h.iter().sum())
}

/// Share of allocations and frees a global-history predictor gets wrong.
fn op_miss_rate(p: &Profile) -> f64 {
    ratio(p.op_misses, p.ops)
}

/// Small frees leaving a full pool per 1,000 small frees.
fn churn(p: &Profile) -> f64 {
    1000.0 * ratio(p.pool_frees_from_full, p.pool_frees)
}

fn curve_distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 0.0 } else { 1.0 };
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len().min(b.len()) as f64
}

/// 12_345_678 → `12.3M`.
pub fn human(x: f64, unit: &str) -> String {
    let (v, s) = match x {
        x if x >= 1e9 => (x / 1e9, "G"),
        x if x >= 1e6 => (x / 1e6, "M"),
        x if x >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    format!("{v:.1}{s}{unit}")
}

/// One stream compared with one reference.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub reference: String,
    /// `(figure, distance, subject's value, reference's value)`.
    pub figures: Vec<(String, f64, String, String)>,
    /// 1 − mean distance.
    pub score: f64,
}

/// Compares a profile with one reference on the chosen figures.
pub fn compare(subject: &Profile, reference: &Profile, name: &str, figs: &[Figure]) -> Comparison {
    let figures: Vec<_> = figs
        .iter()
        .map(|f| {
            let (d, a, b) = figure(*f, subject, reference);
            (f.name().to_string(), d, a, b)
        })
        .collect();
    let mean = figures.iter().map(|f| f.1).sum::<f64>() / figures.len().max(1) as f64;
    Comparison {
        reference: name.to_string(),
        figures,
        score: 1.0 - mean,
    }
}

/// The realism report of a subject against several references.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub subject: String,
    pub comparisons: Vec<Comparison>,
}

impl Report {
    /// Mean score over the references.
    pub fn mean_score(&self) -> f64 {
        let n = self.comparisons.len().max(1) as f64;
        self.comparisons.iter().map(|c| c.score).sum::<f64>() / n
    }

    /// One line per figure: the subject's value, then each reference's value and distance.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "realism of {} (distance per figure: 0 = same, 1 = far; score = 1 - mean distance)",
            self.subject
        );
        let Some(first) = self.comparisons.first() else {
            return o;
        };
        // A column as wide as its trace's name (at least 24), which is never cut: it is what
        // the user typed, and may type again.
        let widths: Vec<usize> = self
            .comparisons
            .iter()
            .map(|c| c.reference.chars().count().max(24))
            .collect();
        let _ = write!(o, "{:<17} {:>12}", "figure", "subject");
        for (c, w) in self.comparisons.iter().zip(&widths) {
            let _ = write!(o, " {:>w$}", c.reference);
        }
        o.push('\n');
        for (i, (name, _, subject, _)) in first.figures.iter().enumerate() {
            let _ = write!(o, "{name:<17} {subject:>12}");
            for (c, w) in self.comparisons.iter().zip(&widths) {
                let (_, d, _, r) = &c.figures[i];
                let _ = write!(o, " {:>w$}", format!("{r} d={d:.2}"));
            }
            o.push('\n');
        }
        let _ = write!(
            o,
            "{:<17} {:>12}",
            "score",
            format!("{:.3}", self.mean_score())
        );
        for (c, w) in self.comparisons.iter().zip(&widths) {
            let _ = write!(o, " {:>w$}", format!("{:.3}", c.score));
        }
        o.push('\n');
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_stay_in_unit_interval_and_vanish_on_equal_input() {
        let a = [5u64, 0, 3, 2];
        let b = [0u64, 7, 0, 1];
        for d in [tvd(&a, &b), ks(&a, &b)] {
            assert!((0.0..=1.0).contains(&d), "{d}");
            assert!(d > 0.0);
        }
        assert_eq!(tvd(&a, &a), 0.0);
        assert_eq!(ks(&a, &a), 0.0);
        assert_eq!(ks(&[0, 0], &[0, 0]), 0.0);
        assert_eq!(ks(&[0, 0], &[1, 0]), 1.0);
        assert!((magnitude(100.0, 1000.0) - 1.0).abs() < 1e-12);
        assert!((magnitude(200.0, 100.0) - 2f64.log10()).abs() < 1e-12);
        assert_eq!(share_distance(0.001, 0.005), 0.4);
        assert_eq!(share_distance(0.0, 0.5), 1.0);
    }

    #[test]
    fn pool_churn_compares_rates_of_frees_from_full_pools_with_a_floor_of_one_per_thousand() {
        use crate::workload::event::{Domain, Event};
        // A stream that fills 20 pools (255 blocks of 64 B each in 3.11's) and then frees one
        // block of every 300 — one per full pool — against one that frees its newest blocks,
        // from the pool still being filled.
        let stream = |scattered: bool| {
            let n = 5000u32;
            let mut ev: Vec<Event> = (0..n)
                .map(|slot| Event::Alloc {
                    slot,
                    size: 64,
                    domain: Domain::Obj,
                    thread: 0,
                })
                .collect();
            for k in 0..16 {
                let slot = if scattered { k * 300 } else { n - 1 - k };
                ev.push(Event::Free { slot, thread: 0 });
            }
            Profile::from_events(ev)
        };
        let (scattered, newest) = (stream(true), stream(false));
        let (d, a, b) = figure(Figure::PoolChurn, &scattered, &newest);
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("1000.0/1000 full", "0.0/1000 full")
        );
        assert!((d - 1.0).abs() < 1e-12, "{d}");
        // Both under one per 1,000: alike.
        let none = Profile::from_events([]);
        assert_eq!(figure(Figure::PoolChurn, &none, &none).0, 0.0);
    }

    #[test]
    fn op_order_tells_a_loop_from_a_shuffled_stream_of_the_same_operations() {
        // 2,000 iterations of a loop body (three allocations, then their three frees)
        // against the same calls in a random order.
        let ev = |shuffled| {
            Profile::from_events(crate::workload::op_order::looped_stream(2000, shuffled))
        };
        let (looped, shuffled) = (ev(false), ev(true));
        assert_eq!(looped.ops, 12_000);
        let (d, a, b) = figure(Figure::OpOrder, &looped, &shuffled);
        // A period of 6 is learned once the history fills: at most 16 + 2 x 6 misses.
        let learned = op_miss_rate(&looped);
        assert!(learned <= 28.0 / 12_000.0, "loop: {a}");
        let missed = op_miss_rate(&shuffled);
        assert!((0.45..0.55).contains(&missed), "shuffled: {b}: a coin flip");
        assert!(d > 0.9, "{d}");
        assert_eq!(figure(Figure::OpOrder, &looped, &looped).0, 0.0);
        let none = Profile::from_events([]);
        assert_eq!(figure(Figure::OpOrder, &none, &none).0, 0.0);
    }
}
