//! The schema of `pybench validate`'s verdict in `results.json`: per allocator, what the
//! replay predicted next to what the real program showed, and what the real runs resolve.

use super::Ranged;
use serde::{Deserialize, Serialize};

/// One allocator in a validation: what the replay predicted and what the real run showed.
/// Times in seconds, memory in bytes; medians over repetitions; ranks 1 = best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRow {
    pub allocator: String,
    /// The allocator the replay used for it (`None`: no in-process equivalent).
    pub replay_allocator: Option<String>,
    pub replay_time_s: Option<f64>,
    pub real_wall_s: Option<f64>,
    pub replay_peak_rss: Option<f64>,
    pub real_peak_rss: Option<f64>,
    pub replay_time_rank: Option<f64>,
    pub real_time_rank: Option<f64>,
    pub replay_memory_rank: Option<f64>,
    pub real_memory_rank: Option<f64>,
    /// Replay time minus the pymalloc replay's: the allocator time the replay says it saves
    /// (negative) or costs.
    pub predicted_delta_s: Option<f64>,
    /// Real wall time minus the real pymalloc run's.
    pub observed_delta_s: Option<f64>,
    /// 95 % bootstrap intervals `[lo, hi]` of the four medians above (`None` from one run).
    #[serde(default)]
    pub replay_time_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub real_wall_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub replay_rss_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub real_rss_ci: Option<[f64; 2]>,
    /// Against the reference allocator (`Validation::reference`) on the same side: ratio of
    /// medians `[point, lo, hi]` (95 % bootstrap; `[point]` when a side has one run), time and
    /// memory, predicted and observed.
    #[serde(default)]
    pub predicted_time_ratio: Option<Ranged>,
    #[serde(default)]
    pub observed_time_ratio: Option<Ranged>,
    #[serde(default)]
    pub predicted_memory_ratio: Option<Ranged>,
    #[serde(default)]
    pub observed_memory_ratio: Option<Ranged>,
    /// The allocator's version on each side (from the manifest); they differ when the real
    /// run preloads another build than the replay links.
    #[serde(default)]
    pub real_version: Option<String>,
    #[serde(default)]
    pub replay_version: Option<String>,
    /// The mutator replay (issue 14 item 2: the program's recorded work between the calls):
    /// its time for the whole trace, median and 95 % interval.
    #[serde(default)]
    pub mutator_time_s: Option<f64>,
    #[serde(default)]
    pub mutator_time_ci: Option<[f64; 2]>,
    /// Differences from the reference on each side, `[point, lo, hi]` (medians' difference,
    /// 95 % bootstrap; `[point]` when a side has one run): plain replay, mutator replay, real
    /// wall time, real CPU time.
    #[serde(default)]
    pub plain_delta: Option<Ranged>,
    #[serde(default)]
    pub mutator_delta: Option<Ranged>,
    /// The same from each replay process's cold first pass (the allocator fresh, as the
    /// program's is), per mode.
    #[serde(default)]
    pub plain_cold_delta: Option<Ranged>,
    #[serde(default)]
    pub mutator_cold_delta: Option<Ranged>,
    #[serde(default)]
    pub observed_wall_delta: Option<Ranged>,
    #[serde(default)]
    pub observed_cpu_delta: Option<Ranged>,
}

/// The replay's verdict against the real program's (issue: ground truth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub program: String,
    pub trace: String,
    pub rows: Vec<ValidationRow>,
    /// Kendall's tau-b between the replay's and the real run's rankings (allocators measured
    /// on both sides), by time and by peak memory.
    pub tau_time: Option<f64>,
    pub tau_memory: Option<f64>,
    /// Every pair of allocators the two sides order differently, in words.
    pub disagreements: Vec<String>,
    /// Tau over the pairs whose real difference is significant (`exec::agreement`).
    #[serde(default)]
    pub tau_time_significant: Option<f64>,
    #[serde(default)]
    pub tau_memory_significant: Option<f64>,
    /// Pairs the real runs cannot tell apart (not significant), in words: neither agreement
    /// nor disagreement.
    #[serde(default)]
    pub indistinguishable: Vec<String>,
    /// Counts of (agree, disagree, indistinguishable) pairs, time then memory.
    #[serde(default)]
    pub pair_counts: Option<[[usize; 3]; 2]>,
    /// The allocator both sides' differences are taken against.
    #[serde(default)]
    pub reference: Option<String>,
    /// How finely the real runs resolve, time then memory: an indistinguishable pair is no
    /// difference or too few runs, and this says which differences the runs could have seen.
    #[serde(default)]
    pub resolution: Option<[Option<Resolution>; 2]>,
    /// Which replay figure predicts the program's time: the time table, its ranks and
    /// differences, the disagreements and `tau_time*` use it. Runs saved before the choice
    /// existed used the warm passes.
    #[serde(default)]
    pub prediction: Prediction,
    /// The time agreement with each replay process's cold first pass as the prediction
    /// (`None` without cold figures, and in runs saved before it was computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_cold: Option<PredictorAgreement>,
    /// The same with the warm passes as the prediction (absent in runs saved before
    /// 2026-12-02, whose headline figures were the warm ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_warm: Option<PredictorAgreement>,
}

/// Which of a replay process's passes stands for the real program's allocator time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The passes after the first: the allocator in its steady state.
    #[default]
    Warm,
    /// Each process's first pass, on a fresh allocator, as the program's one run has: its
    /// first-use costs (page faults, huge pages the host takes back, arenas and caches set
    /// up) are in it and in no warm pass. It ranked the allocators as the real runs did more
    /// often on both kinds of host measured (README, "Does the replay predict …").
    Cold,
}

impl Prediction {
    pub fn name(self) -> &'static str {
        match self {
            Prediction::Warm => "warm",
            Prediction::Cold => "cold",
        }
    }

    /// What the figure is, in the words the validation's output uses.
    pub fn meaning(self) -> &'static str {
        match self {
            Prediction::Warm => "the replay processes' later passes, the allocator warm",
            Prediction::Cold => {
                "each replay process's first pass, on a fresh allocator as the program's one run"
            }
        }
    }
}

/// The time agreement with one replay figure as the prediction ([`Prediction`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PredictorAgreement {
    /// Tau over the pairs the real runs tell apart.
    pub tau_significant: Option<f64>,
    /// Kendall's tau-b over all pairs.
    pub tau: Option<f64>,
    /// (agree, disagree, indistinguishable) pairs.
    pub pairs: [usize; 3],
}

/// What the real runs of one figure can tell apart ([`crate::stats::detectable_difference`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// One run's robust spread relative to its median, the median over the allocators.
    pub spread: f64,
    /// Runs of each allocator (the fewest any allocator had).
    pub runs: usize,
    /// The smallest relative difference those runs detect about 4 times in 5 (p < 0.05).
    pub detectable: f64,
    /// Runs of each allocator needed to detect a 5 % difference as reliably.
    pub runs_for_5_percent: u64,
}
