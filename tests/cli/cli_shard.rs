//! CLI tests for sharded runs: `run --shard K/N` and `merge` (issue 15 item 4). One small
//! grid (3 workloads × 2 repetitions × null + 2 allocators, tiny scale, 2 rounds of 1 ms) is
//! run unsharded and as 4 shards once per test binary; each test checks one property of it.

use crate::common;

use crate::common::{pybench, tempdir};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const GRID: [&str; 14] = [
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
const N: usize = 4;

struct Grid {
    /// Never dropped (a static): removed at exit instead ([`grid`]).
    root: common::TempDir,
    unsharded: PathBuf,
    /// Shard k's folder at index k − 1.
    shards: Vec<PathBuf>,
}

/// The single run folder `pybench run GRID… EXTRA… --out root/name` created.
fn run_into(root: &Path, name: &str, extra: &[&str]) -> PathBuf {
    run_with(root, name, GRID.to_vec(), extra)
}

/// The same with the grid's arguments as given (one of them changed).
fn run_with(root: &Path, name: &str, grid: Vec<&str>, extra: &[&str]) -> PathBuf {
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

fn grid() -> &'static Grid {
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

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (workload, allocator, repetition) of every cell, in file order.
fn cells(dir: &Path) -> Vec<(String, String, u64)> {
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

fn copy_dir(from: &Path, to: &Path) {
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
fn refused(shards: &[&Path], out: &Path, extra: &[&str]) -> String {
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

fn merge_ok(shards: &[&Path], out: &Path, extra: &[&str]) {
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

fn shard_paths(g: &Grid) -> Vec<&Path> {
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
    assert!(!json(&out.join("results.json"))["interrupted"]
        .as_bool()
        .unwrap());
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
fn merge_refuses_shards_measured_with_other_parameters() {
    let g = grid();
    let tmp = tempdir("shard-params");
    let other_rounds: Vec<&str> = GRID
        .iter()
        .zip(std::iter::once(&"").chain(GRID.iter()))
        .map(|(a, prev)| if *prev == "--rounds" { "3" } else { a })
        .collect();
    let seeded: Vec<&str> = GRID.iter().copied().chain(["--seed", "7"]).collect();
    let referred: Vec<&str> = GRID
        .iter()
        .copied()
        .chain(["--reference", "system"])
        .collect();
    for (grid, field) in [
        (seeded, "seed"),
        (other_rounds, "rounds"),
        (referred, "reference"),
    ] {
        let odd = run_with(&tmp, field, grid, &["--shard", "4/4"]);
        let mut given = shard_paths(g)[..3].to_vec();
        given.push(&odd);
        let err = refused(&given, &tmp.join(format!("m-{field}")), &[]);
        assert!(err.contains(field), "{err}");
    }
}

#[test]
fn merge_refuses_shards_from_another_kind_of_machine() {
    let g = grid();
    let tmp = tempdir("shard-machine");
    for (field, value) in [
        ("cpu_model", serde_json::json!("Some Other CPU @ 1.00GHz")),
        ("cores", serde_json::json!(96)),
        ("kernel", serde_json::json!("2.6.32-ancient")),
    ] {
        let other = tmp.join(field);
        copy_dir(&g.shards[3], &other);
        let mut r = json(&other.join("results.json"));
        r["machine"][field] = value;
        std::fs::write(other.join("results.json"), r.to_string()).unwrap();
        let mut given = shard_paths(g)[..3].to_vec();
        given.push(&other);
        let err = refused(&given, &tmp.join(format!("m-{field}")), &[]);
        assert!(err.contains("different kinds of machine"), "{err}");
        assert!(err.contains(field), "{err}");
    }
    // The load average is not the machine's kind: a busier shard merges.
    let busy = tmp.join("busy");
    copy_dir(&g.shards[3], &busy);
    let mut r = json(&busy.join("results.json"));
    r["machine"]["load_average"] = serde_json::json!(7.5);
    // Nor is the shared cache's state when a shard started (sys::cache_probe): it merges, and
    // the most contended shard's probe is kept, as the busiest load is.
    r["machine"]["cache_share"] = serde_json::json!({
        "llc_bytes": 33554432, "working_set_bytes": 16777216, "hit_ns": 14.0,
        "memory_ns": 170.0, "samples_ns": [120.0, 150.0, 90.0]
    });
    std::fs::write(busy.join("results.json"), r.to_string()).unwrap();
    let mut given = shard_paths(g)[..3].to_vec();
    given.push(&busy);
    let out = tmp.join("m-busy");
    merge_ok(&given, &out, &["--no-plots"]);
    let load = json(&out.join("results.json"))["machine"]["load_average"].as_f64();
    assert!(
        load >= Some(7.5),
        "the busiest shard's load is kept: {load:?}"
    );
    let cache = &json(&out.join("results.json"))["machine"]["cache_share"];
    assert_eq!(cache["samples_ns"][0], 120.0, "{cache}");
}

/// A shard whose cells replayed another stream of a workload than the other shards (a
/// trace or spec changed between them) is refused, by the fingerprints every cell records.
#[test]
fn merge_refuses_shards_that_replayed_different_streams() {
    let g = grid();
    let tmp = tempdir("shard-streams");
    let other = tmp.join("other");
    copy_dir(&g.shards[3], &other);
    let mut r = json(&other.join("results.json"));
    let workloads: Vec<String> = cells(&other).into_iter().map(|c| c.0).collect();
    let elsewhere = g.shards[..3]
        .iter()
        .flat_map(|s| cells(s))
        .any(|c| workloads.contains(&c.0));
    assert!(elsewhere, "shard 4 shares a workload with another shard");
    for c in r["cells"].as_array_mut().unwrap() {
        assert!(c["stream_fingerprint"].is_string(), "{c}");
        c["stream_fingerprint"] = serde_json::json!("0000000000000bad");
    }
    std::fs::write(other.join("results.json"), r.to_string()).unwrap();
    let mut given = shard_paths(g)[..3].to_vec();
    given.push(&other);
    let err = refused(&given, &tmp.join("m"), &[]);
    assert!(err.contains("replayed different streams of "), "{err}");
    assert!(err.contains("vs 0000000000000bad)"), "{err}");
}

#[test]
fn merge_refuses_duplicate_overlapping_and_missing_shards() {
    let g = grid();
    let tmp = tempdir("shard-dup");
    let s = shard_paths(g);
    let err = refused(&[s[0], s[1], s[1], s[2], s[3]], &tmp.join("a"), &[]);
    assert!(err.contains("shard 2/4 given twice"), "{err}");
    // A copy of a shard under another name is the same shard.
    let copy = tmp.join("copy-of-3");
    copy_dir(&g.shards[2], &copy);
    let err = refused(&[s[0], s[1], s[2], &copy, s[3]], &tmp.join("b"), &[]);
    assert!(err.contains("shard 3/4 given twice"), "{err}");
    let err = refused(&[s[0], s[1], s[3]], &tmp.join("c"), &[]);
    assert!(err.contains("shard 3/4 missing"), "{err}");
    assert!(err.contains("--partial"), "{err}");
    // A plain run is no shard, nor is a merged run.
    let err = refused(&[s[0], &g.unsharded], &tmp.join("d"), &[]);
    assert!(err.contains("not a shard"), "{err}");
    // --partial merges what there is and says the run is incomplete.
    let out = tmp.join("partial");
    merge_ok(&[s[0], s[1], s[3]], &out, &["--partial", "--no-plots"]);
    let expected: Vec<_> = cells(&g.unsharded)
        .into_iter()
        .filter(|c| !cells(&g.shards[2]).contains(c))
        .collect();
    assert_eq!(cells(&out), expected);
    assert!(json(&out.join("results.json"))["interrupted"]
        .as_bool()
        .unwrap());
}

#[test]
fn merge_refuses_an_interrupted_shard_unless_partial() {
    let g = grid();
    let tmp = tempdir("shard-int");
    let cut = tmp.join("cut");
    copy_dir(&g.shards[0], &cut);
    let mut r = json(&cut.join("results.json"));
    r["interrupted"] = serde_json::json!(true);
    std::fs::write(cut.join("results.json"), r.to_string()).unwrap();
    let mut given = vec![cut.as_path()];
    given.extend(&shard_paths(g)[1..]);
    let err = refused(&given, &tmp.join("m"), &[]);
    assert!(err.contains("interrupted"), "{err}");
    // With --partial its finished cells are merged, and the shard is named.
    let a = pybench()
        .arg("merge")
        .args(&given)
        .arg("-o")
        .arg(tmp.join("m-partial"))
        .args(["-q", "--partial", "--no-plots"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!(
            "shard 1/{N} interrupted, merged with the cells it finished"
        )),
        "{err}"
    );
    let merged = json(&tmp.join("m-partial").join("results.json"));
    assert_eq!(merged["interrupted"], true);
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
fn merge_never_writes_into_an_existing_folder() {
    let g = grid();
    let tmp = tempdir("shard-exists");
    let out = tmp.join("taken");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let err = refused(&shard_paths(g), &out, &[]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
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
