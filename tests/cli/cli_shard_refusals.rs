//! CLI tests of what `merge` refuses: shards measured with other parameters, on another kind
//! of machine, of other streams or replayed in other modes, duplicated, overlapping or
//! missing, interrupted, and an existing output folder. They reuse `cli_shard`'s grid, run
//! once per test binary.

use super::cli_shard::{
    cells, copy_dir, grid, json, merge_ok, refused, run_with, shard_paths, GRID, N,
};
use crate::common::{pybench, tempdir};
use std::path::{Path, PathBuf};

/// Shard 4 of the grid copied to `dir`, its `results.json` changed by `edit`: a shard that
/// differs from the others in one respect.
fn shard4_edited(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    copy_dir(&grid().shards[3], dir);
    let file = dir.join("results.json");
    let mut r = json(&file);
    edit(&mut r);
    std::fs::write(&file, r.to_string()).unwrap();
    dir.to_path_buf()
}

/// Shards 1 – 3 of the grid and `fourth`.
fn with_fourth(fourth: &Path) -> Vec<&Path> {
    let mut given = shard_paths(grid())[..3].to_vec();
    given.push(fourth);
    given
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
    // Asked to stream where the others chose for themselves (`--stream auto`).
    let streamed: Vec<&str> = GRID.iter().copied().chain(["--stream", "always"]).collect();
    for (grid, field) in [
        (seeded, "seed"),
        (other_rounds, "rounds"),
        (referred, "reference"),
        (streamed, "stream.mode"),
    ] {
        let odd = run_with(&tmp, field, grid, &["--shard", "4/4"]);
        let mut given = shard_paths(g)[..3].to_vec();
        given.push(&odd);
        let err = refused(&given, &tmp.join(format!("m-{field}")), &[]);
        // Named as a differing field, `name (first vs other)`.
        assert!(err.contains(&format!("{field} (")), "{err}");
    }
}

#[test]
fn merge_refuses_shards_from_another_kind_of_machine() {
    let tmp = tempdir("shard-machine");
    for (field, value) in [
        ("cpu_model", serde_json::json!("Some Other CPU @ 1.00GHz")),
        ("cores", serde_json::json!(96)),
        ("kernel", serde_json::json!("2.6.32-ancient")),
    ] {
        let other = shard4_edited(&tmp.join(field), |r| r["machine"][field] = value);
        let err = refused(&with_fourth(&other), &tmp.join(format!("m-{field}")), &[]);
        assert!(err.contains("different kinds of machine"), "{err}");
        assert!(err.contains(field), "{err}");
    }
    // The load average is not the machine's kind: a busier shard merges.
    let busy = shard4_edited(&tmp.join("busy"), |r| {
        r["machine"]["load_average"] = serde_json::json!(7.5);
        // Nor is the shared cache's state when a shard started (sys::cache_probe): it
        // merges, and the most contended shard's probe is kept, as the busiest load is.
        r["machine"]["cache_share"] = serde_json::json!({
            "llc_bytes": 33554432, "working_set_bytes": 16777216, "hit_ns": 14.0,
            "memory_ns": 170.0, "samples_ns": [120.0, 150.0, 90.0]
        });
        // Nor the core's clock as it started (sys::clock_probe): it merges, and the middle
        // shard's clock is kept, not an outlier's.
        r["machine"]["clock"] = serde_json::json!({ "samples_ghz": [0.9, 1.0, 1.1] });
    });
    let out = tmp.join("m-busy");
    merge_ok(&with_fourth(&busy), &out, &["--no-plots"]);
    let load = json(&out.join("results.json"))["machine"]["load_average"].as_f64();
    assert!(
        load >= Some(7.5),
        "the busiest shard's load is kept: {load:?}"
    );
    let cache = &json(&out.join("results.json"))["machine"]["cache_share"];
    assert_eq!(cache["samples_ns"][0], 120.0, "{cache}");
    let clock = &json(&out.join("results.json"))["machine"]["clock"];
    let kept: Vec<f64> = (clock["samples_ghz"].as_array())
        .map(|s| s.iter().filter_map(|g| g.as_f64()).collect())
        .unwrap_or_default();
    // The other shards' (the tests' steady 3 GHz), not the slow outlier's.
    assert_eq!(kept, [3.0; 8], "{clock}");
}

