//! CLI tests of the verdict (issue 12): the reference flag, the noise warnings (with a faked
//! load average, never by loading the machine), and a bad reference refused before measuring.

use crate::common;

use crate::common::{pybench, results_json, tempdir};
use predicates::prelude::*;

/// A small, quick run of churn with the engine and glibc, one repetition.
fn run(name: &str, extra: &[&str]) -> (assert_cmd::assert::Assert, common::TempDir) {
    run_reps(name, "1", extra)
}

/// As [`run`], with `reps` repetitions.
fn run_reps(
    name: &str,
    reps: &str,
    extra: &[&str],
) -> (assert_cmd::assert::Assert, common::TempDir) {
    let tmp = tempdir(name);
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "pymalloc,system", "-r", reps])
        .args([
            "--scale",
            "20000",
            "--rounds",
            "4",
            "--min-time",
            "0.002",
            "--no-plots",
        ])
        .args(extra)
        .arg("--out")
        .arg(&tmp)
        .env_remove("PYBENCH_FAKE_LOADAVG")
        .assert();
    (a, tmp)
}

#[test]
fn the_reference_flag_changes_the_ratio_base() {
    let (a, _) = run("ref-default", &[]);
    let out = String::from_utf8(a.success().get_output().stdout.clone()).unwrap();
    assert!(out.contains("vs pymalloc:cpython-3.11"), "{out}");
    let row = out.lines().find(|l| l.starts_with("pymalloc")).unwrap();
    assert!(row.contains("reference"), "{row}");

    let (a, _) = run("ref-system", &["--reference", "system"]);
    let out = String::from_utf8(a.success().get_output().stdout.clone()).unwrap();
    assert!(out.contains("vs system"), "{out}");
    let row = out.lines().find(|l| l.starts_with("system")).unwrap();
    assert!(row.contains("reference"), "{row}");
    let row = out.lines().find(|l| l.starts_with("pymalloc")).unwrap();
    assert!(!row.contains("reference"), "{row}");
}

/// `--reference` is kept in the results: summary.md, and index.html as `pybench plot` draws
/// it again from results.json, are relative to the same allocator as the terminal table
/// (they used to fall back to pymalloc whatever the flag said).
#[test]
fn the_reference_is_the_same_in_summary_md_and_index_html() {
    let (a, tmp) = run("ref-kept", &["--reference", "system"]);
    a.success();
    let dir = common::run_dir(&tmp);
    assert_eq!(results_json(&tmp)["parameters"]["reference"], "system");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| vs system |"), "{md}");
    assert!(!md.contains("vs pymalloc"), "{md}");
    pybench().arg("plot").arg(&dir).arg("-q").assert().success();
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("vs system"), "{html}");
    assert!(!html.contains("vs pymalloc"), "{html}");
}

#[test]
fn an_unknown_reference_is_refused_before_measuring() {
    let (a, tmp) = run("ref-bad", &["--reference", "jemalloc"]);
    a.code(2)
        .stderr(predicate::str::contains("--reference jemalloc"));
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing written"
    );
    // null is measured in every run but has no row to be the base of: the error says so.
    let (a, tmp) = run("ref-null", &["--reference", "null"]);
    a.code(2).stderr(predicate::str::contains(
        "--reference null: null is the harness's baseline (its own cost, subtracted from the \
         others), not a contender to rank against; this run's allocators: \
         pymalloc:cpython-3.11, system\n",
    ));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    // A run of null alone has no allocator to list: it used to say "allocators ()".
    for (asked, says) in [
        ("null", "allocators: none but null; add one with -a\n"),
        (
            "system",
            "not one of this run's allocators (none but null; add one with -a)\n",
        ),
    ] {
        let out = pybench()
            .args(["run", "-w", "churn", "-a", "null", "--reference", asked])
            .arg("--out")
            .arg(&tmp)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.ends_with(says), "{asked}: {err}");
    }
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

