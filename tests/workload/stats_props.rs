//! Properties of the statistics module (`pybench::stats`) that hold for any sample, not just
//! the hand-checked ones in its unit tests.

use proptest::prelude::*;
use pybench::stats::{
    bootstrap_difference_ci, bootstrap_ratio_ci, geomean, geomean_interval, kendall_tau_b,
    mann_whitney_u, median, median_interval, paired_ratio, quantile, ratio_median,
    ratio_of_medians, Bootstrap,
};

/// Timing-like samples: 1–12 positive values (repetitions), integers scaled so ties happen.
fn sample() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((1u32..200).prop_map(|v| f64::from(v) * 0.5), 1..12)
}

/// A few resamples keep the properties fast; they hold for any count.
fn quick(seed: u64) -> Bootstrap {
    Bootstrap {
        resamples: 200,
        level: 0.95,
        seed,
    }
}

/// The smallest and the largest value of a non-empty sample.
fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #[test]
    fn the_median_of_reciprocal_ratios_is_the_reciprocal_median(
        r in prop::collection::vec(0.01f64..100.0, 1..12),
    ) {
        let inverse: Vec<f64> = r.iter().map(|x| 1.0 / x).collect();
        let (m, mi) = (ratio_median(&r).unwrap(), ratio_median(&inverse).unwrap());
        prop_assert!(close(m * mi, 1.0), "{m} · {mi}");
        // Between the middle order statistics, and one of them for an odd count.
        let v = pybench::stats::sorted(&r);
        let n = v.len();
        prop_assert!(v[(n - 1) / 2] * (1.0 - 1e-12) <= m && m <= v[n / 2] * (1.0 + 1e-12));
        if n % 2 == 1 {
            prop_assert!(close(m, v[n / 2]));
        }
    }

    #[test]
    fn u_test_p_is_a_probability_and_symmetric(a in sample(), b in sample()) {
        let ab = mann_whitney_u(&a, &b).unwrap();
        let ba = mann_whitney_u(&b, &a).unwrap();
        prop_assert!((0.0..=1.0).contains(&ab.p), "p = {}", ab.p);
        prop_assert!(close(ab.p, ba.p), "{} vs {}", ab.p, ba.p);
        prop_assert_eq!(ab.method, ba.method);
        // U of one side and U of the other count every pair once.
        prop_assert!(close(ab.u + ba.u, (a.len() * b.len()) as f64));
    }

    #[test]
    fn tau_is_bounded_and_one_with_itself(a in sample(), b_seed in any::<u64>()) {
        // A second ranking of the same items, unrelated to the first.
        let b: Vec<f64> = (0..a.len() as u64)
            .map(|i| (i.wrapping_mul(b_seed | 1) % 97) as f64)
            .collect();
        if let Some(t) = kendall_tau_b(&a, &b) {
            prop_assert!((-1.0..=1.0).contains(&t), "tau = {t}");
        }
        match kendall_tau_b(&a, &a) {
            Some(t) => prop_assert!(close(t, 1.0), "tau with itself = {t}"),
            // Only undefined when every value ties (or one item).
            None => prop_assert!(a.iter().all(|v| *v == a[0])),
        }
    }

    #[test]
    fn median_shifts_with_the_sample(a in sample(), shift in -1000.0f64..1000.0, seed in any::<u64>()) {
        let moved: Vec<f64> = a.iter().map(|v| v + shift).collect();
        prop_assert!(close(median(&moved).unwrap(), median(&a).unwrap() + shift));
        let q = quantile(&a, 0.9).unwrap();
        prop_assert!(close(quantile(&moved, 0.9).unwrap(), q + shift));
        let (m, mm) = (median_interval(&a, &quick(seed)).unwrap(), median_interval(&moved, &quick(seed)).unwrap());
        prop_assert!(close(mm.lo, m.lo + shift) && close(mm.hi, m.hi + shift), "{m:?} {mm:?}");
    }

    /// The ends of a percentile interval are order statistics of the resampled statistic,
    /// so they lie where that statistic can: a resampled median within the sample's range, a
    /// ratio of two within min/max and max/min, a difference within min − max and max − min;
    /// and the lower end is not above the upper. (`Estimate`s widen their interval to hold
    /// their point, so "lo ≤ point ≤ hi" of one could not fail: these are of the raw ends.)
    /// A difference's interval moves with the current side exactly: the resamples draw
    /// indices, not values.
    #[test]
    fn interval_ends_are_statistics_of_resamples(
        a in sample(), b in sample(), shift in -100.0f64..100.0, seed in any::<u64>(),
    ) {
        let bs = quick(seed);
        let (lo_a, hi_a) = min_max(&a);
        let (lo_b, hi_b) = min_max(&b);
        let m = median_interval(&a, &bs).unwrap();
        prop_assert!(lo_a <= m.lo && m.lo <= m.hi && m.hi <= hi_a, "{m:?} of {a:?}");
        let (lo, hi) = bootstrap_ratio_ci(&a, &b, bs.resamples, bs.level, seed).unwrap();
        prop_assert!(lo_b / hi_a <= lo && lo <= hi && hi <= hi_b / lo_a, "[{lo}, {hi}]");
        let (lo, hi) = bootstrap_difference_ci(&a, &b, bs.resamples, bs.level, seed).unwrap();
        prop_assert!(lo_b - hi_a <= lo && lo <= hi && hi <= hi_b - lo_a, "[{lo}, {hi}]");
        let moved: Vec<f64> = b.iter().map(|v| v + shift).collect();
        let (mlo, mhi) = bootstrap_difference_ci(&a, &moved, bs.resamples, bs.level, seed).unwrap();
        prop_assert!(close(mlo, lo + shift) && close(mhi, hi + shift), "[{mlo}, {mhi}] vs [{lo}, {hi}] + {shift}");
        let g = geomean_interval(&a, &bs).unwrap();
        // exp(mean of logs) of equal values may miss them by an ulp.
        let (lo_g, hi_g) = (lo_a * (1.0 - 1e-12), hi_a * (1.0 + 1e-12));
        prop_assert!(lo_g <= g.lo && g.lo <= g.hi && g.hi <= hi_g, "{g:?} of {a:?}");
        prop_assert!(close(g.point, geomean(&a).unwrap()));
        let r = ratio_of_medians(&a, &b, &bs).unwrap();
        prop_assert!(close(r.point, median(&b).unwrap() / median(&a).unwrap()));
        let n = a.len().min(b.len());
        let p = paired_ratio(&a[..n], &b[..n], &bs).unwrap();
        let ratios: Vec<f64> = a[..n].iter().zip(&b[..n]).map(|(x, y)| x / y).collect();
        let (lo_r, hi_r) = min_max(&ratios);
        prop_assert!(lo_r <= p.lo && p.lo <= p.hi && p.hi <= hi_r, "{p:?} of {ratios:?}");
    }

    #[test]
    fn scaled_samples_scale_the_ratio_interval(
        a in sample(), b in sample(), k in 0.01f64..100.0, seed in any::<u64>(),
    ) {
        let bs = quick(seed);
        let kb: Vec<f64> = b.iter().map(|v| v * k).collect();
        let (r, rk) = (ratio_of_medians(&a, &b, &bs).unwrap(), ratio_of_medians(&a, &kb, &bs).unwrap());
        for (x, y) in [(r.point, rk.point), (r.lo, rk.lo), (r.hi, rk.hi)] {
            prop_assert!(close(x * k, y), "{r:?} × {k} vs {rk:?}");
        }
        let n = a.len().min(b.len());
        let ka: Vec<f64> = a[..n].iter().map(|v| v * k).collect();
        let (p, pk) = (paired_ratio(&a[..n], &b[..n], &bs).unwrap(), paired_ratio(&ka, &b[..n], &bs).unwrap());
        for (x, y) in [(p.point, pk.point), (p.lo, pk.lo), (p.hi, pk.hi)] {
            prop_assert!(close(x * k, y), "{p:?} × {k} vs {pk:?}");
        }
    }
}

