//! `pybench validate`: put the replay's verdict next to the real program's. Given a run's
//! cells — replay cells of the program's recorded trace and exec cells of the program itself —
//! it pairs each allocator's figures, ranks allocators on each side by time and by peak RSS,
//! measures rank agreement with Kendall's tau-b, and spells out every pair the two sides order
//! differently.

use crate::metrics::Id;
use crate::report::model::{CellKind, RunResults, Validation, ValidationRow};
use crate::stats::{kendall_tau_b, median, ranks};

/// What each exec allocator was replayed with (`None`: no in-process equivalent).
pub type Pairing = Vec<(String, Option<String>)>;

fn median_of(results: &RunResults, kind: CellKind, allocator: &str, metric: Id) -> Option<f64> {
    let values: Vec<f64> = results
        .cells
        .iter()
        .filter(|c| c.kind == kind && c.allocator == allocator && c.is_ok())
        .filter_map(|c| c.metric(metric, None))
        .collect();
    median(&values)
}

/// Builds the validation from a run holding both kinds of cells.
pub fn validate(results: &RunResults, program: &str, trace: &str, pairing: &Pairing) -> Validation {
    let mut rows: Vec<ValidationRow> = pairing
        .iter()
        .map(|(name, replay)| {
            let replay_time_s = replay.as_ref().and_then(|r| {
                // The whole trace's allocator time in the untimed pass: events ÷ throughput.
                let ops = median_of(results, CellKind::Replay, r, Id::OpsPerSec)?;
                let events = results
                    .cells
                    .iter()
                    .find(|c| c.kind == CellKind::Replay && c.allocator == *r && c.is_ok())?
                    .events as f64;
                Some(events / ops)
            });
            ValidationRow {
                allocator: name.clone(),
                replay_allocator: replay.clone(),
                replay_time_s,
                real_wall_s: median_of(results, CellKind::Exec, name, Id::WallNs)
                    .map(|ns| ns / 1e9),
                replay_peak_rss: replay
                    .as_ref()
                    .and_then(|r| median_of(results, CellKind::Replay, r, Id::PeakRssBytes)),
                real_peak_rss: median_of(results, CellKind::Exec, name, Id::PeakRssBytes),
                replay_time_rank: None,
                real_time_rank: None,
                replay_memory_rank: None,
                real_memory_rank: None,
                predicted_delta_s: None,
                observed_delta_s: None,
            }
        })
        .collect();

    // Rank only the allocators measured on both sides, so the rankings are comparable.
    let both: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            let r = &rows[i];
            r.replay_time_s.is_some()
                && r.real_wall_s.is_some()
                && r.replay_peak_rss.is_some()
                && r.real_peak_rss.is_some()
        })
        .collect();
    let column = |f: &dyn Fn(&ValidationRow) -> Option<f64>| -> Vec<f64> {
        both.iter()
            .map(|&i| f(&rows[i]).unwrap_or(f64::NAN))
            .collect()
    };
    let replay_time = column(&|r| r.replay_time_s);
    let real_time = column(&|r| r.real_wall_s);
    let replay_mem = column(&|r| r.replay_peak_rss);
    let real_mem = column(&|r| r.real_peak_rss);
    let (rt, wt, rm, wm) = (
        ranks(&replay_time),
        ranks(&real_time),
        ranks(&replay_mem),
        ranks(&real_mem),
    );
    for (k, &i) in both.iter().enumerate() {
        rows[i].replay_time_rank = Some(rt[k]);
        rows[i].real_time_rank = Some(wt[k]);
        rows[i].replay_memory_rank = Some(rm[k]);
        rows[i].real_memory_rank = Some(wm[k]);
    }

    // Differences against pymalloc, the interpreter as shipped.
    if let Some(base) = rows.iter().find(|r| r.allocator == "pymalloc").cloned() {
        for r in &mut rows {
            r.predicted_delta_s = r.replay_time_s.zip(base.replay_time_s).map(|(a, b)| a - b);
            r.observed_delta_s = r.real_wall_s.zip(base.real_wall_s).map(|(a, b)| a - b);
        }
    }

    let names: Vec<&str> = both.iter().map(|&i| rows[i].allocator.as_str()).collect();
    let mut disagreements = Vec::new();
    disagree(
        &mut disagreements,
        "time",
        "faster",
        &names,
        &replay_time,
        &real_time,
        |v| format!("{v:.3} s"),
    );
    disagree(
        &mut disagreements,
        "memory",
        "leaner",
        &names,
        &replay_mem,
        &real_mem,
        |v| crate::report::summary::human(v, true),
    );
    Validation {
        program: program.to_string(),
        trace: trace.to_string(),
        tau_time: kendall_tau_b(&replay_time, &real_time),
        tau_memory: kendall_tau_b(&replay_mem, &real_mem),
        rows,
        disagreements,
    }
}

