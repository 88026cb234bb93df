//! `pybench validate` on a real allocation-heavy script: both sides measured for every
//! allocator, rankings and Kendall's tau written to the result files, bad input refused.

use crate::common;

use crate::common::{pybench, refusal, tempdir};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/python/alloc_heavy.py"
);

/// `validate -a pymalloc,system --rounds 4` of the script with `extra` flags (`-r 1` unless
/// they give one) into `tmp` (four rounds: the pipeline is under test, not the replay's
/// precision); its stdout and stderr.
fn validate_script(tmp: &std::path::Path, extra: &[&str]) -> (String, String) {
    let runs = if extra.contains(&"-r") {
        &[][..]
    } else {
        &["-r", "1"]
    };
    let out = pybench()
        .arg("validate")
        .args(extra)
        .args(runs)
        .args([
            "-a",
            "pymalloc,system",
            "--rounds",
            "4",
            "--no-plots",
            "--out",
        ])
        .arg(tmp)
        .args(["--", "python3", SCRIPT])
        .assert()
        .success();
    let text = |b: &Vec<u8>| String::from_utf8(b.clone()).unwrap();
    (
        text(&out.get_output().stdout),
        text(&out.get_output().stderr),
    )
}

/// The warning `validate -r N` gives when N runs a side can never be significant.
fn too_few(runs: u32, floor: &str) -> String {
    format!(
        "warning: with -r {runs} the rank test on the real runs can give no p-value below \
         {floor} (α = 0.05): no pair of allocators can be told apart and every pair will be \
         indistinguishable; -r 4 is the fewest that can (smallest p 0.029; the default, 5, \
         reaches 0.008)\n"
    )
}

