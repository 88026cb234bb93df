//! What a name given to the trace commands turns out to be: a file of the current folder
//! named without `/` or `.pbt`, a built-in's name or a spec given to `--trace`, a file that
//! is not a trace at all, and the spec flags a run of traces alone cannot use. Each is one
//! line on stderr, exit 2, saying what is wrong with the thing named.

use crate::common::{pybench, refusal, tempdir};

/// `stats notes` on a file here that is not a trace used to say "unknown workload `notes`;
/// available workloads: …", as if the file were not there; now the file's own fault is said.
#[test]
fn a_file_here_named_without_a_slash_is_read_as_the_file_it_is() {
    let dir = tempdir("bare-names");
    std::fs::write(dir.join("empty"), "").unwrap();
    std::fs::write(dir.join("notes"), "hello\n").unwrap();
    std::fs::write(dir.join("binary"), b"\x7fELF\x02\x01\x01\0\xff\xfe").unwrap();
    std::os::unix::fs::symlink("loop_b", dir.join("loop_a")).unwrap();
    std::os::unix::fs::symlink("loop_a", dir.join("loop_b")).unwrap();
    std::fs::copy("workloads/traces/compileall.pbt", dir.join("kept")).unwrap();
    for (name, says) in [
        ("empty", "empty is empty: neither a trace"),
        (
            "notes",
            "notes:1: key `hello`: key with no value, expected `=` (not TOML, so neither a \
             workload spec nor a trace, which starts with pybench's magic bytes)",
        ),
        ("loop_a", "loop_a: Too many levels of symbolic links"),
        (
            "binary",
            "binary: neither a trace (which starts with pybench's magic bytes) nor a workload \
             spec: not UTF-8 text (byte 8)",
        ),
    ] {
        for args in [
            vec!["stats", name],
            vec!["stats", "trace:compileall", "--compare", name],
        ] {
            let err = refusal(pybench().current_dir(&dir).args(&args));
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(!err.contains("unknown workload"), "{args:?}: {err}");
        }
    }
    // A trace so named reads as before, and a built-in's name is still the built-in.
    pybench()
        .current_dir(&dir)
        .args(["stats", "kept"])
        .assert()
        .success();
    std::fs::write(dir.join("dicts"), "").unwrap();
    pybench()
        .current_dir(&dir)
        .args(["stats", "-w", "dicts", "--scale", "1000"])
        .assert()
        .success();
}

/// `--trace` takes traces: `run --trace dicts` replayed the built-in workload `dicts`, and
/// `--trace notes` on a file that is no trace called it an unknown workload. Both now get the
/// trace reader's error, before anything is measured.
#[test]
fn trace_flags_take_nothing_but_traces() {
    let dir = tempdir("trace-flag");
    std::fs::write(dir.join("notes"), "hello, world\n").unwrap();
    std::fs::write(dir.join("empty.pbt"), "").unwrap();
    std::fs::create_dir(dir.join("folder.pbt")).unwrap();
    let spec = std::fs::canonicalize("workloads/dicts.toml").unwrap();
    let spec = spec.to_str().unwrap();
    for (name, says) in [
        ("dicts", "dicts: cannot open: No such file or directory"),
        (spec, "byte 0: not a pybench trace (bad magic)"),
        ("notes", "notes: byte 0: not a pybench trace (bad magic)"),
        (
            "empty.pbt",
            "empty.pbt: byte 0: the file is empty, not a trace",
        ),
        ("folder.pbt", "folder.pbt: cannot open: Is a directory"),
    ] {
        let run = [
            "run", "-a", "system", "-r", "1", "--rounds", "2", "--out", "r", "--trace",
        ];
        let sweep = ["sweep", "-q", "--preset", "3.11", "--trace"];
        for args in [&run[..], &sweep[..]] {
            let err = refusal(pybench().current_dir(&dir).args(args).arg(name));
            assert!(err.contains(says), "{args:?} {name}: {err}");
        }
        assert!(!dir.join("r").exists(), "{name}: nothing measured");
    }
}

/// `run --trace t.pbt --scale 5` took the scale without a word and wrote it into the results
/// as if it had applied; a run of traces alone refuses it, as `stats` and `sweep` do.
#[test]
fn a_run_of_traces_alone_refuses_scale_and_seed() {
    let dir = tempdir("trace-spec-flags");
    let r = dir.join("r");
    for (flags, says) in [
        (&["--scale", "5"][..], "--scale does not apply here"),
        (&["--seed", "3"][..], "--seed does not apply here"),
        (
            &["--scale", "5", "--seed", "3"][..],
            "--scale and --seed do not apply here",
        ),
    ] {
        let err = refusal(
            pybench()
                .args(["run", "-a", "system", "-r", "1", "--rounds", "2", "--trace"])
                .arg("trace:compileall")
                .args(flags)
                .arg("--out")
                .arg(&r),
        );
        assert!(
            err.ends_with(&format!(
                "{says}: every workload of the run is a trace, replayed as recorded (spec flags \
                 shape synthetic workloads only)"
            )),
            "{flags:?}: {err}"
        );
        assert!(!r.exists(), "{flags:?}: nothing measured");
    }
}