/// The mean of the natural logs of `v` and the variance of that mean, s² / n (s² with n − 1),
/// straight from their definitions.
fn log_mean_and_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|x| x.ln()).sum::<f64>() / n;
    let s2 = v.iter().map(|x| (x.ln() - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, s2 / n)
}

/// Whether both ends of `r`'s 95 % interval lie t(0.975, r.df) · `se` from its point in logs.
fn half_widths_are_t_se(r: &pybench::stats::LogRatio, se: f64) -> bool {
    let half = pybench::stats::student_t_critical(0.05, r.df) * se;
    let tol = 1e-9 * half.max(1e-9);
    let (point, lo, hi) = (r.ratio.point.ln(), r.ratio.lo.ln(), r.ratio.hi.ln());
    (point - lo - half).abs() <= tol && (hi - point - half).abs() <= tol
}

/// One figure per process: 2–8 positive values.
fn processes() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((1u32..400).prop_map(|v| f64::from(v) * 0.25), 2..8)
}

proptest! {
    #[test]
    fn welch_interval_is_t_se_either_side_and_agrees_with_its_p(b in processes(), c in processes()) {
        use pybench::stats::welch_log_ratio;
        let r = welch_log_ratio(&b, &c, 0.95).unwrap();
        prop_assert!((0.0..=1.0).contains(&r.p), "p = {}", r.p);
        // From the definitions: the ratio of geometric means, Welch–Satterthwaite df, and a
        // log interval of t · se either side.
        let ((mb, vb), (mc, vc)) = (log_mean_and_var(&b), log_mean_and_var(&c));
        prop_assert!(close(r.ratio.point, (mc - mb).exp()), "{r:?}");
        let se2 = vb + vc;
        if se2 > 0.0 {
            let df = se2 * se2 / (vb * vb / (b.len() - 1) as f64 + vc * vc / (c.len() - 1) as f64);
            prop_assert!((r.df - df).abs() <= 1e-9 * df, "df {} by hand {df}", r.df);
            prop_assert!(half_widths_are_t_se(&r, se2.sqrt()), "{r:?} se² {se2}");
        }
        // The interval excludes 1 exactly when the test rejects at 5 % (away from the edge,
        // where the bisection's last digits decide).
        if (r.p - 0.05).abs() > 1e-6 {
            prop_assert_eq!(r.p < 0.05, !r.ratio.contains(1.0), "{:?}", r);
        }
    }

    #[test]
    fn welch_scales_with_the_data_and_turns_over_with_the_sides(
        b in processes(), c in processes(), k in 0.1f64..10.0
    ) {
        use pybench::stats::welch_log_ratio;
        let r = welch_log_ratio(&b, &c, 0.95).unwrap();
        // Scaling the current side by k scales the ratio and its interval by k (the spread
        // of the logarithms does not change); scaling both sides changes nothing.
        let scaled = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x * k).collect() };
        let s = welch_log_ratio(&b, &scaled(&c), 0.95).unwrap();
        prop_assert!(close(s.ratio.point, r.ratio.point * k));
        prop_assert!(close(s.ratio.lo, r.ratio.lo * k) && close(s.ratio.hi, r.ratio.hi * k));
        let both = welch_log_ratio(&scaled(&b), &scaled(&c), 0.95).unwrap();
        prop_assert!(close(both.ratio.lo, r.ratio.lo) && close(both.ratio.hi, r.ratio.hi));
        prop_assert!((both.p - r.p).abs() < 1e-9, "{} vs {}", both.p, r.p);
        // Swapping the sides inverts the ratio and its interval; p stays.
        let w = welch_log_ratio(&c, &b, 0.95).unwrap();
        prop_assert!(close(w.ratio.point, 1.0 / r.ratio.point));
        prop_assert!(close(w.ratio.lo, 1.0 / r.ratio.hi) && close(w.ratio.hi, 1.0 / r.ratio.lo));
        prop_assert!((w.p - r.p).abs() < 1e-12);
    }

    #[test]
    fn welch_of_a_sample_against_itself_is_no_change(b in processes()) {
        let r = pybench::stats::welch_log_ratio(&b, &b, 0.95).unwrap();
        prop_assert!(close(r.ratio.point, 1.0));
        prop_assert!(r.ratio.contains(1.0));
        prop_assert!(r.p > 0.999, "{}", r.p);
    }

    #[test]
    fn student_t_tail_falls_and_its_critical_value_inverts_it(
        t in 0.0f64..50.0, dt in 0.001f64..5.0, df in 1.0f64..200.0, alpha in 0.001f64..0.5
    ) {
        use pybench::stats::{student_t_critical, student_t_two_sided};
        let (p, q) = (student_t_two_sided(t, df), student_t_two_sided(t + dt, df));
        prop_assert!((0.0..=1.0).contains(&p) && q <= p, "{p} {q}");
        // Symmetric in t.
        prop_assert!((student_t_two_sided(-t, df) - p).abs() < 1e-12);
        let crit = student_t_critical(alpha, df);
        prop_assert!((student_t_two_sided(crit, df) - alpha).abs() < 1e-9 * alpha.max(1e-3));
        // Heavier tails than the normal: the critical value is above the normal one.
        prop_assert!(student_t_two_sided(crit, 1e9) <= alpha + 1e-9);
    }
}

