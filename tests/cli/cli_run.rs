//! CLI tests for `pybench run`: real runs at small scale, checked for the documented files,
//! columns and sane values, plus bad input and Ctrl-C.

use crate::common;

use crate::common::{pybench, run_dir, tempdir};
use predicates::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// (allocator, metric, op) → values over repetitions.
type Values = HashMap<(String, String, String), Vec<f64>>;

/// The header and values of a results.csv.
fn read_csv(path: &Path) -> (Vec<String>, Values) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let mut values = Values::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = (rec[2].to_string(), rec[5].to_string(), rec[6].to_string());
        values.entry(key).or_default().push(rec[7].parse().unwrap());
    }
    (header, values)
}

fn stream_peak_live_bytes(workload: &str, scale: &str) -> f64 {
    let out = pybench()
        .args(["stats", "--workload", workload, "--scale", scale, "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    doc["summary"]["peak_live_bytes"].as_f64().unwrap()
}

#[test]
fn run_writes_tidy_results_with_sane_values() {
    let tmp = tempdir("run");
    pybench()
        .args([
            "run",
            "-w",
            "churn",
            "-a",
            "pymalloc,system",
            "-r",
            "2",
            "--scale",
            "100000",
            "--rounds",
            "4",
            "--min-time",
            "0.005",
        ])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .success()
        .stdout(predicate::str::contains("vs pymalloc:cpython-3.11"));
    let dir = run_dir(&tmp);
    for f in ["results.json", "results.csv", "summary.md"] {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    let (header, v) = read_csv(&dir.join("results.csv"));
    assert_eq!(
        header,
        [
            "run",
            "workload",
            "allocator",
            "repetition",
            "kind",
            "metric",
            "op",
            "value",
            "unit",
            "sample"
        ]
    );
    let peak_live = stream_peak_live_bytes("churn", "100000");
    for a in ["pymalloc:cpython-3.11", "system"] {
        let get = |m: &str, op: &str| {
            v.get(&(a.into(), m.into(), op.into()))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            get("ops_per_sec", "").len(),
            2,
            "{a}: one value per repetition"
        );
        assert!(get("ops_per_sec", "").iter().all(|&x| x > 0.0));
        // A cell yields a distribution: one sample per round, paired with null's.
        let samples = get("sample_ns_per_op", "");
        assert_eq!(samples.len(), 2 * 4, "{a}: 4 rounds × 2 repetitions");
        assert!(samples.iter().all(|&x| x > 0.0));
        assert_eq!(get("sample_null_ns_per_op", "").len(), 8);
        assert!(
            get("peak_live_bytes", "").iter().all(|&x| x == peak_live),
            "{a}: the stream's own peak"
        );
        assert!(
            get("frag_ratio", "").iter().all(|&x| x >= 1.0),
            "{a}: frag_ratio {:?}",
            get("frag_ratio", "")
        );
        let (p50, p99, max) = (
            get("lat_p50", "all"),
            get("lat_p99", "all"),
            get("lat_max", "all"),
        );
        assert!(p50
            .iter()
            .zip(&p99)
            .zip(&max)
            .all(|((a, b), c)| a <= b && b <= c));
    }
    // Only the engine reports pymalloc accounting.
    assert!(v.contains_key(&(
        "pymalloc:cpython-3.11".into(),
        "arenas_highwater".into(),
        "".into()
    )));
    assert!(!v.contains_key(&("system".into(), "arenas_highwater".into(), "".into())));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    // Two repetitions of: the null baseline, then the two allocators.
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6);
    assert_eq!(cells[0]["allocator"], "null");
    // The harness alone (null) is measured in each repetition, and every real allocator's
    // loop time is given net of it. (Which is faster is the machine's business: on a shared
    // machine a cold first cell can lose to anything, so no order is asserted.)
    let null = &v[&("null".into(), "ops_per_sec".into(), "".into())];
    assert_eq!(null.len(), 2, "null: one value per repetition");
    assert!(null.iter().all(|&x| x > 0.0), "{null:?}");
    for a in ["pymalloc:cpython-3.11", "system"] {
        let net = &v[&(a.into(), "net_loop_ns_per_op".into(), "".into())];
        assert_eq!(net.len(), 2, "{a}: net of null in each repetition");
    }
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(json["cells"][1]["rss_series"].as_array().unwrap().len() > 100);
}

/// `--csv -` gives stdout to the CSV: every line of it is a record of the header's width, so
/// it pipes into a CSV reader, and the table that stdout shows otherwise is not printed.
#[test]
fn csv_to_stdout_replaces_the_table() {
    let tmp = tempdir("run");
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "5000", "--csv", "-",
        ])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.starts_with("run,workload,allocator,repetition,kind,metric,op,value,unit,sample\n")
    );
    assert!(stdout.contains(",dicts,system,0,replay,ops_per_sec,,"));
    assert!(!stdout.contains("net ops/s"), "no table: {stdout}");
    // Not flexible: a line of another width (a table row, a blank line) is an error.
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(stdout.as_bytes());
    let width = r.headers().unwrap().len();
    let mut records = 0;
    for rec in r.records() {
        let rec = rec.unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(rec.len(), width, "{rec:?}");
        records += 1;
    }
    // Every line a record: no line the reader skipped (blank lines are).
    assert_eq!(records + 1, stdout.lines().count(), "{stdout}");
}

