//! What `stats` says of what it is given, and `gen`'s progress: the `0 B` size class with its
//! share like every class; a recording without its end report said plainly; a device or a
//! folder given as the TRACE named as what it is (one line, exit 2, nothing read); a long
//! `gen` on a terminal showing its count as `stats -w` does.

use crate::common::{pybench, tempdir, write_trace};
use pybench::trace::accounting::{Accounting, Snapshot};
use pybench::trace::{Meta, TraceWriter};
use pybench::workload::{Domain, Event};
use std::time::Duration;

fn alloc(slot: u32, size: u32) -> Event {
    Event::Alloc {
        slot,
        size,
        domain: Domain::Mem,
        thread: 0,
    }
}

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The `0 B` line had a count and no share where every other class has both.
#[test]
fn zero_byte_requests_are_a_class_with_its_share() {
    let d = tempdir("stats-zero");
    let t = write_trace(
        &d,
        "z",
        &[alloc(0, 0), alloc(1, 16), alloc(2, 16), alloc(3, 600)],
    );
    let text = stdout_of(pybench().arg("stats").arg(&t));
    let classes: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("size classes"))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(
        classes,
        [
            "     0 B          1  25.0 % #############",
            "    16 B          2  50.0 % #########################",
            "  > 512 B         1  25.0 %",
        ],
        "{text}"
    );
}

/// A recording without its end report (the program ended by `os._exit`, a signal, `exec`)
/// printed `end missing; 0 frees of pre-hook mem/obj blocks between the two`.
#[test]
fn a_recording_without_its_end_report_says_what_that_means() {
    let d = tempdir("stats-no-end");
    let meta = Meta {
        source: "recorded".into(),
        name: "cut".into(),
        python: "3.11.7".into(),
        ..Meta::default()
    };
    let mut w = TraceWriter::new(Vec::new(), &meta).unwrap();
    w.push(&alloc(0, 32)).unwrap();
    let accounting = Accounting {
        start: Some(Snapshot {
            event: 0,
            text: include_str!("../fixtures/debugmallocstats-3.11.7.txt").into(),
        }),
        ..Accounting::default()
    };
    let t = d.join("cut.pbt");
    std::fs::write(
        &t,
        w.finish_with(Default::default(), Some(accounting)).unwrap(),
    )
    .unwrap();
    let text = stdout_of(pybench().arg("stats").arg(&t));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("accounting:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(
            "; no end report: the program did not end through Python's normal shutdown \
             (os._exit, a signal, exec), so `fidelity --trace` has no end state to compare with \
             and no frees of pre-hook blocks were counted"
        ) && !line.contains("between the two"),
        "{line}"
    );
}

/// `stats /dev/zero` read the device as a workload spec up to the spec's limit ("larger than
/// the limit of 1048576 bytes (a workload spec)"), `stats /tmp` "cannot read workload spec";
/// what the TRACE argument names is said instead, at once.
#[test]
fn a_device_or_folder_given_as_the_trace_is_named_for_what_it_is() {
    let d = tempdir("stats-special");
    let dir = d.to_str().unwrap().to_string();
    for (args, says) in [
        (
            vec!["stats", "/dev/zero"],
            "/dev/zero is a character device, not a trace".to_string(),
        ),
        (
            vec!["stats", "/dev/null"],
            "/dev/null is a character device, not a trace".to_string(),
        ),
        (
            vec!["stats", &dir],
            format!("{dir} is a directory, not a trace"),
        ),
        (
            vec!["stats", "trace:compileall", "--compare", "/dev/zero"],
            "/dev/zero is a character device, not a trace".to_string(),
        ),
    ] {
        let out = pybench()
            .args(&args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err,
            format!("pybench: error: {says}: give a trace file (.pbt) or trace:NAME\n"),
            "{args:?}"
        );
    }
}

/// `gen` with a huge --scale showed nothing on a terminal for its whole run (`stats -w`
/// shows its count and rate): run under a pseudo-terminal (`script`, skipped without it),
/// a run past a second and 2^22 events shows the line before its closing one.
#[test]
fn a_long_gen_on_a_terminal_shows_its_progress() {
    let Ok(script) = which_script() else {
        eprintln!("skipped: no `script` (util-linux) to give gen a terminal");
        return;
    };
    let d = tempdir("gen-progress");
    let bin = assert_cmd::cargo::cargo_bin("pybench");
    let command = format!(
        "{} gen -w dicts --scale 12000000 -o {}",
        bin.display(),
        d.join("big.pbt").display()
    );
    let out = std::process::Command::new(script)
        .args(["-qefc", &command, "/dev/null"])
        .envs(crate::common::QUIET_MACHINE)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let progress = text
        .find(" M events/s")
        .unwrap_or_else(|| panic!("{text:?}"));
    let wrote = text.find("wrote ").unwrap_or_else(|| panic!("{text:?}"));
    assert!(progress < wrote, "{text:?}");
    assert!(
        text.contains('\r'),
        "the line is rewritten in place: {text:?}"
    );
}

fn which_script() -> Result<std::path::PathBuf, ()> {
    ["/usr/bin/script", "/bin/script"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}