/// Welch's interval of a ratio, worked by hand for two sides of different sizes and spreads,
/// so that the Welch–Satterthwaite degrees of freedom are fractional and the t critical value
/// comes from outside the crate. Pins the numbers `compare` and `run` print as a verdict's
/// interval, by both ways in: [`welch_log_ratio`] and [`LogMean::welch`]`.interval`.
///
/// Baseline logs 0.0, 0.1, 0.2: mean 0.1, s² = (0.01 + 0 + 0.01) / 2 = 0.01, variance of the
/// mean 0.01 / 3 = 1/300, 2 df. Current logs 0.2 … 0.6 by 0.1: mean 0.4, s² = (0.04 + 0.01 +
/// 0 + 0.01 + 0.04) / 4 = 0.025, variance of the mean 0.025 / 5 = 1/200, 4 df. Difference
/// 0.3; se² = 1/300 + 1/200 = 1/120; Welch–Satterthwaite df = (1/120)² / ((1/300)²/2 +
/// (1/200)²/4) = 100/17 ≈ 5.882. t(0.975, 100/17 df) = 2.458824 (scipy 1.17
/// `stats.t.ppf(0.975, 100/17)`; a printed table's t(0.975, 5) = 2.571 and t(0.975, 6) =
/// 2.447, interpolated linearly in 1/df, give 2.459). Half-width 2.458824 · √(1/120) =
/// 0.224459, so the interval is exp(0.3 ∓ 0.224459) = 1.078468 … 1.689544. The t statistic
/// 0.3 / √(1/120) = 3.286335 has two-sided p = 0.017178 (scipy `2 * stats.t.sf(3.286335,
/// 100/17)`).
///
/// [`welch_log_ratio`]: pybench::stats::welch_log_ratio
/// [`LogMean::welch`]: pybench::stats::LogMean::welch
#[test]
fn welch_interval_of_a_hand_worked_example() {
    use pybench::stats::{welch_log_ratio, LogMean};
    let exp = |logs: &[f64]| -> Vec<f64> { logs.iter().map(|l| l.exp()).collect() };
    let b = exp(&[0.0, 0.1, 0.2]);
    let c = exp(&[0.2, 0.3, 0.4, 0.5, 0.6]);
    let by_hand = |r: &pybench::stats::LogRatio| {
        assert!((r.df - 100.0 / 17.0).abs() < 1e-9, "df: {r:?}");
        assert!((r.ratio.point - 0.3f64.exp()).abs() < 1e-9, "point: {r:?}");
        assert!((r.ratio.lo - 1.078_468).abs() < 1e-5, "lo: {r:?}");
        assert!((r.ratio.hi - 1.689_544).abs() < 1e-5, "hi: {r:?}");
        assert!((r.p - 0.017_178).abs() < 1e-5, "p: {r:?}");
    };
    by_hand(&welch_log_ratio(&b, &c, 0.95).unwrap());
    by_hand(&LogMean::welch(&b, &c).unwrap().interval(0.95).unwrap());
}

