//! `compare` on latency percentiles net of the timer (`lat_*_net`): the same rules as the
//! raw percentiles — a change within one timer tick is unchanged, a percentile with too few
//! timed ops above it is not judged. Until 2026-12-07 the `_net` rows skipped both (their
//! names were not read as percentiles), so a one-tick shift of `lat_p99_net` regressed and
//! failed the gate while the raw `lat_p99` beside it, moved as much, was unchanged.

use crate::common::{self, run, save, tempdir};
use pybench::report::model::Metric;

fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// A run whose every cell has `lat_p99` and `lat_p99_net` raised by `shift` ns (one timing
/// costs 10 ns), with `timed` ops behind the percentiles.
fn with_latency(tmp: &std::path::Path, name: &str, shift: f64, timed: f64) -> std::path::PathBuf {
    let mut r = run(name, 3, steady);
    for c in &mut r.cells {
        c.metrics
            .retain(|m| !m.name.starts_with("lat_") && m.name != "timed_ops");
        c.metrics.retain(|m| m.name != "timer_overhead_ns");
        c.metrics
            .push(Metric::with_op("lat_p99", "all", 40.0 + shift, "ns"));
        c.metrics
            .push(Metric::with_op("lat_p99_net", "all", 30.0 + shift, "ns"));
        c.metrics
            .push(Metric::with_op("timed_ops", "all", timed, "count"));
        c.metrics.push(Metric::new("timer_overhead_ns", 10.0, "ns"));
    }
    save(tmp, name, &r)
}

#[test]
fn net_percentiles_follow_the_tick_and_thin_tail_rules_of_the_raw_ones() {
    let tmp = tempdir("compare-lat-net");
    let columns = ["metric", "verdict", "reason"];
    let verdicts = |b: &std::path::Path, c: &std::path::Path| {
        let (rows, _) = common::compare_csv(b, c, &["--all-rows"], 0, columns);
        let of = |m: &str| -> Vec<(String, String)> {
            rows.iter()
                .filter(|r| r[0] == m)
                .map(|r| (r[1].clone(), r[2].clone()))
                .collect()
        };
        (of("lat_p99"), of("lat_p99_net"))
    };
    // One tick up in every repetition of every cell: unchanged, both rows alike.
    let base = with_latency(&tmp, "base", 0.0, 100_000.0);
    let tick = with_latency(&tmp, "tick", 10.0, 100_000.0);
    let (raw, net) = verdicts(&base, &tick);
    assert!(!raw.is_empty() && raw.len() == net.len(), "{raw:?} {net:?}");
    for (v, why) in raw.iter().chain(&net) {
        assert_eq!(
            (v.as_str(), why.as_str()),
            ("unchanged", "within one timer tick")
        );
    }
    // Few timed ops above the 99th percentile: neither row is judged.
    let thin_b = with_latency(&tmp, "thin-b", 0.0, 500.0);
    let thin_c = with_latency(&tmp, "thin-c", 100.0, 500.0);
    let (raw, net) = verdicts(&thin_b, &thin_c);
    for (v, why) in raw.iter().chain(&net) {
        assert_eq!(v, "not significant");
        assert!(why.contains("timed op(s) above this percentile"), "{why}");
    }
}
