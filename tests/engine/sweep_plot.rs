//! `sweep --plot DIR` into a folder an earlier sweep plotted into: the folder is left with
//! this sweep's heatmaps, and nothing pybench did not write is touched.

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
