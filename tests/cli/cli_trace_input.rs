//! Traces the commands cannot use: cut files, pipes, broken liveness and empty references.
//! Each is refused in one line that says what is wrong, where, and (only where the command has
//! one) which flag reads it anyway.

use crate::common;

use crate::common::{pybench, refusal, tempdir};

#[test]
fn a_cut_inside_an_events_block_names_that_block_at_its_offset() {
    let whole = std::fs::read("workloads/traces/compileall.pbt").unwrap();
    let (_, blocks) = common::blocks(&whole);
    let dir = tempdir("cut");
    let path = dir.join("cut.pbt");
    // Every block but the last (the end block), cut in the middle of its payload and one byte
    // short of its end.
    for (k, &(start, end)) in blocks[..blocks.len() - 1].iter().enumerate() {
        for len in [(start + end) / 2, end - 1] {
            std::fs::write(&path, &whole[..len]).unwrap();
            let err = refusal(pybench().arg("stats").arg(&path));
            assert_eq!(
                err,
                format!(
                    "pybench: error: {}: byte {start}: file ends inside block {k}'s payload",
                    path.display()
                ),
                "cut at {len} of {}",
                whole.len()
            );
            assert!(start < len);
        }
    }
}

/// A trace whose third event frees a slot that is no longer live.
fn double_free(dir: &std::path::Path) -> std::path::PathBuf {
    use pybench::workload::{Domain, Event};
    let alloc = Event::Alloc {
        slot: 0,
        size: 32,
        domain: Domain::Obj,
        thread: 0,
    };
    let free = Event::Free { slot: 0, thread: 0 };
    common::write_trace(dir, "bad", &[alloc, free, free])
}

#[test]
fn only_commands_with_allow_malformed_suggest_it() {
    let dir = tempdir("malformed-hint");
    let bad = double_free(&dir);
    let bad = bad.to_str().unwrap();
    let out = dir.join("out.pbt");
    let out = out.to_str().unwrap();
    let what = "event 2 of the trace: a free of slot 0, which is not live (a malformed trace)";
    let without: [&[&str]; 3] = [
        &["convert", bad, "-o", out],
        &["sweep", "-q", "--trace", bad, "--preset", "3.11"],
        &["gen", "--like", bad, "-o", out],
    ];
    for args in without {
        let err = refusal(pybench().args(args));
        assert!(err.contains(what), "{args:?}: {err}");
        assert!(!err.contains("allow-malformed"), "{args:?}: {err}");
    }
    let err = refusal(pybench().args(["stats", bad]));
    assert!(
        err.ends_with(&format!("{what}; --allow-malformed summarises it anyway")),
        "{err}"
    );
    let results = dir.join("results");
    let err = refusal(
        pybench()
            .args(["run", "--trace", bad, "-a", "system", "--out"])
            .arg(&results),
    );
    assert!(
        err.ends_with(&format!("{what}; --allow-malformed replays it anyway")),
        "{err}"
    );
    // The realism report has no use for the flag: refused rather than ignored, by the
    // argument parser, before any trace is read. The subject is well formed, so that nothing
    // but the pairing of the flags can be what is refused.
    let good = good_trace(&dir);
    let err = refusal(pybench().arg("stats").arg(&good).args([
        "--allow-malformed",
        "--compare",
        "trace:compileall",
    ]));
    assert_eq!(
        err,
        "pybench: error: the argument '--allow-malformed' cannot be used with \
         '--compare <TRACE>...' (see --help)"
    );
}

/// A well-formed trace: one block allocated and freed.
fn good_trace(dir: &std::path::Path) -> std::path::PathBuf {
    use pybench::workload::{Domain, Event};
    let alloc = Event::Alloc {
        slot: 0,
        size: 32,
        domain: Domain::Obj,
        thread: 0,
    };
    common::write_trace(dir, "good", &[alloc, Event::Free { slot: 0, thread: 0 }])
}

#[test]
fn a_pipe_is_refused_as_a_pipe_not_as_a_bad_file() {
    let exe = assert_cmd::cargo::cargo_bin("pybench");
    let t = "workloads/traces/compileall.pbt";
    for args in [
        format!("stats <(cat {t})"),
        "stats -w <(cat workloads/dicts.toml)".to_string(),
        format!("fidelity --trace <(cat {t})"),
    ] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("'{}' {args}", exe.display()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args}");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
        assert!(
            err.contains("cannot be read from a pipe") && err.contains("needs a regular file"),
            "{args}: {err}"
        );
    }
}

