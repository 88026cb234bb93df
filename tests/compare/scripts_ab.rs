//! `scripts/ab.sh`: two builds' runs interleaved shard by shard, each side merged, then
//! compared. With this build as both sides the portable figures (engine accounting, peak live
//! bytes) must come out unchanged and the comparison must be possible (exit 0 or 1); a missing
//! baseline binary or a bad shard count is one line and exit 2, before anything runs, and a
//! failing run shows its error and exits 2.

use crate::common::{tempdir, QUICK_RUN, QUIET_MACHINE};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ab(env: &[(&str, &Path)], shards: &str, args: &[&str]) -> Output {
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "scripts/ab.sh"]
        .iter()
        .collect();
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .args(args)
        .env_remove("BASE")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("SHARDS", shards)
        // This build as the candidate, not a fresh `cargo build --release` inside the test.
        .env("NEW", env!("CARGO_BIN_EXE_pybench"))
        .envs(QUIET_MACHINE);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_same_build_on_both_sides_interleaved_compares_unchanged() {
    let tmp = tempdir("ab");
    let bin = Path::new(env!("CARGO_BIN_EXE_pybench"));
    let mut args = vec!["-w", "churn", "-a", "pymalloc,system", "-r", "2"];
    args.extend(QUICK_RUN);
    args.extend(["--", "--format", "csv"]);
    let out = ab(&[("BASE", bin), ("OUT", &tmp)], "2", &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}\n{stderr}"
    );
    // Shards alternate between the two sides, each side first in every other pair.
    let order: Vec<&str> = stderr.lines().filter(|l| l.starts_with("shard ")).collect();
    assert_eq!(
        order,
        [
            "shard 1/2: base",
            "shard 1/2: new",
            "shard 2/2: new",
            "shard 2/2: base"
        ],
        "{stderr}"
    );
    // Both sides were merged into whole runs, kept under OUT.
    let kept: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    for side in ["base", "new"] {
        assert!(
            kept[0].join(side).join("results.json").is_file(),
            "{side}\n{stderr}"
        );
    }
    // The comparison's portable figures: one build against itself changes none of them.
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (class, verdict) = (col("class"), col("verdict"));
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let deterministic: Vec<_> = rows
        .iter()
        .filter(|r| &r[class] == "deterministic")
        .collect();
    assert!(!deterministic.is_empty(), "{} rows\n{stderr}", rows.len());
    for r in deterministic {
        assert_eq!(&r[verdict], "unchanged", "{r:?}");
    }
}

#[test]
fn a_missing_baseline_or_bad_shard_count_is_one_line_and_exit_2() {
    let tmp = tempdir("ab-bad");
    let out = ab(&[], "2", &["-w", "churn"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "ab.sh: set BASE to the baseline pybench binary");

    let missing = tmp.join("no-such-pybench");
    let out = ab(&[("BASE", &missing)], "2", &["-w", "churn"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.trim().ends_with("is not an executable file"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let bin = Path::new(env!("CARGO_BIN_EXE_pybench"));
    let out = ab(&[("BASE", bin)], "0", &["-w", "churn"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "ab.sh: SHARDS=0 is not a positive whole number");

    // A run that fails shows its own error (kept out of the way while shards succeed), then
    // which shard failed.
    let out = ab(&[("BASE", bin)], "2", &["-w", "no-such-workload"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-workload"), "{err}");
    assert!(
        err.trim_end()
            .ends_with("ab.sh: the base run's shard 1/2 failed"),
        "{err}"
    );
}
