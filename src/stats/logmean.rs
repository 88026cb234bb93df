//! Intervals with the *process* as the unit, for the verdict of `run` (issue 12): a ratio
//! (or a rate) is summarised by the mean of the logarithms of one figure per process, and its
//! uncertainty by Student's t on those figures, so the interval is as wide as the processes
//! disagree.
//!
//! Why: the noise of these VMs is per process and slow. Passes inside one process share its
//! address layout, page placement and cache neighbours; they agree to a few percent while
//! processes do not (jemalloc on webapp: 0.55 – 0.77× of pymalloc in nine processes of five
//! runs and 0.89 – 1.06× in six, README "Stability"). An interval that resamples the passes of
//! all processes as if independent says ±1 % where five runs spread ±26 %; this one cannot.
//! Pairing still does its work *inside* a process (each process's figure is the median of
//! its rounds' ratios, drift cancelled), and the t-interval then runs over processes, as
//! [`super::welch_log_ratio`] does for `compare`.
//!
//! A [`LogMean`] keeps its variance as parts (variance of the mean, degrees of freedom), so
//! that figures from independent sources can be combined — two sides of an unpaired ratio
//! (Welch), or every workload's ratio in a geometric mean over workloads — with the
//! Welch–Satterthwaite degrees of freedom (Satterthwaite 1946, "An approximate distribution
//! of estimates of variance components", Biometrics Bulletin 2(6)).

use super::bootstrap::Estimate;
use super::student::{student_t_critical, student_t_two_sided, LogRatio};

/// A mean of natural logarithms with its uncertainty: `parts` holds, per independent source,
/// the variance it contributes to the mean and that variance's degrees of freedom.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMean {
    pub mean: f64,
    pub parts: Vec<(f64, f64)>,
    /// The fewest independent units (processes) behind any part; 0 for an exact value.
    pub units: usize,
}

/// Logarithms of `values`, or `None` unless every value is positive and finite.
fn logs(values: &[f64]) -> Option<Vec<f64>> {
    values
        .iter()
        .map(|v| (*v > 0.0 && v.is_finite()).then(|| v.ln()))
        .collect()
}

/// Mean and variance of the mean (s² / n) of `logs`, n ≥ 2.
fn mean_and_var(logs: &[f64]) -> (f64, f64) {
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let s2 = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, s2 / n)
}

impl LogMean {
    /// A value known without error (the reference against itself: 1).
    pub fn exact(value: f64) -> Option<LogMean> {
        Some(LogMean {
            mean: logs(&[value])?[0],
            parts: Vec::new(),
            units: 0,
        })
    }

    /// One figure per independent unit (a ratio or a rate per process): the mean of their
    /// logs, with variance s²/n on n − 1 degrees of freedom. `None` with fewer than two
    /// values or a value that is not positive and finite.
    pub fn of_units(values: &[f64]) -> Option<LogMean> {
        if values.len() < 2 {
            return None;
        }
        LogMean::of_figures(&logs(values)?)
    }

    /// As [`of_units`](Self::of_units) of figures taken as they are, not their logarithms:
    /// the mean of figures that can be ≤ 0 (net times), read by
    /// [`mean_interval`](Self::mean_interval) for [`super::welch_difference`]. `None` with
    /// fewer than two figures or one that is not finite.
    pub(super) fn of_figures(figures: &[f64]) -> Option<LogMean> {
        if figures.len() < 2 || !figures.iter().all(|f| f.is_finite()) {
            return None;
        }
        let (mean, var) = mean_and_var(figures);
        Some(LogMean {
            mean,
            parts: vec![(var, figures.len() as f64 - 1.0)],
            units: figures.len(),
        })
    }

    /// `current` − `baseline`, independent sources: the difference of the means, each side a
    /// part (Welch).
    pub(super) fn minus(current: LogMean, baseline: LogMean) -> LogMean {
        LogMean {
            mean: current.mean - baseline.mean,
            parts: [current.parts, baseline.parts].concat(),
            units: baseline.units.min(current.units),
        }
    }

    /// current / baseline from independent units on each side (processes that did not share
    /// rounds): the difference of the log means, each side a part (Welch). Its
    /// [`interval`](Self::interval) is that of [`super::welch_log_ratio`].
    pub fn welch(baseline: &[f64], current: &[f64]) -> Option<LogMean> {
        let b = LogMean::of_units(baseline)?;
        Some(LogMean::minus(LogMean::of_units(current)?, b))
    }