/// A bare `pymalloc` (the default reference) is the preset it became on the workload, not
/// the first engine row: a custom geometry listed before it used to head the ratios.
#[test]
fn the_default_reference_is_the_workloads_preset_whatever_is_listed_first() {
    let tmp = tempdir("ref-preset");
    let a = pybench()
        .args(["run", "-w", "churn", "-r", "1", "--no-plots"])
        .args(["-a", "system,pymalloc:arena=512K,pool=8K,pymalloc"])
        .args(common::QUICK_RUN)
        .arg("--out")
        .arg(&tmp)
        .assert()
        .success();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(out.contains("vs pymalloc:cpython-3.11"), "{out}");
    let presets = &results_json(&tmp)["parameters"]["pymalloc_presets"];
    assert_eq!(presets["churn"], "pymalloc:cpython-3.11", "{presets}");
}

/// Workloads of two Pythons: a bare `pymalloc` is a different preset on each, so one of them
/// cannot be the reference of both (the other workload's ratios would be against another
/// row); refused before anything is measured.
#[test]
fn a_preset_measured_on_some_workloads_only_is_refused_as_reference() {
    let tmp = tempdir("ref-two-pythons");
    let spec = std::fs::read_to_string("workloads/churn.toml")
        .unwrap()
        .replace("name = \"churn\"", "name = \"churn39\"")
        .replace("python = \"3.11\"", "python = \"3.9\"");
    let spec_path = tmp.join("churn39.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let out = tmp.join("out");
    std::fs::create_dir(&out).unwrap();
    let a = pybench()
        .args(["run", "-a", "system,pymalloc", "-w", "churn", "-w"])
        .arg(&spec_path)
        .args(["--reference", "pymalloc:cpython-3.11", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--reference pymalloc:cpython-3.11: measured only on churn "),
        "{err}"
    );
    assert!(err.contains("pymalloc:cpython-3.9 on churn39"), "{err}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_busy_machine_is_warned_about_once_and_recorded() {
    let tmp = tempdir("load");
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "system", "-r", "1", "--quiet"])
        .args(common::QUICK_RUN)
        .arg("--no-plots")
        .arg("--out")
        .arg(&tmp)
        .env("PYBENCH_FAKE_LOADAVG", "64.5 60.0 50.0 3/200 1234")
        .assert()
        .success();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err.matches("warning: load average 64.50").count(),
        1,
        "{err}"
    );
    let json = results_json(&tmp);
    assert_eq!(json["machine"]["load_average"], 64.5);
    // How throughput was measured is part of the run's parameters.
    let cal = &json["parameters"]["calibration"];
    assert_eq!(cal["rounds"], 2, "{cal}");
    assert_eq!(cal["min_time_ns"], 1_000_000, "{cal}");
    assert_eq!(cal["fixed_layout"], false, "{cal}");
    // The build measured is recorded, and a build whose engine checks every free says so
    // (the README's test command builds with `checked`; a plain release build stays quiet).
    assert_eq!(json["machine"]["build"], pybench::BUILD);
    assert_eq!(
        err.contains("`checked` build") || err.contains("`debug` build"),
        pybench::BUILD != "release",
        "{err}"
    );

    // A quiet machine (faked too, the real one may be busy): no load warning.
    let tmp = tempdir("noload");
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "system", "-r", "1", "--quiet"])
        .args(common::QUICK_RUN)
        .arg("--no-plots")
        .arg("--out")
        .arg(&tmp)
        .env("PYBENCH_FAKE_LOADAVG", "0.10 0.10 0.10 1/100 1")
        .assert()
        .success();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(!err.contains("warning: load average"), "{err}");
}

