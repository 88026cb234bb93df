//! An existing file at a trace output (`gen`, `convert`, `record`): refused in one line
//! unless `--force`, since a trace may be the only copy of a recording; `convert` still
//! rewrites its own input in place, which is what `-o` naming the input asks for.

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