#[test]
fn validate_measures_both_sides_and_writes_the_verdict() {
    let tmp = tempdir("ok");
    let (stdout, stderr) = validate_script(&tmp, &[]);
    // Said before anything runs (the first line), and then borne out below.
    assert!(stderr.starts_with(&too_few(1, "1.000")), "{stderr}");
    assert!(
        stdout.contains("rank agreement (Kendall's tau, +1 = same order) over the pairs"),
        "{stdout}"
    );
    // One run a side has no interval: said, not shown as a point-wide one.
    assert!(
        stdout.contains("[n/a]: no interval, a side has a single run"),
        "{stdout}"
    );
    // (After the replays' own table, which `run` prints too.)
    let validation = stdout.split("\nvalidation of `").nth(1).unwrap();
    let system = validation
        .lines()
        .find(|l| l.starts_with("system "))
        .unwrap();
    assert_eq!(system.matches("[n/a]").count(), 4, "{stdout}");
    // One run a side has no spread to judge resolution by: said, not guessed.
    assert!(
        stdout.contains(
            "real runs resolve (about 4 times in 5, p < 0.05): time not estimated (no \
             allocator compared on both sides has two runs); memory not estimated"
        ),
        "{stdout}"
    );
    let dir = common::run_dir(&tmp);
    assert!(
        dir.join("alloc_heavy.pbt").is_file(),
        "the recorded trace is kept with the results"
    );
    let json = common::results_json(&tmp);
    let cells = json["cells"].as_array().unwrap();
    // --rounds 4: four paired samples a plain replay cell, a quarter (at least 2) in the
    // mutator replay, and the manifest says so.
    assert_eq!(json["parameters"]["calibration"]["rounds"], 4);
    for c in cells.iter().filter(|c| c["kind"] == "replay") {
        let mutator = c["workload"].as_str().unwrap().ends_with("(mutator)");
        let samples = c["throughput"]["ns_per_op"].as_array().unwrap().len();
        assert_eq!(samples, if mutator { 2 } else { 4 }, "{}", c["workload"]);
    }
    let kinds = |k: &str| cells.iter().filter(|c| c["kind"] == k).count();
    assert_eq!(
        (kinds("replay"), kinds("exec")),
        (4, 2),
        "per allocator one real run and a replay in each mode (plain, mutator)"
    );
    // The mutator replay's cells are named apart and carry how its work was fitted.
    let mutator: Vec<_> = cells
        .iter()
        .filter(|c| c["workload"].as_str().unwrap().ends_with("(mutator)"))
        .collect();
    assert_eq!(mutator.len(), 2, "{cells:?}");
    for c in &mutator {
        let notes = c["notes"].as_array().unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n.as_str().unwrap().starts_with("mutator fit on ")),
            "{c}"
        );
    }
    let v = &json["validation"];
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        for field in [
            "replay_time_s",
            "real_wall_s",
            "replay_peak_rss",
            "real_peak_rss",
            "mutator_time_s",
        ] {
            assert!(r[field].as_f64().unwrap() > 0.0, "{field} in {r}");
        }
    }
    assert_eq!(rows[0]["allocator"], "pymalloc");
    // The manifest names both sides' versions (the preloads are not the replay's crates).
    let infos: Vec<&str> = json["allocators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        infos.contains(&"system") && infos.contains(&"system (replay)"),
        "{infos:?}"
    );
    assert_eq!(rows[0]["observed_delta_s"], 0.0);
    // Both modes' predicted differences next to the observed ones; from one run a side, each
    // is its point alone (`[point]`), and no median has an interval.
    for field in [
        "plain_delta",
        "mutator_delta",
        "plain_cold_delta",
        "mutator_cold_delta",
        "observed_cpu_delta",
        "observed_wall_delta",
        "observed_time_ratio",
    ] {
        let d = rows[1][field].as_array().unwrap();
        assert!(d.len() == 1 && d[0].is_f64(), "{field}: {d:?}");
    }
    for field in [
        "replay_time_ci",
        "real_wall_ci",
        "replay_rss_ci",
        "real_rss_ci",
    ] {
        assert!(rows[1][field].is_null(), "{field}: {}", rows[1]);
    }
    assert!(
        stdout.contains("time difference from pymalloc by replay mode"),
        "{stdout}"
    );
    // By default the cold first pass predicts the program's time; the warm passes' verdict
    // is one line beside it.
    assert_eq!(v["prediction"], "cold");
    assert!(v["time_warm"]["pairs"].is_array(), "{v}");
    assert!(
        stdout.contains("replay (cold)") && stdout.contains("with the warm figure ("),
        "{stdout}"
    );
    // Two allocators ranked on both sides: the raw orders either agree or are reversed.
    let tau = v["tau_time"].as_f64().unwrap();
    assert!(tau == 1.0 || tau == -1.0, "{tau}");
    // One repetition cannot show a significant real difference: the pair is
    // indistinguishable on both figures, never a disagreement.
    assert!(v["disagreements"].as_array().unwrap().is_empty());
    assert_eq!(v["indistinguishable"].as_array().unwrap().len(), 2, "{v}");
    assert!(v["tau_time_significant"].is_null());
    // Both sides ran the same builds, and the table says so.
    for r in rows {
        assert_eq!(r["real_version"], r["replay_version"], "{r}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("system") && l.ends_with("same")),
        "{stdout}"
    );
}

