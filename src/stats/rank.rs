//! Rank statistics: the Mann-Whitney U test (is one sample shifted against another?) and
//! Kendall's tau-b (do two rankings of the same items agree?).
//!
//! Why rank tests: timings on shared machines and VMs are skewed and have one-off outliers (a
//! page fault storm, a descheduled vCPU), and a run has few repetitions (3–10), too few to
//! check that they are normal. A rank test does not care about the shape of the distribution
//! and one outlier moves it little; Welch's t-test would assume normality we cannot check. For
//! small samples without ties the U test's p-value is exact (enumerated), so it is honest about
//! what 5 repetitions can show: with n = m = 3 the smallest two-sided p-value possible is 0.1.
//! With ties the exact distribution is the permutation one given the tied values (the same
//! midranks dealt to the two samples in every way), not the normal approximation: three
//! equal runs against three other equal runs — peak RSS, which is deterministic, often is —
//! got p = 0.047 from the approximation, "significant" where no labelling of six runs can
//! give less than 0.1.

/// Which form of the U test produced a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UMethod {
    /// Exact null distribution (small samples; with ties, the permutation distribution of
    /// their midranks).
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

/// Largest n + m for which the exact distribution with ties is worked out: its table has
/// (n + m)·n·(n + m)² entries to fill, a few million at 60.
const EXACT_TIED_MAX_TOTAL: usize = 60;

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
    if n * m <= EXACT_MAX_PRODUCT && (!ties || n + m <= EXACT_TIED_MAX_TOTAL) {
        let p = if ties {
            exact_tied_two_sided(a, &all)
        } else {
            exact_two_sided(n, m, u as usize)
        };
        return Some(UTest {
            u,
            p,
            method: UMethod::Exact,
        });
    }
    Some(UTest {
        u,
        p: normal_two_sided(n, m, u, &all),
        method: UMethod::Normal,
    })
}

/// The lengths of the runs of equal values in `sorted`, in order (a value alone is a run of
/// one). Equal as `total_cmp` has it, so a NaN, which equals nothing, still ends its run.
fn tie_runs(sorted: &[f64]) -> impl Iterator<Item = usize> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = sorted.get(i)?;
        let run = sorted[i..]
            .iter()
            .take_while(|v| v.total_cmp(first).is_eq())
            .count();
        i += run;
        Some(run)
    })
}