#[test]
fn unknown_names_are_refused_before_measuring() {
    let tmp = tempdir("run");
    pybench()
        .args(["run", "-w", "dicts", "-a", "hoard"])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown allocator `hoard`")
                .and(predicate::str::contains("system")),
        );
    // Known, but only as a library preloaded into a real program.
    pybench()
        .args(["run", "-w", "dicts", "-a", "tcmalloc"])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tcmalloc").and(predicate::str::contains("exec only")));
    pybench()
        .args(["run", "-w", "nosuch"])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosuch").and(predicate::str::contains("dicts")));
    // Named but empty: not the default list.
    for empty in ["", ","] {
        pybench()
            .args(["run", "-w", "dicts", "-a", empty])
            .arg("--out")
            .arg(&tmp)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "no allocator named (the list is empty)",
            ));
    }
    // A --libpython that does not exist stops the run even with no cpython:3.X in it.
    pybench()
        .args(["run", "-w", "dicts", "-a", "system", "--libpython"])
        .arg(tmp.join("no-such-libpython.so"))
        .arg("--out")
        .arg(&tmp)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no-such-libpython.so: no such file",
        ));
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing measured, nothing written"
    );
}

#[test]
fn sigint_keeps_the_finished_cells() {
    stop_keeps_the_finished_cells(libc::SIGINT, 130);
}

/// SIGTERM, sent to pybench alone as a CI job's time limit or cancel does: the same, exit 143.
#[test]
fn sigterm_keeps_the_finished_cells() {
    stop_keeps_the_finished_cells(libc::SIGTERM, 143);
}

/// SIGHUP, as a closed terminal or a dropped ssh session sends: the same, exit 129 (until
/// 2026-12-06 it killed pybench and the run's results were lost).
#[test]
fn sighup_keeps_the_finished_cells() {
    stop_keeps_the_finished_cells(libc::SIGHUP, 129);
}

/// Sends `sig` once a cell is saved; the run stops with `code` and keeps what it measured.
fn stop_keeps_the_finished_cells(sig: libc::c_int, code: i32) {
    let tmp = tempdir("run");
    let exe = assert_cmd::cargo::cargo_bin("pybench");
    let mut child = std::process::Command::new(exe)
        .args([
            "run", "-w", "churn", "-a", "system", "-r", "200", "--scale", "200000", "--quiet",
        ])
        .arg("--out")
        .arg(&tmp)
        .spawn()
        .unwrap();
    // Wait until at least one cell is saved: no clock, a run that ends first fails the test.
    let saved = |tmp: &Path| -> usize {
        let Ok(mut entries) = std::fs::read_dir(tmp) else {
            return 0;
        };
        let Some(Ok(dir)) = entries.next() else {
            return 0;
        };
        std::fs::read_to_string(dir.path().join("results.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .map_or(0, |j| j["cells"].as_array().map_or(0, Vec::len))
    };
    common::wait_while_running(&mut child, "no cell was saved", || saved(&tmp) > 0);
    unsafe { libc::kill(child.id() as i32, sig) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code));
    let dir = run_dir(&tmp);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true);
    let cells = json["cells"].as_array().unwrap().len();
    assert!((1..200).contains(&cells), "{cells} cells kept");
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .unwrap()
        .contains("interrupted"));
}

#[test]
fn a_crashing_allocator_fails_its_cells_and_keeps_the_others() {
    let tmp = tempdir("run");
    let out = pybench()
        .args([
            "run",
            "-w",
            "dicts",
            "-a",
            "system,test-crash:100",
            "-r",
            "2",
            "--scale",
            "20000",
        ])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .code(3);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // Its row says it failed, not that it was within the harness's noise.
    let row = stdout
        .lines()
        .find(|l| l.starts_with("test-crash:100"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        row.contains("(2 failed)") && row.contains(" failed "),
        "{row}"
    );
    assert!(!row.contains("noise"), "{row}");
    // Repetitions are numbered from 0, as in results.json and results.csv.
    for rep in [0, 1] {
        assert!(
            stderr.contains(&format!(
                "test-crash:100 rep {rep}: killed by signal 6 (SIGABRT)"
            )),
            "{stderr}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir(&tmp).join("results.json")).unwrap())
            .unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6, "null, system and the crash cell, twice");
    for c in cells {
        let crashed = c["allocator"] == "test-crash:100";
        assert_eq!(c["status"], if crashed { "failed" } else { "ok" }, "{c}");
        if c["allocator"] == "system" {
            assert!(c["metrics"].as_array().unwrap().len() > 10);
        }
        if !crashed {
            // The survivors keep their throughput: measured again without the crasher.
            assert!(
                !c["throughput"]["ns_per_op"].as_array().unwrap().is_empty(),
                "{c}"
            );
        }
    }
}

#[test]
fn an_unavailable_allocator_named_explicitly_stops_the_run() {
    let tmp = tempdir("run");
    // A file that exists but is no library: the allocator it would serve is unavailable.
    let lib = tmp.join("lib").join("libpython3.9.so");
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    std::fs::write(&lib, b"not an ELF file").unwrap();
    let out = tmp.join("out");
    pybench()
        .args(["run", "-w", "dicts", "-a", "cpython:3.9", "--libpython"])
        .arg(&lib)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "libpython3.9.so: not a shared library (no ELF header)",
        ));
    assert!(!out.exists(), "nothing measured, nothing written");
}

