//! The trace commands through the CLI: gen, stats FILE, list workloads, run --trace.

use crate::common::{pybench, tempdir};
use assert_cmd::Command;
use predicates::str::contains;

fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_generated_trace_summarises_like_its_workload() {
    let dir = tempdir("gen");
    let file = dir.join("lists.pbt");
    pybench()
        .args([
            "gen",
            "--workload",
            "lists",
            "--scale",
            "500000",
            "--seed",
            "9",
            "-o",
        ])
        .arg(&file)
        .assert()
        .success()
        .stderr(contains("wrote"));
    let from_trace = json(pybench().arg("stats").arg(&file).arg("--json"));
    let from_spec = json(pybench().args([
        "stats",
        "--workload",
        "lists",
        "--scale",
        "500000",
        "--seed",
        "9",
        "--json",
    ]));
    // Several blocks of 2^18 events, so `stats FILE` summarises across block boundaries.
    let events = from_trace["summary"]["events"].as_u64().unwrap();
    assert!(events > 3 << 18, "{events} events");
    assert_eq!(from_trace["summary"], from_spec["summary"]);
    assert_eq!(from_trace["trace"]["source"], "generated");
    assert_eq!(from_trace["trace"]["phases"], from_spec["stream"]["phases"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shipped_traces_are_listed_and_readable() {
    pybench()
        .args(["list", "workloads"])
        .assert()
        .success()
        .stdout(contains("trace:json_tool"))
        .stdout(contains("trace:pip_list"))
        .stdout(contains("lists"));
    pybench()
        .args(["stats", "--workload", "trace:compileall"])
        .assert()
        .success()
        .stdout(contains("recorded, python 3."));
}

#[test]
fn run_replays_a_trace_next_to_a_workload() {
    let dir = tempdir("run");
    let (file, other) = (dir.join("small.pbt"), dir.join("other.pbt"));
    for (workload, to) in [("dicts", &file), ("json", &other)] {
        pybench()
            .args(["gen", "--workload", workload, "--scale", "5000", "-o"])
            .arg(to)
            .assert()
            .success();
    }
    let csv = dir.join("r.csv");
    pybench()
        .args([
            "run", "-q", "-w", "lists", "--scale", "5000", "-a", "system", "-r", "1",
        ])
        // Two files in one --trace, separated by a comma as in -w.
        .arg("--trace")
        .arg(format!("{},{}", file.display(), other.display()))
        .arg("--out")
        .arg(dir.join("results"))
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("trace:small"), "{text}");
    assert!(text.contains("trace:other"), "{text}");
    assert!(text.contains("lists"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_traces_fail_with_one_line() {
    let dir = tempdir("bad");
    let file = dir.join("bad.pbt");
    std::fs::write(&file, b"not a trace at all").unwrap();
    let out = pybench().arg("stats").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("byte 0: not a pybench trace"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // A file that is not there is not "damaged at byte 0".
    let missing = dir.join("missing.pbt");
    for args in [vec!["stats"], vec!["run", "-q", "-a", "system", "--trace"]] {
        let out = pybench().args(&args).arg(&missing).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("missing.pbt: cannot open: No such file"),
            "{err}"
        );
        assert!(!err.contains("byte 0"), "{err}");
    }
    pybench()
        .args(["run", "-q", "-w", "trace:no_such_trace", "-a", "system"])
        .assert()
        .code(2)
        .stderr(contains("unknown trace `no_such_trace`; shipped traces: "));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trace is recognised by its magic bytes, not its file name: `x.trace` and a name with no
/// extension replay like `x.pbt` (they used to fail as "not valid UTF-8" workload specs).
#[test]
fn a_trace_with_any_file_name_replays() {
    let dir = tempdir("anyname");
    let pbt = dir.join("orig.pbt");
    pybench()
        .args(["gen", "-w", "dicts", "--scale", "3000", "-o"])
        .arg(&pbt)
        .assert()
        .success();
    for name in ["x.trace", "noextension"] {
        let file = dir.join(name);
        std::fs::copy(&pbt, &file).unwrap();
        let csv = dir.join(format!("{name}.csv"));
        pybench()
            .args(["run", "-q", "-a", "system", "-r", "1", "--trace"])
            .arg(&file)
            .arg("--out")
            .arg(dir.join("results"))
            .arg("--csv")
            .arg(&csv)
            .assert()
            .success();
        let stem = std::path::Path::new(name)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.contains(&format!("trace:{stem}")), "{name}: {text}");
        pybench()
            .arg("stats")
            .arg(&file)
            .assert()
            .success()
            .stdout(contains("generated"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trace's metadata is whatever its file says: `stats` (and `record`, which prints the same
/// summary) show its strings with control characters escaped, so a crafted name cannot
/// recolour the terminal or forge a line of the report.
#[test]
fn stats_escapes_control_characters_of_the_metadata() {
    use pybench::trace::{Meta, TraceWriter};
    use pybench::workload::{Domain, Event};
    let dir = tempdir("hostile-meta");
    let meta = Meta {
        source: "generated".into(),
        name: "evil\u{1b}[31m\nevents: 0".into(),
        python: "3.11".into(),
        command: vec!["python3".into(), "x\u{1b}]0;title\u{7}".into()],
        ..Meta::default()
    };
    let mut w = TraceWriter::new(Vec::new(), &meta).unwrap();
    let (slot, thread) = (0, 0);
    let alloc = Event::Alloc {
        slot,
        size: 32,
        domain: Domain::Obj,
        thread,
    };
    for e in [alloc, Event::Free { slot, thread }] {
        w.push(&e).unwrap();
    }
    let counters = [("hook\u{1b}[2Jlost".to_string(), 1)].into_iter().collect();
    let file = dir.join("evil.pbt");
    std::fs::write(&file, w.finish(counters).unwrap()).unwrap();
    let out = pybench().arg("stats").arg(&file).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(
        text.starts_with("trace evil\\u{1b}[31m\\nevents: 0 (generated"),
        "{text}"
    );
    assert!(
        text.contains("command: python3 x\\u{1b}]0;title\\u{7}\n"),
        "{text}"
    );
    assert!(text.contains("recording: hook\\u{1b}[2Jlost 1"), "{text}");
}

/// What `gen --like` promises for a trace and seed (README, "Synthetic stand-ins"): the same
/// events — the stream fingerprint `stats` prints — but not the same file, whose header has
/// its own creation time, command line and id (the README said "the same file").
#[test]
fn gen_like_twice_gives_the_same_events_in_different_files() {
    let dir = tempdir("like-twice");
    let source = dir.join("source.pbt");
    pybench()
        .args(["gen", "-w", "dicts", "--scale", "20000", "-o"])
        .arg(&source)
        .assert()
        .success();
    let fingerprint = |name: &str| {
        let out = dir.join(name);
        pybench()
            .args(["gen", "--seed", "3", "--like"])
            .arg(&source)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let stats = pybench().arg("stats").arg(&out).assert().success();
        let text = String::from_utf8_lossy(&stats.get_output().stdout).to_string();
        let line = text.lines().find(|l| l.starts_with("fingerprint: "));
        (
            line.expect("a fingerprint line").to_string(),
            std::fs::read(out).unwrap(),
        )
    };
    let (a, file_a) = fingerprint("a.pbt");
    let (b, file_b) = fingerprint("b.pbt");
    assert_eq!(a, b, "the same events");
    assert_ne!(
        file_a, file_b,
        "the header differs (created_utc, command, file id)"
    );
}