/// Two-sided p-value of U = `u` for samples of `n` and `m` (pooled and sorted in `all`) by
/// the normal approximation, with the continuity correction and the variance reduced by
/// Σ(t³ − t) over runs of t tied values; 1 when every value is the same.
fn normal_two_sided(n: usize, m: usize, u: f64, all: &[f64]) -> f64 {
    let nm = (n * m) as f64;
    let total = (n + m) as f64;
    let tie_term: f64 = tie_runs(all).map(|t| (t * t * t - t) as f64).sum();
    let var = nm / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if var <= 0.0 {
        // Every value is the same: no evidence of any difference.
        return 1.0;
    }
    let z = ((u - nm / 2.0).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
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

/// Exact two-sided p-value of the first sample `a` against the rest of `all` (both samples,
/// sorted) when values tie: every way of choosing `a.len()` of the pooled values is equally
/// likely under the null, and U is the first sample's rank sum less its least, with tied
/// values sharing their midrank. Ranks are doubled so midranks are whole numbers; the tails
/// are counted over the rank sums of every choice (a subset-sum table).
fn exact_tied_two_sided(a: &[f64], all: &[f64]) -> f64 {
    // Doubled midrank of each pooled value, in sorted order: a run of `run` equal values
    // from place i (0-based) shares the midrank (i + 1 + i + run) / 2.
    let mut doubled = Vec::with_capacity(all.len());
    for run in tie_runs(all) {
        let i = doubled.len();
        doubled.extend(std::iter::repeat(2 * i + run + 1).take(run));
    }
    let rank_of = |x: f64| doubled[all.partition_point(|v| v.total_cmp(&x).is_lt())];
    let observed: usize = a.iter().map(|&x| rank_of(x)).sum();
    let n = a.len();
    let max_sum: usize = doubled.iter().rev().take(n).sum();
    // ways[k][s]: choices of k values so far whose doubled ranks sum to s.
    let mut ways = vec![vec![0.0f64; max_sum + 1]; n + 1];
    ways[0][0] = 1.0;
    for (seen, &r) in doubled.iter().enumerate() {
        for k in (1..=n.min(seen + 1)).rev() {
            let (below, at) = ways.split_at_mut(k);
            for (s, &w) in below[k - 1].iter().enumerate() {
                if w > 0.0 && s + r <= max_sum {
                    at[0][s + r] += w;
                }
            }
        }
    }
    let dist = &ways[n];
    let total: f64 = dist.iter().sum();
    let lower: f64 = dist[..=observed].iter().sum::<f64>() / total;
    let upper: f64 = dist[observed..].iter().sum::<f64>() / total;
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
        assert_eq!(t.u, 14.5);
        let mut all: Vec<f64> = a.iter().chain(&b).copied().collect();
        all.sort_by(f64::total_cmp);
        let p = normal_two_sided(10, 10, t.u, &all);
        let var: f64 = 100.0 / 12.0 * (21.0 - 6.0 / 380.0);
        let z = (50.0 - 14.5 - 0.5) / var.sqrt();
        // Reference value of 2·P(Z > z) from Python's math.erfc(z/√2) for z = 2.64675.
        assert!((z - 2.646_75).abs() < 1e-4, "{z}");
        assert!((p - 0.008_127).abs() < 1e-5, "{p}");
        // Twenty values are few enough for the exact test, which the test itself uses.
        assert_eq!(t.method, UMethod::Exact);
        // Past the exact test's reach (21 × 21 > 400) the approximation is used.
        let big_a: Vec<f64> = (0..21).map(|i| (i / 2) as f64).collect();
        let big_b: Vec<f64> = (0..21).map(|i| (i / 2 + 5) as f64).collect();
        assert_eq!(
            mann_whitney_u(&big_a, &big_b).unwrap().method,
            UMethod::Normal
        );
        // All values equal: p = 1.
        let same = mann_whitney_u(&[3.0; 4], &[3.0; 4]).unwrap();
        assert_eq!(same.p, 1.0);
    }

    /// Two-sided p by dealing the pooled values to the two samples in every way and counting
    /// U pair by pair (ties one half): the definition, for samples of up to ten values.
    fn p_by_enumeration(a: &[f64], b: &[f64]) -> f64 {
        let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
        let u_of = |x: &[f64], y: &[f64]| -> f64 {
            let pairs = x.iter().flat_map(|p| y.iter().map(move |q| (p, q)));
            pairs
                .map(|(p, q)| f64::from(u8::from(p > q)) + if p == q { 0.5 } else { 0.0 })
                .sum()
        };
        let observed = u_of(a, b);
        let (mut below, mut above, mut all) = (0u32, 0u32, 0u32);
        for mask in 0u32..1 << pooled.len() {
            if mask.count_ones() as usize != a.len() {
                continue;
            }
            let pick = |inside: bool| -> Vec<f64> {
                let chosen = pooled.iter().enumerate();
                chosen
                    .filter(|(i, _)| (mask >> i & 1 == 1) == inside)
                    .map(|(_, v)| *v)
                    .collect()
            };
            let u = u_of(&pick(true), &pick(false));
            all += 1;
            below += u32::from(u <= observed);
            above += u32::from(u >= observed);
        }
        (2.0 * f64::from(below.min(above)) / f64::from(all)).min(1.0)
    }

    #[test]
    fn tied_runs_get_the_permutation_floor_not_the_approximation() {
        // Three equal runs against three other equal runs: one labelling in twenty puts the
        // first three below, so two-sided p = 0.1 (the approximation said 0.047).
        let t = mann_whitney_u(&[7.0; 3], &[9.0; 3]).unwrap();
        assert_eq!(t.method, UMethod::Exact);
        assert!((t.p - 0.1).abs() < 1e-12, "{}", t.p);
        assert!(t.p >= min_p_value(3, 3));
        // Ties across the samples too: 1 1 2 | 2 3 3.
        let (a, b) = ([1.0, 1.0, 2.0], [2.0, 3.0, 3.0]);
        let t = mann_whitney_u(&a, &b).unwrap();
        assert!((t.p - p_by_enumeration(&a, &b)).abs() < 1e-12, "{}", t.p);
    }

    proptest::proptest! {
        /// With ties, the exact p is the enumerated one, never below the test's floor, and
        /// the same whichever sample comes first.
        #[test]
        fn tied_exact_p_is_the_enumerated_one(
            a in proptest::collection::vec(0u8..4, 1..6),
            b in proptest::collection::vec(0u8..4, 1..6),
        ) {
            let (a, b): (Vec<f64>, Vec<f64>) =
                (a.into_iter().map(f64::from).collect(), b.into_iter().map(f64::from).collect());
            let t = mann_whitney_u(&a, &b).unwrap();
            proptest::prop_assert_eq!(t.method, UMethod::Exact);
            let expected = p_by_enumeration(&a, &b);
            proptest::prop_assert!((t.p - expected).abs() < 1e-9, "{} vs {}", t.p, expected);
            proptest::prop_assert!(t.p >= min_p_value(a.len(), b.len()) - 1e-12);
            let swapped = mann_whitney_u(&b, &a).unwrap();
            proptest::prop_assert!((swapped.p - t.p).abs() < 1e-9);
        }

        /// Without ties the two exact computations (the recursion on the largest value, and
        /// the subset sums of ranks) agree.
        #[test]
        fn both_exact_computations_agree_without_ties(
            values in proptest::collection::hash_set(0u16..1000, 2..16),
            split in 1usize..15,
        ) {
            let values: Vec<f64> = values.into_iter().map(f64::from).collect();
            let split = split.min(values.len() - 1);
            let (a, b) = values.split_at(split);
            let mut all = values.clone();
            all.sort_by(f64::total_cmp);
            let t = mann_whitney_u(a, b).unwrap();
            let tied_way = exact_tied_two_sided(a, &all);
            proptest::prop_assert!((t.p - tied_way).abs() < 1e-9, "{} vs {}", t.p, tied_way);
        }
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