    /// The mean of independent figures (e.g. one ratio per workload): in ratio terms their
    /// geometric mean. Each part's variance is divided by k² for k figures. `None` when empty.
    pub fn average(items: &[LogMean]) -> Option<LogMean> {
        if items.is_empty() {
            return None;
        }
        let k = items.len() as f64;
        let parts = items
            .iter()
            .flat_map(|m| m.parts.iter().map(move |&(v, df)| (v / (k * k), df)))
            .collect();
        let units = items.iter().map(|m| m.units).filter(|u| *u > 0).min();
        Some(LogMean {
            mean: items.iter().map(|m| m.mean).sum::<f64>() / k,
            parts,
            units: units.unwrap_or(0),
        })
    }

    /// Variance of the mean.
    pub fn variance(&self) -> f64 {
        self.parts.iter().map(|p| p.0).sum()
    }

    /// Welch–Satterthwaite degrees of freedom: (Σ v)² / Σ (v² / df); with one part, its own.
    /// Parts without variance carry no weight; with no variance at all, the parts' total df.
    pub fn df(&self) -> f64 {
        let v = self.variance();
        let denom: f64 = self
            .parts
            .iter()
            .filter(|(var, _)| *var > 0.0)
            .map(|(var, df)| var * var / df)
            .sum();
        if v > 0.0 && denom > 0.0 {
            v * v / denom
        } else {
            self.parts.iter().map(|p| p.1).sum()
        }
    }

    /// exp(mean) with its t-interval at `level` (e.g. 0.95) and the two-sided p-value of
    /// "the ratio is 1". Without variance the interval is the point (p 1 at exactly 1, else
    /// 0). `None` for a level outside (0, 1).
    pub fn interval(&self, level: f64) -> Option<LogRatio> {
        let (m, p, df) = self.mean_interval(level)?;
        Some(LogRatio {
            ratio: Estimate {
                point: m.point.exp(),
                lo: m.lo.exp(),
                hi: m.hi.exp(),
            },
            p,
            df,
        })
    }