proptest! {
    #[test]
    fn per_process_interval_is_t_se_either_side_agrees_with_p_and_scales(
        v in processes(), k in 0.1f64..10.0
    ) {
        use pybench::stats::LogMean;
        let r = LogMean::of_units(&v).unwrap().interval(0.95).unwrap();
        prop_assert!((r.df - (v.len() - 1) as f64).abs() < 1e-12);
        // From the definitions: the geometric mean, and a log interval of t · s/√n either side.
        let (mean, var) = log_mean_and_var(&v);
        prop_assert!(close(r.ratio.point, mean.exp()), "{r:?}");
        if var > 0.0 {
            prop_assert!(half_widths_are_t_se(&r, var.sqrt()), "{r:?} var {var}");
        }
        if (r.p - 0.05).abs() > 1e-6 && r.ratio.lo < r.ratio.hi {
            prop_assert_eq!(r.p < 0.05, !r.ratio.contains(1.0), "{:?}", r);
        }
        // Scaling every process's figure by k scales the ratio and its interval by k.
        let scaled: Vec<f64> = v.iter().map(|x| x * k).collect();
        let s = LogMean::of_units(&scaled).unwrap().interval(0.95).unwrap();
        prop_assert!(close(s.ratio.point, r.ratio.point * k));
        prop_assert!(close(s.ratio.lo, r.ratio.lo * k) && close(s.ratio.hi, r.ratio.hi * k));
    }

    #[test]
    fn more_spread_between_processes_widens_the_interval_in_proportion(
        v in processes(), stretch in 1.0f64..5.0
    ) {
        // Stretching the processes' log figures away from their mean by `stretch` stretches
        // the interval's log half-width by exactly that: the width is the processes' spread.
        use pybench::stats::LogMean;
        let m = LogMean::of_units(&v).unwrap();
        let stretched: Vec<f64> =
            v.iter().map(|x| (m.mean + (x.ln() - m.mean) * stretch).exp()).collect();
        let (a, b) = (
            m.interval(0.95).unwrap(),
            LogMean::of_units(&stretched).unwrap().interval(0.95).unwrap(),
        );
        let half = |r: &pybench::stats::LogRatio| (r.ratio.hi.ln() - r.ratio.lo.ln()) / 2.0;
        prop_assert!((half(&b) - half(&a) * stretch).abs() <= 1e-6 * half(&b).max(1e-9), "{a:?} {b:?}");
        prop_assert!(close(a.ratio.point, b.ratio.point));
    }

    #[test]
    fn a_geometric_mean_over_workloads_is_at_least_as_sure_as_its_average_part(
        a in processes(), b in processes()
    ) {
        use pybench::stats::LogMean;
        let (ma, mb) = (LogMean::of_units(&a).unwrap(), LogMean::of_units(&b).unwrap());
        let g = LogMean::average(&[ma.clone(), mb.clone()]).unwrap();
        prop_assert!(close(g.mean, (ma.mean + mb.mean) / 2.0));
        prop_assert!(close(g.variance(), (ma.variance() + mb.variance()) / 4.0));
        // Satterthwaite's df lies between the smaller part's and the sum of both.
        let (da, db) = (ma.df(), mb.df());
        if g.variance() > 0.0 {
            prop_assert!(g.df() >= da.min(db) - 1e-9 && g.df() <= da + db + 1e-9, "{}", g.df());
        }
        // Averaging a figure with itself keeps the point and never widens the interval.
        let twice = LogMean::average(&[ma.clone(), ma.clone()]).unwrap().interval(0.95).unwrap();
        let once = ma.interval(0.95).unwrap();
        prop_assert!(close(twice.ratio.point, once.ratio.point));
        prop_assert!(twice.ratio.hi <= once.ratio.hi * (1.0 + 1e-12));
        prop_assert!(twice.ratio.lo >= once.ratio.lo * (1.0 - 1e-12));
    }
}

