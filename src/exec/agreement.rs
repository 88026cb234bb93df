//! How well a replay's verdict matches the real program's, knowing that real runs are noisy.
//!
//! For one figure (time or memory), every pair of allocators measured on both sides is
//! judged by the real runs first: if a two-sided Mann-Whitney U test on the real repetitions
//! does not find the two allocators different at `alpha`, the pair is *indistinguishable*: the
//! real program cannot tell them apart, so the replay can neither agree nor disagree with it.
//! Only the other pairs — significant — are compared: the replay's order (of medians) agrees
//! or disagrees with the real one. A rank test because repetitions are few and skewed (see
//! `stats::rank`).
//!
//! Two rank correlations are reported: Kendall's tau-b over all allocators (medians, as
//! before), and tau over the significant pairs only, `(agree − disagree) / significant`, where
//! a pair the replay ties counts in neither (tau-a restricted to the pairs the real runs
//! decide).

use crate::report::model::Resolution;
use crate::stats::{
    detectable_difference, mann_whitney_u, median, min_p_value, repetitions_for, robust_cv,
};
pub use crate::stats::{kendall_tau_b, ranks};

/// The significance level of the real-side test.
pub const ALPHA: f64 = 0.05;

/// What one pair of allocators shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The real runs order the pair (p < alpha) and the replay orders it the same way.
    Agree,
    /// The real runs order the pair and the replay orders it the other way.
    Disagree,
    /// The real runs order the pair; the replay's medians are equal.
    ReplayTie,
    /// The real runs cannot tell the two apart (p ≥ alpha, or too few repetitions).
    Indistinguishable,
}

/// One pair's judgement: indices into the allocators, the real-side p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub verdict: Verdict,
    pub p: Option<f64>,
}

/// The agreement on one figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Kendall's tau-b between the medians' rankings, every pair counted.
    pub tau_raw: Option<f64>,
    /// Tau over the significant pairs; `None` when no pair is significant.
    pub tau_significant: Option<f64>,
    pub pairs: Vec<Pair>,
}

impl Agreement {
    pub fn count(&self, v: Verdict) -> usize {
        self.pairs.iter().filter(|p| p.verdict == v).count()
    }
}

/// Judges every pair of allocators, given each one's repetitions on both sides (`replay[i]`
/// and `real[i]` are allocator i's samples; each needs at least one value).
pub fn agreement(replay: &[Vec<f64>], real: &[Vec<f64>], alpha: f64) -> Agreement {
    assert_eq!(
        replay.len(),
        real.len(),
        "both sides hold the same allocators"
    );
    let med =
        |s: &[Vec<f64>]| -> Vec<f64> { s.iter().map(|v| median(v).unwrap_or(f64::NAN)).collect() };
    let (replay_m, real_m) = (med(replay), med(real));
    let mut pairs = Vec::new();
    for a in 0..replay.len() {
        for b in a + 1..replay.len() {
            let p = mann_whitney_u(&real[a], &real[b]).map(|u| u.p);
            let real_order = real_m[a].total_cmp(&real_m[b]);
            let replay_order = replay_m[a].total_cmp(&replay_m[b]);
            let verdict = if !p.is_some_and(|p| p < alpha) || real_order.is_eq() {
                Verdict::Indistinguishable
            } else if replay_order.is_eq() {
                Verdict::ReplayTie
            } else if replay_order == real_order {
                Verdict::Agree
            } else {
                Verdict::Disagree
            };
            pairs.push(Pair { a, b, verdict, p });
        }
    }
    let significant = pairs
        .iter()
        .filter(|p| p.verdict != Verdict::Indistinguishable)
        .count();
    let mut result = Agreement {
        tau_raw: kendall_tau_b(&replay_m, &real_m),
        tau_significant: None,
        pairs,
    };
    if significant > 0 {
        let net = result.count(Verdict::Agree) as f64 - result.count(Verdict::Disagree) as f64;
        result.tau_significant = Some(net / significant as f64);
    }
    result
}

/// A warning when `runs` a side are too few for the real runs' rank test to tell any pair of
/// allocators apart: its smallest p-value (complete separation, [`min_p_value`]) is not below
/// [`ALPHA`], so every pair would be indistinguishable whatever the program does. It names the
/// fewest runs that can. The floor holds for runs that all tie within each allocator too
/// (peak RSS can, to the page): the test's exact distribution covers ties.
pub fn too_few_runs(runs: u32) -> Option<String> {
    let floor = |n: u32| min_p_value(n as usize, n as usize);
    if floor(runs) < ALPHA {
        return None;
    }
    let needed = (runs..=1000).find(|&n| floor(n) < ALPHA)?;
    Some(format!(
        "with -r {runs} the rank test on the real runs can give no p-value below {:.3} \
         (α = {ALPHA}): no pair of allocators can be told apart and every pair will be \
         indistinguishable; -r {needed} is the fewest that can (smallest p {:.3}; the \
         default, 5, reaches {:.3})",
        floor(runs),
        floor(needed),
        floor(5)
    ))
}