#[test]
fn validate_without_the_mutator_replays_once_and_records_no_pace() {
    let tmp = tempdir("no-mutator");
    let (stdout, _) = validate_script(&tmp, &["--no-mutator", "--prediction", "warm"]);
    let json = common::results_json(&tmp);
    assert_eq!(json["validation"]["prediction"], "warm");
    assert!(
        stdout.contains("replay (warm)") && stdout.contains("with the cold figure ("),
        "{stdout}"
    );
    let cells = json["cells"].as_array().unwrap();
    let kinds = |k: &str| cells.iter().filter(|c| c["kind"] == k).count();
    assert_eq!((kinds("replay"), kinds("exec")), (2, 2), "{cells:?}");
    assert!(cells
        .iter()
        .all(|c| !c["workload"].as_str().unwrap().ends_with("(mutator)")));
    for r in json["validation"]["rows"].as_array().unwrap() {
        assert!(r["replay_time_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["mutator_time_s"].is_null(), "{r}");
    }
    assert!(
        stdout.contains("by replay mode") && stdout.contains("  plain"),
        "the plain replay's warm and cold predictions: {stdout}"
    );
    assert!(
        !stdout.contains("  mutator"),
        "no mutator row without the mutator: {stdout}"
    );
    // The trace was recorded without pace, which only the mutator replay reads.
    let dir = common::run_dir(&tmp);
    let trace = pybench::trace::parallel::ParallelReader::open(&dir.join("alloc_heavy.pbt"), false);
    assert!(!trace.unwrap().has_pace());
}

/// `-q`, as its help says: no table, warnings and errors on stderr, and on stdout the verdict
/// alone. Before, it printed the whole comparison. Two runs a side: intervals, but still no
/// significance, which the warning says first.
#[test]
fn a_quiet_validate_prints_its_verdict_alone() {
    let tmp = tempdir("quiet");
    let (stdout, stderr) = validate_script(&tmp, &["-q", "-r", "2", "--no-mutator"]);
    assert!(stderr.starts_with(&too_few(2, "0.333")), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("rank agreement (Kendall's tau"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("pairs: time 0 agree, 0 disagree, 1 indistinguishable;"),
        "{stdout}"
    );
    assert_eq!(
        lines[2],
        "no pair the real runs tell apart is ranked the other way by the replay"
    );
    // Two runs a side have intervals again.
    let rows = &common::results_json(&tmp)["validation"]["rows"];
    assert_eq!(rows[1]["observed_wall_delta"].as_array().unwrap().len(), 3);
    assert!(rows[1]["real_wall_ci"].is_array(), "{rows}");
}

/// Programs and options `validate` cannot work with are refused in one line (exit 2), each
/// saying why, before anything is recorded.
#[test]
fn programs_that_cannot_be_validated_fail_in_one_line() {
    let tmp = tempdir("bad");
    let line = refusal(pybench().args(["validate"]));
    assert_eq!(
        line,
        "pybench: error: the following required arguments were not provided: <PROGRAM>... \
         (see --help)"
    );
    let line = refusal(pybench().args(["validate", "--rounds", "1", "--", "python3", SCRIPT]));
    assert!(
        line.starts_with("pybench: error: invalid value '1' for '--rounds <N>'"),
        "{line}"
    );
    // Checked before recording or running anything: it used to validate the default
    // allocators in its place, write them, and only then report it.
    let out = tmp.join("geometry");
    let line = refusal(
        pybench()
            .args([
                "validate",
                "-r",
                "1",
                "-a",
                "pymalloc:arena=4K,pool=16K",
                "--out",
            ])
            .arg(&out)
            .args(["--", "python3", SCRIPT]),
    );
    assert!(
        line.starts_with("pybench: error: pymalloc:arena=4K,pool=16K: bad geometry"),
        "{line}"
    );
    assert!(!out.exists(), "nothing recorded, nothing written");
    let line = refusal(
        pybench()
            .args(["validate", "-q", "--out"])
            .arg(&tmp)
            .args(["--", "no-such-program-xyz"]),
    );
    assert_eq!(
        line,
        "pybench: error: cannot start `no-such-program-xyz`: no such program"
    );
    // This one gets as far as recording, where warnings about the run (a `checked` build's,
    // in the CI suite) may come first: its error is the last line, and the only error.
    let out = pybench()
        .args(["validate", "-q", "--out"])
        .arg(&tmp)
        .args(["--", "/bin/true"])
        .env(
            pybench::sys::procfs::FAKE_LOADAVG_ENV,
            "0.10 0.10 0.10 1/100 1",
        )
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(err.matches("pybench: error:").count(), 1, "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .starts_with("pybench: error: cannot record true: no allocator hook was installed"),
        "{err}"
    );
}

#[test]
fn a_mutator_replay_cut_short_by_sigterm_is_not_kept_as_failed() {
    use std::io::BufRead;
    let tmp = tempdir("mutator-term");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "validate",
            "-r",
            "1",
            "-a",
            "pymalloc,system",
            "--rounds",
            "4",
        ])
        .args(["--no-plots", "--out"])
        .arg(&tmp)
        .args(["--", "python3", SCRIPT])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen += &line;
        seen.push('\n');
        if line.contains("(mutator)") {
            // SAFETY: signalling our own child, still unreaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            break;
        }
    }
    for line in lines {
        seen += &line.unwrap();
        seen.push('\n');
    }
    assert_eq!(child.wait().unwrap().code(), Some(143), "{seen}");
    assert!(!seen.contains("failed:"), "{seen}");
    let json = common::results_json(&tmp);
    assert_eq!(json["interrupted"], true);
    for c in json["cells"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "a cut replay was kept: {c}");
    }
}