    /// The mean itself (a log, or a figure of [`of_figures`](Self::of_figures)) with its
    /// t-interval at `level`, the two-sided p-value of "the mean is 0" and the degrees of
    /// freedom. Without variance the interval is the point (p 1 at exactly 0, else 0).
    pub(super) fn mean_interval(&self, level: f64) -> Option<(Estimate, f64, f64)> {
        if !(level > 0.0 && level < 1.0 && self.mean.is_finite()) {
            return None;
        }
        let point = self.mean;
        let (v, df) = (self.variance(), self.df());
        if v <= 0.0 {
            let p = if point == 0.0 { 1.0 } else { 0.0 };
            let exact = Estimate {
                point,
                lo: point,
                hi: point,
            };
            return Some((exact, p, df));
        }
        let se = v.sqrt();
        let half = student_t_critical(1.0 - level, df) * se;
        let m = Estimate {
            point,
            lo: point - half,
            hi: point + half,
        };
        Some((m, student_t_two_sided(point / se, df), df))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{median, paired_ratio, Bootstrap, SplitMix64};

    #[test]
    fn one_sample_worked_example() {
        // Logs 0.1, 0.2, 0.3: mean 0.2, s² 0.01, var of mean 0.01/3, df 2, t(0.05, 2) 4.303.
        let v: Vec<f64> = [0.1f64, 0.2, 0.3].iter().map(|l| l.exp()).collect();
        let m = LogMean::of_units(&v).unwrap();
        assert!((m.mean - 0.2).abs() < 1e-12 && m.units == 3);
        let r = m.interval(0.95).unwrap();
        assert!((r.df - 2.0).abs() < 1e-12);
        let half = 4.303 * (0.01f64 / 3.0).sqrt();
        assert!((r.ratio.lo.ln() - (0.2 - half)).abs() < 1e-3, "{r:?}");
        assert!((r.ratio.hi.ln() - (0.2 + half)).abs() < 1e-3, "{r:?}");
        // t = 0.2 / 0.0577 = 3.464 on 2 df: p = 0.0742 (t table: between 0.05 and 0.10).
        assert!((r.p - 0.0742).abs() < 0.001, "{r:?}");
        assert!(LogMean::of_units(&v[..1]).is_none());
        assert!(LogMean::of_units(&[1.0, 0.0]).is_none());
    }

    #[test]
    fn averaging_two_equal_workloads_halves_the_variance_and_adds_the_df() {
        let a = LogMean::of_units(&[1.0, 1.2, 1.1]).unwrap();
        let g = LogMean::average(&[a.clone(), a.clone()]).unwrap();
        assert!((g.mean - a.mean).abs() < 1e-12);
        assert!((g.variance() - a.variance() / 2.0).abs() < 1e-15);
        // Two equal parts of 2 df each: Satterthwaite gives 4.
        assert!((g.df() - 4.0).abs() < 1e-9);
        // The exact reference adds no variance but counts in the mean.
        let one = LogMean::exact(1.0).unwrap();
        let h = LogMean::average(&[a.clone(), one]).unwrap();
        assert!((h.mean - a.mean / 2.0).abs() < 1e-12);
        assert!((h.variance() - a.variance() / 4.0).abs() < 1e-15);
        assert!((h.df() - 2.0).abs() < 1e-9 && h.units == 3);
    }

    #[test]
    fn constant_units_give_a_point() {
        let r = LogMean::of_units(&[2.0; 4])
            .unwrap()
            .interval(0.95)
            .unwrap();
        assert_eq!((r.ratio.lo, r.ratio.hi), (r.ratio.point, r.ratio.point));
        assert_eq!(r.p, 0.0);
        let r = LogMean::exact(1.0).unwrap().interval(0.95).unwrap();
        assert_eq!((r.ratio.point, r.p), (1.0, 1.0));
        assert!(LogMean::exact(1.0).unwrap().interval(1.0).is_none());
    }

    /// Standard normal by Box–Muller.
    fn normal(rng: &mut SplitMix64) -> f64 {
        let u = |rng: &mut SplitMix64| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (u1, u2) = (u(rng), u(rng));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// One simulated run of `procs` processes × `rounds` paired rounds: per process a ratio
    /// drawn from its layout (`slow` with probability `p_slow`, else `fast`, times a lognormal
    /// offset of sd `between`), each round that ratio with 2 % noise. Returns the rounds'
    /// ratios per process.
    fn run(
        rng: &mut SplitMix64,
        procs: usize,
        rounds: usize,
        layout: (f64, f64, f64),
    ) -> Vec<Vec<f64>> {
        let (fast, slow, p_slow) = layout;
        (0..procs)
            .map(|_| {
                let mode = if rng.below(1000) < (p_slow * 1000.0) as u64 {
                    slow
                } else {
                    fast
                };
                let level = mode * (0.03 * normal(rng)).exp();
                (0..rounds)
                    .map(|_| level * (0.02 * normal(rng)).exp())
                    .collect()
            })
            .collect()
    }

    fn per_process(r: &[Vec<f64>]) -> LogRatio {
        let figures: Vec<f64> = r.iter().filter_map(|p| median(p)).collect();
        LogMean::of_units(&figures).unwrap().interval(0.95).unwrap()
    }

    fn pooled(r: &[Vec<f64>]) -> Estimate {
        let all = r.concat();
        let bs = Bootstrap {
            resamples: 500,
            ..Bootstrap::new(1)
        };
        paired_ratio(&all, &vec![1.0; all.len()], &bs).unwrap()
    }

    #[test]
    fn per_process_intervals_cover_the_next_run_and_pooled_ones_do_not() {
        // jemalloc on webapp, simulated: processes in a fast (1.0) or slow (0.68) layout mode,
        // 40 % slow. How often does one run's 95 % interval contain the next run's point?
        // For an honest interval about 83 % (two estimates of equal precision: the classic
        // "a 95 % interval is an 83 % prediction interval" of Payton et al. 2003); pooling
        // the rounds of all processes gives an interval as narrow as the rounds' noise.
        let mut rng = SplitMix64::new(12);
        let layout = (1.0, 0.68, 0.4);
        let (mut honest, mut pooled_hits, trials) = (0, 0, 400);
        for _ in 0..trials {
            let (a, b) = (run(&mut rng, 10, 8, layout), run(&mut rng, 10, 8, layout));
            honest += usize::from(per_process(&a).ratio.contains(per_process(&b).ratio.point));
            pooled_hits += usize::from(pooled(&a).contains(pooled(&b).point));
        }
        let (honest, pooled_hits) = (
            honest as f64 / trials as f64,
            pooled_hits as f64 / trials as f64,
        );
        assert!(honest > 0.75, "per process: {honest}");
        assert!(pooled_hits < 0.5, "pooled: {pooled_hits}");
    }

    #[test]
    fn per_process_intervals_keep_their_level() {
        // Processes lognormal around 1.1 (sd 5 %), rounds 2 % around their process: the 95 %
        // interval from 3 and from 10 processes contains 1.1 in 92 – 98 % of 1,000 runs.
        for procs in [3, 10] {
            let mut rng = SplitMix64::new(7);
            let hits = (0..1000)
                .filter(|_| {
                    let r: Vec<Vec<f64>> = (0..procs)
                        .map(|_| {
                            let level = 1.1 * (0.05 * normal(&mut rng)).exp();
                            (0..8)
                                .map(|_| level * (0.02 * normal(&mut rng)).exp())
                                .collect()
                        })
                        .collect();
                    per_process(&r).ratio.contains(1.1)
                })
                .count();
            assert!(
                (920..=980).contains(&hits),
                "{procs} processes: {hits} of 1000"
            );
        }
    }
}
