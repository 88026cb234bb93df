//! `sweep` and workloads that share a name: the same workload twice would sweep every cell
//! twice under one label, so it is refused before any cell runs, with nothing written; so
//! is `--plot` and `--csv` naming one path, where the CSV used to be written and the
//! heatmaps then fail on it after the whole sweep. Two traces of one file stem once wrote
//! their heatmaps to the same files, the second's replacing the first's: each has its own.

use crate::common::{pybench, tempdir};
use std::path::{Path, PathBuf};

const GRID: [&str; 4] = ["--arena", "256K,1M", "--pool", "4K,16K"];

/// `pybench gen -w WORKLOAD --scale 2000 -o DIR/x.pbt`.
fn trace(dir: &Path, workload: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("x.pbt");
    pybench()
        .args(["gen", "-w", workload, "--scale", "2000", "-o"])
        .arg(&path)
        .assert()
        .success();
    path
}

/// The single stderr line of a refused sweep (exit 2).
fn refused(args: &[&std::ffi::OsStr]) -> String {
    let a = pybench()
        .arg("sweep")
        .args(args)
        .args(GRID)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(a.get_output().stdout.is_empty());
    err
}

#[test]
fn a_workload_named_twice_is_refused() {
    let tmp = tempdir("sweep-twice");
    let csv = tmp.join("s.csv");
    let err = refused(&[
        "-w".as_ref(),
        "dicts,dicts".as_ref(),
        "--scale".as_ref(),
        "2000".as_ref(),
        "--csv".as_ref(),
        csv.as_os_str(),
    ]);
    assert!(err.contains("two workloads are named `dicts`"), "{err}");
    assert!(!csv.exists());
}

#[test]
fn traces_of_one_file_stem_each_get_their_own_heatmaps() {
    let tmp = tempdir("sweep-stems");
    let (a, b) = (
        trace(&tmp.join("a"), "dicts"),
        trace(&tmp.join("b"), "churn"),
    );
    let plots = tmp.join("plots");
    let csv = tmp.join("s.csv");
    pybench()
        .arg("sweep")
        .arg("--trace")
        .arg(&a)
        .arg("--trace")
        .arg(&b)
        .args(GRID)
        .arg("--plot")
        .arg(&plots)
        .arg("--csv")
        .arg(&csv)
        .arg("-q")
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows = |p: &Path| {
        text.lines()
            .filter(|l| l.starts_with(&*p.to_string_lossy()))
            .count()
    };
    assert_eq!((rows(&a), rows(&b)), (4, 4), "{text}");
    // Each trace's churn heatmap is a file of its own, titled with its own path: before,
    // the second replaced the first (or, later, the pair was refused).
    let churn: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sweep-x-") && n.ends_with("-churn.svg"))
        .collect();
    assert_eq!(churn.len(), 2, "{churn:?}");
    let titles: Vec<bool> = [&a, &b]
        .iter()
        .map(|t| {
            churn.iter().any(|f| {
                std::fs::read_to_string(plots.join(f))
                    .unwrap()
                    .contains(&*t.to_string_lossy())
            })
        })
        .collect();
    assert_eq!(titles, [true, true]);
}

#[test]
fn plot_and_csv_at_one_path_are_refused_before_the_sweep() {
    let tmp = tempdir("sweep-one-path");
    let at = tmp.join("out");
    let spelled = tmp.join(".").join("out");
    let err = refused(&[
        "-w".as_ref(),
        "dicts".as_ref(),
        "--scale".as_ref(),
        "2000".as_ref(),
        "--plot".as_ref(),
        at.as_os_str(),
        "--csv".as_ref(),
        spelled.as_os_str(),
    ]);
    assert!(err.contains("--plot and --csv both write to"), "{err}");
    assert!(!at.exists(), "nothing written");
}

#[test]
fn a_scale_too_large_to_hold_is_refused_before_generating() {
    // 10^13 objects at 16 bytes an event: hundreds of TiB, more than any machine's half.
    // Before, the stream grew until an allocation failed: an abort with no message. The
    // events are counted by the rate of the stream's own start (workload::bound).
    let err = refused(&[
        "-w".as_ref(),
        "dicts".as_ref(),
        "--scale".as_ref(),
        "10000000000000".as_ref(),
    ]);
    assert!(
        err.starts_with(
            "pybench: error: holding the events of dicts at scale 10000000000000 (up to "
        ),
        "{err}"
    );
    assert!(err.trim_end().ends_with("give a smaller --scale"), "{err}");
}

/// `--csv -` is stdout, in place of the table, as `run --csv -` is: it wrote a file named
/// `-` in the current folder (and refused a second sweep as "--csv - already exists").
#[test]
fn csv_dash_is_stdout_not_a_file_named_dash() {
    let tmp = tempdir("sweep-csv-stdout");
    for _ in 0..2 {
        let a = pybench()
            .current_dir(&tmp)
            .args(["sweep", "-q", "-w", "dicts", "--scale", "2000"])
            .args(["--arena", "256K", "--pool", "4K,16K", "--csv", "-"])
            .assert()
            .success();
        let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
        let mut lines = out.lines();
        assert!(
            lines
                .next()
                .unwrap_or("")
                .starts_with("workload,events,geometry,"),
            "{out}"
        );
        assert_eq!(lines.count(), 2, "one row per cell, no table: {out}");
        assert!(!tmp.join("-").exists(), "no file named -");
    }
}

/// `--trace` takes a comma-separated list, as `run --trace` does (it said `cannot open
/// a.pbt,b.pbt` until 2026-12-07).
#[test]
fn trace_lists_are_split_at_commas_as_for_run() {
    let tmp = tempdir("sweep-trace-list");
    let a = trace(&tmp.join("a"), "dicts");
    let b = trace(&tmp.join("b"), "churn");
    let b_renamed = tmp.join("b/y.pbt");
    std::fs::rename(&b, &b_renamed).unwrap();
    let list = format!("{},{}", a.display(), b_renamed.display());
    let out = pybench()
        .args(["sweep", "-q", "--csv", "-", "--trace", &list])
        .args(GRID)
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let workloads: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(workloads.len(), 2, "{csv}");
}
