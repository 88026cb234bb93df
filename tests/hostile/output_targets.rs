//! Where outputs go: FIFOs and the process's own descriptors written into rather than
//! replaced, an output that is one of the command's inputs refused, directories named in
//! errors. FIFOs only (made in a temp folder): no test writes to a real system path.

use crate::common::{self, pybench, tempdir};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one-line usage error every bad input must give (warnings about the machine or the
/// build aside).
fn assert_refused(out: &std::process::Output, needle: &str) {
    let all = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    let err: String = all
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(err.starts_with("pybench: error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

/// A FIFO at `dir/name` with its read end already open (non-blocking, so neither side ever
/// waits: a writer opens at once, and a command that never opens it gives an empty read).
/// A thread drains it while the command runs: read only after the command exited, an output
/// larger than the pipe's buffer (64 KiB) blocked the writer, and the test, for ever.
struct Fifo {
    path: PathBuf,
    done: Arc<AtomicBool>,
    drain: std::thread::JoinHandle<Vec<u8>>,
}

impl Fifo {
    fn new(dir: &Path, name: &str) -> Fifo {
        let path = dir.join(name);
        common::mkfifo(&path);
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let drain = std::thread::spawn(move || {
            let (mut got, mut buf) = (Vec::new(), [0u8; 1 << 16]);
            loop {
                // Read before looking at the flag, so what the command wrote before it
                // exited is all taken: end of file with no writer then means the end.
                let last = finished.load(Ordering::Acquire);
                let idle = match reader.read(&mut buf) {
                    Ok(0) if last => return got,
                    // No writer yet (end of file), or nothing written yet.
                    Ok(0) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        false
                    }
                    Err(e) => panic!("reading the FIFO: {e}"),
                };
                if idle {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        });
        Fifo { path, done, drain }
    }

    /// What the command wrote (it has exited: the write end is closed), after checking that
    /// the node is still a FIFO.
    fn received(self) -> Vec<u8> {
        let kind = std::fs::symlink_metadata(&self.path).unwrap().file_type();
        assert!(kind.is_fifo(), "{} was replaced", self.path.display());
        self.done.store(true, Ordering::Release);
        self.drain.join().unwrap()
    }
}

const TRACE_MAGIC: &[u8] = b"\x89PBT\r\n\x1a\n";

#[test]
fn gen_and_convert_write_into_a_fifo_instead_of_replacing_it() {
    let d = tempdir("fifo-gen");
    let fifo = Fifo::new(&d, "out.pbt");
    let out = pybench()
        .args(["gen", "-w", "dicts", "--scale", "2000", "-o"])
        .arg(&fifo.path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got = fifo.received();
    assert!(got.starts_with(TRACE_MAGIC), "{} bytes", got.len());
    assert!(stderr(&out).contains(&format!("({} bytes", got.len())));

    // The same trace, converted into a second FIFO.
    std::fs::write(d.join("in.pbt"), &got).unwrap();
    let fifo = Fifo::new(&d, "converted.pbt");
    let out = pybench()
        .arg("convert")
        .arg(d.join("in.pbt"))
        .arg("-o")
        .arg(&fifo.path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fifo.received().starts_with(TRACE_MAGIC));
}

#[test]
fn run_and_sweep_exports_go_into_fifos_and_through_a_link_to_stdout() {
    let d = tempdir("fifo-run");
    let csv = Fifo::new(&d, "cells.csv");
    std::os::unix::fs::symlink("/proc/self/fd/1", d.join("stdout-link")).unwrap();
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(d.join("results"))
        .arg("--csv")
        .arg(&csv.path)
        .arg("--json")
        .arg(d.join("stdout-link"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(csv.received()).unwrap();
    assert!(text.starts_with("run,workload,allocator"), "{text}");
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("\"format_version\""), "{json}");
    let link = std::fs::symlink_metadata(d.join("stdout-link")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");

    let csv = Fifo::new(&d, "sweep.csv");
    let out = pybench()
        .args(["sweep", "-w", "dicts", "--scale", "2000", "--arena", "256K"])
        .args(["--pool", "4K", "-q", "--csv"])
        .arg(&csv.path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8(csv.received())
        .unwrap()
        .starts_with("workload,"));
}

/// CPython 3.11 from PATH (pyenv's shim included), or `None` with a message.
fn python311() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join("python3.11"))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipped: no python3.11 on PATH");
    }
    found
}

#[test]
fn record_writes_into_a_fifo_and_refuses_a_directory_by_name_before_running() {
    let Some(py) = python311() else { return };
    let d = tempdir("record-out");
    let fifo = Fifo::new(&d, "trace.pbt");
    let out = pybench()
        .args(["record", "-q", "-o"])
        .arg(&fifo.path)
        .arg("--")
        .arg(&py)
        .args(["-c", "x = [str(i) for i in range(100)]"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fifo.received().starts_with(TRACE_MAGIC));

    std::fs::create_dir(d.join("adir")).unwrap();
    let marker = d.join("ran");
    let out = pybench()
        .args(["record", "-o"])
        .arg(d.join("adir"))
        .arg("--")
        .arg(&py)
        .arg("-c")
        .arg(format!("open({:?}, 'w')", marker.display().to_string()))
        .output()
        .unwrap();
    assert_refused(
        &out,
        &format!("{}: Is a directory", d.join("adir").display()),
    );
    assert!(
        !marker.exists(),
        "the program ran before the output was checked"
    );
}

/// Writes the `dicts` trace at scale 2000 to `path` with `gen`.
fn gen_trace(path: &Path) {
    let out = pybench()
        .args(["gen", "-w", "dicts", "--scale", "2000", "-o"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn gen_refuses_to_write_over_its_spec_or_its_source_trace() {
    let d = tempdir("same-gen");
    let spec = d.join("wv.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/churn.toml"),
        &spec,
    )
    .unwrap();
    let before = std::fs::read(&spec).unwrap();
    std::os::unix::fs::symlink(&spec, d.join("link.toml")).unwrap();
    for out_path in [&spec, &d.join("link.toml")] {
        let out = pybench()
            .args(["gen", "--scale", "2000", "-w"])
            .arg(&spec)
            .arg("-o")
            .arg(out_path)
            .output()
            .unwrap();
        assert_refused(&out, "is the input");
        assert_eq!(std::fs::read(&spec).unwrap(), before);
    }

    let trace = d.join("x.pbt");
    gen_trace(&trace);
    let before = std::fs::read(&trace).unwrap();
    let out = pybench()
        .args(["gen", "--like"])
        .arg(&trace)
        .arg("-o")
        .arg(&trace)
        .output()
        .unwrap();
    assert_refused(&out, "choose another output file");
    assert_eq!(std::fs::read(&trace).unwrap(), before);

    // In-place conversion is meant, and stays allowed.
    let out = pybench()
        .arg("convert")
        .arg(&trace)
        .arg("-o")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn run_and_sweep_refuse_an_export_over_a_replayed_trace_before_measuring() {
    let d = tempdir("same-run");
    let trace = d.join("victim.pbt");
    gen_trace(&trace);
    let before = std::fs::read(&trace).unwrap();
    let out = pybench()
        .args(["sweep", "--arena", "256K", "--pool", "4K", "-q", "--trace"])
        .arg(&trace)
        .arg("--csv")
        .arg(&trace)
        .output()
        .unwrap();
    assert_refused(&out, "--csv");
    assert_eq!(std::fs::read(&trace).unwrap(), before);

    let out = common::quick_trace_run(&trace, 1, &d.join("results"))
        .arg("--markdown")
        .arg(&trace)
        .output()
        .unwrap();
    assert_refused(&out, "--markdown");
    assert_eq!(std::fs::read(&trace).unwrap(), before);
    assert!(!d.join("results").exists(), "measured before refusing");
}

#[test]
fn record_refuses_to_write_its_trace_over_the_script() {
    let Some(py) = python311() else { return };
    let d = tempdir("same-record");
    let script = d.join("dcopy.py");
    std::fs::write(&script, "x = [1] * 10\n").unwrap();
    let out = pybench()
        .arg("record")
        .arg("-o")
        .arg(&script)
        .arg("--")
        .arg(&py)
        .arg(&script)
        .output()
        .unwrap();
    assert_refused(&out, "is the program's argument");
    assert_eq!(std::fs::read_to_string(&script).unwrap(), "x = [1] * 10\n");
}

#[test]
fn record_names_stay_one_visible_file_in_the_current_folder() {
    let Some(py) = python311() else { return };
    let d = tempdir("record-name");
    let cwd = d.join("here");
    std::fs::create_dir(&cwd).unwrap();
    let out = pybench()
        .current_dir(&cwd)
        .args(["record", "-q", "--name", "../escape", "--"])
        .arg(&py)
        .args(["-c", "pass"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&d), ["here"], "written outside the current folder");
    assert_eq!(names(&cwd), ["_._escape.pbt"]);

    let out = pybench()
        .current_dir(&cwd)
        .args(["record", "-q", "--name", "", "--"])
        .arg(&py)
        .args(["-c", "pass"])
        .output()
        .unwrap();
    assert_refused(&out, "--name is empty");
    assert_eq!(names(&cwd), ["_._escape.pbt"], "a hidden .pbt was written");
}

/// The names of the run folders under `root`, without their timestamp.
fn run_labels(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.split_once('-').unwrap().1.to_string()
        })
        .collect()
}

#[test]
fn run_folder_labels_fit_a_file_name() {
    let d = tempdir("labels");
    // A spec at the end of a ~250-character path: its name used to be the label, in full.
    let mut deep = d.join("x".repeat(60));
    for _ in 0..3 {
        deep = deep.join("x".repeat(60));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let spec = deep.join("json.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/json.toml"),
        &spec,
    )
    .unwrap();
    let run = |extra: &[&str]| {
        pybench()
            .args(["run", "-a", "system", "-r", "1", "--scale", "2000", "-q"])
            .args(["--no-plots", "--out"])
            .arg(d.join("results"))
            .args(extra)
            .output()
            .unwrap()
    };
    let workloads = format!("dicts,{}", spec.display());
    let out = run(&["-w", &workloads]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_labels(&d.join("results")), ["dicts+json"]);

    assert_refused(&run(&["-w", "dicts", "--label", ""]), "--label is empty");
    let long = "y".repeat(240);
    assert_refused(&run(&["-w", "dicts", "--label", &long]), "at most 200");
    assert_eq!(
        run_labels(&d.join("results")).len(),
        1,
        "a refused run made a folder"
    );
}

#[test]
fn folders_that_cannot_be_made_are_named_with_what_is_in_the_way() {
    let d = tempdir("not-dirs");
    let file = d.join("afile");
    std::fs::write(&file, "x").unwrap();
    std::os::unix::fs::symlink(d.join("missing"), d.join("dangling")).unwrap();
    let run = |out: &Path| {
        pybench()
            .args([
                "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
            ])
            .args(["-q", "--no-plots", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let shown = file.display().to_string();
    assert_refused(
        &run(&file),
        &format!("{shown} is a regular file, not a directory"),
    );
    let out = run(&d.join("dangling"));
    assert_refused(&out, "missing, which does not exist");
    let out = pybench()
        .arg("merge")
        .arg(&d)
        .arg("-o")
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert_refused(&out, &format!("{shown} is a regular file, not a directory"));
}

#[test]
fn read_and_write_errors_say_their_path_and_os_error_once() {
    let d = tempdir("once");
    let missing = d.join("nonexistent");
    for cmd in [&["compare"][..], &["plot"]] {
        let mut c = pybench();
        c.args(cmd).arg(&missing);
        if cmd == ["compare"] {
            c.arg(&missing);
        }
        let out = c.output().unwrap();
        assert_refused(&out, "No such file or directory");
        assert_eq!(
            stderr(&out).matches("os error 2").count(),
            1,
            "{}",
            stderr(&out)
        );
    }

    // An export into a missing folder, or one named with a trailing `/` (a folder, which
    // used to fail only after the run), is refused before measuring, naming it once.
    let run = |csv: &str| {
        pybench()
            .args([
                "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
            ])
            .args(["-q", "--no-plots", "--out"])
            .arg(d.join("results"))
            .arg("--csv")
            .arg(d.join(csv))
            .output()
            .unwrap()
    };
    assert_refused(&run("no/such/folder.csv"), "does not exist");
    assert!(!d.join("results").exists(), "measured before refusing");
    let out = run("newname/");
    assert_refused(&out, "names a folder");
    assert_eq!(
        stderr(&out).matches("newname/").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(!d.join("results").exists(), "measured before refusing");
}