/// A run started while others held the shared L3 warns once (faked: the real cache depends on
/// the neighbours of the machine the test runs on) and records the probe; an uncontended
/// cache gives no warning.
#[test]
fn a_contended_cache_is_warned_about_and_recorded() {
    let run = |tag: &str, probe: &str| {
        let tmp = tempdir(tag);
        let a = pybench()
            .args(["run", "-w", "churn", "-a", "system", "-r", "1", "--quiet"])
            .args(common::QUICK_RUN)
            .args(["--no-plots", "--out"])
            .arg(&tmp)
            .env(pybench::sys::cache_probe::FAKE_CACHE_PROBE_ENV, probe)
            .assert()
            .success();
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        (tmp, err)
    };
    // Hit 14 ns, memory 170: samples from 42 % to 100 % of reads missing, median 78 %.
    let (busy, err) = run("cache-busy", "14,170,80,140,200,100,150,130");
    assert_eq!(
        err.matches("the shared L3 is contended").count(),
        1,
        "{err}"
    );
    assert!(err.contains("missed it on 78 % of its reads"), "{err}");
    // It names the remedy that held still on such a host: the compared runs interleaved.
    assert!(
        err.contains("agree more closely when made interleaved, shard by shard"),
        "{err}"
    );
    let json = results_json(&busy);
    assert_eq!(json["machine"]["cache_share"]["hit_ns"], 14.0);
    assert_eq!(json["machine"]["cache_share"]["samples_ns"][1], 140.0);
    // summary.md keeps what qualifies its figures, in a section of its own.
    let summary = std::fs::read_to_string(common::run_dir(&busy).join("summary.md")).unwrap();
    let caveats = summary
        .split("## Caveats\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        caveats.contains("\n- warning: the shared L3 is contended by others"),
        "{summary}"
    );
    let (quiet, err) = run("cache-quiet", common::QUIET_CACHE);
    assert!(!err.contains("contended"), "{err}");
    let summary = std::fs::read_to_string(common::run_dir(&quiet).join("summary.md")).unwrap();
    assert!(!summary.contains("contended"), "{summary}");
}

/// The shared-cache probe itself, unfaked: where sysfs gives the L3's size, a run records
/// the two references (an L3 hit, a memory access) and eight samples, all positive
/// latencies, over a working set derived from the L3's size. Which reference is faster is
/// not asserted: on a shared machine a neighbour can slow either at the moment it is timed.
#[test]
fn the_real_cache_probe_is_recorded() {
    let tmp = tempdir("cache-real");
    pybench()
        .args(["run", "-w", "churn", "-a", "system", "-r", "1", "--quiet"])
        .args(common::QUICK_RUN)
        .args(["--no-plots", "--out"])
        .arg(&tmp)
        .env_remove(pybench::sys::cache_probe::FAKE_CACHE_PROBE_ENV)
        .assert()
        .success();
    let json = results_json(&tmp);
    let share = &json["machine"]["cache_share"];
    let l3 = (0..8).any(|i| {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        std::fs::read_to_string(format!("{dir}/level")).is_ok_and(|l| l.trim() == "3")
    });
    if !l3 {
        assert!(share.is_null(), "no L3 in sysfs, yet a probe: {share}");
        return;
    }
    let (hit, memory) = (
        share["hit_ns"].as_f64().unwrap(),
        share["memory_ns"].as_f64().unwrap(),
    );
    assert!(hit > 0.0 && memory > 0.0, "{share}");
    let samples = share["samples_ns"].as_array().unwrap();
    assert_eq!(samples.len(), 8, "{share}");
    assert!(
        samples
            .iter()
            .all(|s| s.as_f64().is_some_and(|ns| ns > 0.0)),
        "{share}"
    );
    // Half the L3, at most a built-in workload's heap (16 MiB): sysfs may report a whole
    // package's L3 that a guest cannot hold.
    let llc = share["llc_bytes"].as_u64().unwrap();
    assert!(llc > 0, "{share}");
    assert_eq!(
        share["working_set_bytes"].as_u64().unwrap(),
        (llc / 2).min(16 << 20),
        "{share}"
    );
}

/// The throughput notes of a run's cells, one string per cell with throughput.
fn throughput_notes(dir: &std::path::Path) -> Vec<String> {
    let json = results_json(dir);
    json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["throughput"].is_null())
        .map(|c| c["notes"].to_string())
        .collect()
}