mod power {
    use proptest::prelude::*;
    use pybench::stats::{
        detectable_difference, mann_whitney_u, processes_for_half_width, repetitions_for,
        robust_cv, student_t_critical, SplitMix64,
    };

    proptest! {
        /// More spread needs a larger difference; more runs resolve a smaller one; and
        /// asking how many runs resolve the difference `n` runs resolve gives back `n`.
        #[test]
        fn resolution_moves_the_right_way_and_inverts(
            cv in 0.001f64..1.0,
            n in 4usize..500,
        ) {
            let d = detectable_difference(cv, n);
            prop_assert!(detectable_difference(cv * 1.5, n) > d);
            prop_assert!(detectable_difference(cv, n + 1) < d);
            prop_assert_eq!(repetitions_for(cv, d), n as u64);
        }

        /// The spread is relative (the same for runs in seconds or milliseconds) and robust
        /// (one wild run of many does not move it much).
        #[test]
        fn the_spread_is_scale_free_and_robust(
            v in prop::collection::vec(1.0f64..2.0, 9..40),
            k in 0.001f64..1000.0,
        ) {
            let cv = robust_cv(&v).unwrap();
            let scaled: Vec<f64> = v.iter().map(|x| x * k).collect();
            prop_assert!((robust_cv(&scaled).unwrap() - cv).abs() <= 1e-9 * cv.max(1.0));
            let mut wild = v.clone();
            wild[0] = 1e6;
            prop_assert!(robust_cv(&wild).unwrap() < 4.0 * cv + 0.5);
        }
    }

