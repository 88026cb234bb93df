//! CLI tests for sharded runs: `run --shard K/N` and `merge` (issue 15 item 4). One small
//! grid (3 workloads × 2 repetitions × null + 2 allocators, tiny scale, 2 rounds of 1 ms) is
//! run unsharded and as 4 shards once per test binary; each test checks one property of it. Merge's refusals are in `cli_shard_refusals`,
//! on the same grid.

use crate::common;

use crate::common::{pybench, tempdir};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(super) const GRID: [&str; 14] = [
    "run",
    "-w",
    "churn,dicts,tuples",
    "-a",
    "pymalloc,system",
    "-r",
    "2",
    "--scale",
    "20000",
    "--rounds",
    "2",
    "--min-time",
    "0.001",
    "--no-plots",
];
pub(super) const N: usize = 4;

pub(super) struct Grid {
    /// Never dropped (a static): removed at exit instead ([`grid`]).
    pub(super) root: common::TempDir,
    pub(super) unsharded: PathBuf,
    /// Shard k's folder at index k − 1.
    pub(super) shards: Vec<PathBuf>,
}

/// The single run folder `pybench run GRID… EXTRA… --out root/name` created.
fn run_into(root: &Path, name: &str, extra: &[&str]) -> PathBuf {
    run_with(root, name, GRID.to_vec(), extra)
}