/// `--fixed-layout` reaches the throughput process itself (it reports the persona it ran
/// with, so a flag that never took effect fails here), and a default run keeps ASLR on.
#[test]
fn fixed_layout_turns_address_randomisation_off_in_the_throughput_process() {
    let (a, dir) = run("fixed", &["--fixed-layout"]);
    a.success();
    let notes = throughput_notes(&dir);
    assert!(!notes.is_empty());
    assert!(
        notes.iter().all(|n| n.contains("one fixed address layout")),
        "{notes:?}"
    );
    let (a, dir) = run("random", &[]);
    a.success();
    let notes = throughput_notes(&dir);
    assert!(!notes.is_empty());
    assert!(
        notes.iter().all(|n| !n.contains("fixed address layout")),
        "{notes:?}"
    );
}

/// `--release-between-passes` reaches the throughput process (the engine's warm passes fault
/// its heap in again, which the run warns of), is noted in the cells and kept in the run's
/// calibration for `compare`; a default run holds.
#[test]
fn release_between_passes_is_noted_in_the_cells_and_kept_in_the_calibration() {
    let released = |dir: &std::path::Path| {
        results_json(dir)["parameters"]["calibration"]["release_between_passes"].as_bool()
    };
    let stderr = |a: assert_cmd::assert::Assert| {
        String::from_utf8(a.success().get_output().stderr.clone()).unwrap()
    };
    // The engine's warm passes fault its heap in again, and the run says so.
    let faulting = "pymalloc:cpython-3.11's warm passes on churn took";
    let (a, dir) = run("released", &["--release-between-passes"]);
    let err = stderr(a);
    assert!(err.contains(faulting), "{err}");
    let notes = throughput_notes(&dir);
    assert!(!notes.is_empty());
    assert!(
        notes.iter().all(|n| n.contains("--release-between-passes")),
        "{notes:?}"
    );
    assert_eq!(released(&dir), Some(true));
    let (a, dir) = run("held", &[]);
    let err = stderr(a);
    assert!(!err.contains(faulting), "{err}");
    let notes = throughput_notes(&dir);
    assert!(
        notes.iter().all(|n| !n.contains("between passes")),
        "{notes:?}"
    );
    assert_eq!(released(&dir), Some(false));
}

/// The cells of a run's results.json.
fn cells(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let json = results_json(dir);
    json["cells"].as_array().unwrap().clone()
}

/// Repetitions past the third are throughput processes only: every repetition's cells have
/// their own process's samples (the verdict's units), the memory figures come from the first
/// three, and a cell without them says why.
#[test]
fn repetitions_past_the_memory_ones_add_throughput_processes_only() {
    let (a, dir) = run_reps("procs", "4", &["--quiet"]);
    a.success();
    let cells = cells(&dir);
    let system: Vec<&serde_json::Value> = cells
        .iter()
        .filter(|c| c["allocator"] == "system")
        .collect();
    assert_eq!(system.len(), 4);
    let mut groups: Vec<String> = Vec::new();
    for c in &system {
        let rep = c["repetition"].as_u64().unwrap();
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["throughput"]["ns_per_op"].as_array().unwrap().len(), 4);
        groups.push(c["throughput"]["group"].as_str().unwrap().to_string());
        let has_rss = c["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "peak_rss_bytes");
        assert_eq!(has_rss, rep < 3, "rep {rep}: {c}");
        if rep >= 3 {
            assert!(c["notes"].to_string().contains("throughput only"), "{c}");
        }
    }
    groups.sort();
    groups.dedup();
    assert_eq!(
        groups.len(),
        4,
        "one throughput process per repetition: {groups:?}"
    );
}

