//! The stand-in study of README.md ("Synthetic stand-ins"): for every shipped trace, fit a
//! stand-in (`gen --like`), score it with the realism report, replay both with `pybench run`
//! and compare the allocator rankings they give (Kendall's tau-b, by throughput and by peak
//! RSS).
//!
//!   cargo build --release && cargo run --release --example realism_study -- [REPS] [SEED]
//!
//! Writes its traces and results under `target/realism-study/`; prints a Markdown table.

use pybench::compare::load;
use pybench::report::model::RunResults;
use pybench::stats::{kendall_tau_b, median};
use pybench::trace::source::shipped;
use pybench::workload::likeness::{load_profile, write_stand_in};
use pybench::workload::realism::{compare, FIGURES};
use pybench::workload::Overrides;
use std::path::PathBuf;
use std::process::Command;

const ALLOCATORS: [&str; 4] = ["pymalloc", "system", "jemalloc", "mimalloc"];

/// Median over repetitions of `metric` for each allocator, in `ALLOCATORS` order (pymalloc
/// is reported under its engine preset's name, hence the prefix match).
fn medians(r: &RunResults, workload: &str, metric: &str) -> Vec<f64> {
    ALLOCATORS
        .iter()
        .map(|a| {
            let v: Vec<f64> = r
                .cells
                .iter()
                .filter(|c| c.workload == workload && c.is_ok())
                .filter(|c| c.allocator == *a || c.allocator.starts_with(&format!("{a}:")))
                .filter_map(|c| c.metric(metric, None))
                .collect();
            median(&v).unwrap_or(f64::NAN)
        })
        .collect()
}

/// Allocators best first (highest value first when `higher_is_better`).
fn ranking(values: &[f64], higher_is_better: bool) -> String {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    if higher_is_better {
        idx.reverse();
    }
    idx.iter()
        .map(|&i| ALLOCATORS[i])
        .collect::<Vec<_>>()
        .join(" > ")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let reps: u32 = args.get(1).map_or(Ok(5), |s| s.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("pybench"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build the binary first: cargo build --release"))?;
    let out = PathBuf::from("target/realism-study");
    std::fs::create_dir_all(&out)?;
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "reps {reps}, seed {seed}, load average at start: {}",
        load_avg.trim()
    );
    println!("\n| trace | stand-in score | ranking by ops/s: trace / stand-in | tau | ranking by peak RSS: trace / stand-in | tau |");
    println!("|---|---|---|---|---|---|");
    for (name, _) in shipped() {
        let like = out.join(format!("like_{name}.pbt"));
        write_stand_in(&format!("trace:{name}"), &like, seed)?;
        let (_, real) = load_profile(&format!("trace:{name}"), Overrides::default())?;
        let (_, synth) = load_profile(&like.display().to_string(), Overrides::default())?;
        let score = compare(&synth, &real, &name, &FIGURES).score;
        let json = out.join(format!("{name}.json"));
        let status = Command::new(&bin)
            .args(["run", "-q", "--no-plots", "-a", &ALLOCATORS.join(",")])
            .args(["-r", &reps.to_string(), "--out"])
            .arg(out.join("results"))
            .arg("-w")
            .arg(format!("trace:{name},{}", like.display()))
            .arg("--json")
            .arg(&json)
            .status()?;
        anyhow::ensure!(status.success(), "pybench run failed on {name}");
        let r = load(&json)?;
        let wl = format!("trace:like_{name}");
        let (t_real, t_like) = (
            medians(&r, &format!("trace:{name}"), "ops_per_sec"),
            medians(&r, &wl, "ops_per_sec"),
        );
        let (m_real, m_like) = (
            medians(&r, &format!("trace:{name}"), "peak_rss_bytes"),
            medians(&r, &wl, "peak_rss_bytes"),
        );
        let tau = |a: &[f64], b: &[f64]| {
            kendall_tau_b(a, b).map_or("n/a".to_string(), |t| format!("{t:.2}"))
        };
        println!(
            "| {name} | {score:.3} | {} / {} | {} | {} / {} | {} |",
            ranking(&t_real, true),
            ranking(&t_like, true),
            tau(&t_real, &t_like),
            ranking(&m_real, false),
            ranking(&m_like, false),
            tau(&m_real, &m_like),
        );
    }
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average at end: {}", load_avg.trim());
    Ok(())
}