#[test]
fn a_module_name_like_a_path_writes_no_trace_outside_the_results_folder() {
    let tmp = tempdir("module-path");
    let abs = tmp.join("elsewhere");
    std::fs::create_dir_all(&abs).unwrap();
    let absolute = abs.join("x");
    for module in ["../../victim", absolute.to_str().unwrap()] {
        // The module cannot run: the recording fails, but its trace was written first.
        let refused = pybench()
            .args([
                "validate",
                "-q",
                "-r",
                "1",
                "-a",
                "pymalloc,system",
                "--no-plots",
            ])
            .arg("--out")
            .arg(tmp.join("out"))
            .args(["--", "python3", "-m", module])
            .assert()
            .code(2);
        // Refused for the program's failure, not for anything about the paths (warnings
        // about -r 1 and the machine may come before it).
        let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!(
                "pybench: error: {module} failed while being recorded (exit status 1)"
            )),
            "{err}"
        );
    }
    let outside = common::entries(&tmp);
    assert_eq!(
        outside,
        ["elsewhere", "out"],
        "written beside the results folder"
    );
    assert_eq!(
        common::entries(&abs),
        Vec::<String>::new(),
        "written at -m's path"
    );
}

#[test]
fn fewer_than_two_allocators_with_a_replay_are_refused_before_anything_runs() {
    let tmp = tempdir("one-replay");
    let deps = assert_cmd::cargo::cargo_bin("pybench")
        .parent()
        .unwrap()
        .join("deps");
    let lib = deps.join("libpybench_preload_mimalloc.so");
    let preload = format!("m={}", lib.display());
    // Before: everything measured, then an empty verdict, "Δ = difference from pymalloc"
    // without pymalloc, and exit 0.
    for (args, why) in [
        (
            vec!["--preload", &preload],
            "but `m` runs on the real side only",
        ),
        (
            vec!["-a", "system", "--preload", &preload],
            "but only `system` has a replay: `m` runs on the real side only",
        ),
        (vec!["-a", "pymalloc"], "but only `pymalloc` was named"),
    ] {
        let out = tmp.join("out");
        let a = pybench()
            .args(["validate", "-r", "2", "--rounds", "2"])
            .args(&args)
            .arg("--out")
            .arg(&out)
            .args(["--", "python3", SCRIPT])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        assert!(errors[0].contains(why), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: nothing measured, nothing written");
    }
}

/// A script's name and the program's arguments are shown wherever validate prints the
/// program: a name holding an escape sequence recoloured the terminal (`[1/1] ev\e[31m…`),
/// and an argument holding a line break and a backtick fence closed summary.md's code block,
/// rendering what followed as a heading and a table. Both are now shown escaped (`\u{1b}`,
/// `\n`), inside a fence that no backtick run in them can close.
#[test]
fn hostile_program_text_is_shown_escaped_and_stays_in_its_code_block() {
    if !common::have_python() {
        return;
    }
    let tmp = tempdir("hostile-program");
    let script = tmp.join("ev\u{1b}[31mRED|<b>x<_b>,=1+2\n.py");
    std::fs::write(&script, "pass\n").unwrap();
    let out = tmp.join("out");
    let run = pybench()
        .args([
            "validate",
            "-r",
            "1",
            "-a",
            "pymalloc,system",
            "--rounds",
            "2",
        ])
        .args(["--no-plots", "--out"])
        .arg(&out)
        .arg("--")
        .arg("python3")
        .arg(&script)
        .arg("x\n```\n# INJECTED\n| a | b |\n|---|---|")
        .assert()
        .success();
    let o = run.get_output();
    for text in [&o.stdout, &o.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("ev\\u{1b}[31mRED"), "{text}");
    }
    let summary = std::fs::read_to_string(common::run_dir(&out).join("summary.md")).unwrap();
    assert!(!summary.contains('\u{1b}'), "{summary}");
    assert!(
        !summary
            .lines()
            .any(|l| l.starts_with("# INJECTED") || l == "| a | b |"),
        "{summary}"
    );
}