/// A shipped trace that is a link to a FIFO with no writer (`workloads/traces/evil.pbt`):
/// `list workloads` opened every shipped trace and blocked in `open` for ever, and so did
/// every command given `trace:evil`, which skipped the pipe check a path gets. Now the list
/// marks the entry unreadable and every command refuses it in the path's own words. The
/// timeout only keeps a regression from hanging the suite.
#[test]
fn a_shipped_trace_that_is_a_fifo_is_refused_not_waited_on() {
    let dir = tempdir("shipped-fifo");
    let traces = dir.join("workloads/traces");
    std::fs::create_dir_all(&traces).unwrap();
    let fifo = dir.join("f");
    crate::common::mkfifo(&fifo);
    std::os::unix::fs::symlink(&fifo, traces.join("evil.pbt")).unwrap();
    let wait = std::time::Duration::from_secs(120);
    let out = pybench()
        .current_dir(&dir)
        .args(["list", "workloads"])
        .timeout(wait)
        .assert()
        .success();
    let list = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let row = list.lines().find(|l| l.starts_with("trace:evil "));
    assert!(
        row.is_some_and(|r| r.contains("unreadable") && r.contains("a FIFO, not a regular file")),
        "{list}"
    );
    let quick = ["-a", "system", "-r", "1", "--rounds", "2", "--out", "r"];
    let cases: [Vec<&str>; 7] = [
        vec!["stats", "trace:evil"],
        vec!["convert", "trace:evil", "-o", "x.pbt"],
        [&["run", "-w", "trace:evil"][..], &quick].concat(),
        [&["run", "--trace", "trace:evil"][..], &quick].concat(),
        vec!["fidelity", "--trace", "trace:evil"],
        vec!["sweep", "-q", "--preset", "3.11", "-w", "trace:evil"],
        vec!["gen", "--like", "trace:evil", "-o", "x.pbt"],
    ];
    for args in cases {
        let err = refusal(pybench().current_dir(&dir).args(&args).timeout(wait));
        assert!(
            err.contains("workloads/traces/evil.pbt: cannot be read from a pipe"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.join("x.pbt").exists() && !dir.join("r").exists());
}

/// A trace file's stem names its workload (`trace:STEM`) in the terminal's tables, the plots
/// and the reports: one named with an escape sequence and a line break recoloured the
/// terminal and split the table's heading. It is refused as a spec's `name` would be, in one
/// line showing the escapes rather than doing them, before anything is measured.
#[test]
fn a_trace_whose_file_name_holds_control_characters_is_refused() {
    let dir = tempdir("hostile-trace-name");
    for name in ["=1+2|<b>\u{1b}[31mR\nX \"q\".pbt", "evil\u{202e}gpj.pbt"] {
        std::fs::copy("workloads/traces/compileall.pbt", dir.join(name)).unwrap();
        let run = [
            "run", "-a", "system", "-r", "1", "--rounds", "2", "--out", "r", "--trace",
        ];
        let sweep = ["sweep", "-q", "--preset", "3.11", "--trace"];
        for args in [&run[..], &sweep[..], &["stats"][..]] {
            let err = refusal(pybench().current_dir(&dir).args(args).arg(name));
            assert!(
                err.contains("the trace's file name holds a") && err.contains("rename the file"),
                "{args:?}: {err}"
            );
            assert!(
                !err.contains('\u{1b}') && !err.contains('\u{202e}'),
                "{err}"
            );
        }
        assert!(!dir.join("r").exists(), "{name}: nothing measured");
    }
}

/// `record --name` names the trace, which `stats` and `list` print: one holding an escape
/// sequence, a line break or a bidirectional override was accepted; now it is refused as a
/// spec's `name` is, before the program runs.
#[test]
fn record_refuses_a_name_holding_control_characters() {
    let dir = tempdir("record-hostile-name");
    for name in ["=1+1|<script>\u{1b}[31mRED", "a\nb", "x\u{202e}y"] {
        let err = refusal(
            pybench()
                .current_dir(&dir)
                .args(["record", "-q", "--name", name, "--"])
                .args(["python3", "-c", "pass"]),
        );
        assert!(err.contains("--name holds a"), "{err}");
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
}
