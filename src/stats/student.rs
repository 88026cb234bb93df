//! Welch's t-test on logarithms, for figures that come as one value per *process*, each the
//! median of many passes measured inside that process (issue 12: `compare` on per-pass
//! throughput samples).
//!
//! Why this and not a test on the passes themselves: passes of one process share its page
//! placement, its neighbours on the shared cache and its frequency, so they are correlated.
//! Issue 12 saw `null` at 14.9, 9.5 and 7.1 ns/event in three processes of one run, while the
//! passes inside each process agreed to a few percent. Treating 3 × 20 passes as 60
//! independent values would call that process-to-process spread a significant change (the
//! unit test `pooled_passes_would_cry_wolf` measures how often). The independent units are
//! the processes, so the test works on one figure per process; the passes make that figure
//! precise and, being a median of many, robust to a preemption and close to normal, which is
//! what a t-test needs. A rank test cannot do this with three processes a side: the smallest
//! two-sided p-value of Mann-Whitney for 3 + 3 values is 0.1. Simulated (same test): with
//! no change, processes 3 % apart and passes 5 %, 3 + 3 processes of 20 passes, this test
//! called 2.8 % of 1,000 identical pairs different at α = 0.05, pooled passes 45 %; a real
//! 10 % change with processes 2 % apart was found in 87 % of 300 pairs.
//!
//! Why logarithms: a change is a ratio; the log makes it a difference, and timings are
//! positive and right-skewed, which the log makes near-symmetric.
//!
//! The distribution is computed here (no statistics crate): Student's t tail from the
//! regularized incomplete beta function (DLMF 8.17.2 and 8.17.22, evaluated by the modified
//! Lentz method, Press et al. "Numerical Recipes" 3rd ed. §5.2 and §6.4), and the log-gamma
//! function by Lanczos' approximation (g = 7, 9 terms; Lanczos 1964, coefficients as
//! tabulated by Godfrey).

use super::bootstrap::Estimate;
use super::logmean::LogMean;
use serde::Serialize;

/// The result of [`welch_log_ratio`]: the ratio of geometric means current / baseline with
/// its confidence interval, the two-sided p-value of "no change", and Welch's degrees of
/// freedom. The interval excludes 1 exactly when `p` < 1 − level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogRatio {
    pub ratio: Estimate,
    pub p: f64,
    pub df: f64,
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7; relative error below 1e-13 on the arguments used here).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The continued fraction of the incomplete beta function (DLMF 8.17.22), by modified Lentz.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..500 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b), a, b > 0, 0 ≤ x ≤ 1.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast below the mean of the distribution; above it, use the
    // symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// P(|T| ≥ |t|) for Student's t with `df` > 0 degrees of freedom (not necessarily whole):
