//! Every replay cell of a run records the fingerprint of the stream it replayed
//! (`stream_fingerprint`), those measured for throughput alone included: `compare` and
//! `merge` tell streams apart by it, and a run's further repetitions (past the three that
//! measure memory and latency) and its `null` cells used to have none.

use crate::common::{pybench, results_json, tempdir};

/// The fingerprint `pybench stats` gives churn at scale 20000.
fn stats_fingerprint() -> String {
    let a = pybench()
        .args(["stats", "-w", "churn", "--scale", "20000"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("fingerprint: "))
        .unwrap_or_else(|| panic!("no fingerprint line: {out}"));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn every_cell_of_a_run_carries_its_streams_fingerprint_whether_streamed_or_not() {
    let expected = stats_fingerprint();
    for stream in ["never", "always"] {
        let tmp = tempdir("fingerprint-cells");
        // Four repetitions: the fourth measures throughput alone.
        pybench()
            .args(["run", "-w", "churn", "-a", "pymalloc,system", "-r", "4"])
            .args(["--rounds", "2", "--scale", "20000", "--min-time", "0.001"])
            .args(["--no-plots", "-q", "--stream", stream, "--out"])
            .arg(&tmp)
            .assert()
            .success();
        let json = results_json(&tmp);
        let cells = json["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 3 * 4, "{json}");
        let throughput_only = cells.iter().filter(|c| {
            c["notes"].as_array().unwrap().iter().any(|n| {
                n.as_str()
                    .is_some_and(|n| n.starts_with("throughput only:"))
            })
        });
        assert_eq!(throughput_only.count(), 2, "pymalloc and system of rep 3");
        for c in cells {
            assert_eq!(
                c["stream_fingerprint"].as_str(),
                Some(expected.as_str()),
                "--stream {stream}: {c}"
            );
        }
    }
}
