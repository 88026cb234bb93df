//! `pybench exec` on a real Python program: every allocator's cells, the preload really in
//! effect inside the Python process, peak RSS above the bare interpreter's, failures reported.

use crate::common;

use crate::common::{pybench, refusal, tempdir};
use predicates::prelude::*;
use std::path::Path;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/python/alloc_heavy.py"
);

fn results(root: &Path) -> serde_json::Value {
    common::results_json(root)
}

fn peak_rss(json: &serde_json::Value, allocator: &str) -> f64 {
    json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["allocator"] == allocator)
        .and_then(|c| {
            c["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "peak_rss_bytes")
        })
        .and_then(|m| m["value"].as_f64())
        .unwrap()
}

#[test]
fn every_allocator_runs_with_its_preload_in_effect() {
    let tmp = tempdir("all");
    let out = pybench()
        .args(["exec", "-r", "1", "--out"])
        .arg(&tmp)
        .args(["--", "python3", SCRIPT])
        .assert()
        .success();
    // The program's own output goes to stderr, next to the progress lines (stdout is
    // pybench's table only).
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.contains("PYTHONMALLOC="), "{stdout}");
    let program_output = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let json = results(&tmp);
    let names: Vec<&str> = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["allocator"].as_str().unwrap())
        .collect();
    assert!(names.starts_with(&["pymalloc", "system"]), "{names:?}");
    // What the Python process itself saw, one line per run, each after the progress line
    // that names its allocator ("[k/n] LABEL under NAME rep R"; runs go in a fresh order
    // each repetition, so the run order is read from those lines).
    let mut current = None;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for l in program_output.lines() {
        if let Some((_, rest)) = l.split_once(" under ") {
            current = rest.split_once(" rep ").map(|(name, _)| name);
        } else if l.starts_with("PYTHONMALLOC=") {
            seen.push((current.take().expect("a progress line first"), l));
        }
    }
    assert_eq!(seen.len(), names.len(), "{program_output}");
    let mut run: Vec<&str> = seen.iter().map(|(name, _)| *name).collect();
    run.sort_unstable();
    let mut saved = names.clone();
    saved.sort_unstable();
    assert_eq!(run, saved, "every allocator ran once");
    for (name, line) in &seen {
        let expected_env = if *name == "pymalloc" {
            "PYTHONMALLOC= "
        } else {
            "PYTHONMALLOC=malloc "
        };
        assert!(line.starts_with(expected_env), "{name}: {line}");
        match *name {
            "pymalloc" | "system" => assert!(line.ends_with("preloaded=-"), "{name}: {line}"),
            // pybench's own build of the allocator the replay links (preload/).
            other => assert!(
                line.contains(&format!("libpybench_preload_{other}.so")),
                "{name}: {line}"
            ),
        }
    }
    for c in json["cells"].as_array().unwrap() {
        assert_eq!(c["kind"], "exec");
        assert_eq!(c["status"], "ok");
    }
}

#[test]
fn peak_rss_is_above_the_bare_interpreter() {
    let (busy, bare) = (tempdir("busy"), tempdir("bare"));
    for (dir, args) in [
        (&busy, vec!["python3", SCRIPT]),
        (&bare, vec!["python3", "-c", "pass"]),
    ] {
        pybench()
            .args(["exec", "-a", "pymalloc,system", "-r", "1", "-q", "--out"])
            .arg(dir)
            .arg("--")
            .args(&args)
            .assert()
            .success();
    }
    for a in ["pymalloc", "system"] {
        let (b, base) = (peak_rss(&results(&busy), a), peak_rss(&results(&bare), a));
        assert!(b > base + 4.0 * 1024.0 * 1024.0, "{a}: {b} vs bare {base}");
    }
}

