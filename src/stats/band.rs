//! Whether a ratio lies beyond a relative band around 1, the same way for a ratio and its
//! reciprocal. A band written `1 ± t` is lopsided: a throughput ratio r and the time ratio
//! 1/r of the same samples fall on different sides of it when r is between 1/(1 + t) and
//! 1 − t, so `compare` called `loop_ns_per_op` regressed by 5.15 % and `ops_per_sec` of the
//! same processes unchanged (−4.9 %), and `run` called an allocator indistinguishable from
//! the reference one way round and distinguishably slower the other (found in review,
//! 2026-12-07). Measured on logarithms the band is `[1/(1 + t), 1 + t]`: a ratio and its
//! reciprocal always get mirrored answers.

/// +1 when `ratio` is above `1 + t`, −1 when below `1 / (1 + t)`, 0 inside (and for a NaN
/// ratio). `t` is the band's relative half-width (0.05 for ±5 %), at least 0.
pub fn beyond_band(ratio: f64, t: f64) -> i8 {
    let upper = 1.0 + t.max(0.0);
    if ratio > upper {
        1
    } else if ratio * upper < 1.0 {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_ratio_between_one_minus_t_and_one_over_one_plus_t_is_beyond() {
        // 0.951 is above 1 − 0.05, where the lopsided band called it inside, but below
        // 1/1.05 = 0.95238…, as its reciprocal 1.0515 is above 1.05: beyond on both readings.
        assert_eq!(beyond_band(0.951, 0.05), -1);
        assert_eq!(beyond_band(1.0 / 0.951, 0.05), 1);
        // 0.953 and its reciprocal 1.0493 are inside.
        assert_eq!(beyond_band(0.953, 0.05), 0);
        assert_eq!(beyond_band(1.0 / 0.953, 0.05), 0);
        assert_eq!(beyond_band(f64::NAN, 0.05), 0);
        assert_eq!(beyond_band(f64::INFINITY, 0.0), 1);
        assert_eq!(beyond_band(0.0, 0.0), -1);
        assert_eq!(beyond_band(1.0, 0.0), 0);
    }

    proptest! {
        /// The band's whole point: a ratio and its reciprocal are judged as mirrors.
        #[test]
        fn a_ratio_and_its_reciprocal_get_mirrored_answers(
            log_r in -1.0f64..1.0,
            t in 0.0f64..0.5,
        ) {
            let r = log_r.exp();
            prop_assume!((r.ln().abs() - t.ln_1p()).abs() > 1e-12);
            prop_assert_eq!(beyond_band(r, t), -beyond_band(1.0 / r, t));
        }

        /// Beyond `1 + t` upward exactly as the lopsided band had it.
        #[test]
        fn the_upper_edge_is_one_plus_t(r in 0.0f64..3.0, t in 0.0f64..0.5) {
            prop_assert_eq!(beyond_band(r, t) == 1, r > 1.0 + t);
        }
    }
}
