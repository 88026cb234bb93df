//! CLI tests of how `compare` judges its many rows together (`--correction`): a change that
//! one test alone would call significant, among rows that did not move, is "not significant"
//! once the family's false-discovery rate is held at α, and a regression with `--correction
//! none`; a clear change stays a change either way.

use super::cli_compare::steady;
use crate::common;
use crate::common::{give_samples, run, save, tempdir, throughput_samples};
use pybench::report::model::RunResults;
use std::path::Path;

/// Per-process figures of every cell: a spread of ±8 % (sd ≈ 5 %) around 1, in repetition
/// order.
const OFFSETS: [f64; 8] = [0.92, 1.0, 1.08, 0.95, 1.05, 0.98, 1.02, 1.0];

/// Gives each cell of `r` three identical per-pass samples per process: `null` 2 ns/event,
/// the allocator 10 ns/event net times `OFFSETS[rep]` times `scale(workload, allocator)`.
fn sampled(mut r: RunResults, scale: impl Fn(&str, &str) -> f64) -> RunResults {
    for c in &mut r.cells {
        let net = 10.0 * OFFSETS[c.repetition as usize] * scale(&c.workload, &c.allocator);
        let t = throughput_samples(&c.workload, c.repetition, vec![2.0 + net; 3], vec![2.0; 3]);
        give_samples(c, t);
    }
    r
}

/// `compare BASE CUR --format csv [EXTRA]`: the verdict and reason of churn × system's
/// `net_loop_ns_per_op`, and the exit code.
fn churn_system(base: &Path, cur: &Path, extra: &[&str]) -> (String, String, Option<i32>) {
    let out = common::compare(base, cur)
        .args(["--format", "csv"])
        .args(extra)
        .output()
        .unwrap();
    let mut rd = csv::Reader::from_reader(&out.stdout[..]);
    let header = rd.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rd
        .records()
        .map(Result::unwrap)
        .find(|r| {
            r[col("workload")] == *"churn"
                && r[col("allocator")] == *"system"
                && r[col("metric")] == *"net_loop_ns_per_op"
        })
        .expect("the row");
    (
        row[col("verdict")].to_string(),
        row[col("reason")].to_string(),
        out.status.code(),
    )
}

/// The scale of a current run: churn × system's time `by` times the baseline's, every other
/// cell's 0.1 % more (tested, far from significant).
fn churn_system_times(by: f64) -> impl Fn(&str, &str) -> f64 {
    move |w, a| {
        if (w, a) == ("churn", "system") {
            by
        } else {
            1.001
        }
    }
}

#[test]
fn a_marginal_change_among_still_rows_is_not_significant_in_the_family() {
    let tmp = tempdir("compare-family");
    let b = save(&tmp, "base", &sampled(run("base", 8, steady), |_, _| 1.0));
    // churn × system 6 % slower with the same spread: Welch p ≈ 0.03 alone.
    let c = save(
        &tmp,
        "cur",
        &sampled(run("cur", 8, steady), churn_system_times(1.06)),
    );
    let (verdict, reason, code) = churn_system(&b, &c, &["--correction", "none"]);
    assert_eq!((verdict.as_str(), code), ("regressed", Some(1)), "{reason}");
    let (verdict, reason, code) = churn_system(&b, &c, &[]);
    assert_eq!(
        (verdict.as_str(), code),
        ("not significant", Some(0)),
        "{reason}"
    );
    assert!(
        reason.contains("rows tested together (false-discovery rate held at 0.05)"),
        "{reason}"
    );
    // The report says how many rows were judged together and how many changes it took back.
    let md = common::compare(&b, &c).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("timing and counter rows tested are judged as one family"),
        "{md}"
    );
    assert!(
        md.contains("change(s) significant at α alone are not significant in the family"),
        "{md}"
    );

    // 25 % slower: a change under either rule.
    let clear = churn_system_times(1.25);
    let c = save(&tmp, "cur-clear", &sampled(run("cur", 8, steady), clear));
    for extra in [&[][..], &["--correction", "none"]] {
        let (verdict, reason, code) = churn_system(&b, &c, extra);
        assert_eq!(
            (verdict.as_str(), code),
            ("regressed", Some(1)),
            "{extra:?}: {reason}"
        );
    }
}
