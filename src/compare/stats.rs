//! The statistics behind timing verdicts: a percentile-bootstrap confidence interval of the
//! ratio of medians, and the Mann-Whitney U test.
//!
//! Why these two: timings on shared machines and VMs are skewed and have one-off outliers (a
//! page fault storm, a descheduled vCPU), and a run has few repetitions (3–10), too few to
//! check that they are normal. The median and a rank test do not care about the shape of the
//! distribution and one outlier moves neither of them much; Welch's t-test would assume
//! normality we cannot check. For small samples without ties the U test's p-value is exact
//! (enumerated), so it is honest about what 5 repetitions can show: with n = m = 3 the
//! smallest two-sided p-value possible is 0.1, and the report says so instead of pretending.

use crate::report::summary::median;
use crate::scenario::SplitMix64;

/// Which form of the U test produced a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UMethod {
    /// Exact null distribution (no ties, small samples).
    Exact,
    /// Normal approximation with tie and continuity corrections.
    Normal,
}

/// The result of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UTest {
    /// U of the first sample: pairs (a, b) with a > b, ties counting one half.
    pub u: f64,
    pub p: f64,
    pub method: UMethod,
}

/// Largest n·m for which the exact distribution is enumerated (a table of n·m·(n+m) counts).
const EXACT_MAX_PRODUCT: usize = 400;

/// Two-sided Mann-Whitney U test of `a` against `b`. Returns `None` when a side is empty.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<UTest> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return None;
    }
    let mut u = 0.0;
    let mut ties = false;
    for x in a {
        for y in b {
            if x > y {
                u += 1.0;
            } else if x == y {
                u += 0.5;
                ties = true;
            }
        }
    }
    // Ties inside one sample also break the exact distribution's assumption.
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(|x, y| x.total_cmp(y));
    ties |= all.windows(2).any(|w| w[0] == w[1]);
    if !ties && n * m <= EXACT_MAX_PRODUCT {
        let p = exact_two_sided(n, m, u as usize);
        return Some(UTest {
            u,
            p,
            method: UMethod::Exact,
        });
    }
    // Normal approximation; the variance is reduced by Σ(t³ − t) over groups of tied values.
    let nm = (n * m) as f64;
    let total = (n + m) as f64;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let j = all[i..].iter().take_while(|v| **v == all[i]).count();
        let t = j as f64;
        tie_term += t * t * t - t;
        i += j;
    }
    let var = nm / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if var <= 0.0 {
        // Every value is the same: no evidence of any difference.
        return Some(UTest {
            u,
            p: 1.0,
            method: UMethod::Normal,
        });
    }
    let mean = nm / 2.0;
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some(UTest {
        u,
        p: (2.0 * normal_sf(z)).min(1.0),
        method: UMethod::Normal,
    })
}

/// Exact two-sided p-value of U = `u` for samples of `n` and `m` without ties, from the
/// number of orderings giving each U: c(n, m, u) = c(n−1, m, u−m) + c(n, m−1, u).
fn exact_two_sided(n: usize, m: usize, u: usize) -> f64 {
    let max_u = n * m;
    // counts[i][j] is the distribution of U for samples of i and j.
    let mut counts: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); m + 1]; n + 1];
    for i in 0..=n {
        for j in 0..=m {
            let mut dist = vec![0.0; i * j + 1];
            if i == 0 || j == 0 {
                dist[0] = 1.0;
            } else {
                for (k, d) in dist.iter_mut().enumerate() {
                    // The largest value belongs to the first sample: it beats all j others.
                    let from_a = if k >= j {
                        counts[i - 1][j].get(k - j).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                    let from_b = counts[i][j - 1].get(k).copied().unwrap_or(0.0);
                    *d = from_a + from_b;
                }
            }
            counts[i][j] = dist;
        }
    }
    let dist = &counts[n][m];
    let total: f64 = dist.iter().sum();
    let lower: f64 = dist[..=u.min(max_u)].iter().sum::<f64>() / total;
    let upper: f64 = dist[u.min(max_u)..].iter().sum::<f64>() / total;
    (2.0 * lower.min(upper)).min(1.0)
}

/// The smallest two-sided p-value the U test can give for samples of `n` and `m` (complete
/// separation): 2 / C(n+m, n). Used to tell the reader when significance is out of reach.
pub fn min_p_value(n: usize, m: usize) -> f64 {
    let mut c = 1.0;
    for k in 1..=n {
        c = c * (m + k) as f64 / k as f64;
    }
    (2.0 / c).min(1.0)
}

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, by the Chebyshev fit of Numerical Recipes (`erfcc`),
/// relative error below 1.2e-7 everywhere: ample for p-values compared with 0.05.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Percentile-bootstrap interval of median(current) / median(baseline): each resample draws
/// both sides with replacement, independently. `level` is e.g. 0.95. Deterministic for a
/// given `seed`. `None` when a side is empty or the baseline median is zero in most
/// resamples.
pub fn bootstrap_ratio_ci(
    baseline: &[f64],
    current: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if baseline.is_empty() || current.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut ratios = Vec::with_capacity(resamples);
    let draw = |src: &[f64], rng: &mut SplitMix64| -> f64 {
        let sample: Vec<f64> = (0..src.len())
            .map(|_| src[rng.below(src.len() as u64) as usize])
            .collect();
        median(sample).unwrap_or(f64::NAN)
    };
    for _ in 0..resamples {
        let b = draw(baseline, &mut rng);
        let c = draw(current, &mut rng);
        if b != 0.0 && b.is_finite() && c.is_finite() {
            ratios.push(c / b);
        }
    }
    if ratios.len() * 2 < resamples {
        return None;
    }
    ratios.sort_by(|x, y| x.total_cmp(y));
    let alpha = (1.0 - level) / 2.0;
    let at = |q: f64| {
        let idx = (q * (ratios.len() - 1) as f64).round() as usize;
        ratios[idx.min(ratios.len() - 1)]
    };
    Some((at(alpha), at(1.0 - alpha)))
}

