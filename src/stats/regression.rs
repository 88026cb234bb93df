//! The least-squares slope of one variable on another, with its standard error: how strongly
//! an allocator's ratio to the reference follows the host's memory speed across the
//! throughput processes of one run (`report::caveats`; README "Stability": on the AMD EPYC
//! VM glibc's ratio on json moved −0.6 % for each 1 % the memory slowed).

/// A fitted slope `b` of y on x over `n` points, and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    pub b: f64,
    pub se: f64,
    pub n: usize,
}

impl Slope {
    /// How many standard errors the slope lies from 0 (infinite for an exact fit).
    pub fn t(&self) -> f64 {
        if self.se > 0.0 {
            self.b / self.se
        } else if self.b != 0.0 {
            f64::INFINITY.copysign(self.b)
        } else {
            0.0
        }
    }
}

/// Ordinary least squares of `ys` on `xs` (pairs beyond the shorter slice ignored). `None`
/// with fewer than three points, a non-finite value, or every x equal (no slope to fit).
pub fn slope(xs: &[f64], ys: &[f64]) -> Option<Slope> {
    let n = xs.len().min(ys.len());
    let (xs, ys) = (&xs[..n], &ys[..n]);
    if n < 3 || xs.iter().chain(ys).any(|v| !v.is_finite()) {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(xs), mean(ys));
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    // Every x equal up to rounding: nothing to fit.
    if sxx <= f64::EPSILON * n as f64 * mx.abs().max(1.0).powi(2) {
        return None;
    }
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let b = sxy / sxx;
    let rss: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - my - b * (x - mx)).powi(2))
        .sum();
    let se = (rss / (n - 2) as f64 / sxx).sqrt();
    Some(Slope { b, se, n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_line_and_a_noisy_one() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        let exact = slope(&xs, &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert!(
            (exact.b - 2.0).abs() < 1e-12 && exact.se < 1e-12,
            "{exact:?}"
        );
        assert_eq!(exact.t(), f64::INFINITY);
        // Residuals +0.5, −0.5, −0.5, +0.5 about y = 2x + 1: b 2, se √(1 / 2 / 5).
        let noisy = slope(&xs, &[1.5, 2.5, 4.5, 7.5]).unwrap();
        assert!((noisy.b - 2.0).abs() < 1e-12, "{noisy:?}");
        assert!((noisy.se - (0.1f64).sqrt()).abs() < 1e-12, "{noisy:?}");
        assert_eq!(slope(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(slope(&[1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(slope(&[1.0, 2.0, f64::NAN], &[1.0, 2.0, 3.0]), None);
    }
}