/// I_{df/(df+t²)}(df/2, 1/2) (DLMF 8.17.2 with the t density). NaN for a NaN input.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// The t with P(|T| ≥ t) = `alpha` for `df` degrees of freedom (e.g. 4.303 for α = 0.05,
/// df = 2), by bisection on [`student_t_two_sided`], which falls as t grows.
pub fn student_t_critical(alpha: f64, df: f64) -> f64 {
    if !(alpha > 0.0 && alpha < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_two_sided(hi, df) > alpha && hi < 1e12 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_two_sided(mid, df) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Current against baseline, one value per independent unit (process) on each side: Welch's
/// t-test on the logarithms, and the interval of the ratio of geometric means at `level`
/// (e.g. 0.95). Welch, not Student, because the two runs need not be equally noisy.
/// `None` when a side has fewer than two values or a value is not positive and finite.
/// When neither side varies at all the interval is the point and p is 1 if the sides are
/// equal, 0 otherwise.
pub fn welch_log_ratio(baseline: &[f64], current: &[f64], level: f64) -> Option<LogRatio> {
    // Welch–Satterthwaite over the two sides' parts; with one side constant it is that of
    // the other side alone.
    LogMean::welch(baseline, current)?.interval(level)
}

/// current − baseline of one figure per independent unit (process) a side, for figures that
/// can be ≤ 0 (a net time: an allocator's loop minus `null`'s), which have no logarithm and
/// whose ratio has no direction: Welch's t-test on the figures themselves, with the interval
/// of the difference of their means at `level`. The per-process figures are medians of many
/// passes, near normal, which is what licenses the t-test on few of them (as for
/// [`welch_log_ratio`]). `None` when a side has fewer than two figures or one is not finite.
pub fn welch_difference(baseline: &[f64], current: &[f64], level: f64) -> Option<Difference> {
    let b = LogMean::of_figures(baseline)?;
    let d = LogMean::minus(LogMean::of_figures(current)?, b);
    let (difference, p, df) = d.mean_interval(level)?;
    Some(Difference { difference, p, df })
}

/// [`welch_difference`]'s result: the difference of means with its interval, the two-sided
/// p-value of "no difference" and the Welch–Satterthwaite degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    pub difference: Estimate,
    pub p: f64,
    pub df: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{median, SplitMix64};

    #[test]
    fn critical_values_match_the_published_table() {
        // Two-sided 5 % points of Student's t (any statistics table).
        for (df, t) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (10.0, 2.228),
            (30.0, 2.042),
            (1e7, 1.960),
        ] {
            let got = student_t_critical(0.05, df);
            assert!((got - t).abs() < 0.0015, "df {df}: {got} vs {t}");
        }
        // Two-sided 1 % point for df = 5, and a tail: P(|T| > 2) for df = 10 is 0.0734.
        assert!((student_t_critical(0.01, 5.0) - 4.032).abs() < 0.0015);
        assert!((student_t_two_sided(2.0, 10.0) - 0.0734).abs() < 0.0005);
        // df = 1 is the Cauchy distribution: P(|T| > 1) = 1/2 exactly.
        assert!((student_t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert_eq!(student_t_two_sided(0.0, 3.0), 1.0);
    }

    #[test]
    fn ln_gamma_matches_factorials_and_the_half() {
        assert!(ln_gamma(1.0).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        assert!((ln_gamma(0.25) - 3.625_609_908_221_908_f64.ln()).abs() < 1e-12);
    }

    /// Net times below zero that doubled in size: the difference points down, as no ratio
    /// of them does (review, 2026-12-07).
    #[test]
    fn the_difference_of_figures_below_zero_keeps_its_direction() {
        let b = [-0.10, -0.11, -0.12];
        let c = [-0.20, -0.22, -0.24];
        let d = welch_difference(&b, &c, 0.95).unwrap();
        assert!((d.difference.point + 0.11).abs() < 1e-12, "{d:?}");
        assert!(d.difference.hi < 0.0 && d.p < 0.05, "{d:?}");
        // The sides' variances 0.0001 and 0.0004 over 3 each: se² = 0.0005/3, df by Welch.
        let se = (0.0005f64 / 3.0).sqrt();
        assert!((d.p - student_t_two_sided(0.11 / se, d.df)).abs() < 1e-12);
        let up = welch_difference(&b, &[0.10, 0.11, 0.12], 0.95).unwrap();
        assert!(up.difference.lo > 0.0, "{up:?}");
        assert_eq!(welch_difference(&b, &[0.1], 0.95), None);
        let same = welch_difference(&[0.5, 0.5], &[0.5, 0.5], 0.95).unwrap();
        assert_eq!((same.difference.point, same.p), (0.0, 1.0));
    }

    #[test]
    fn a_worked_example() {
        // Logs 0,0.1,0.2 against 0.3,0.4,0.5: difference 0.3, both variances 0.01, se² =
        // 0.02/3, df = 4, t = 3.674; p from the t table between 0.02 and 0.05 (0.0213).
        let b: Vec<f64> = [0.0, 0.1, 0.2].iter().map(|l: &f64| l.exp()).collect();
        let c: Vec<f64> = [0.3, 0.4, 0.5].iter().map(|l: &f64| l.exp()).collect();
        let r = welch_log_ratio(&b, &c, 0.95).unwrap();
        assert!((r.df - 4.0).abs() < 1e-9, "{r:?}");
        assert!((r.ratio.point - 0.3f64.exp()).abs() < 1e-12);
        assert!((r.p - 0.0213).abs() < 0.0005, "{r:?}");
        let half = 2.776 * (0.02f64 / 3.0).sqrt();
        assert!((r.ratio.lo.ln() - (0.3 - half)).abs() < 1e-3, "{r:?}");
        assert!(welch_log_ratio(&b[..1], &c, 0.95).is_none());
        assert!(welch_log_ratio(&[1.0, -1.0], &c, 0.95).is_none());
        // Constant sides: equal → p 1, different → p 0.
        assert_eq!(welch_log_ratio(&[2.0; 3], &[2.0; 3], 0.95).unwrap().p, 1.0);
        assert_eq!(welch_log_ratio(&[2.0; 3], &[3.0; 3], 0.95).unwrap().p, 0.0);
    }

    /// Standard normal by Box–Muller.
    fn normal(rng: &mut SplitMix64) -> f64 {
        let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let u2 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// One run's processes: `reps` processes, each with its own lognormal offset (sd
    /// `between`) and `passes` passes of lognormal noise (sd `within`) around `level`.
    fn processes(
        rng: &mut SplitMix64,
        level: f64,
        reps: usize,
        passes: usize,
        between: f64,
        within: f64,
    ) -> Vec<Vec<f64>> {
        (0..reps)
            .map(|_| {
                let offset = between * normal(rng);
                (0..passes)
                    .map(|_| level * (offset + within * normal(rng)).exp())
                    .collect()
            })
            .collect()
    }

    /// How often, over `trials` pairs of runs 3 + 3 processes of 20 passes, the test on
    /// process medians, and one on the pooled passes, call the pair different at α = 0.05.
    fn rejection_rates(effect: f64, between: f64, trials: usize) -> (f64, f64) {
        let mut rng = SplitMix64::new(12);
        let (mut by_process, mut pooled) = (0, 0);
        for _ in 0..trials {
            let b = processes(&mut rng, 10.0, 3, 20, between, 0.05);
            let c = processes(&mut rng, 10.0 * effect, 3, 20, between, 0.05);
            let med = |s: &[Vec<f64>]| -> Vec<f64> { s.iter().filter_map(|p| median(p)).collect() };
            if welch_log_ratio(&med(&b), &med(&c), 0.95).unwrap().p < 0.05 {
                by_process += 1;
            }
            if welch_log_ratio(&b.concat(), &c.concat(), 0.95).unwrap().p < 0.05 {
                pooled += 1;
            }
        }
        (
            by_process as f64 / trials as f64,
            pooled as f64 / trials as f64,
        )
    }

    #[test]
    fn pooled_passes_would_cry_wolf() {
        // No change, processes 3 % apart (sd), passes 5 % apart inside a process. The test on
        // process medians keeps its 5 % false alarms (within binomial noise of 1,000 trials);
        // pooling the passes as if independent calls most of these identical pairs different.
        let (by_process, pooled) = rejection_rates(1.0, 0.03, 1000);
        assert!((0.025..=0.075).contains(&by_process), "{by_process}");
        assert!(pooled > 0.3, "{pooled}");
        // A real 10 % change with processes 2 % apart is found in most runs of 3 + 3.
        let (power, _) = rejection_rates(1.1, 0.02, 300);
        assert!(power > 0.8, "{power}");
    }
}
