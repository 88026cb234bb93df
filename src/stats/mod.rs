//! The statistics of pybench in one place: what a figure is (median, quantile, geometric
//! mean), how sure we are of it (percentile-bootstrap intervals), whether two samples differ
//! (Mann-Whitney U), whether two rankings agree (Kendall's tau-b), and the seeded RNG that
//! makes all of it reproducible.
//!
//! Everything works on plain `&[f64]` samples (one value per repetition) and returns `None`
//! rather than a NaN when a statistic is undefined (empty sample, zero denominator), so
//! callers state what they show instead of printing "NaN". Property tests:
//! `tests/stats_props.rs`.
//!
//! | question | function |
//! |---|---|
//! | typical value | [`median`], [`quantile`], [`geomean`] |
//! | interval of a median | [`median_interval`] |
//! | B against A, independent samples | [`ratio_of_medians`], [`mann_whitney_u`] |
//! | B against A, figures that can be ≤ 0 | [`welch_difference`] (per process), [`bootstrap_difference_ci`], [`mann_whitney_u`] |
//! | A against B, paired rounds | [`paired_ratio`] |
//! | B against A, one figure per process | [`welch_log_ratio`] |
//! | a ratio or rate over processes, and their geometric mean over workloads | [`LogMean`] |
//! | mean of ratios over workloads | [`geomean_interval`] |
//! | do two rankings agree | [`ranks`], [`kendall_tau_b`] |
//! | how small a difference n runs resolve | [`robust_cv`], [`detectable_difference`], [`repetitions_for`] |
//! | how many processes an interval of ±x needs | [`processes_for_half_width`] |
//! | how strongly one figure follows another | [`slope`] |
//! | which of many tests to believe together | [`benjamini_hochberg`] |
//! | is a ratio beyond ±t, the same way as its reciprocal | [`beyond_band`] |

mod band;
mod bootstrap;
mod fdr;
mod logmean;
mod power;
mod quantile;
mod rank;
mod regression;
mod rng;
mod student;

pub use band::beyond_band;
pub use bootstrap::{
    bootstrap_difference_ci, bootstrap_ratio_ci, geomean_interval, median_interval, paired_ratio,
    ratio_of_medians, Bootstrap, Estimate,
};
pub use fdr::benjamini_hochberg;
pub use logmean::LogMean;
pub use power::{detectable_difference, processes_for_half_width, repetitions_for, robust_cv};
pub use quantile::{geomean, median, quantile, ratio_median, sorted};
pub use rank::{kendall_tau_b, mann_whitney_u, min_p_value, normal_sf, ranks, UMethod, UTest};
pub use regression::{slope, Slope};
pub use rng::{seed_for, SplitMix64};
pub use student::{
    student_t_critical, student_t_two_sided, welch_difference, welch_log_ratio, Difference,
    LogRatio,
};
