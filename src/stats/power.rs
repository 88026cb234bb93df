//! How small a difference a number of repetitions can resolve: the question `validate` must
//! answer when the real runs "cannot tell two allocators apart" — is there no difference, or
//! too few runs to see one?
//!
//! For two independent samples of `n` each, a two-sided test at α = 0.05 with power 0.8
//! detects a relative difference `d` when `d ≥ (t₀.₉₇₅ + t₀.₈) · cv · √(2 / n)`, where `cv` is
//! the spread of one run relative to its location and the t quantiles have `2n − 2` degrees
//! of freedom (the normal quantiles 1.96 and 0.84 promise too much for the few runs real
//! programs get: 73 % power where 80 % was asked, at ten runs a side). The real side uses the
//! Mann-Whitney U test, which on normal samples needs `π / 3` times the t test's runs for the
//! same power (its asymptotic relative efficiency, 3/π ≈ 0.955), so `n` is scaled by it.
//! `tests/stats_props.rs` checks by simulation that the U test then detects the difference
//! about 80 % of the time.

use super::quantile::median;
use super::student::student_t_critical;

/// The two t quantiles for `n` runs a side: a two-sided 5 % level and 80 % power.
fn t_sum(n: usize) -> f64 {
    let df = (2 * n).saturating_sub(2).max(1) as f64;
    student_t_critical(0.05, df) + student_t_critical(0.4, df)
}
/// Mann-Whitney's efficiency against the t test on normal samples.
const U_EFFICIENCY: f64 = 3.0 / std::f64::consts::PI;
/// The scale factor that makes a median absolute deviation estimate a normal sample's sd.
const MAD_TO_SD: f64 = 1.4826;

/// One run's spread relative to the sample's location, robustly: `1.4826 · MAD / median`
/// (a normal sample's sd ÷ mean, without letting one slow run decide it). `None` for fewer
/// than two values or a median that is not positive.
pub fn robust_cv(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = median(values)?;
    if !(m > 0.0 && m.is_finite()) {
        return None;
    }
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    Some(MAD_TO_SD * median(&deviations)? / m)
}

/// The smallest relative difference between two allocators that `n` runs of each detect
/// with the U test 80 % of the time (two-sided, α = 0.05; at five runs a side the U test's
/// few possible p-values bring that to about 73 %), given one run's relative spread `cv`.
pub fn detectable_difference(cv: f64, n: usize) -> f64 {
    t_sum(n) * cv * (2.0 / (n as f64 * U_EFFICIENCY)).sqrt()
}

/// Runs of each allocator needed to detect a relative difference `d` 80 % of the time at
/// spread `cv`: the fewest `n` whose [`detectable_difference`] is at most `d`, at least 4 (the
/// fewest with which the U test can reach p < 0.05 at all); `u64::MAX` past a million.
pub fn repetitions_for(cv: f64, d: f64) -> u64 {
    // Start from the normal approximation (t quantiles only shrink towards it), then step.
    let z = 1.959_964 + 0.841_621;
    let guess = 2.0 * (z * cv / d).powi(2) / U_EFFICIENCY;
    if !guess.is_finite() || guess > 1e6 {
        return u64::MAX;
    }
    let mut n = (guess.floor() as usize).max(4);
    while detectable_difference(cv, n) > d {
        n += 1;
    }
    n as u64
}

/// Processes a run would need for a figure's 95 % interval to be at most ±`target`, given
/// that `n` processes gave ±`now` (both relative half-widths, `(hi − lo) / 2 / point`, as
/// `run`'s noise warning states them). The spread between processes is taken to stay what
/// it was: on the log scale s = h · √n / t₀.₉₇₅,ₙ₋₁ with h = asinh(±) (a log interval
/// e^±h has relative half-width sinh h), and the answer is the fewest m ≥ 2 with
/// t₀.₉₇₅,ₘ₋₁ · s / √m ≤ asinh(target). Why it is worth saying: on the AMD EPYC model-1
/// host five runs differed by what the processes' scatter predicted (stability attempt 24,
/// 2026-12-03: observed ÷ predicted sd 0.45 – 1.93, median ≈ 1), and five times the
/// processes took the runs from 5 to 10 of 12 ratios within ±3 % (attempt 25) — on a host
/// whose speed drifts between runs more processes may not help.
/// `None` for n < 2 or a half-width that is not positive and finite; `u64::MAX` past a
/// million.
pub fn processes_for_half_width(now: f64, n: usize, target: f64) -> Option<u64> {
    let usable = |x: f64| x > 0.0 && x.is_finite();
    if n < 2 || !usable(now) || !usable(target) {
        return None;
    }
    let (h_now, h_want) = (now.asinh(), target.asinh());
    let t = |m: usize| student_t_critical(0.05, (m - 1) as f64);
    let s = h_now * (n as f64).sqrt() / t(n);
    let half = |m: usize| t(m) * s / (m as f64).sqrt();
    // The normal quantile is below every t quantile: the guess never overshoots.
    let guess = (1.959_964 * s / h_want).powi(2);
    if !guess.is_finite() || guess > 1e6 {
        return Some(u64::MAX);
    }
    let mut m = (guess.floor() as usize).max(2);
    // The tolerance keeps rounding from asking one more process than `n` for the width `n`
    // processes gave.
    while half(m) > h_want * (1.0 + 1e-12) {
        m += 1;
    }
    Some(m as u64)
}
