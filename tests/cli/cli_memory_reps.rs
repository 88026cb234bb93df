//! `run --memory-repetitions`: how many of the first repetitions measure memory and latency
//! (3 by default), so that `compare` can have 4 or more latency figures a side.

use crate::common::{pybench, quick_churn_run, results_json, tempdir, QUICK_RUN};

#[test]
fn memory_repetitions_choose_which_repetitions_measure_memory_and_latency() {
    let tmp = tempdir("memory-reps");
    pybench()
        .args(["run", "-w", "churn", "-a", "system", "-r", "3"])
        .args(["--memory-repetitions", "1", "--no-plots", "-q"])
        .args(QUICK_RUN)
        .arg("--out")
        .arg(&*tmp)
        .assert()
        .success();
    let json = results_json(&tmp);
    assert_eq!(json["parameters"]["memory_repetitions"], 1);
    let system: Vec<&serde_json::Value> = (json["cells"].as_array().unwrap().iter())
        .filter(|c| c["allocator"] == "system")
        .collect();
    assert_eq!(system.len(), 3);
    for c in system {
        let rep = c["repetition"].as_u64().unwrap();
        let names: Vec<&str> = (c["metrics"].as_array().unwrap().iter())
            .filter_map(|m| m["name"].as_str())
            .collect();
        assert_eq!(
            names.contains(&"peak_rss_bytes"),
            rep == 0,
            "rep {rep}: {c}"
        );
        assert_eq!(names.contains(&"lat_p50"), rep == 0, "rep {rep}: {c}");
        assert!(names.contains(&"ops_per_sec"), "rep {rep}: {c}");
        let notes = c["notes"].to_string();
        assert_eq!(
            notes.contains(
                "throughput only: memory and latency are measured in the first 1 repetition(s)"
            ),
            rep > 0,
            "rep {rep}: {notes}"
        );
    }
}

#[test]
fn more_memory_repetitions_than_repetitions_is_one_line_and_nothing_runs() {
    let tmp = tempdir("memory-reps-bad");
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "system", "-r", "2"])
        .args(["--memory-repetitions", "3", "--out"])
        .arg(&*tmp)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(
        err,
        "pybench: error: --memory-repetitions 3 is more than the 2 repetition(s) asked for \
         (-r); memory and latency are measured in the first repetitions\n"
    );
    assert!(
        std::fs::read_dir(&*tmp).unwrap().next().is_none(),
        "no folder"
    );
    // Fewer repetitions than the default's three: all of them, as before.
    quick_churn_run(&tmp).assert().success();
    assert_eq!(results_json(&tmp)["parameters"]["memory_repetitions"], 2);
}