/// With one throughput process the intervals cannot show the spread between processes: the
/// run says so; with two it does not.
#[test]
fn a_single_throughput_process_is_warned_about() {
    let (a, _) = run("one-proc", &["--quiet"]);
    let err = String::from_utf8(a.success().get_output().stderr.clone()).unwrap();
    assert!(err.contains("one throughput process per workload"), "{err}");
    let (a, _) = run_reps("two-procs", "2", &["--quiet"]);
    let err = String::from_utf8(a.success().get_output().stderr.clone()).unwrap();
    assert!(!err.contains("one throughput process"), "{err}");
}

/// `null` is the harness's own cost, measured in every process: alone it measures only the
/// harness (a one-line note; each workload's line gives the harness's cost and the stream's
/// fingerprint, and there is no table and no column legend); beside others it is noted, has
/// no row, and each workload's line gives its cost as the geometric mean of the processes'
/// medians with a 95 % interval around it.
#[test]
fn null_is_the_harness_line_with_its_interval_never_a_row() {
    let tmp = tempdir("null-alone");
    let a = pybench()
        .args(["run", "-w", "churn,dicts", "-a", "null", "-r", "2"])
        .args(["--scale", "20000", "--rounds", "2", "--min-time", "0.002"])
        .args(["--no-plots", "--out"])
        .arg(&tmp)
        .assert()
        .success();
    let (out, err) = (
        String::from_utf8(a.get_output().stdout.clone()).unwrap(),
        String::from_utf8(a.get_output().stderr.clone()).unwrap(),
    );
    assert!(
        err.contains("-a null alone measures only the harness"),
        "{err}"
    );
    for w in ["churn", "dicts"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{w} — ")))
            .unwrap();
        assert!(
            line.contains("harness (null) ") && line.contains(" ns/event ("),
            "{line}"
        );
        // Alone, null's memory cell is measured, so the line names the stream replayed
        // (what `compare` checks two runs of the harness's cost by).
        let print = line
            .split("(stream ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap_or_else(|| panic!("no stream named: {line}"));
        let recorded: Vec<_> = cells(&tmp)
            .into_iter()
            .filter(|c| c["workload"] == w && c["stream_fingerprint"].is_string())
            .map(|c| c["stream_fingerprint"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            recorded,
            [print, print],
            "{w}: both repetitions' memory cells"
        );
    }
    assert!(
        !out.contains("net ops/s"),
        "no legend of columns that are not shown:\n{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("allocator")),
        "no table:\n{out}"
    );
    // Two harness-only runs compared: nothing paired with null, so compare says the host's
    // speed between sittings is in its figure.
    common::compare(&tmp, &tmp)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "both runs measured the harness alone (-a null)",
        ));

    let tmp = tempdir("null-named");
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "null,system", "-r", "3"])
        .args(["--scale", "20000", "--rounds", "4", "--min-time", "0.002"])
        .args(["--no-plots", "--out"])
        .arg(&tmp)
        .env_remove("PYBENCH_FAKE_LOADAVG")
        .assert()
        .success();
    let out = a.get_output();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout.clone()).unwrap(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    );
    assert!(stderr.contains("null is measured in every run"), "{stderr}");
    assert!(!stdout.lines().any(|l| l.starts_with("null")), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("churn —"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let shown = line.split("harness (null) ").nth(1).unwrap();
    let nums: Vec<f64> = shown
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    let [point, lo, hi] = nums[..] else {
        panic!("{line}")
    };
    // Printed to two decimals, a tight interval's ends may round to the point itself.
    assert!(lo <= point && point <= hi, "{line}");
    // The point is the geometric mean over the processes of each one's median round.
    let medians: Vec<f64> = cells(&tmp)
        .iter()
        .filter(|c| c["allocator"] == "null" && c["workload"] == "churn")
        .map(|c| {
            let mut v: Vec<f64> = c["throughput"]["ns_per_op"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            }
        })
        .collect();
    assert_eq!(medians.len(), 3, "one null cell per process");
    let geo = (medians.iter().map(|m| m.ln()).sum::<f64>() / 3.0).exp();
    assert!((geo - point).abs() <= 0.006, "{geo} vs {line}");
}