#[test]
fn trace_files_are_labelled_as_typed_so_the_label_can_be_given_again() {
    let dir = tempdir("labels");
    let d = dir.join("d.pbt");
    let e = dir.join("e.pbt");
    std::fs::copy("workloads/traces/compileall.pbt", &d).unwrap();
    std::fs::copy("workloads/traces/test_json.pbt", &e).unwrap();
    let (d, e) = (d.to_str().unwrap(), e.to_str().unwrap());
    let stdout = |args: &[&str]| {
        let out = pybench().args(args).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    let table = stdout(&["sweep", "-q", "--preset", "3.11", "--trace", d]);
    let events = events_in(std::path::Path::new(d));
    assert!(
        table.starts_with(&format!("{d} ({events} events")),
        "{table}"
    );
    assert!(!table.contains("trace:d"), "{table}");
    // A shipped trace keeps its name.
    let table = stdout(&["sweep", "-q", "--preset", "3.11", "-w", "trace:compileall"]);
    assert!(table.starts_with("trace:compileall ("), "{table}");
    let report = stdout(&["stats", d, "--compare", e, "--figures", "size_classes"]);
    let mut lines = report.lines();
    assert_eq!(
        lines.next().unwrap_or_default(),
        format!(
            "realism of {d} (distance per figure: 0 = same, 1 = far; score = 1 - mean distance)"
        )
    );
    assert!(lines.next().unwrap_or_default().contains(e), "{report}");
}

/// How many events the trace at `path` holds, counted by reading every block.
fn events_in(path: &std::path::Path) -> u64 {
    let mut r = pybench::trace::TraceReader::open(path).unwrap();
    let mut n = 0;
    while let Some(batch) = r.next_batch().unwrap() {
        n += batch.len() as u64;
    }
    assert!(n > 0, "{path:?} has events");
    n
}

#[test]
fn a_trace_without_allocations_is_no_reference() {
    let dir = tempdir("empty-ref");
    let empty = common::write_trace(&dir, "k", &[]);
    let empty = empty.to_str().unwrap();
    for args in [
        ["stats", "trace:compileall", "--compare", empty],
        ["stats", empty, "--compare", "trace:compileall"],
    ] {
        let err = refusal(pybench().args(args));
        assert!(
            err.ends_with(&format!(
                "{empty} has no allocations (0 events): there is nothing to compare"
            )),
            "{err}"
        );
    }
}

/// A named FIFO nobody writes to: every command refuses it as a pipe at once. `run` and
/// `gen` used to hang, blocked in `open` while sniffing it for a trace's magic bytes before
/// the pipe check was reached (the timeout below only keeps a regression from hanging the
/// suite; nothing here depends on how long a refusal takes).
#[test]
fn a_fifo_without_a_writer_is_refused_not_waited_on() {
    let dir = tempdir("fifo-in");
    let out = dir.join("out.pbt");
    for name in ["t.pbt", "t", "spec.toml"] {
        let fifo = dir.join(name);
        common::mkfifo(&fifo);
        let f = fifo.to_str().unwrap();
        let o = out.to_str().unwrap();
        let r = dir.join("r");
        let r = r.to_str().unwrap();
        let quick = [
            "-a",
            "null,pymalloc",
            "-r",
            "1",
            "--rounds",
            "2",
            "--out",
            r,
        ];
        let cases: [Vec<&str>; 6] = [
            [&["run", "--trace", f][..], &quick].concat(),
            [&["run", "-w", f][..], &quick].concat(),
            vec!["gen", "--like", f, "-o", o],
            vec!["gen", "-w", f, "-o", o],
            vec!["stats", f],
            vec!["sweep", "-q", "--preset", "3.11", "-w", f],
        ];
        for args in cases {
            let err = refusal(
                pybench()
                    .args(&args)
                    .timeout(std::time::Duration::from_secs(120)),
            );
            assert!(
                err.contains("cannot be read from a pipe") && err.contains(f),
                "{args:?}: {err}"
            );
        }
        assert!(!out.exists());
        std::fs::remove_file(&fifo).unwrap();
    }
}

/// `run` replaying trace `f` against system alone, quickly, into `out`.
fn quick_replay(f: &std::path::Path, out: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.args(["run", "-a", "system", "-r", "1", "--rounds", "2", "--trace"])
        .arg(f)
        .arg("--out")
        .arg(out);
    cmd
}

/// A small intact trace whose header says it was recorded with Python `python`.
fn recorded_with(dir: &std::path::Path, name: &str, python: &str) -> std::path::PathBuf {
    use pybench::trace::{Meta, TraceWriter};
    use pybench::workload::{Domain, Event};
    let meta = Meta {
        source: "recorded".into(),
        name: name.into(),
        python: python.into(),
        ..Meta::default()
    };
    let mut w = TraceWriter::new(Vec::new(), &meta).unwrap();
    for slot in 0..64 {
        let size = 16 + 8 * (slot % 20);
        let e = Event::Alloc {
            slot,
            size,
            domain: Domain::Obj,
            thread: 0,
        };
        w.push(&e).unwrap();
    }
    for slot in 0..64 {
        w.push(&Event::Free { slot, thread: 0 }).unwrap();
    }
    let path = dir.join(format!("{name}.pbt"));
    std::fs::write(&path, w.finish(Default::default()).unwrap()).unwrap();
    path
}

#[test]
fn a_trace_naming_no_python_3_version_is_refused_unless_python_says_which() {
    let dir = tempdir("bad-python");
    let r = dir.join("r");
    for (name, python) in [("junk", "junk"), ("empty", ""), ("two", "2.7.18")] {
        let f = recorded_with(&dir, name, python);
        let err = refusal(&mut quick_replay(&f, &r));
        assert_eq!(
            err,
            format!(
                "pybench: error: trace:{name} says it was recorded with Python {python:?}, which \
                 is not a CPython 3 version; give --python 3.X to say which version to replay it as"
            )
        );
        assert!(!r.exists(), "nothing measured, nothing written");
        let err = refusal(pybench().args(["fidelity", "-w"]).arg(&f));
        assert!(err.contains("is not a CPython 3 version"), "{err}");
        // Said which, it replays.
        quick_replay(&f, &r)
            .args(["-q", "--python", "3.12"])
            .assert()
            .code(0);
        std::fs::remove_dir_all(&r).unwrap();
    }
}

#[test]
fn a_trace_of_a_newer_python_replays_as_the_nearest_with_a_warning() {
    let dir = tempdir("newer-python");
    // A quick replay of `f` into `dir/out`, which must succeed; its stderr.
    let replay = |f: &std::path::Path, out: &str| {
        let done = quick_replay(f, &dir.join(out)).assert().code(0);
        String::from_utf8_lossy(&done.get_output().stderr).to_string()
    };
    let f = recorded_with(&dir, "newer", "3.14.1");
    let err = replay(&f, "r");
    assert!(
        err.lines().any(|l| l
            == "warning: trace:newer was recorded with Python 3.14.1, which has no engine preset \
                (3.8 … 3.13): replayed as 3.13, the nearest (--python 3.X chooses another)"),
        "{err}"
    );
    // fidelity compares with the real obmalloc of the version named: no guessing there.
    let err = refusal(pybench().args(["fidelity", "-w"]).arg(&f));
    assert_eq!(
        err,
        "pybench: error: trace:newer was recorded with Python 3.14.1, which has no engine \
         preset (3.8 … 3.13); give --python 3.X to compare it as that version"
    );
    // A supported version says nothing about it.
    let f = recorded_with(&dir, "known", "3.12.3");
    let err = replay(&f, "r2");
    assert!(!err.contains("engine preset"), "{err}");
}

#[test]
fn a_trace_without_allocations_is_refused_before_measuring() {
    let dir = tempdir("no-allocs");
    let f = common::write_trace(&dir, "nothing", &[]);
    let r = dir.join("r");
    let err = refusal(&mut quick_replay(&f, &r));
    assert_eq!(
        err,
        format!(
            "pybench: error: {}: the trace has no allocations (0 events): there is nothing to replay",
            f.display()
        )
    );
    assert!(!r.exists());
}
