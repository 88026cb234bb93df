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

use super::profile::{shares, Profile};
use serde::Serialize;
use std::fmt::Write as _;

/// Every figure the report knows, in report order.
pub const FIGURES: [&str; 19] = [
    "size_classes",
    "lifetime_allocs",
    "lifetime_bytes",
    "peak_live_blocks",
    "peak_live_bytes",
    "mean_live_blocks",
    "mean_live_bytes",
    "domain_mix",
    "calloc_share",
    "realloc_share",
    "realloc_growth",
    "gc_bursts",
    "phase_shape",
    "size_runs",
    "free_cohorts",
    "block_reuse",
    "free_gaps",
    "pool_churn",
    "op_order",
];

/// Parses a comma-separated figure list; `None` or empty means all figures.
pub fn parse_figures(list: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(list) = list else {
        return Ok(FIGURES.to_vec());
    };
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if names.is_empty() {
        // Given but naming nothing: not a request for every figure.
        return Err(format!(
            "--figures is empty: name at least one of {}, or leave it out for all",
            FIGURES.join(", ")
        ));
    }
    names
        .into_iter()
        .map(|f| {
            FIGURES
                .iter()
                .copied()
                .find(|k| *k == f)
                .ok_or_else(|| format!("unknown figure `{f}`; figures: {}", FIGURES.join(", ")))
        })
        .collect()
}

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

