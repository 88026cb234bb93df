//! A streamed and a materialised run of one trace (part of `tests/trace/stream_replay.rs`):
//! each cell records how it replayed, and `compare` warns that their net figures differ.

use super::*;

/// The trace at `path` replayed from memory, its cells saying so, and `compare` of the
/// streamed run in `streamed` against it warning that net figures differ by mode.
pub(super) fn compare_across_modes(path: &Path, streamed: &Path) {
    let dir = common::tempdir("cli-stream-never");
    common::pybench()
        .args(["run", "--trace"])
        .arg(path)
        .args(["-a", "pymalloc,system", "-r", "1", "--rounds", "2"])
        .args(["--min-time", "0.001", "--stream", "never", "--quiet"])
        .arg("--out")
        .arg(&dir)
        .assert()
        .success();
    let r = results_in(&dir);
    for c in r["cells"].as_array().unwrap() {
        assert_eq!(c["throughput"]["streamed"], false, "{c}");
    }
    let out = common::pybench()
        .arg("compare")
        .args([streamed, dir.as_path()])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the baseline replayed its events streamed and the current run from memory \
             (--stream): `null` reads streamed events at another speed"
        ),
        "{err}"
    );
}