    proptest! {
        /// The processes asked for are the fewest whose interval, at the scatter `n`
        /// processes showed, is within the target: asking for the width `n` gave returns
        /// `n`, a wider target needs no more, and one process fewer than the answer misses.
        #[test]
        fn processes_for_a_width_are_the_fewest_that_reach_it(
            now in 0.001f64..2.0,
            n in 2usize..400,
            shrink in 0.05f64..1.0,
        ) {
            prop_assert_eq!(processes_for_half_width(now, n, now), Some(n as u64));
            let target = now * shrink;
            let m = processes_for_half_width(target, n, now).unwrap();
            prop_assert!(m <= n as u64);
            let m = processes_for_half_width(now, n, target).unwrap();
            prop_assert!(m >= n as u64);
            if m < 1_000_000 {
                // Check against the t interval itself, on the log scale.
                let t = |k: u64| student_t_critical(0.05, (k - 1) as f64);
                let s = now.asinh() * (n as f64).sqrt() / t(n as u64);
                let half = |k: u64| t(k) * s / (k as f64).sqrt();
                prop_assert!(half(m) <= target.asinh() * (1.0 + 1e-12));
                prop_assert!(m == 2 || half(m - 1) > target.asinh());
            }
        }
    }

    /// Hand-worked: 100 processes gave ±10 %; for ±5 % the log half-width halves
    /// (asinh 0.1 / asinh 0.05 = 1.9975), so about four times the processes, a little fewer
    /// as the t quantile falls towards the normal one (1.984 at 99 df, 1.966 at ≈ 390):
    /// 100 · 1.9975² · (1.966 / 1.984)² ≈ 392.
    #[test]
    fn four_times_the_processes_halve_the_interval() {
        let m = processes_for_half_width(0.10, 100, 0.05).unwrap();
        assert!((388..=396).contains(&m), "{m}");
        // README's example line: 20 processes at ±7.2 %; 20 · (asinh 0.072 / asinh 0.05)² ·
        // (t at 38 df 2.024 / t at 19 df 2.093)² = 38.7, so 39.
        assert_eq!(processes_for_half_width(0.072, 20, 0.05), Some(39));
        assert_eq!(processes_for_half_width(0.10, 1, 0.05), None);
        assert_eq!(processes_for_half_width(0.0, 10, 0.05), None);
        assert_eq!(processes_for_half_width(0.1, 10, f64::NAN), None);
        assert_eq!(processes_for_half_width(1e9, 10, 1e-9), Some(u64::MAX));
    }

    #[test]
    fn no_spread_without_two_runs_or_a_positive_location() {
        assert_eq!(robust_cv(&[1.0]), None);
        assert_eq!(robust_cv(&[0.0, 0.0, 0.0]), None);
        assert_eq!(robust_cv(&[2.0, 2.0, 2.0]), Some(0.0));
        assert_eq!(repetitions_for(0.01, 1.0), 4);
    }