/// The same with the grid's arguments as given (one of them changed).
pub(super) fn run_with(root: &Path, name: &str, grid: Vec<&str>, extra: &[&str]) -> PathBuf {
    let out = root.join(name);
    pybench()
        .args(grid)
        .args(["-q", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    common::run_dir(&out)
}

pub(super) fn grid() -> &'static Grid {
    static GRID_RUNS: OnceLock<Grid> = OnceLock::new();
    GRID_RUNS.get_or_init(|| {
        let root = tempdir("shard-grid");
        let unsharded = run_into(&root, "whole", &[]);
        let shards = (1..=N)
            .map(|k| run_into(&root, &format!("s{k}"), &["--shard", &format!("{k}/{N}")]))
            .collect();
        // A static is never dropped: remove the grid's folder when the test process exits.
        extern "C" fn remove_grid() {
            if let Some(g) = GRID_RUNS.get() {
                let _ = std::fs::remove_dir_all(&*g.root);
            }
        }
        // SAFETY: registering a plain function with no arguments; it only touches the file
        // system through std.
        unsafe { libc::atexit(remove_grid) };
        Grid {
            root,
            unsharded,
            shards,
        }
    })
}

pub(super) fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (workload, allocator, repetition) of every cell, in file order.
pub(super) fn cells(dir: &Path) -> Vec<(String, String, u64)> {
    json(&dir.join("results.json"))["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["workload"].as_str().unwrap().to_string(),
                c["allocator"].as_str().unwrap().to_string(),
                c["repetition"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// Runs `pybench merge ARGS… -o out --no-plots` expecting exit 2 with one line on stderr;
/// returns that line.
pub(super) fn refused(shards: &[&Path], out: &Path, extra: &[&str]) -> String {
    let a = pybench()
        .arg("merge")
        .args(shards)
        .arg("-o")
        .arg(out)
        .args(["--no-plots"])
        .args(extra)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!out.join("results.json").exists(), "nothing merged");
    err
}

pub(super) fn merge_ok(shards: &[&Path], out: &Path, extra: &[&str]) {
    pybench()
        .arg("merge")
        .args(shards)
        .arg("-o")
        .arg(out)
        .args(["-q"])
        .args(extra)
        .assert()
        .success();
}

pub(super) fn shard_paths(g: &Grid) -> Vec<&Path> {
    g.shards.iter().map(PathBuf::as_path).collect()
}

#[test]
fn bad_shard_specs_are_one_line_errors_and_nothing_is_measured() {
    let tmp = tempdir("shard-bad");
    for spec in ["3/2", "0/4", "a/b", "1/0", "2", "1/-3", ""] {
        let out = tmp.join("never");
        let a = pybench()
            .args([
                "run", "-w", "churn", "--scale", "1000", "--shard", spec, "--out",
            ])
            .arg(&out)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{spec}: {err}");
        assert!(err.contains("--shard"), "{spec}: {err}");
        assert!(!out.exists(), "{spec}: no results folder");
    }
}

#[test]
fn split_then_merge_has_exactly_the_unsharded_cells_once_each() {
    let g = grid();
    let out = g.root.join("merged-all");
    // Given in scrambled order: the merge restores the run's order.
    let mut given = shard_paths(g);
    given.reverse();
    merge_ok(&given, &out, &["--no-plots"]);
    let whole = cells(&g.unsharded);
    let merged = cells(&out);
    assert_eq!(whole.len(), 3 * 2 * 3, "3 workloads × 2 reps × (null + 2)");
    assert_eq!(merged, whole, "same cells, same order");
    let mut unique = merged.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), merged.len(), "each cell once");
    // Every shard contributed, and no two shards share a cell.
    let per_shard: Vec<_> = g.shards.iter().map(|d| cells(d)).collect();
    assert!(per_shard.iter().all(|c| !c.is_empty()));
    assert_eq!(per_shard.iter().map(Vec::len).sum::<usize>(), whole.len());
    // Each shard's manifest is kept.
    for k in 1..=N {
        let rec = json(&out.join(format!("shards/shard-{k}-of-{N}.json")));
        assert_eq!(rec["shard"]["shards"][0].as_u64(), Some(k as u64));
        assert_eq!(
            rec["cells"].as_array().unwrap().len(),
            per_shard[k - 1].len()
        );
    }
    let results = json(&out.join("results.json"));
    assert!(!results["interrupted"].as_bool().unwrap());
    // Each shard's start, ascending, so compare can tell runs interleaved in time from runs
    // made apart; the merged run starts with the first.
    let mut starts: Vec<String> = (g.shards.iter())
        .map(|d| {
            json(&d.join("results.json"))["started_utc"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    starts.sort();
    let merged_starts: Vec<&str> = (results["shard_starts_utc"].as_array().unwrap().iter())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(merged_starts, starts);
    assert_eq!(results["started_utc"].as_str(), Some(starts[0].as_str()));
    // The shards' --out folders (each holding its one run folder) merge the same.
    let outs: Vec<&Path> = g.shards.iter().map(|d| d.parent().unwrap()).collect();
    let again = g.root.join("merged-outs");
    merge_ok(&outs, &again, &["--no-plots"]);
    assert_eq!(cells(&again), whole);
}

#[test]
fn a_group_is_never_split_and_the_same_shard_gets_the_same_cells() {
    let g = grid();
    for d in &g.shards {
        let c = cells(d);
        for (w, _, rep) in &c {
            let group: Vec<_> = c
                .iter()
                .filter(|(w2, _, r2)| w2 == w && r2 == rep)
                .collect();
            assert_eq!(
                group.len(),
                3,
                "null + 2 allocators of {w} rep {rep} together"
            );
        }
    }
    let again = run_into(&g.root, "s2-again", &["--shard", "2/4"]);
    assert_eq!(cells(&again), cells(&g.shards[1]));
    assert_eq!(
        json(&again.join("shard.json"))["units"],
        json(&g.shards[1].join("shard.json"))["units"]
    );
}

#[test]
fn shards_of_an_even_grid_differ_by_at_most_one_group() {
    // 6 groups of equal estimated cost over 4 shards: 2, 2, 1, 1.
    let g = grid();
    let counts: Vec<usize> = g
        .shards
        .iter()
        .map(|d| {
            let mut groups: Vec<_> = cells(d).into_iter().map(|(w, _, r)| (w, r)).collect();
            groups.dedup();
            groups.len()
        })
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 6);
    let (max, min) = (counts.iter().max().unwrap(), counts.iter().min().unwrap());
    assert!(max - min <= 1, "{counts:?}");
    // The stated tolerance on estimated cost: loads differ by at most the largest group.
    let units = json(&g.shards[0].join("shard.json"))["units"].clone();
    let mut loads = [0u64; N];
    let mut largest = 0;
    for u in units.as_array().unwrap() {
        let cost = u["cost"].as_u64().unwrap();
        loads[u["shard"].as_u64().unwrap() as usize - 1] += cost;
        largest = largest.max(cost);
    }
    assert!(loads.iter().max().unwrap() - loads.iter().min().unwrap() <= largest);
}

#[test]
fn a_shard_left_without_groups_still_merges() {
    // One group, two shards: shard 2 measures nothing, but its manifest must match shard 1's.
    let tmp = tempdir("shard-empty");
    let one = |name: &str, extra: &[&str]| {
        let out = tmp.join(name);
        pybench()
            .args([
                "run", "-w", "churn", "-a", "system", "-r", "1", "--scale", "20000",
            ])
            .args([
                "--rounds",
                "2",
                "--min-time",
                "0.001",
                "--no-plots",
                "-q",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    };
    let whole = one("whole", &[]);
    let s1 = one("s1", &["--shard", "1/2"]);
    let s2 = one("s2", &["--shard", "2/2"]);
    assert!(cells(&s2).is_empty());
    let out = tmp.join("merged");
    merge_ok(&[&s2, &s1], &out, &["--no-plots"]);
    assert_eq!(cells(&out), cells(&whole));
    assert_eq!(
        json(&out.join("results.json"))["parameters"],
        json(&whole.join("results.json"))["parameters"]
    );
}

#[test]
fn a_merged_run_loads_in_compare_plot_and_the_csv() {
    let g = grid();
    let tmp = tempdir("shard-load");
    let out = tmp.join("merged");
    merge_ok(&shard_paths(g), &out, &["--no-plots"]);
    // Against itself: nothing can differ.
    common::compare(&out, &out).assert().code(0);
    // Against the unsharded run: same parameters, so comparable (0 or 1 by noise, never 2).
    let a = common::compare(&g.unsharded, &out).assert();
    let code = a.get_output().status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{code:?}: {:?}",
        a.get_output()
    );
    let report = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    for w in ["churn", "dicts", "tuples"] {
        assert!(report.contains(w), "{w} compared");
    }
    pybench().arg("plot").arg(&out).arg("-q").assert().success();
    assert!(out.join("index.html").is_file());
    // The CSV has the same cells as the unsharded run's, with the merged run's name.
    let mut rows = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let mut keys: Vec<(String, String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[0], "merged");
            (r[1].to_string(), r[2].to_string(), r[3].to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut whole: Vec<_> = cells(&g.unsharded)
        .into_iter()
        .map(|(w, a, r)| (w, a, r.to_string()))
        .collect();
    whole.sort();
    assert_eq!(keys, whole);
}

/// A shard of a run with -r 2 holds one throughput process per workload: its note says so
/// instead of the single-process advice to use -r 2, which the run already did.
#[test]
fn a_shard_is_not_told_to_raise_repetitions_it_already_has() {
    let tmp = tempdir("shard-note");
    let out = pybench()
        .args(["run", "-w", "churn", "-a", "pymalloc,system", "-r", "2"])
        .args(["--shard", "1/2"])
        .args(["--scale", "20000", "--rounds", "2", "--min-time", "0.001"])
        .args(["--no-plots", "--out"])
        .arg(tmp.join("out"))
        .assert()
        .success();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(!err.contains("use -r 2 or more"), "{err}");
    assert!(
        err.contains("of the 2 the run asked for (a shard's share"),
        "{err}"
    );
}