#[test]
fn a_failing_program_is_reported_with_its_exit_code() {
    let tmp = tempdir("fail");
    pybench()
        .args(["exec", "-a", "pymalloc,system", "-r", "1", "-q", "--out"])
        .arg(&tmp)
        .args(["--", "python3", SCRIPT, "3"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("the program exited with code 3"));
    let json = results(&tmp);
    for c in json["cells"].as_array().unwrap() {
        assert_eq!(c["status"], "failed");
        assert!(
            c["metrics"].as_array().unwrap().is_empty(),
            "a failed run is never timed"
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempdir("bad");
    let unloadable = unloadable_allocator(&tmp);
    let unloadable_arg = format!("x={}", unloadable.display());
    let py = ["--", "python3", "-c", "pass"];
    let cases: [(&[&str], &str); 7] = [
        (
            &["--", "no-such-python-xyz"],
            "cannot start `no-such-python-xyz`",
        ),
        (&["-a", "hoard"], "unknown exec allocator `hoard`"),
        (&["-a", ","], "no allocator named (the list is empty)"),
        (
            &["--preload", "x=/nonexistent.so"],
            "x: preload library /nonexistent.so not found",
        ),
        (
            &["--preload", "m=/usr/lib/x86_64-linux-gnu/libm.so.6"],
            "is not an allocator",
        ),
        // Defines malloc and free, but ld.so skips it (and would run the program on glibc
        // under its name, exit 0): refused for what the loader says.
        (
            &["--preload", &unloadable_arg],
            "cannot be preloaded: object file has no loadable segments",
        ),
        // It used to run the default allocators instead, then report it (exit 2).
        (
            &["-a", "pymalloc:arena=4K,pool=16K"],
            "pymalloc:arena=4K,pool=16K: bad geometry: arena 4096 holds fewer than 4 pools",
        ),
    ];
    for (args, needle) in cases {
        // Beside an allocator that could run: nothing runs all the same, nothing is written.
        let dir = tmp.join("out");
        let mut cmd = pybench();
        cmd.args(["exec", "-r", "1", "--no-plots", "--out"])
            .arg(&dir);
        if args.contains(&"--preload") {
            cmd.args(["-a", "pymalloc"]);
        }
        cmd.args(args);
        if !args.contains(&"--") {
            cmd.args(py);
        }
        let out = cmd.assert().code(2);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("pybench: error: "), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!dir.exists(), "{args:?}: nothing run, nothing written");
    }
    // No program at all: clap's refusal, in one line.
    let line = refusal(pybench().args(["exec"]));
    assert_eq!(
        line,
        "pybench: error: the following required arguments were not provided: <PROGRAM>... \
         (see --help)"
    );
}

/// A copy of one of pybench's own preload libraries without its program headers: its symbol
/// table still defines malloc and free, but the dynamic loader cannot map it.
fn unloadable_allocator(dir: &Path) -> std::path::PathBuf {
    let exe = assert_cmd::cargo::cargo_bin("pybench");
    let deps = exe.parent().unwrap().join("deps");
    let lib = ["jemalloc", "mimalloc", "snmalloc"]
        .iter()
        .map(|a| deps.join(format!("libpybench_preload_{a}.so")))
        .find(|p| p.is_file())
        .expect("a preload library built with pybench");
    let mut bytes = std::fs::read(lib).unwrap();
    // e_phnum (ELF64): no segments to load.
    bytes[0x38..0x3a].copy_from_slice(&0u16.to_le_bytes());
    let copy = dir.join("libnosegments.so");
    std::fs::write(&copy, bytes).unwrap();
    copy
}

/// `--reference` is the base of exec's ratios too (it was accepted and ignored, even when it
/// named no allocator of the run), and one the run lacks is refused before any run.
#[test]
fn the_reference_flag_is_the_base_of_the_ratios_and_must_be_in_the_run() {
    let root = tempdir("exec-reference");
    let exec = |reference: &str| {
        pybench()
            .args(["exec", "-a", "pymalloc,system", "-r", "1", "--no-plots"])
            .args(["--reference", reference, "--out"])
            .arg(&root)
            .args(["--", "true"])
            .assert()
    };
    let out = exec("system").success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("(×) relative to system"), "{stdout}");
    let md = std::fs::read_to_string(common::run_dir(&root).join("summary.md")).unwrap();
    assert!(md.contains("relative to `system`"), "{md}");
    std::fs::remove_dir_all(common::run_dir(&root)).unwrap();
    exec("jemalloc").code(2).stderr(predicates::str::contains(
        "--reference jemalloc: not one of this run's allocators (pymalloc, system)",
    ));
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0, "nothing run");
}

