//! The rows `compare` tests, taken together. Each timing or counter row is tested at α; a
//! default comparison tests a hundred or more, so under no change some fall below α by
//! chance, and each is a "regressed" that fails a CI gate. The rows are therefore judged as
//! one family whose false-discovery rate is held at α (`stats::benjamini_hochberg`): ten A/A
//! pairs of five interleaved default runs (2026-12-06, attempt 76) had 44 throughput rows
//! judged changed at α alone (p 0.008 – 0.045) and none with the rate held; ten of five runs
//! made back to back, 118 and 16 (what is left there is drift between sittings, which no
//! correction removes: the note on runs made apart). Memory rows stay out: they move between
//! a few page-granular modes, not with the host's noise, and their floor already guards them.

use super::verdict::{beyond_reach, changed, p_text};
use super::{Class, Row, Settings, Verdict};
use crate::stats::benjamini_hochberg;
use serde::Serialize;

/// How `compare` treats the many rows it tests (`--correction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Hold the false-discovery rate of all timing and counter rows tested at α
    /// (Benjamini–Hochberg): chance findings among many rows are not called changes.
    Fdr,
    /// Judge each row at α alone, as if it were the only one (more rows change by chance).
    None,
}

/// Whether `row` is one of the family: a timing or counter row whose p-value came from a
/// test over at least two figures a side that could have reached α. A rank test over 3 + 3
/// figures (a default run's latency) cannot (`beyond_reach`): counting it would only make
/// every other row's bar higher, as Tarone's refinement of Bonferroni's bound says of tests
/// whose smallest possible p-value lies above the level.
fn in_family(row: &Row, alpha: f64) -> bool {
    matches!(row.class, Class::Timing | Class::Counter)
        && row.p_value.is_some()
        && row.baseline.len() >= 2
        && row.current.len() >= 2
        && !beyond_reach(row, alpha)
}

/// What holding the family's rate did: the report's account of its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Family {
    /// Rows tested together.
    pub tested: usize,
    /// Changes at α alone that were not significant in the family.
    pub taken_back: usize,
}

/// With [`Correction::Fdr`], sets each family member's `q_value` and makes a change whose
/// q-value is not below α "not significant", its reason saying why; `None` with
/// [`Correction::None`].
pub(super) fn control(rows: &mut [Row], s: &Settings) -> Option<Family> {
    if s.correction == Correction::None {
        return None;
    }
    let members: Vec<usize> = (0..rows.len())
        .filter(|&i| in_family(&rows[i], s.alpha))
        .collect();
    let p: Vec<f64> = (members.iter())
        .map(|&i| rows[i].p_value.unwrap_or(1.0))
        .collect();
    let m = members.len();
    let mut taken_back = 0;
    for (&i, q) in members.iter().zip(benjamini_hochberg(&p)) {
        let row = &mut rows[i];
        row.q_value = Some(q);
        if matches!(row.verdict, Verdict::Regressed | Verdict::Improved) && q >= s.alpha {
            let p = p_text(row.p_value.unwrap_or(1.0));
            let basis = row.reason.take().unwrap_or(p);
            row.reason = Some(format!(
                "{basis}, but q = {q:.3} among the {m} rows tested together (false-discovery \
                 rate held at {})",
                s.alpha
            ));
            row.verdict = Verdict::NotSignificant;
            row.changed = changed(row, s);
            taken_back += 1;
        }
    }
    Some(Family {
        tested: m,
        taken_back,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::verdict::{judge, RowInput};

    /// A row of `class` judged on `n` figures a side, then given `verdict` and `p`.
    fn row(class: Class, n: usize, verdict: Verdict, p: f64) -> Row {
        let input = RowInput {
            workload: "dicts",
            allocator: "system",
            metric: if class == Class::Memory {
                "peak_rss_bytes"
            } else {
                "lat_p50"
            },
            op: None,
            unit: if class == Class::Memory { "B" } else { "ns" },
            class,
            higher_is_better: false,
            baseline: (0..n).map(|i| 10.0 + i as f64).collect(),
            current: (0..n).map(|i| 13.0 + i as f64).collect(),
            tail_samples: None,
            resolution: None,
            peak_live: None,
            per_process: None,
        };
        let mut r = judge(input, &Settings::default(), 0);
        (r.verdict, r.p_value) = (verdict, Some(p));
        r
    }

    #[test]
    fn the_family_is_the_tests_that_could_reach_alpha_and_memory_stays_out() {
        let s = Settings::default();
        let mut rows = vec![
            row(Class::Timing, 8, Verdict::Regressed, 0.01),
            row(Class::Counter, 8, Verdict::Unchanged, 0.6),
            // 3 + 3 ranks cannot reach 0.05: not in the family.
            row(Class::Timing, 3, Verdict::NotSignificant, 0.1),
            // Memory: judged alone.
            row(Class::Memory, 8, Verdict::Regressed, 0.04),
        ];
        let f = control(&mut rows, &s).expect("fdr by default");
        assert_eq!(
            f,
            Family {
                tested: 2,
                taken_back: 0
            }
        );
        // 0.01 · 2 / 1 = 0.02 < 0.05: still a change.
        assert_eq!(rows[0].verdict, Verdict::Regressed);
        assert!((rows[0].q_value.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!((rows[2].q_value, rows[3].q_value), (None, None));
        assert_eq!(rows[3].verdict, Verdict::Regressed);
        // Among nine more rows that did not move it is not: 0.01 · 11 = 0.11.
        rows.extend((0..9).map(|_| row(Class::Timing, 8, Verdict::Unchanged, 0.7)));
        rows[0].reason = Some("p = 0.010".into());
        let f = control(&mut rows, &s).unwrap();
        assert_eq!(
            f,
            Family {
                tested: 11,
                taken_back: 1
            }
        );
        assert_eq!(rows[0].verdict, Verdict::NotSignificant);
        let reason = rows[0].reason.as_deref().unwrap();
        assert_eq!(
            reason,
            "p = 0.010, but q = 0.110 among the 11 rows tested together (false-discovery rate held at 0.05)"
        );
        // `--correction none`: no q-values, no verdict touched.
        let mut alone = vec![row(Class::Timing, 8, Verdict::Regressed, 0.01)];
        let none = Settings {
            correction: Correction::None,
            ..Settings::default()
        };
        assert_eq!(control(&mut alone, &none), None);
        assert_eq!(
            (alone[0].verdict, alone[0].q_value),
            (Verdict::Regressed, None)
        );
    }
}
