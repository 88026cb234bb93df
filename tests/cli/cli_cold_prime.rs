//! `run` backs memory before each cold pass of a materialised replay on a machine that reports
//! free pages to its hypervisor (`harness::throughput::ColdPrime`), and says so in the cell's
//! notes; not where the balloon does not report, and not for a streamed replay.

use crate::common::{self, pybench, tempdir};

/// The throughput notes of a `run` of dicts on a fake sysfs whose balloon has `features`,
/// each cell's `throughput.cold_primed_bytes` checked to agree with its note.
fn throughput_notes(features: &str, stream: &str) -> Vec<String> {
    let tmp = tempdir("cold-prime");
    let sys = tmp.join("sys");
    common::fake_sysfs(&sys, "0x0005", features);
    pybench()
        .env("PYBENCH_FAKE_SYSFS", &sys)
        .args([
            "run", "-w", "dicts", "-a", "pymalloc", "-r", "1", "--rounds", "2",
        ])
        .args([
            "--scale",
            "20000",
            "--min-time",
            "0.001",
            "--no-plots",
            "-q",
        ])
        .args(["--stream", stream, "--out"])
        .arg(tmp.join("out"))
        .assert()
        .success();
    let r = common::results_json(&tmp.join("out"));
    let cells = r["cells"].as_array().unwrap().iter();
    for c in cells.clone().filter(|c| c["throughput"].is_object()) {
        let primed = c["throughput"]["cold_primed_bytes"].as_u64().unwrap();
        let noted = c["notes"].to_string().contains("before each cold pass");
        assert_eq!(primed > 0, noted, "{c}");
    }
    cells
        .filter(|c| c["throughput"].is_object())
        .flat_map(|c| c["notes"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .filter(|n| n.starts_with("throughput:"))
        .collect()
}

#[test]
fn run_backs_memory_before_cold_passes_only_where_free_pages_are_reported() {
    const REPORTS: &str = "0110010100000000";
    const SILENT: &str = "0110000100000000";
    let said = |notes: &[String]| notes.iter().any(|n| n.contains("before each cold pass"));
    let reported = throughput_notes(REPORTS, "never");
    assert!(
        !reported.is_empty(),
        "every throughput cell has its replay note"
    );
    assert!(
        reported.iter().all(|n| n
            .contains(" MiB faulted in and released, untimed (this machine reports free pages")),
        "{reported:?}"
    );
    let silent = throughput_notes(SILENT, "never");
    assert!(
        !silent.is_empty(),
        "every throughput cell has its replay note"
    );
    assert!(!said(&silent), "{silent:?}");
    let streamed = throughput_notes(REPORTS, "always");
    assert!(
        !streamed.is_empty(),
        "every throughput cell has its replay note"
    );
    assert!(!said(&streamed), "a streamed replay holds no stream");
}