/// The distance of one figure, and a short readable value for each side.
pub fn figure(name: &str, a: &Profile, b: &Profile) -> (f64, String, String) {
    let both = |f: &dyn Fn(&Profile) -> String| (f(a), f(b));
    let (d, (va, vb)) = match name {
        // Requests of at most 64 B (the 16–64 B classes are 2/3 to 90 % of Python's).
        "size_classes" => (
            tvd(&a.sizes, &b.sizes),
            both(&|p| format!("{:.0}% <=64B", 100.0 * head(&p.sizes, 5))),
        ),
        // Blocks freed within 128 later allocations (bins 0..=8 hold ages 0..=255; 8 bins
        // hold 0..=127).
        "lifetime_allocs" => (
            ks(&a.life_blocks, &b.life_blocks),
            both(&|p| format!("{:.0}% <128", 100.0 * head(&p.life_blocks, 8))),
        ),
        "lifetime_bytes" => (
            ks(&a.life_bytes, &b.life_bytes),
            both(&|p| format!("{:.0}%B <128", 100.0 * head(&p.life_bytes, 8))),
        ),
        "peak_live_blocks" => (
            magnitude(a.peak_live_blocks as f64, b.peak_live_blocks as f64),
            both(&|p| human(p.peak_live_blocks as f64, "")),
        ),
        "peak_live_bytes" => (
            magnitude(a.peak_live_bytes as f64, b.peak_live_bytes as f64),
            both(&|p| human(p.peak_live_bytes as f64, "B")),
        ),
        "mean_live_blocks" => (
            magnitude(a.mean_live_blocks, b.mean_live_blocks),
            both(&|p| human(p.mean_live_blocks, "")),
        ),
        "mean_live_bytes" => (
            magnitude(a.mean_live_bytes, b.mean_live_bytes),
            both(&|p| human(p.mean_live_bytes, "B")),
        ),
        "domain_mix" => (
            tvd(&a.domains, &b.domains),
            both(&|p| {
                let s = shares(&p.domains);
                format!(
                    "{:.0}/{:.0}/{:.0}",
                    s[0] * 100.0,
                    s[1] * 100.0,
                    s[2] * 100.0
                )
            }),
        ),
        "calloc_share" => (
            share_distance(
                ratio(a.callocs, a.requests()),
                ratio(b.callocs, b.requests()),
            ),
            both(&|p| format!("{:.1}%", 100.0 * ratio(p.callocs, p.requests()))),
        ),
        "realloc_share" => (
            share_distance(
                ratio(a.reallocs, a.requests()),
                ratio(b.reallocs, b.requests()),
            ),
            both(&|p| format!("{:.1}%", 100.0 * ratio(p.reallocs, p.requests()))),
        ),
        // Share of reallocs that grow the block by more than 1/8 (bin 16 is "unchanged").
        "realloc_growth" => (
            ks(&a.growth, &b.growth),
            both(&|p| match p.reallocs {
                0 => "none".to_string(),
                _ => format!("{:.0}% grow", 100.0 * (1.0 - head(&p.growth, 17))),
            }),
        ),
        "gc_bursts" => (
            ks(&a.bursts, &b.bursts),
            both(&|p| format!("{} gcs", p.collections)),
        ),
        "phase_shape" => (
            curve_distance(&a.curve, &b.curve),
            both(&|p| {
                let at = |i: usize| p.curve.get(i).copied().unwrap_or(0.0) * 100.0;
                format!("{:.0}>{:.0}>{:.0}%", at(4), at(9), at(19))
            }),
        ),
        "size_runs" => (
            share_distance(
                ratio(a.size_repeats, a.allocs),
                ratio(b.size_repeats, b.allocs),
            ),
            both(&|p| format!("{:.0}% same", 100.0 * ratio(p.size_repeats, p.allocs))),
        ),
        "free_cohorts" => (
            share_distance(
                ratio(a.cohort_frees, a.long_frees),
                ratio(b.cohort_frees, b.long_frees),
            ),
            both(&|p| format!("{:.0}% cohort", 100.0 * ratio(p.cohort_frees, p.long_frees))),
        ),
        // Allocations that get a block of their size freed within the last 16 allocations
        // (bins 0..=4 hold ages 0..=15): memory still in cache.
        "block_reuse" => (
            ks(&a.reuse, &b.reuse),
            both(&|p| format!("{:.0}% <16", 100.0 * head(&p.reuse, 5))),
        ),
        // Long-lived frees whose block was born within 64 allocations of the previous one's
        // (bins 0..=6 hold gaps 0..=63).
        "free_gaps" => (
            ks(&a.long_gaps, &b.long_gaps),
            both(&|p| format!("{:.0}% <64", 100.0 * head(&p.long_gaps, 7))),
        ),
        "pool_churn" => (
            magnitude(churn(a), churn(b)),
            both(&|p| format!("{:.1}/1000 full", churn(p))),
        ),
        "op_order" => (
            share_distance(op_miss_rate(a), op_miss_rate(b)),
            both(&|p| format!("{:.1}% missed", 100.0 * op_miss_rate(p))),
        ),
        _ => (1.0, ("?".into(), "?".into())),
    };
    (d, va, vb)
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
pub fn compare(subject: &Profile, reference: &Profile, name: &str, figs: &[&str]) -> Comparison {
    let figures: Vec<_> = figs
        .iter()
        .map(|f| {
            let (d, a, b) = figure(f, subject, reference);
            (f.to_string(), d, a, b)
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
        let (d, a, b) = figure("pool_churn", &scattered, &newest);
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("1000.0/1000 full", "0.0/1000 full")
        );
        assert!((d - 1.0).abs() < 1e-12, "{d}");
        // Both under one per 1,000: alike.
        let none = Profile::from_events([]);
        assert_eq!(figure("pool_churn", &none, &none).0, 0.0);
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
        let (d, a, b) = figure("op_order", &looped, &shuffled);
        // A period of 6 is learned once the history fills: at most 16 + 2 x 6 misses.
        let learned = op_miss_rate(&looped);
        assert!(learned <= 28.0 / 12_000.0, "loop: {a}");
        let missed = op_miss_rate(&shuffled);
        assert!((0.45..0.55).contains(&missed), "shuffled: {b}: a coin flip");
        assert!(d > 0.9, "{d}");
        assert_eq!(figure("op_order", &looped, &looped).0, 0.0);
        let none = Profile::from_events([]);
        assert_eq!(figure("op_order", &none, &none).0, 0.0);
    }

    #[test]
    fn unknown_figure_is_named() {
        assert_eq!(parse_figures(None).unwrap().len(), FIGURES.len());
        assert_eq!(
            parse_figures(Some("gc_bursts, size_classes")).unwrap(),
            ["gc_bursts", "size_classes"]
        );
        let e = parse_figures(Some("size_classes,bogus")).unwrap_err();
        assert!(e.contains("`bogus`") && e.contains("phase_shape"), "{e}");
        for empty in ["", " , "] {
            let e = parse_figures(Some(empty)).unwrap_err();
            assert!(e.starts_with("--figures is empty"), "{e}");
        }
    }
}
