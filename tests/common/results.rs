//! Result files built with the crate's own model types, for the CLI tests of `compare` and
//! `plot`: cells, whole runs, per-pass samples.

use pybench::report::model::{
    AllocatorInfo, CellKind, CellResult, CellStatus, Metric, RunParameters, RunResults,
    ThroughputSamples, FORMAT_VERSION,
};
use std::path::{Path, PathBuf};

/// Per-repetition throughput jitter: ±1 %, different for every repetition.
pub const JITTER: [f64; 5] = [1.0, 1.01, 0.99, 1.005, 0.995];

/// One cell: throughput `ops` (times the repetition's jitter), a latency, memory and engine
/// figures.
pub fn cell(workload: &str, allocator: &str, rep: u32, ops: f64, pools: f64) -> CellResult {
    let j = JITTER[rep as usize % JITTER.len()];
    let mut metrics = vec![
        Metric::new("ops_per_sec", ops * j, "ops/s"),
        Metric::new("loop_ns_per_op", 1e9 / (ops * j), "ns"),
        Metric::new("peak_live_bytes", 1_000_000.0, "B"),
        Metric::new("peak_rss_bytes", 1_200_000.0, "B"),
        Metric::new("frag_ratio", 1.2, "ratio"),
        Metric::new("timer_overhead_ns", 10.0, "ns"),
        Metric::with_op("lat_p50", "all", 30.0, "ns"),
        Metric::with_op("timed_ops", "all", 100_000.0, "count"),
        Metric::new("minor_faults", 300.0, "count"),
    ];
    if allocator.starts_with("pymalloc") {
        metrics.push(Metric::new("pools_used", pools, "count"));
        metrics.push(Metric::with_op("class_pools", "32", pools, "count"));
    }
    CellResult {
        workload: workload.to_string(),
        allocator: allocator.to_string(),
        repetition: rep,
        kind: CellKind::Replay,
        status: CellStatus::Ok,
        events: 1000,
        stream_fingerprint: None,
        metrics,
        rss_series: vec![(0, 0), (500, 600_000), (1000, 1_200_000)],
        latency_curves: [(
            "all".to_string(),
            vec![
                (0.0, 5.0),
                (50.0, 30.0),
                (90.0, 40.0),
                (99.0, 80.0),
                (99.9, 300.0),
                (99.99, 900.0),
                (100.0, 5000.0),
            ],
        )]
        .into_iter()
        .collect(),
        absent_counters: Vec::new(),
        notes: Vec::new(),
        throughput: None,
    }
}

pub const ALLOCATORS: [&str; 2] = ["pymalloc:cpython-3.11", "system"];

/// A run of `dicts` and `churn` × both allocators × `reps`, with `ops(workload, allocator,
/// rep)` as throughput.
pub fn run(name: &str, reps: u32, ops: impl Fn(&str, &str, u32) -> f64) -> RunResults {
    let mut cells = Vec::new();
    for rep in 0..reps {
        for w in ["dicts", "churn"] {
            for a in ALLOCATORS {
                cells.push(cell(w, a, rep, ops(w, a, rep), 13.0));
            }
        }
    }
    RunResults {
        format_version: FORMAT_VERSION,
        pybench_version: "0.1.0".to_string(),
        git_commit: None,
        run: name.to_string(),
        started_utc: "20260101T000000Z".to_string(),
        command_line: vec!["pybench".to_string(), "run".to_string()],
        machine: Default::default(),
        parameters: RunParameters {
            workloads: vec!["dicts".to_string(), "churn".to_string()],
            allocators: ALLOCATORS.iter().map(|a| a.to_string()).collect(),
            repetitions: reps,
            scale: Some(100_000),
            seed: None,
            python: None,
            touch: "header".to_string(),
            sample_every: 1,
            calibration: None,
            reference: None,
            precision: None,
            stream: None,
            memory_repetitions: None,
            mutator: None,
            pymalloc_presets: Default::default(),
        },
        allocators: ALLOCATORS
            .iter()
            .map(|a| AllocatorInfo {
                name: a.to_string(),
                version: "test".to_string(),
            })
            .collect(),
        cells,
        interrupted: false,
        validation: None,
        shard_starts_utc: Vec::new(),
    }
}

/// Per-pass throughput samples of process `rep` of `workload`: `gross` and `null` ns/event,
/// one a pass, the other fields as a default calibration gives them.
pub fn throughput_samples(
    workload: &str,
    rep: u32,
    gross: Vec<f64>,
    null: Vec<f64>,
) -> ThroughputSamples {
    ThroughputSamples {
        group: format!("{workload}/rep{rep}/g0"),
        min_time_ns: 10_000_000,
        passes_per_sample: 1,
        cold_ns_per_op: 20.0,
        ns_per_op: gross,
        null_ns_per_op: null,
        warm_faults_per_pass: None,
        arenas_outside_span: 0,
        streamed: None,
        cold_primed_bytes: None,
    }
}

/// Gives cell `c` the per-pass samples `t`, its throughput metrics recomputed from them as
/// the harness does.
pub fn give_samples(c: &mut CellResult, t: ThroughputSamples) {
    use pybench::metrics::Id;
    let ids = [Id::OpsPerSec, Id::LoopNsPerOp];
    c.metrics
        .retain(|m| !ids.iter().any(|id| id.name() == m.name));
    pybench::harness::paired::push_throughput_metrics(&mut c.metrics, &t);
    c.throughput = Some(t);
}

/// Writes `results` as `dir/<name>/results.json` and returns the directory.
pub fn save(dir: &Path, name: &str, results: &RunResults) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("results.json"),
        serde_json::to_string_pretty(results).unwrap(),
    )
    .unwrap();
    d
}
