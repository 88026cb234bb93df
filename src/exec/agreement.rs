//! How well a replay's verdict matches the real program's: rankings of allocators by a figure
//! (time or memory) on each side, and Kendall's rank correlation between them.

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