/// How finely the real runs of one figure resolve, from each allocator's runs (the
/// spread is the median of their robust spreads, the runs the fewest any has); `None` when no
/// allocator has two. An indistinguishable pair is no difference or too few runs: this says
/// which differences the runs could have seen.
pub fn resolution(real: &[Vec<f64>]) -> Option<Resolution> {
    let spreads: Vec<f64> = real.iter().filter_map(|r| robust_cv(r)).collect();
    let spread = median(&spreads)?;
    let runs = real.iter().map(Vec::len).min()?;
    Some(Resolution {
        spread,
        runs,
        detectable: detectable_difference(spread, runs),
        runs_for_5_percent: repetitions_for(spread, 0.05),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indistinguishable_pair_is_neither_agreement_nor_disagreement() {
        // Real runs: A and B overlap (noise, medians 10.0 vs 10.1), C is clearly slower.
        let real = vec![
            vec![10.0, 10.3, 9.8, 10.2, 9.9],
            vec![10.1, 9.7, 10.4, 10.0, 10.2],
            vec![12.0, 12.2, 11.9, 12.1, 12.3],
        ];
        // The replay orders A after B (the opposite of the real medians), both before C.
        let replay = vec![
            vec![1.1, 1.1, 1.1, 1.1, 1.1],
            vec![1.0, 1.0, 1.0, 1.0, 1.0],
            vec![2.0, 2.0, 2.0, 2.0, 2.0],
        ];
        let g = agreement(&replay, &real, ALPHA);
        let ab = g.pairs.iter().find(|p| (p.a, p.b) == (0, 1)).unwrap();
        assert_eq!(ab.verdict, Verdict::Indistinguishable, "{ab:?}");
        assert_eq!(g.count(Verdict::Disagree), 0);
        assert_eq!(g.count(Verdict::Agree), 2);
        assert_eq!(g.tau_significant, Some(1.0));
        // Counting the noisy pair, as the raw tau does, would call it a disagreement.
        assert!((g.tau_raw.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_significant_reversal_is_a_disagreement() {
        let real = vec![
            vec![5.0, 5.1, 5.2, 4.9, 5.05],
            vec![6.0, 6.1, 6.2, 5.9, 6.05],
        ];
        let replay = vec![vec![2.0, 2.1, 2.0], vec![1.0, 1.1, 1.0]];
        let g = agreement(&replay, &real, ALPHA);
        assert_eq!(g.pairs[0].verdict, Verdict::Disagree);
        assert!(g.pairs[0].p.unwrap() < 0.01);
        assert_eq!(g.tau_significant, Some(-1.0));
    }

    #[test]
    fn one_repetition_cannot_be_significant() {
        let g = agreement(&[vec![1.0], vec![2.0]], &[vec![1.0], vec![9.0]], ALPHA);
        assert_eq!(g.pairs[0].verdict, Verdict::Indistinguishable);
        assert_eq!(g.tau_significant, None);
        assert_eq!(g.tau_raw, Some(1.0));
    }

    #[test]
    fn runs_too_few_for_any_significance_are_warned_about_with_the_fewest_that_do() {
        // One run: p is always 1; two: 1/3; three: 1/10; four: 1/35, below α.
        let w = too_few_runs(2).unwrap();
        assert!(w.starts_with("with -r 2 the rank test on the real runs can give no p-value below 0.333 (α = 0.05)"), "{w}");
        assert!(
            w.contains("-r 4 is the fewest that can (smallest p 0.029"),
            "{w}"
        );
        assert!(too_few_runs(1).unwrap().contains("no p-value below 1.000"));
        // Three runs: not even runs that tie within each allocator (peak RSS, to the page)
        // can be told apart — the approximation the U test once used for ties said they could.
        let w = too_few_runs(3).unwrap();
        assert!(w.contains("below 0.100 (α = 0.05): no pair"), "{w}");
        let tied = agreement(
            &[vec![1.0; 3], vec![2.0; 3]],
            &[vec![1.0; 3], vec![2.0; 3]],
            ALPHA,
        );
        assert_eq!(tied.pairs[0].verdict, Verdict::Indistinguishable);
        assert_eq!(too_few_runs(4), None);
        assert_eq!(too_few_runs(5), None);
        // What the warning says holds: complete separation at -r 3 is not significant, at 4 it is.
        let apart = |n: usize| {
            let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let b: Vec<f64> = (0..n).map(|i| 100.0 + i as f64).collect();
            agreement(&[a.clone(), b.clone()], &[a, b], ALPHA).pairs[0].verdict
        };
        assert_eq!(apart(3), Verdict::Indistinguishable);
        assert_eq!(apart(4), Verdict::Agree);
    }

    #[test]
    fn a_replay_tie_counts_as_significant_but_neither_way() {
        let real = vec![
            vec![5.0, 5.1, 5.2, 4.9, 5.05],
            vec![6.0, 6.1, 6.2, 5.9, 6.05],
        ];
        let replay = vec![vec![1.0; 3], vec![1.0; 3]];
        let g = agreement(&replay, &real, ALPHA);
        assert_eq!(g.pairs[0].verdict, Verdict::ReplayTie);
        assert_eq!(g.tau_significant, Some(0.0));
    }
}
