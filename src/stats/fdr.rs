//! Many tests at once. `compare` judges a hundred rows or more, each at α; under no change at
//! all, some of them fall below α by chance (ten A/A pairs of interleaved default runs,
//! 2026-12-06: 44 throughput rows "changed", p 0.008 – 0.045, all gone once the family's
//! false-discovery rate was held at α). The Benjamini–Hochberg step-up procedure bounds the
//! expected share of false verdicts among those made, and gives up less power than a
//! family-wise bound (Holm, Bonferroni) when many rows really moved — a change to the
//! harness or the engine moves a dozen rows together.

/// Benjamini–Hochberg adjusted p-values ("q-values"), in the order given: a row is
/// significant at false-discovery rate `q` when its adjusted value is below `q`. Each is
/// the smallest `p(j) · m / j` over the ranks `j` at or above its own (`p` sorted
/// ascending, `m` the number of tests), capped at 1, so they keep the p-values' order.
/// Values that are not p-values (NaN, outside 0 – 1) are taken as 1; an empty family
/// gives an empty answer.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let clean = |x: f64| if (0.0..=1.0).contains(&x) { x } else { 1.0 };
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut adjusted = vec![1.0; m];
    let mut smallest_above = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let scaled = clean(p[i]) * m as f64 / (rank + 1) as f64;
        smallest_above = smallest_above.min(scaled);
        // Never below the p-value itself (p · m / m can round one ulp under p).
        adjusted[i] = smallest_above.max(clean(p[i]));
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // m = 4: 0.01·4/1 = 0.04; 0.02·4/2 = 0.04; 0.03·4/3 = 0.04; 0.5·4/4 = 0.5.
        let q = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.02]);
        let want = [0.04, 0.5, 0.04, 0.04];
        for (got, want) in q.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{q:?}");
        }
        // A larger p-value lower in rank pulls the ones below it down to its own.
        let q = benjamini_hochberg(&[0.04, 0.045]);
        assert!(
            (q[0] - 0.045).abs() < 1e-12 && (q[1] - 0.045).abs() < 1e-12,
            "{q:?}"
        );
        // One test: its own p-value.
        assert_eq!(benjamini_hochberg(&[0.03]), vec![0.03]);
        assert!(benjamini_hochberg(&[]).is_empty());
        // Not p-values: taken as 1, and they count in m.
        assert_eq!(benjamini_hochberg(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
    }

    #[test]
    fn one_chance_finding_among_many_does_not_survive() {
        // 0.008 among 84 tests, the rest null: q = 0.008 · 84 = 0.67.
        let mut p = vec![0.5; 83];
        p.push(0.008);
        assert!(benjamini_hochberg(&p)[83] > 0.05);
        // A real change (p 1e-6) among them does.
        p[0] = 1e-6;
        assert!(benjamini_hochberg(&p)[0] < 0.05);
    }

    proptest! {
        #[test]
        fn adjusted_values_bound_and_keep_the_order(p in prop::collection::vec(0.0f64..=1.0, 0..60)) {
            let q = benjamini_hochberg(&p);
            prop_assert_eq!(q.len(), p.len());
            for (i, (&pi, &qi)) in p.iter().zip(&q).enumerate() {
                // Never below the raw p-value, never above 1 or above p · m.
                prop_assert!(qi >= pi && qi <= 1.0, "{i}: p {pi}, q {qi}");
                prop_assert!(qi <= pi * p.len() as f64 + 1e-12);
                for (&pj, &qj) in p.iter().zip(&q) {
                    if pi < pj {
                        prop_assert!(qi <= qj, "order: p {pi} < {pj} but q {qi} > {qj}");
                    }
                }
            }
            // The smallest adjusted value is the family's Simes p-value, min p(j)·m/j.
            if !p.is_empty() {
                let mut s = p.clone();
                s.sort_by(f64::total_cmp);
                let simes = (s.iter().enumerate())
                    .map(|(j, x)| x * s.len() as f64 / (j + 1) as f64)
                    .fold(1.0_f64, f64::min);
                let lowest = q.iter().copied().fold(1.0_f64, f64::min);
                prop_assert!((lowest - simes).abs() < 1e-12);
            }
        }

        #[test]
        fn a_family_of_one_value_repeated_is_that_value(p in 0.0f64..=1.0, m in 1usize..40) {
            for q in benjamini_hochberg(&vec![p; m]) {
                prop_assert!((q - p).abs() < 1e-12);
            }
        }
    }
}
