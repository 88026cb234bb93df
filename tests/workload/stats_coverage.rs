//! How often the statistics module's bootstrap intervals hold the figure they estimate, by
//! simulation from distributions whose figure is known. A 95 % interval should hold it in
//! about 95 of 100 samples; one whose percentile index were wrong (the 25th and 75th
//! percentiles, say) or whose resampling drew too little of the sample would hold it far
//! less often, and one spanning every resample far more. The RNG is seeded, so each figure is
//! the same on every run; the bands leave room for the percentile bootstrap's own error on
//! small samples (it is a little narrow for a median: Efron & Tibshirani 1993, ch. 13).

use pybench::stats::{
    bootstrap_difference_ci, geomean_interval, median_interval, ratio_of_medians, Bootstrap,
    SplitMix64,
};

/// Samples per simulation: enough for a coverage of 0.95 to be told from 0.85 or 0.995 (its
/// standard error is 0.013).
const TRIALS: usize = 300;
/// Values per sample: a run's repetitions or processes.
const N: usize = 21;

/// `n` values uniform on [lo, lo + width).
fn uniform(rng: &mut SplitMix64, n: usize, lo: f64, width: f64) -> Vec<f64> {
    (0..n)
        .map(|_| lo + width * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
        .collect()
}

/// The share of [`TRIALS`] intervals, each from `interval(rng, trial)`, that hold `truth`.
fn coverage(truth: f64, mut interval: impl FnMut(&mut SplitMix64, u64) -> (f64, f64)) -> f64 {
    let mut rng = SplitMix64::new(20261207);
    let held = (0..TRIALS as u64)
        .filter(|&trial| {
            let (lo, hi) = interval(&mut rng, trial);
            lo <= truth && truth <= hi
        })
        .count();
    held as f64 / TRIALS as f64
}

fn bootstrap(seed: u64) -> Bootstrap {
    Bootstrap {
        resamples: 1000,
        level: 0.95,
        seed,
    }
}

fn about_95(what: &str, c: f64) {
    assert!((0.88..=0.99).contains(&c), "{what}: coverage {c}");
}

#[test]
fn median_and_geomean_intervals_hold_the_true_figure_about_95_times_in_100() {
    // Uniform on [100, 200): median 150.
    let c = coverage(150.0, |rng, seed| {
        let m = median_interval(&uniform(rng, N, 100.0, 100.0), &bootstrap(seed)).unwrap();
        (m.lo, m.hi)
    });
    about_95("median", c);
    // Log-uniform on [1, e²): its logarithm is uniform on [0, 2), geometric mean e.
    let c = coverage(std::f64::consts::E, |rng, seed| {
        let v: Vec<f64> = uniform(rng, N, 0.0, 2.0).iter().map(|l| l.exp()).collect();
        let g = geomean_interval(&v, &bootstrap(seed)).unwrap();
        (g.lo, g.hi)
    });
    about_95("geometric mean", c);
}

#[test]
fn ratio_and_difference_intervals_hold_the_true_figure_about_95_times_in_100() {
    // Medians 150 and 195: ratio 1.3, difference 45.
    let c = coverage(1.3, |rng, seed| {
        let b = uniform(rng, N, 100.0, 100.0);
        let c = uniform(rng, N, 130.0, 130.0);
        let r = ratio_of_medians(&b, &c, &bootstrap(seed)).unwrap();
        (r.lo, r.hi)
    });
    about_95("ratio of medians", c);
    // Net times around zero: medians −0.1 and +0.05, difference 0.15.
    let c = coverage(0.15, |rng, seed| {
        let b = uniform(rng, N, -0.2, 0.2);
        let c = uniform(rng, N, -0.05, 0.2);
        bootstrap_difference_ci(&b, &c, 1000, 0.95, seed).unwrap()
    });
    about_95("difference of medians", c);
}
