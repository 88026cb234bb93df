//! An existing file at a trace output (`gen`, `convert`, `record`) or at an export the user
//! names (`sweep --csv`, `run --csv/--json/--markdown`): refused in one line unless
//! `--force`, since a trace may be the only copy of a recording and a mistyped export name
//! loses a file as surely; `convert` still rewrites its own input in place, which is what
//! `-o` naming the input asks for.

use crate::common::{pybench, tempdir};
use std::path::Path;

/// Exit 2 and one line ending as every refusal of an existing output does; `path` untouched.
fn refused(cmd: &mut assert_cmd::Command, path: &Path, before: &[u8]) {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.trim_end().ends_with(&format!(
            "{} already exists; give --force to replace it, or another file name",
            path.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(path).unwrap(), before);
}

#[test]
fn gen_and_convert_refuse_an_existing_file_unless_forced() {
    let d = tempdir("replacing");
    let notes = d.join("notes.txt");
    std::fs::write(&notes, "a week of notes").unwrap();
    let gen = |force: bool| {
        let mut c = pybench();
        c.args(["gen", "-w", "dicts", "--scale", "1000", "-o"])
            .arg(&notes);
        if force {
            c.arg("--force");
        }
        c
    };
    refused(&mut gen(false), &notes, b"a week of notes");
    let mut c = pybench();
    c.args(["convert", "trace:pip_list", "-o"]).arg(&notes);
    refused(&mut c, &notes, b"a week of notes");
    // Asked, it is replaced by a trace that reads back.
    gen(true).assert().success();
    pybench().arg("stats").arg(&notes).assert().success();
    // A copy of a shipped trace, rewritten in place: no --force needed for its own input.
    let t = d.join("t.pbt");
    std::fs::copy("workloads/traces/pip_list.pbt", &t).unwrap();
    pybench()
        .arg("convert")
        .arg(&t)
        .arg("-o")
        .arg(&t)
        .assert()
        .success();
    // A device is written as always (here the sink that keeps nothing).
    pybench()
        .args(["gen", "-w", "dicts", "--scale", "1000", "-o", "/dev/null"])
        .assert()
        .success();
}

#[test]
fn record_refuses_to_replace_the_trace_of_an_earlier_recording() {
    let d = tempdir("replacing-record");
    let earlier = d.join("trace.pbt");
    std::fs::write(&earlier, "an earlier recording").unwrap();
    // Without -o the default name; the program never starts (`false` would fail if it did).
    let mut c = pybench();
    c.current_dir(&d).args(["record", "--", "false"]);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "pybench: error: the default output trace.pbt already exists; give --force to replace \
         it, or another file name"
    );
    assert_eq!(std::fs::read(&earlier).unwrap(), b"an earlier recording");
    let mut c = pybench();
    c.args(["record", "-o"]).arg(&earlier).args(["--", "false"]);
    refused(&mut c, &earlier, b"an earlier recording");
}

/// `sweep --csv FILE` and `run --csv/--json/--markdown FILE` name a file of the user's as
/// surely as `gen -o`: an existing one is refused before any work and left as it was;
/// `--force` replaces it.
#[test]
fn exports_refuse_an_existing_file_unless_forced() {
    let d = tempdir("replacing-exports");
    let notes = d.join("notes.csv");
    std::fs::write(&notes, "a week of notes").unwrap();
    let sweep = |force: bool| {
        let mut c = pybench();
        c.args([
            "sweep", "-q", "-w", "dicts", "--scale", "300", "--preset", "3.11",
        ])
        .args(["--arena", "256K", "--pool", "4K", "--spare", "1", "--csv"])
        .arg(&notes);
        if force {
            c.arg("--force");
        }
        c
    };
    refused(&mut sweep(false), &notes, b"a week of notes");
    sweep(true).assert().success();
    let csv = std::fs::read_to_string(&notes).unwrap();
    assert!(csv.starts_with("workload,"), "{csv}");

    for flag in ["--csv", "--json", "--markdown"] {
        std::fs::write(&notes, "a week of notes").unwrap();
        let run = |force: bool| {
            let mut c = pybench();
            c.args([
                "run",
                "-q",
                "--no-plots",
                "-w",
                "dicts",
                "-a",
                "system",
                "-r",
                "1",
            ])
            .args([
                "--scale",
                "300",
                "--rounds",
                "2",
                "--min-time",
                "0.001",
                "--out",
            ])
            .arg(d.join("results"))
            .arg(flag)
            .arg(&notes);
            if force {
                c.arg("-f");
            }
            c
        };
        refused(&mut run(false), &notes, b"a week of notes");
        assert!(
            !d.join("results").exists(),
            "{flag}: refused before any work"
        );
        run(true).assert().success();
        assert_ne!(std::fs::read(&notes).unwrap(), b"a week of notes", "{flag}");
        let _ = std::fs::remove_dir_all(d.join("results"));
    }
}