/// `-a` splits at commas that start a new name, so a custom geometry keeps its own commas
/// (issue 16: it used to be split into `pymalloc:arena=512K` and `pool=8K`).
#[test]
fn a_custom_geometry_works_in_the_allocator_list() {
    let tmp = tempdir("geometry");
    let csv = tmp.join("r.csv");
    pybench()
        .args([
            "run",
            "-q",
            "-w",
            "dicts",
            "--scale",
            "3000",
            "-r",
            "1",
            "-a",
            "system,pymalloc:arena=512K,pool=8K",
        ])
        .arg("--out")
        .arg(&tmp)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let (_, values) = read_csv(&csv);
    let allocators: std::collections::BTreeSet<&str> =
        values.keys().map(|k| k.0.as_str()).collect();
    let custom: Vec<&&str> = allocators
        .iter()
        .filter(|a| a.starts_with("pymalloc:"))
        .collect();
    assert_eq!(custom.len(), 1, "{allocators:?}");
    assert!(
        custom[0].contains("524288") || custom[0].contains("512K"),
        "{custom:?}"
    );
    assert!(allocators.contains("system"), "{allocators:?}");
}

/// Cell children start from this very binary by its inode, so a run survives its executable
/// being rebuilt or removed midway; a path from `current_exe` would then name nothing and
/// every cell after it would fail to start.
#[test]
fn a_run_survives_its_executable_being_removed() {
    let dir = tempdir("run-removed-exe");
    let copy = dir.join("pybench-copy");
    std::fs::copy(assert_cmd::cargo::cargo_bin("pybench"), &copy).unwrap();
    let out = dir.join("out");
    let mut cmd = std::process::Command::new(&copy);
    cmd.args([
        "run",
        "-w",
        "dicts",
        "-a",
        "system",
        "-r",
        "2",
        "--scale",
        "5000",
        "--quiet",
        "--no-plots",
        "--out",
    ])
    .arg(&out)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    // A fork elsewhere in the test process may briefly hold the copy open for writing.
    let child = (0..50)
        .find_map(|_| match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                None
            }
            other => Some(other.unwrap()),
        })
        .expect("the copy could be started");
    // spawn returns once the exec succeeded: the run is already executing the copy.
    std::fs::remove_file(&copy).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let doc = common::results_json(&out);
    let cells = doc["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    assert!(
        cells.iter().all(|c| c["status"] == "ok"),
        "every cell measured: {stderr}"
    );
}

/// A workload whose order of allocations and frees no program's loops would give (tuples
/// with every step drawn afresh, `loop_iterations = 1`: about a third of its operations
/// mispredicted) is named in one warning, however many cells carry the note; the built-in
/// tuples (loop bodies of 8 steps on average) and churn (one loop) are not.
#[test]
fn an_order_no_program_gives_is_warned_about_once() {
    let tmp = tempdir("order");
    let spec = tmp.join("unlooped.toml");
    let builtin = include_str!("../../workloads/tuples.toml");
    let unlooped = builtin
        .replace("name = \"tuples\"", "name = \"unlooped\"")
        .replace("loop_iterations = 8", "loop_iterations = 1");
    assert!(unlooped.contains("loop_iterations = 1"), "{unlooped}");
    std::fs::write(&spec, unlooped).unwrap();
    let workloads = format!("{},tuples,churn", spec.display());
    // --quiet keeps warnings ("warnings and errors only").
    for quiet in [&[][..], &["-q"][..]] {
        pybench()
            .args(["run", "-w", &workloads, "-a", "pymalloc,system", "-r", "1"])
            .args(common::QUICK_RUN)
            .args(quiet)
            .arg("--out")
            .arg(tmp.join("out"))
            .assert()
            .success()
            .stderr(predicate::function(|e: &str| {
                e.matches("warning: unlooped: op order: ").count() == 1
                    && !e.contains("tuples: op order")
                    && !e.contains("churn: op order")
            }));
    }
}
