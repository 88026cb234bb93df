//! Rank statistics: the Mann-Whitney U test (is one sample shifted against another?) and
//! Kendall's tau-b (do two rankings of the same items agree?).
//!
//! Why rank tests: timings on shared machines and VMs are skewed and have one-off outliers (a
//! page fault storm, a descheduled vCPU), and a run has few repetitions (3–10), too few to
//! check that they are normal. A rank test does not care about the shape of the distribution
//! and one outlier moves it little; Welch's t-test would assume normality we cannot check. For
//! small samples without ties the U test's p-value is exact (enumerated), so it is honest about
//! what 5 repetitions can show: with n = m = 3 the smallest two-sided p-value possible is 0.1.

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

/// Ranks of `values`, 1 = smallest (fastest, leanest). Tied values share the mean of the
/// ranks they span, as in a rank test.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let shared = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = shared;
        }
        i = j + 1;
    }
    ranks
}

/// Kendall's tau-b between two orderings of the same items: +1 when they rank every pair the
/// same way, −1 when every pair is reversed. Ties are handled by the tau-b correction
/// (pairs tied on one side count in neither numerator term, and shrink that side's
/// denominator). `None` for fewer than two items or when one side is all ties.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> Option<f64> {
    assert_eq!(a.len(), b.len(), "both sides rank the same items");
    let n = a.len();
    if n < 2 {
        return None;
    }
    let (mut concordant, mut discordant, mut tied_a, mut tied_b) = (0i64, 0i64, 0i64, 0i64);
    use std::cmp::Ordering::Equal;
    for i in 0..n {
        for j in i + 1..n {
            let (oa, ob) = (a[i].total_cmp(&a[j]), b[i].total_cmp(&b[j]));
            match (oa, ob) {
                (Equal, Equal) => {
                    tied_a += 1;
                    tied_b += 1;
                }
                (Equal, _) => tied_a += 1,
                (_, Equal) => tied_b += 1,
                _ if oa == ob => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let pairs = (n * (n - 1) / 2) as i64;
    let denominator = (((pairs - tied_a) * (pairs - tied_b)) as f64).sqrt();
    (denominator > 0.0).then(|| (concordant - discordant) as f64 / denominator)
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
    fn ranks_share_ties() {
        assert_eq!(ranks(&[30.0, 10.0, 20.0]), vec![3.0, 1.0, 2.0]);
        assert_eq!(ranks(&[5.0, 1.0, 5.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(ranks(&[7.0, 7.0, 7.0]), vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn tau_of_identical_reversed_and_one_swap() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(kendall_tau_b(&a, &a), Some(1.0));
        assert_eq!(kendall_tau_b(&a, &[4.0, 3.0, 2.0, 1.0]), Some(-1.0));
        // Pairs (1,2) and (1,3) agree, (2,3) is reversed: (2 − 1) / 3.
        let t = kendall_tau_b(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap();
        assert!((t - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn tau_b_corrects_for_ties() {
        // One tied pair on the left: 5 concordant, 0 discordant, 6 pairs → 5 / √(5 × 6).
        let t = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((t - 5.0 / 30f64.sqrt()).abs() < 1e-12, "{t}");
        // Ties on both sides in the same pair: 5 / √(5 × 5) = 1.
        let t = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[10.0, 20.0, 20.0, 30.0]).unwrap();
        assert!((t - 1.0).abs() < 1e-12, "{t}");
        assert_eq!(
            kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]),
            None,
            "one side all ties"
        );
        assert_eq!(kendall_tau_b(&[1.0], &[1.0]), None);
    }
}