/// `-o /dev/stdout` with stdout sent to a file (`gen … -o /dev/stdout > t.pbt`) is where the
/// user's shell told pybench to write, not a file of theirs to protect: it used to be refused
/// as "already exists", after the shell had emptied the file, leaving nothing at all.
#[test]
fn a_trace_written_to_stdout_goes_where_the_shell_redirected_it() {
    let d = tempdir("replacing-stdout");
    let exe = assert_cmd::cargo::cargo_bin("pybench");
    let t = d.join("t.pbt");
    for cmd in [
        "gen -w dicts --scale 1000 -o /dev/stdout",
        "convert trace:pip_list -o /dev/stdout",
    ] {
        std::fs::write(&t, "yesterday's trace").unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("'{}' {cmd} > '{}'", exe.display(), t.display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {err}");
        assert!(err.contains("/dev/stdout"), "{cmd}: {err}");
        pybench().arg("stats").arg(&t).assert().success();
    }
}

/// `-o -` is standard output for a trace as `--csv -` is for an export: `gen -o -` used to
/// make a file named `-` in the current folder. `record -o -` is refused, since the program
/// writes to standard output too and its output would land inside the trace.
#[test]
fn a_dash_output_is_standard_output_not_a_file_named_dash() {
    let d = tempdir("dash-output");
    let t = d.join("t.pbt");
    for args in [
        &["gen", "-w", "dicts", "--scale", "1000", "-o", "-"][..],
        &["convert", "trace:pip_list", "-o", "-"][..],
    ] {
        let file = std::fs::File::create(&t).unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
            .current_dir(&d)
            .args(args)
            .stdout(file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!d.join("-").exists(), "{args:?}: a file named -");
        pybench().arg("stats").arg(&t).assert().success();
    }
    let out = pybench()
        .current_dir(&d)
        .args(["record", "-o", "-", "--", "false"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "pybench: error: -o - would put the trace on standard output, where the program \
         writes too; give -o FILE"
    );
    assert!(!d.join("-").exists());
}

/// `convert a.pbt -o link_to_a` replaced the link with a converted copy and left `a.pbt` as it
/// was (and took no --force, the link leading to the input). `-o` naming the input through a
/// link now rewrites the input in place, as `-o a.pbt` does: the link stays a link and leads
/// to the converted file, and no copy is left beside them.
#[test]
fn convert_through_a_link_to_its_input_rewrites_the_input() {
    use std::os::unix::fs::MetadataExt as _;
    let d = tempdir("convert-link");
    let a = d.join("a.pbt");
    std::fs::copy("workloads/traces/compileall.pbt", &a).unwrap();
    std::os::unix::fs::symlink("a.pbt", d.join("link_to_a")).unwrap();
    std::os::unix::fs::symlink("link_to_a", d.join("chain")).unwrap();
    for (input, out) in [(&a, "link_to_a"), (&d.join("link_to_a"), "chain")] {
        let before = std::fs::metadata(&a).unwrap().ino();
        pybench()
            .arg("convert")
            .arg(input)
            .arg("-o")
            .arg(d.join(out))
            .assert()
            .success();
        for link in ["link_to_a", "chain"] {
            assert!(
                pybench::sys::fs::is_symlink(&d.join(link)),
                "{out}: {link} is still a link"
            );
        }
        let after = std::fs::metadata(&a).unwrap().ino();
        assert_ne!(
            after, before,
            "{out}: a.pbt was replaced by the converted file"
        );
        assert_eq!(std::fs::metadata(d.join(out)).unwrap().ino(), after);
        let mut names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.pbt", "chain", "link_to_a"], "{out}");
    }
    pybench().arg("stats").arg(&a).assert().success();
}

/// `gen` and `record` never write through a link at their output (a planted link must not
/// aim them at another file: `hardening::gen_replaces_a_planted_link_instead_of_writing_through_it`),
/// so `--force` replaces the link, not the file it leads to: the refusal says so before the
/// user gives --force expecting that file to change.
#[test]
fn gen_and_record_say_that_force_replaces_a_link_not_its_file() {
    let d = tempdir("link-refusal");
    let a = d.join("a.pbt");
    std::fs::write(&a, "an earlier trace").unwrap();
    let link = d.join("link_to_a");
    std::os::unix::fs::symlink("a.pbt", &link).unwrap();
    let mut gen = pybench();
    gen.args(["gen", "-w", "dicts", "--scale", "1000", "-o"])
        .arg(&link);
    let mut record = pybench();
    record
        .arg("record")
        .arg("-o")
        .arg(&link)
        .args(["--", "false"]);
    for cmd in [&mut gen, &mut record] {
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "pybench: error: -o {l} already exists; give --force to replace it, or another \
                 file name ({l} is a link to a.pbt: --force replaces the link, not what it \
                 leads to)",
                l = link.display()
            )
        );
        assert!(pybench::sys::fs::is_symlink(&link));
        assert_eq!(std::fs::read(&a).unwrap(), b"an earlier trace");
    }
}