/// The contenders run in a fresh order each repetition (so none always follows the same
/// one), and the results keep them in the order given, repetition by repetition.
#[test]
fn contenders_run_in_a_fresh_order_each_repetition_and_are_saved_in_the_order_given() {
    let root = tempdir("exec-order");
    let out = pybench()
        .args([
            "exec",
            "-a",
            "pymalloc,system",
            "-r",
            "6",
            "--no-plots",
            "--out",
        ])
        .arg(&root)
        .args(["--", "true"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    // "[k/12] true under NAME rep R", in the order the runs were made.
    let runs: Vec<(String, String)> = stderr
        .lines()
        .filter_map(|l| l.split_once(" under "))
        .filter_map(|(_, rest)| rest.split_once(" rep "))
        .map(|(name, rep)| (rep.to_string(), name.to_string()))
        .collect();
    assert_eq!(runs.len(), 12, "{stderr}");
    let firsts: Vec<&str> = runs.chunks(2).map(|pair| pair[0].1.as_str()).collect();
    for (r, pair) in runs.chunks(2).enumerate() {
        assert!(
            pair.iter().all(|(rep, _)| *rep == r.to_string()),
            "{stderr}"
        );
        assert_ne!(pair[0].1, pair[1].1, "{stderr}");
    }
    assert!(
        firsts.contains(&"pymalloc") && firsts.contains(&"system"),
        "{firsts:?}"
    );
    let saved: Vec<(u64, String)> = results(&root)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rep = c["repetition"].as_u64().unwrap();
            (rep, c["allocator"].as_str().unwrap().to_string())
        })
        .collect();
    let want: Vec<(u64, String)> = (0..6)
        .flat_map(|r| [(r, "pymalloc".to_string()), (r, "system".to_string())])
        .collect();
    assert_eq!(saved, want);
}

/// The free page reporting note comes first where the balloon reports, except under `-q`,
/// whose help promises warnings and errors only (it used to print it anyway); results.json
/// records reporting either way.
#[test]
fn the_machine_notes_come_before_real_runs_and_reporting_is_recorded_only_where_the_balloon_reports(
) {
    for (id, features, reporting, quiet) in [
        ("0x0005", "0110010100000000", true, false),
        ("0x0005", "0110010100000000", true, true),
        ("0x0005", "0110000100000000", false, false),
        ("0x0002", "0110010100000000", false, false),
    ] {
        let tmp = tempdir("reporting");
        let sys = tmp.join("sys");
        common::fake_sysfs(&sys, id, features);
        // The program fails at once (exit 3): the note comes before any run.
        let mut cmd = pybench();
        cmd.env("PYBENCH_FAKE_SYSFS", &sys)
            .args(["exec", "-a", "system", "-r", "1", "--no-plots", "--out"])
            .arg(tmp.join("out"));
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd
            .args(["--", "python3", SCRIPT, "3"])
            .assert()
            .code(3)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let noted = stderr.contains("free page reporting, blocks of 2^9 pages");
        assert_eq!(
            noted,
            reporting && !quiet,
            "{id} {features} -q {quiet}: {stderr}"
        );
        if quiet {
            assert!(
                !stderr.lines().any(|l| l.starts_with("note:")),
                "-q: warnings and errors only: {stderr}"
            );
        }
        // The build warning `run` gives comes here too (the test build is usually `checked`),
        // a warning, so with -q as well.
        let build = results(&tmp.join("out"))["machine"]["build"].clone();
        assert_eq!(
            stderr.contains("build of pybench, whose engine verifies every free"),
            build != "release",
            "{build}: {stderr}"
        );
        let recorded = &results(&tmp.join("out"))["machine"]["free_page_reporting"];
        match id {
            "0x0005" => assert_eq!(recorded["enabled"], reporting, "{recorded}"),
            _ => assert!(
                recorded.is_null(),
                "no balloon, nothing recorded: {recorded}"
            ),
        }
    }
}

#[test]
fn the_progress_count_does_not_overflow_at_the_largest_repetitions() {
    use std::io::BufRead;
    let tmp = tempdir("huge-r");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "exec",
            "-r",
            "4294967295",
            "-a",
            "system,pymalloc",
            "--no-plots",
        ])
        .arg("--out")
        .arg(&*tmp)
        .args(["--", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines
        .map_while(Result::ok)
        .find(|l| l.starts_with('['))
        .expect("a progress line");
    // SAFETY: signalling our own child, still unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    // u32 arithmetic wrapped it to [1/4294967294].
    assert!(first.starts_with("[1/8589934590] "), "{first}");
}