/// FNV-1a of a string: a stable per-row bootstrap seed, so a row's interval does not depend
/// on which other rows were compared.
pub fn seed_for(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_separation_of_five_and_five_is_two_in_252() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney_u(&a, &b).unwrap();
        assert_eq!(t.u, 0.0);
        assert_eq!(t.method, UMethod::Exact);
        assert!((t.p - 2.0 / 252.0).abs() < 1e-12, "{}", t.p);
        // Symmetric in the order of the samples.
        let t2 = mann_whitney_u(&b, &a).unwrap();
        assert_eq!(t2.u, 25.0);
        assert!((t2.p - t.p).abs() < 1e-12);
        assert!((min_p_value(5, 5) - 2.0 / 252.0).abs() < 1e-12);
        assert!((min_p_value(3, 3) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn exact_distribution_matches_hand_count() {
        // n = m = 2: orderings of AABB give U ∈ {0,1,2,2,3,4} over 6 orderings.
        // U = 1 → P(U ≤ 1) = 2/6, two-sided 4/6.
        let t = mann_whitney_u(&[1.0, 3.0], &[2.0, 4.0]).unwrap();
        assert_eq!(t.u, 1.0);
        assert!((t.p - 4.0 / 6.0).abs() < 1e-12, "{}", t.p);
        // Interleaved samples: no evidence at all.
        let t = mann_whitney_u(&[1.0, 4.0, 5.0, 8.0], &[2.0, 3.0, 6.0, 7.0]).unwrap();
        assert!(t.p > 0.9, "{}", t.p);
    }

    #[test]
    fn normal_approximation_with_ties() {
        // 10 vs 10 with one tied pair (8 in both): U = 14.5: mean 50, σ² = 100/12·(21 − 6/380).
        let a: Vec<f64> = vec![1., 2., 3., 4., 5., 6., 7., 8., 15., 16.];
        let b: Vec<f64> = vec![8., 9., 10., 11., 12., 13., 14., 17., 18., 19.];
        let t = mann_whitney_u(&a, &b).unwrap();
        assert_eq!(t.method, UMethod::Normal);
        assert_eq!(t.u, 14.5);
        let var: f64 = 100.0 / 12.0 * (21.0 - 6.0 / 380.0);
        let z = (50.0 - 14.5 - 0.5) / var.sqrt();
        // Reference value of 2·P(Z > z) from Python's math.erfc(z/√2) for z = 2.64675.
        assert!((z - 2.646_75).abs() < 1e-4, "{z}");
        assert!((t.p - 0.008_127).abs() < 1e-5, "{}", t.p);
        // All values equal: p = 1.
        let same = mann_whitney_u(&[3.0; 4], &[3.0; 4]).unwrap();
        assert_eq!(same.p, 1.0);
    }

    #[test]
    fn normal_tail_is_accurate() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_sf(-1.0) - 0.841_344_75).abs() < 1e-6);
    }

    #[test]
    fn bootstrap_interval_contains_the_true_ratio_for_tight_data() {
        let base = [100.0, 101.0, 99.5, 100.5, 99.0, 100.2];
        let cur: Vec<f64> = base.iter().map(|v| v * 1.2).collect();
        let (lo, hi) = bootstrap_ratio_ci(&base, &cur, 5000, 0.95, 7).unwrap();
        assert!(lo <= 1.2 && 1.2 <= hi, "[{lo}, {hi}]");
        assert!(
            lo > 1.15 && hi < 1.25,
            "tight data, tight interval: [{lo}, {hi}]"
        );
        // Same seed, same interval.
        assert_eq!(
            bootstrap_ratio_ci(&base, &cur, 5000, 0.95, 7),
            Some((lo, hi))
        );
    }

    #[test]
    fn bootstrap_interval_is_wide_for_noisy_data() {
        let base = [50.0, 100.0, 150.0, 80.0, 120.0];
        let cur = [60.0, 150.0, 250.0, 90.0, 200.0];
        let (lo, hi) = bootstrap_ratio_ci(&base, &cur, 5000, 0.95, 7).unwrap();
        assert!(lo < 1.0 && hi > 1.5, "[{lo}, {hi}]");
        assert_eq!(bootstrap_ratio_ci(&[0.0], &[1.0], 100, 0.95, 1), None);
        assert_eq!(bootstrap_ratio_ci(&[], &[1.0], 100, 0.95, 1), None);
    }
}
