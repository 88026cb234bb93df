//! `merge` and a shard that stopped before it finished without saying so: killed outright
//! (SIGKILL, a CI job's time limit) or by SIGTERM, a shard's results file holds the cells
//! saved before the kill and `interrupted: false`. Merge must count each group's cells, not
//! trust the flag: such a shard is refused unless `--partial`, which marks the merged run
//! interrupted. (The kill is simulated by dropping cells from a finished shard's file: what
//! a kill leaves is a results file saved after an earlier cell.)

use crate::common;

use crate::common::{pybench, tempdir, QUICK_RUN};
use std::path::{Path, PathBuf};

/// Shard `k` of 2 of `dicts,churn × system × 2 repetitions` (four groups of two cells:
/// `null` and `system`), run under `root/s<k>`.
fn shard(root: &Path, k: u32) -> PathBuf {
    let out = root.join(format!("s{k}"));
    pybench()
        .args(["run", "-w", "dicts,churn", "-a", "system", "-r", "2"])
        .args(QUICK_RUN)
        .args(["--no-plots", "-q", "--shard", &format!("{k}/2"), "--out"])
        .arg(&out)
        .assert()
        .success();
    common::run_dir(&out)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A copy of shard folder `from` at `to` whose results keep only the first `keep` cells (all
/// of them when `keep` is their number), still `interrupted: false`; `edit` may change its
/// `shard.json`.
fn killed_copy(from: &Path, to: &Path, keep: usize, edit: impl Fn(&mut serde_json::Value)) {
    std::fs::create_dir_all(to).unwrap();
    let mut r = json(&from.join("results.json"));
    let cells = r["cells"].as_array_mut().unwrap();
    assert!(cells.len() >= keep, "{} cells", cells.len());
    cells.truncate(keep);
    assert_eq!(r["interrupted"], false);
    std::fs::write(to.join("results.json"), r.to_string()).unwrap();
    let mut s = json(&from.join("shard.json"));
    edit(&mut s);
    std::fs::write(to.join("shard.json"), s.to_string()).unwrap();
}

/// `merge SHARDS… -o out --no-plots EXTRA…`.
fn merge(shards: &[&Path], out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    pybench()
        .arg("merge")
        .args(shards)
        .arg("-o")
        .arg(out)
        .arg("--no-plots")
        .args(extra)
        .assert()
}

#[test]
fn a_shard_killed_before_it_finished_is_refused_unless_partial() {
    let tmp = tempdir("merge-killed");
    let (s1, s2) = (shard(&tmp, 1), shard(&tmp, 2));
    assert_eq!(
        json(&s1.join("shard.json"))["cells_per_group"],
        2,
        "a shard records how many cells a group holds"
    );
    // Complete shards merge as before.
    merge(&[&s1, &s2], &tmp.join("whole"), &["-q"]).success();

    // Killed during its second group: one cell of it saved.
    let cut = tmp.join("cut");
    killed_copy(&s1, &cut, 3, |_| {});
    let out = tmp.join("m");
    let a = merge(&[&cut, &s2], &out, &[]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("(shard 1/2) stopped before it finished"),
        "{err}"
    );
    assert!(err.contains("holds 3 of the 4 cells of its part"), "{err}");
    assert!(err.contains("--partial"), "{err}");
    assert!(!out.exists(), "nothing written");

    // --partial merges what it has, says so, and marks the run interrupted.
    let out = tmp.join("m-partial");
    let a = merge(&[&cut, &s2], &out, &["--partial"]).success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("shard 1/2 interrupted"), "{err}");
    let merged = json(&out.join("results.json"));
    assert_eq!(merged["interrupted"], true);
    assert_eq!(merged["cells"].as_array().unwrap().len(), 3 + 4);
}

#[test]
fn a_killed_shard_of_an_older_pybench_is_caught_by_the_other_groups_cell_counts() {
    // A shard.json without cells_per_group (written before it existed): every group of a run
    // holds as many cells as the fullest one.
    let tmp = tempdir("merge-killed-old");
    let (s1, s2) = (shard(&tmp, 1), shard(&tmp, 2));
    let old = |s: &mut serde_json::Value| {
        s.as_object_mut().unwrap().remove("cells_per_group");
    };
    let s2_old = tmp.join("s2-old");
    killed_copy(&s2, &s2_old, 4, old); // all four cells: complete
    for keep in [3, 2, 1] {
        // Killed in its second group (3), between groups (2: a group without a cell), or
        // in its first (1).
        let cut = tmp.join(format!("cut{keep}"));
        killed_copy(&s1, &cut, keep, old);
        let a = merge(&[&cut, &s2_old], &tmp.join(format!("m{keep}")), &[]).code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(
            err.contains(&format!("holds {keep} of the 4 cells")),
            "{keep}: {err}"
        );
    }
    merge(&[&s2_old, &s1], &tmp.join("ok"), &["-q"]).success();
}

/// A copy of the whole shard folder `from` at `to` with its `shard.json` edited.
fn edited_copy(from: &Path, to: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let cells = json(&from.join("results.json"))["cells"]
        .as_array()
        .unwrap()
        .len();
    killed_copy(from, to, cells, edit);
}

/// The one line of a refused merge.
fn refusal(shards: &[&Path], out: &Path) -> String {
    let a = merge(shards, out, &[]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!out.exists(), "nothing written");
    err
}

#[test]
fn shard_counts_beyond_the_groups_and_the_cap_are_refused_and_missing_lists_are_capped() {
    let tmp = tempdir("merge-count");
    let (s1, s2) = (shard(&tmp, 1), shard(&tmp, 2));
    // 2³² − 1 shards: merge used to abort reserving 16 GiB for their loads.
    let count = |n: u64| move |s: &mut serde_json::Value| s["count"] = n.into();
    let (h1, h2) = (tmp.join("h1"), tmp.join("h2"));
    edited_copy(&s1, &h1, count(4_294_967_295));
    edited_copy(&s2, &h2, count(4_294_967_295));
    let err = refusal(&[&h1, &h2], &tmp.join("out-huge"));
    assert!(err.contains("split into 4294967295 shards"), "{err}");
    // 1000 shards of which two are given: the 998 missing are named six at a time, not all
    // (a count of 10⁶ made a 15.9 MB line).
    let (k1, k2) = (tmp.join("k1"), tmp.join("k2"));
    edited_copy(&s1, &k1, count(1000));
    edited_copy(&s2, &k2, count(1000));
    let err = refusal(&[&k1, &k2], &tmp.join("out-1000"));
    assert!(
        err.contains("shard 3/1000, 4/1000, 5/1000, 6/1000, 7/1000, 8/1000, and 992 more missing"),
        "{err}"
    );
    assert!(err.len() < 300, "{} bytes: {err}", err.len());
}

#[test]
fn a_cells_per_group_of_zero_or_not_the_runs_allocators_is_refused() {
    let tmp = tempdir("merge-cells-per-group");
    let (s1, s2) = (shard(&tmp, 1), shard(&tmp, 2));
    // Killed in its second group, with a count that made any shard look whole: merged as
    // complete (`interrupted: false`) before.
    for (n, why) in [
        (0u64, "cells_per_group is 0"),
        (
            1,
            "says a group holds 1 cells, but its run names 2 allocators",
        ),
    ] {
        let cut = tmp.join(format!("cut{n}"));
        killed_copy(&s1, &cut, 3, |s| s["cells_per_group"] = n.into());
        let err = refusal(&[&cut, &s2], &tmp.join(format!("out{n}")));
        assert!(err.contains(why), "{n}: {err}");
    }
}

/// A write that fails part-way (here the file-size limit, as a full disk would) leaves no
/// merged folder: it used to keep `shard.json` and `shards/` without a run, and a retry was
/// refused as "already exists".
#[test]
fn a_merge_whose_writing_fails_leaves_nothing_and_can_be_retried() {
    let tmp = tempdir("merge-fsize");
    let (s1, s2) = (shard(&tmp, 1), shard(&tmp, 2));
    // Every shard's record fits (a manifest without its cells), the merged results.json
    // (every cell of both) does not.
    let size = |d: &Path| std::fs::metadata(d.join("results.json")).unwrap().len();
    let limit = size(&s1).max(size(&s2));
    let out = tmp.join("m");
    let done = common::pybench_limited(libc::RLIMIT_FSIZE, limit)
        .arg("merge")
        .args([&s1, &s2])
        .arg("-o")
        .arg(&out)
        .arg("--no-plots")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("nothing was left there"), "{err}");
    assert!(!out.exists(), "no half-written folder");
    merge(&[&s1, &s2], &out, &["-q"]).success();
}