    /// What the numbers promise, by simulation: two allocators `detectable_difference(cv, n)`
    /// apart, `n` normal runs each with spread `cv`, are told apart by the U test at
    /// p < 0.05 about 80 % of the time (2,000 seeded trials per case: ±2 % of sampling
    /// error; seen 2026-12-01: 0.73 at n = 5, where the U test's few possible p-values cost
    /// power, and 0.78 – 0.80 for n = 10 – 30, where normal quantiles gave 0.73 – 0.79), and a
    /// difference half as large far less often.
    #[test]
    fn the_detectable_difference_is_detected_four_times_in_five() {
        let mut rng = SplitMix64::new(7);
        let mut normal = move || {
            // Box-Muller from two uniforms in (0, 1].
            let u = |r: &mut SplitMix64| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let (a, b) = (1.0 - u(&mut rng), u(&mut rng));
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        };
        let mut power = |cv: f64, n: usize, d: f64| {
            let trials = 2000;
            let hits = (0..trials)
                .filter(|_| {
                    let a: Vec<f64> = (0..n).map(|_| 1.0 + cv * normal()).collect();
                    let b: Vec<f64> = (0..n).map(|_| 1.0 + d + cv * normal()).collect();
                    mann_whitney_u(&a, &b).is_some_and(|u| u.p < 0.05)
                })
                .count();
            hits as f64 / trials as f64
        };
        for (cv, n) in [(0.15, 5), (0.10, 10), (0.05, 20), (0.20, 30)] {
            let d = detectable_difference(cv, n);
            let p = power(cv, n, d);
            assert!((0.70..=0.86).contains(&p), "cv {cv}, n {n}: power {p}");
            assert!(power(cv, n, d / 2.0) < 0.45, "cv {cv}, n {n}");
        }
    }
}

/// x values that are not all equal: 3 – 30 points.
fn spread_xs() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-50i32..50, 3..30)
        .prop_filter("x values must differ", |v| v.iter().any(|x| *x != v[0]))
        .prop_map(|v| v.into_iter().map(|x| f64::from(x) * 0.1).collect())
}

proptest! {
    /// Points on a line give its slope with no error; shifting x or y moves nothing; scaling
    /// y scales the slope and its error alike; swapping the sign of x swaps the slope's.
    #[test]
    fn slope_recovers_lines_and_respects_shifts_and_scales(
        xs in spread_xs(), b in -5.0f64..5.0, a in -10.0f64..10.0,
        noise in prop::collection::vec(-1.0f64..1.0, 30), shift in -3.0f64..3.0, k in 0.5f64..4.0,
    ) {
        use pybench::stats::slope;
        let exact: Vec<f64> = xs.iter().map(|x| a + b * x).collect();
        let s = slope(&xs, &exact).unwrap();
        prop_assert!((s.b - b).abs() < 1e-9, "{s:?} vs {b}");
        prop_assert!(s.se < 1e-6, "{s:?}");
        let ys: Vec<f64> = exact.iter().zip(&noise).map(|(y, e)| y + e).collect();
        let s = slope(&xs, &ys).unwrap();
        prop_assert!(s.se >= 0.0 && s.n == xs.len());
        let moved: Vec<f64> = xs.iter().map(|x| x + shift).collect();
        let lifted: Vec<f64> = ys.iter().map(|y| y + shift).collect();
        let m = slope(&moved, &lifted).unwrap();
        prop_assert!(close(m.b, s.b) && close(m.se, s.se), "{m:?} vs {s:?}");
        let scaled: Vec<f64> = ys.iter().map(|y| y * k).collect();
        let sc = slope(&xs, &scaled).unwrap();
        prop_assert!(close(sc.b, s.b * k) && close(sc.se, s.se * k), "{sc:?} vs {s:?}");
        let flipped: Vec<f64> = xs.iter().map(|x| -x).collect();
        let f = slope(&flipped, &ys).unwrap();
        prop_assert!(close(f.b, -s.b) && close(f.se, s.se), "{f:?} vs {s:?}");
    }
}