/// A shard whose cells replayed another stream of a workload than the other shards (a
/// trace or spec changed between them) is refused, by the fingerprints every cell records.
#[test]
fn merge_refuses_shards_that_replayed_different_streams() {
    let g = grid();
    let tmp = tempdir("shard-streams");
    let workloads: Vec<String> = cells(&g.shards[3]).into_iter().map(|c| c.0).collect();
    let elsewhere = g.shards[..3]
        .iter()
        .flat_map(|s| cells(s))
        .any(|c| workloads.contains(&c.0));
    assert!(elsewhere, "shard 4 shares a workload with another shard");
    let other = shard4_edited(&tmp.join("other"), |r| {
        for c in r["cells"].as_array_mut().unwrap() {
            assert!(c["stream_fingerprint"].is_string(), "{c}");
            c["stream_fingerprint"] = serde_json::json!("0000000000000bad");
        }
    });
    let err = refused(&with_fourth(&other), &tmp.join("m"), &[]);
    assert!(err.contains("replayed different streams of "), "{err}");
    assert!(err.contains("vs 0000000000000bad, both "), "{err}");
}

/// Shards of one run whose `--stream auto` decided differently (machines of one kind with
/// different free memory: faked here by the record of how each cell replayed) are refused,
/// naming the workload and both modes: their net figures differ by mode.
#[test]
fn merge_refuses_shards_that_replayed_in_different_modes() {
    let g = grid();
    let tmp = tempdir("shard-modes");
    // How each throughput cell replayed, set (`Some`) or taken out (`None`).
    let replayed = |streamed: Option<bool>| {
        move |r: &mut serde_json::Value| {
            for c in r["cells"].as_array_mut().unwrap() {
                if let Some(t) = c["throughput"].as_object_mut() {
                    assert_eq!(t["streamed"], false, "the grid holds its events in memory");
                    match streamed {
                        Some(s) => t.insert("streamed".into(), serde_json::json!(s)),
                        None => t.remove("streamed"),
                    };
                }
            }
        }
    };
    let throughput_workloads = |dir: &Path| -> Vec<String> {
        let r = json(&dir.join("results.json"));
        (r["cells"].as_array().unwrap().iter())
            .filter(|c| c["throughput"].is_object())
            .map(|c| c["workload"].as_str().unwrap().to_string())
            .collect()
    };
    let fourth = throughput_workloads(&g.shards[3]);
    let shared: Vec<String> = g.shards[..3]
        .iter()
        .flat_map(|s| throughput_workloads(s))
        .filter(|w| fourth.contains(w))
        .collect();
    assert!(
        !shared.is_empty(),
        "shard 4 measures a workload another shard measures"
    );
    let other = shard4_edited(&tmp.join("streamed"), replayed(Some(true)));
    let err = refused(&with_fourth(&other), &tmp.join("m"), &[]);
    let named = |w: &String| err.contains(&format!("replayed the events of {w} from memory and "));
    assert!(shared.iter().any(named), "{err}");
    assert!(
        err.contains("(shard 4/4) streamed: their net figures would differ"),
        "{err}"
    );
    assert!(err.contains("--stream always or --stream never"), "{err}");
    // A shard that did not record how it replayed (before 2026-12-06) merges as before.
    let unrecorded = shard4_edited(&tmp.join("unrecorded"), replayed(None));
    merge_ok(
        &with_fourth(&unrecorded),
        &tmp.join("m-unrecorded"),
        &["--no-plots"],
    );
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

/// The folder every shard was run into (one `--out` for all) holds several run folders:
/// merge wants each named, and says so, where compare's "name one of them" misled.
#[test]
fn merge_of_a_folder_of_several_shards_says_to_name_each() {
    let g = grid();
    let tmp = tempdir("shard-folder");
    let all = tmp.join("shards");
    for (i, s) in shard_paths(g).iter().enumerate() {
        copy_dir(s, &all.join(format!("20260101T00000{i}Z-shard")));
    }
    let err = refused(&[&all], &tmp.join("merged"), &[]);
    assert!(err.contains("name each shard's folder"), "{err}");
    assert!(!err.contains("name one of them"), "{err}");
}

/// A shard folder whose `results.json` or `shard.json` is a FIFO with no writer: merge waited
/// on it for ever; it is refused at once, in one line naming it.
#[test]
fn merge_refuses_a_fifo_in_a_shard_folder_at_once() {
    let g = grid();
    let tmp = tempdir("shard-fifo");
    for file in ["results.json", "shard.json"] {
        let odd = tmp.join(file);
        copy_dir(&g.shards[3], &odd);
        std::fs::remove_file(odd.join(file)).unwrap();
        let c = std::ffi::CString::new(odd.join(file).as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut given = shard_paths(g)[..3].to_vec();
        given.push(&odd);
        let out = tmp.join(format!("m-{file}"));
        let a = pybench()
            .arg("merge")
            .args(&given)
            .arg("-o")
            .arg(&out)
            .arg("--no-plots")
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(file), "{err}");
        assert!(err.contains("a FIFO, not a regular file"), "{err}");
        assert!(!out.exists(), "nothing merged");
    }
}
