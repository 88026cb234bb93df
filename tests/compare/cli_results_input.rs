//! What `compare` and `plot` read as a run's results: the `results.json` a results folder
//! holds must be a regular file — a FIFO there with no writer made both wait for ever — while
//! a path given as the file itself may be a pipe (`compare <(cat a/results.json) b`).

use crate::common::compare_refused as refused;
use crate::common::{self, pybench, run, save, tempdir};
use std::path::Path;

fn steady(_: &str, _: &str, _: u32) -> f64 {
    1e7
}

/// `mkfifo path`: a named pipe that no process writes to.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {path:?}"
    );
}

/// A results folder whose results.json is a FIFO.
fn fifo_folder(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("fifo");
    std::fs::create_dir_all(&d).unwrap();
    mkfifo(&d.join("results.json"));
    d
}

/// Expects exit 2 with one line naming the FIFO; returns the line. "At once" is not timed
/// (shared machines): a command that waits on the FIFO instead never ends by itself, and
/// fails at `pybench()`'s five-minute guard.
fn refused_at_once(cmd: &mut assert_cmd::Command) -> String {
    let a = cmd.assert().code(2);
    assert!(a.get_output().stdout.is_empty());
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("fifo/results.json: a FIFO, not a regular file"),
        "{err}"
    );
    err
}

#[test]
fn a_fifo_in_a_results_folder_is_refused_not_waited_on() {
    let tmp = tempdir("input-fifo");
    let good = save(&tmp, "good", &run("good", 3, steady));
    let fifo = fifo_folder(&tmp);
    refused_at_once(&mut common::compare(&good, &fifo));
    refused_at_once(&mut common::compare(&fifo, &good));
    refused_at_once(pybench().arg("plot").arg(&fifo));
    // A folder given to `run --out` whose one run folder holds the FIFO.
    let outer = tmp.join("outer");
    std::fs::create_dir_all(outer.join("20260101T000000Z-x")).unwrap();
    mkfifo(&outer.join("20260101T000000Z-x/results.json"));
    let a = common::compare(&good, &outer).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// `plot --out DIR` reads DIR's results.json to tell whether it is another run's folder:
/// a FIFO there made it wait too.
#[test]
fn plot_into_a_folder_holding_a_fifo_is_refused_at_once() {
    let tmp = tempdir("input-plot-out");
    let good = save(&tmp, "good", &run("good", 3, steady));
    let fifo = fifo_folder(&tmp);
    let a = pybench()
        .arg("plot")
        .arg(&good)
        .arg("--out")
        .arg(&fifo)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("holds a results.json of its own"), "{err}");
    assert!(!fifo.join("index.html").exists());
}

/// A pipe named as the file itself is still read: bash's process substitution hands over
/// `/dev/fd/N`, a pipe with its writer running.
#[test]
fn a_pipe_given_as_the_file_itself_is_still_read() {
    let tmp = tempdir("input-pipe");
    let good = save(&tmp, "good", &run("good", 3, steady));
    let bin = assert_cmd::cargo::cargo_bin("pybench");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#""$0" compare <(cat "$1/results.json") "$1" && "$0" plot -q <(cat "$1/results.json") --out "$2""#)
        .arg(&bin)
        .arg(&good)
        .arg(tmp.join("plotted"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 regressed"));
    assert!(tmp.join("plotted/index.html").is_file());
}

/// A metric written twice in one cell used to count as two samples: a hand-edited file read
/// as "peak_rss_bytes +900 % regressed", exit 1. Now the file is refused, naming both.
#[test]
fn a_metric_written_twice_in_a_cell_makes_the_file_unreadable() {
    let tmp = tempdir("results-dup-metric");
    let b = save(&tmp, "base", &run("base", 3, steady));
    let mut cur = run("cur", 3, steady);
    let c0 = &mut cur.cells[0];
    let copy = c0.metrics[0].clone();
    c0.metrics.push(copy.clone());
    let cell = format!("{} × {} rep {}", c0.workload, c0.allocator, c0.repetition);
    let c = save(&tmp, "cur", &cur);
    let err = refused(&b, &c);
    assert!(
        err.contains(&format!("{cell}: {}", copy.name)) && err.contains("appears twice"),
        "{err}"
    );
    pybench().arg("plot").arg(&c).assert().code(2);
}

/// An allocator name holding a newline and ESC (a hand-edited results.json) reached stderr
/// raw: a three-line error that recoloured the terminal. Now refused, shown escaped.
#[test]
fn a_name_with_control_characters_is_refused_in_one_escaped_line() {
    let tmp = tempdir("results-ctrl-name");
    let b = save(&tmp, "base", &run("base", 3, steady));
    for (i, name) in ["sys\ntem\x1b[31m", "sys\u{202e}tem"]
        .into_iter()
        .enumerate()
    {
        let mut cur = run("cur", 3, steady);
        cur.cells[0].allocator = name.to_string();
        let c = save(&tmp, &format!("cur{i}"), &cur);
        let err = refused(&b, &c);
        assert!(
            !err.contains('\x1b') && !err.contains('\u{202e}'),
            "{err:?}"
        );
        assert!(err.contains("the allocator name holds a"), "{err}");
        assert!(err.contains(&name.escape_debug().to_string()), "{err}");
    }
}