/// One sentence per pair of allocators ordered one way by the replay and the other way by the
/// real run.
fn disagree(
    out: &mut Vec<String>,
    what: &str,
    better: &str,
    names: &[&str],
    replay: &[f64],
    real: &[f64],
    show: impl Fn(f64) -> String,
) {
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            let (a, b) = (replay[i].total_cmp(&replay[j]), real[i].total_cmp(&real[j]));
            if a == b || a.is_eq() || b.is_eq() {
                continue;
            }
            let (win, lose) = if a.is_lt() { (i, j) } else { (j, i) };
            out.push(format!(
                "{what}: the replay finds {} {better} than {} ({} vs {}), the real run the opposite ({} vs {})",
                names[win],
                names[lose],
                show(replay[win]),
                show(replay[lose]),
                show(real[win]),
                show(real[lose]),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{CellResult, Metric};

    fn cell(kind: CellKind, allocator: &str, metrics: &[(&str, f64)], events: u64) -> CellResult {
        let mut c = CellResult::new("p", allocator, 0, kind);
        c.events = events;
        c.metrics = metrics
            .iter()
            .map(|(n, v)| Metric::new(n, *v, ""))
            .collect();
        c
    }

    fn results(cells: Vec<CellResult>) -> RunResults {
        let mut r: RunResults = serde_json::from_value(serde_json::json!({
            "format_version": 1, "pybench_version": "t", "git_commit": null, "run": "r",
            "started_utc": "", "command_line": [], "machine": {"cpu_model": null, "cores": 1,
            "kernel": null, "transparent_hugepages": null, "cpu_governor": null, "libc": null},
            "parameters": {"workloads": [], "allocators": [], "repetitions": 1, "scale": null,
            "seed": null, "python": null, "touch": "header", "sample_every": 1},
            "allocators": [], "cells": []
        }))
        .unwrap();
        r.cells = cells;
        r
    }

    #[test]
    fn agreement_and_disagreement_are_computed_from_both_sides() {
        use CellKind::{Exec, Replay};
        // Replay: engine 1 s, system 2 s, jemalloc 1.5 s (events / ops_per_sec).
        // Real: pymalloc 10 s, system 12 s, jemalloc 9 s — jemalloc and pymalloc swap.
        let r = results(vec![
            cell(
                Replay,
                "pymalloc:cpython-3.11",
                &[("ops_per_sec", 1000.0), ("peak_rss_bytes", 100.0)],
                1000,
            ),
            cell(
                Replay,
                "system",
                &[("ops_per_sec", 500.0), ("peak_rss_bytes", 200.0)],
                1000,
            ),
            cell(
                Replay,
                "jemalloc",
                &[("ops_per_sec", 1000.0 / 1.5), ("peak_rss_bytes", 300.0)],
                1000,
            ),
            cell(
                Exec,
                "pymalloc",
                &[("wall_ns", 10e9), ("peak_rss_bytes", 1000.0)],
                0,
            ),
            cell(
                Exec,
                "system",
                &[("wall_ns", 12e9), ("peak_rss_bytes", 2000.0)],
                0,
            ),
            cell(
                Exec,
                "jemalloc",
                &[("wall_ns", 9e9), ("peak_rss_bytes", 3000.0)],
                0,
            ),
            cell(
                Exec,
                "tcmalloc",
                &[("wall_ns", 11e9), ("peak_rss_bytes", 1500.0)],
                0,
            ),
        ]);
        let pairing: Pairing = vec![
            ("pymalloc".into(), Some("pymalloc:cpython-3.11".into())),
            ("system".into(), Some("system".into())),
            ("jemalloc".into(), Some("jemalloc".into())),
            ("tcmalloc".into(), None),
        ];
        let v = validate(&r, "p", "t", &pairing);
        // Time: replay order pymalloc < jemalloc < system; real jemalloc < pymalloc < system.
        // Pairs: (py, sys) agree, (py, je) disagree, (sys, je) agree → (2 − 1) / 3.
        assert!((v.tau_time.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(v.tau_memory, Some(1.0));
        assert_eq!(v.disagreements.len(), 1, "{:?}", v.disagreements);
        assert!(
            v.disagreements[0].starts_with("time: the replay finds pymalloc faster than jemalloc")
        );
        let je = &v.rows[2];
        assert!((je.predicted_delta_s.unwrap() - 0.5).abs() < 1e-9);
        assert!((je.observed_delta_s.unwrap() + 1.0).abs() < 1e-9);
        let tc = &v.rows[3];
        assert_eq!(
            (tc.replay_time_s, tc.real_time_rank),
            (None, None),
            "one-sided rows are not ranked"
        );
        assert_eq!(tc.real_wall_s, Some(11.0));
    }
}
