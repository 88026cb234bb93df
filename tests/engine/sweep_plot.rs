//! `sweep --plot DIR` into a folder an earlier sweep plotted into: the folder is left with
//! this sweep's heatmaps, and nothing pybench did not write is touched — nor replaced, when
//! it has a heatmap's name, unless `--force`.

use crate::common::{pybench, tempdir};

/// A sweep into a folder an earlier sweep drew in leaves only its own heatmaps there: the
/// earlier sweep's of another workload or spare policy (left beside the new ones before,
/// where they read as current) are removed and named; files pybench did not write — a
/// user's own `sweep-*.svg` among them — are left alone.
#[test]
fn plot_into_an_earlier_sweeps_folder_leaves_only_this_sweeps_heatmaps() {
    let tmp = tempdir("sweep-replot");
    let plots = tmp.join("plots");
    std::fs::create_dir_all(&plots).unwrap();
    std::fs::write(plots.join("notes.txt"), "mine").unwrap();
    std::fs::write(plots.join("sweep-mine.svg"), "<svg/>").unwrap();
    let sweep_into = |workloads: &str, spare: &str| -> String {
        let a = pybench()
            .args([
                "sweep", "-w", workloads, "--scale", "2000", "--spare", spare,
            ])
            .args(["--arena", "256K,1M", "--pool", "4K,16K", "--plot"])
            .arg(&plots)
            .assert()
            .success();
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    let files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&plots)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    sweep_into("churn,dicts", "0,1");
    // Two workloads × two spare policies × seven figures, and the user's two files.
    assert_eq!(files().len(), 2 * 2 * 7 + 2, "{:?}", files());
    let err = sweep_into("churn", "1");
    let mut expected: Vec<String> = [
        "peak_heap_rss",
        "mean_heap_rss",
        "churn",
        "peak_arenas",
        "final_arenas",
        "unused_pool_bytes",
        "quantization_bytes",
    ]
    .iter()
    .map(|f| format!("sweep-churn-{f}.svg"))
    .chain(["notes.txt".to_string(), "sweep-mine.svg".to_string()])
    .collect();
    expected.sort();
    assert_eq!(files(), expected);
    assert!(
        err.contains(&format!(
            "pybench sweep: 7 heatmaps in {}; removed 21 an earlier sweep wrote there that \
             this one did not draw: sweep-churn-churn-nospare.svg, ",
            plots.display()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(plots.join("sweep-mine.svg")).unwrap(),
        "<svg/>"
    );
}

/// A file of the user's own with the name of one of the sweep's heatmaps is not replaced:
/// the sweep is refused in one line before anything is written (its `--csv` too), unless
/// `--force`. A heatmap of a pybench from before the owner's mark (a chart's opening tag,
/// no mark) is pybench's, replaced without asking.
#[test]
fn plot_never_replaces_a_file_of_a_heatmaps_name_that_pybench_did_not_draw() {
    let tmp = tempdir("sweep-foreign");
    let plots = tmp.join("plots");
    std::fs::create_dir_all(&plots).unwrap();
    let mine = plots.join("sweep-dicts-churn.svg");
    std::fs::write(&mine, "<svg/>").unwrap();
    let csv = tmp.join("sweep.csv");
    let sweep = || {
        let mut c = pybench();
        c.args(["sweep", "-q", "-w", "dicts", "--scale", "2000"])
            .args(["--arena", "256K", "--pool", "4K", "--plot"])
            .arg(&plots)
            .arg("--csv")
            .arg(&csv);
        c
    };
    let a = sweep().assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("sweep-dicts-churn.svg"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "<svg/>");
    assert!(!csv.exists(), "nothing written");
    assert_eq!(std::fs::read_dir(&plots).unwrap().count(), 1);
    // An unmarked heatmap of an older pybench is replaced without --force.
    let older = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"300\" \
                 viewBox=\"0 0 640 300\" font-family=\"system-ui, -apple-system, 'Segoe UI', \
                 Helvetica, Arial, sans-serif\" font-size=\"12\">\n<title>t</title>\n\
                 <rect width=\"640\" height=\"300\" fill=\"#ffffff\"/>\n</svg>\n";
    std::fs::write(&mine, older).unwrap();
    sweep().assert().success();
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .starts_with("<!-- pybench sweep heatmap"));
    // The user's own file again, with --force: replaced.
    std::fs::write(&mine, "<svg/>").unwrap();
    std::fs::remove_file(&csv).unwrap();
    sweep().arg("--force").assert().success();
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .starts_with("<!-- pybench sweep heatmap"));
}

/// Output targets that cannot work are refused before the grid runs, and nothing is written:
/// a `--plot` folder that cannot be made (`/proc` takes none, not even from root) ran every
/// cell and wrote the `--csv` before failing; a `--csv` inside `--plot` under a heatmap's
/// name was replaced by that heatmap, exit 0 (both found in review, 2026-12-07).
#[test]
fn plot_and_csv_targets_that_cannot_work_are_refused_before_any_cell() {
    let tmp = tempdir("sweep-targets");
    let csv = tmp.join("out.csv");
    let a = pybench()
        .args(["sweep", "-w", "dicts", "--scale", "2000", "--csv"])
        .arg(&csv)
        .args(["--plot", "/proc/pybench-heatmaps"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--plot /proc/pybench-heatmaps: a folder cannot be made or written there"),
        "{err}"
    );
    assert!(!csv.exists(), "nothing written");
    let heat = tmp.join("heat");
    std::fs::create_dir_all(&heat).unwrap();
    let inside = heat.join("sweep-dicts-churn.svg");
    let a = pybench()
        .args(["sweep", "-w", "dicts", "--scale", "2000", "--plot"])
        .arg(&heat)
        .arg("--csv")
        .arg(tmp.join("heat/../heat/sweep-dicts-churn.svg"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("under a heatmap's name (sweep-*.svg)"),
        "{err}"
    );
    assert!(!inside.exists(), "nothing written");
    // Another name in the same folder is a CSV like any other.
    pybench()
        .args(["sweep", "-w", "dicts", "--scale", "2000", "--arena", "256K"])
        .args(["--pool", "4K", "-q", "--plot"])
        .arg(&heat)
        .arg("--csv")
        .arg(heat.join("table.csv"))
        .assert()
        .success();
    let table = std::fs::read_to_string(heat.join("table.csv")).unwrap();
    assert!(table.starts_with("workload,"), "{table}");
}
