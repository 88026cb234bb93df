//! `pybench record` end to end on real CPython interpreters (3.9 and 3.11 from pyenv or
//! PATH; each test says so and passes vacuously when one is missing); its bad input is in `trace_record_refusals`.

use crate::common::{pybench, tempdir};

use pybench::trace::source::read_all;
use pybench::workload::{Domain, Event};
use std::path::{Path, PathBuf};

/// A CPython 3.`minor` interpreter, if this machine has one.
pub(super) fn python(minor: u32) -> Option<PathBuf> {
    let exe = format!("python3.{minor}");
    let mut found: Vec<PathBuf> = std::fs::read_dir("/root/.pyenv/versions")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&format!("3.{minor}.")) && !n.ends_with('t')
        })
        .map(|e| e.path().join("bin").join(&exe))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    if let Some(p) = found.pop() {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&exe))
        .find(|p| p.exists())
}

fn pythons() -> Vec<PathBuf> {
    let found: Vec<PathBuf> = [9, 11].into_iter().filter_map(python).collect();
    if found.is_empty() {
        eprintln!("skipped: no CPython 3.9 or 3.11 on this machine");
    }
    found
}

/// Records `script` with `py`; returns the trace's events and the command's output.
fn record(py: &Path, script: &str, dir: &Path) -> (Vec<Event>, std::process::Output) {
    let src = dir.join("prog.py");
    std::fs::write(&src, script).unwrap();
    let out = dir.join("t.pbt");
    let output = pybench()
        .arg("record")
        .arg("-q")
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(py)
        .arg(&src)
        .current_dir(dir)
        .output()
        .unwrap();
    let events = read_all(&out)
        .map(|r| r.0)
        .unwrap_or_else(|e| panic!("{}: {e:#}\n{output:?}", py.display()));
    (events, output)
}

/// Allocations (or callocs) in `domain` of exactly `bytes`.
fn count(events: &[Event], domain: Domain, bytes: u64) -> usize {
    events
        .iter()
        .filter(|e| match e {
            Event::Alloc { domain: d, .. } | Event::Calloc { domain: d, .. } => {
                *d == domain && e.bytes() == Some(bytes)
            }
            _ => false,
        })
        .count()
}

#[test]
fn lists_and_bytes_of_known_sizes() {
    for py in pythons() {
        let dir = tempdir("sizes");
        // `[None] * n` allocates its item array with PyMem_Malloc(8 n); `bytes(n)` is one
        // PyObject_Calloc of the 33-byte header plus n (CPython's Objects/bytesobject.c).
        let script = "keep = []\n\
                      for n in (1001, 1003, 1007):\n    for _ in range(50):\n        keep.append([None] * n)\n\
                      for n in (301, 303):\n    for _ in range(70):\n        keep.append(bytes(n))\n";
        let (events, _) = record(&py, script, &dir);
        for n in [1001u64, 1003, 1007] {
            assert!(
                count(&events, Domain::Mem, 8 * n) >= 50,
                "{}: list of {n}",
                py.display()
            );
        }
        for n in [301u64, 303] {
            assert!(count(&events, Domain::Obj, 33 + n) >= 70, "bytes({n})");
        }
        assert_eq!(count(&events, Domain::Mem, 8 * 1005), 0, "no list of 1005");
        assert!(pybench::workload::validate(events.iter().copied(), 0).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn threads_are_recorded_with_their_ids() {
    for py in pythons() {
        let dir = tempdir("threads");
        let script = "import threading\n\
                      def work(k):\n    keep = [bytes(200 + k) for _ in range(3000)]\n\
                      ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n\
                      for t in ts: t.start()\n\
                      for t in ts: t.join()\n";
        let (events, _) = record(&py, script, &dir);
        let mut threads = std::collections::BTreeSet::new();
        for k in 0..4u64 {
            assert!(count(&events, Domain::Obj, 233 + k) >= 3000, "thread {k}");
            for e in &events {
                if let Event::Calloc { thread, .. } = e {
                    if e.bytes() == Some(233 + k) {
                        threads.insert(*thread);
                    }
                }
            }
        }
        assert!(threads.len() >= 4, "{threads:?}");
        assert!(!threads.contains(&0), "the main thread is 0");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_forked_child_is_not_in_the_trace() {
    for py in pythons() {
        let dir = tempdir("fork");
        let script = "import os, sys\n\
                      pid = os.fork()\n\
                      if pid == 0:\n    keep = [bytes(333) for _ in range(2000)]\n    print('child', flush=True)\n    os._exit(0)\n\
                      os.waitpid(pid, 0)\n\
                      keep = [bytes(444) for _ in range(2000)]\n\
                      print('parent')\n";
        let (events, output) = record(&py, script, &dir);
        // The child's 2000 bytes(333) are absent (the parent may make a block of that size
        // of its own while compiling the script).
        assert!(count(&events, Domain::Obj, 33 + 333) < 20);
        assert!(count(&events, Domain::Obj, 33 + 444) >= 2000);
        assert_eq!(String::from_utf8_lossy(&output.stdout), "child\nparent\n");
        assert!(output.status.success());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn output_and_exit_code_pass_through() {
    for py in pythons() {
        let dir = tempdir("exit");
        let script =
            "import sys\nprint('out', sys.argv[1:], [p for p in sys.path if 'pybench' in p])\n\
                      print('err', file=sys.stderr)\nsys.exit(3)\n";
        let src = dir.join("prog.py");
        std::fs::write(&src, script).unwrap();
        let plain = std::process::Command::new(&py)
            .arg(&src)
            .arg("x")
            .output()
            .unwrap();
        let out = pybench()
            .args(["record", "-q", "-o"])
            .arg(dir.join("t.pbt"))
            .arg("--")
            .arg(&py)
            .arg(&src)
            .arg("x")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(plain.status.code(), Some(3));
        assert_eq!(out.stdout, plain.stdout);
        // The program's stderr, then one warning (with -q too): the trace is kept, but holds
        // a run that failed.
        let (err, plain_err) = (String::from_utf8_lossy(&out.stderr), plain.stderr);
        let warning = "pybench: warning: the program exited with status 3: the trace holds";
        let tail = err.strip_prefix(&*String::from_utf8_lossy(&plain_err));
        assert!(
            tail.is_some_and(|t| t.starts_with(warning) && t.lines().count() == 1),
            "{err}"
        );
        assert!(dir.join("t.pbt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn summary_is_printed_after_recording() {
    let Some(py) = pythons().pop() else { return };
    let dir = tempdir("summary");
    let out = pybench()
        .args(["record", "-o"])
        .arg(dir.join("s.pbt"))
        .arg("--")
        .arg(&py)
        .args(["-c", "x = [str(i) for i in range(1000)]"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("events by op and domain"), "{err}");
    assert!(err.contains("recorded "), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_programs_own_sitecustomize_still_runs() {
    let Some(py) = pythons().pop() else { return };
    let dir = tempdir("sitecustom");
    let user = dir.join("userpath");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("sitecustomize.py"),
        "print('user sitecustomize')\n",
    )
    .unwrap();
    let out = pybench()
        .args(["record", "-q", "-o"])
        .arg(dir.join("t.pbt"))
        .arg("--")
        .arg(&py)
        .args([
            "-c",
            "import os, sys; print(os.environ['PYTHONPATH'] == sys.argv[1])",
        ])
        .arg(&user)
        .env("PYTHONPATH", &user)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "user sitecustomize\nTrue\n"
    );
    assert!(read_all(&dir.join("t.pbt")).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn os_exit_keeps_a_valid_trace_and_warns() {
    let Some(py) = pythons().pop() else { return };
    let dir = tempdir("osexit");
    let out = pybench()
        .args(["record", "-q", "-o"])
        .arg(dir.join("t.pbt"))
        .arg("--")
        .arg(&py)
        .args([
            "-c",
            "import os; x = [bytes(50) for _ in range(100000)]; os._exit(4)",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without Python's normal shutdown"));
    let (events, _, _) = read_all(&dir.join("t.pbt")).unwrap();
    // Up to one hook buffer (8,192 records) of the last calls may be missing.
    assert!(count(&events, Domain::Obj, 83) >= 100_000 - 8192);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn collections_are_marked() {
    for py in pythons() {
        let dir = tempdir("gc");
        let script = "import gc\ngc.collect()\ngc.collect(1)\n";
        let (events, _) = record(&py, script, &dir);
        let gens: Vec<u8> = events
            .iter()
            .filter_map(|e| match e {
                Event::Gc(g) => Some(*g),
                _ => None,
            })
            .collect();
        assert!(gens.contains(&2) && gens.contains(&1), "{gens:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn only_the_chosen_domains_are_recorded() {
    let Some(py) = pythons().pop() else { return };
    let dir = tempdir("domains");
    let file = dir.join("t.pbt");
    pybench()
        .args(["record", "-q", "--domains", "obj", "-o"])
        .arg(&file)
        .arg("--")
        .arg(&py)
        .args(["-c", "x = [[None] * 1001 for _ in range(50)]"])
        .assert()
        .success();
    let (events, _, meta) = read_all(&file).unwrap();
    assert_eq!(meta.domains, ["obj"]);
    assert!(count(&events, Domain::Obj, 56) > 0, "list objects");
    assert_eq!(count(&events, Domain::Mem, 8008), 0, "item arrays are MEM");
    assert!(events.iter().all(|e| !matches!(
        e,
        Event::Alloc {
            domain: Domain::Mem | Domain::Raw,
            ..
        } | Event::Calloc {
            domain: Domain::Mem | Domain::Raw,
            ..
        }
    )));
    pybench()
        .args(["record", "--domains", "obj,heap", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown domain `heap`"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `record --pace` → file → reader: every event has a pace, and the allocations right after
/// a 50 ms sleep show the program's pause (≥ 10^7 cycles: the time stamp counter runs at
/// ≥ 1 GHz on any x86 this runs on; elsewhere the hook counts nanoseconds, 5 × 10^7).
#[test]
fn pace_survives_record_file_and_reader() {
    use pybench::trace::parallel::ParallelReader;
    for py in pythons() {
        let dir = tempdir("pace");
        let src = dir.join("prog.py");
        let script =
            "import time\nfor i in range(5):\n    time.sleep(0.05)\n    x = b'a' * 100003\n";
        std::fs::write(&src, script).unwrap();
        let out = dir.join("p.pbt");
        pybench()
            .args(["record", "-q", "--pace", "-o"])
            .arg(&out)
            .arg("--")
            .arg(&py)
            .arg(&src)
            .assert()
            .success();
        let mut r = ParallelReader::open(&out, false).unwrap();
        assert!(r.has_pace());
        let (mut events, mut pace) = (Vec::new(), Vec::new());
        while let Some((e, p)) = r.next_batch_paced().unwrap() {
            events.extend_from_slice(e);
            pace.extend_from_slice(p.expect("a pace column"));
        }
        assert_eq!(events.len(), pace.len());
        let big: Vec<usize> = (0..events.len())
            .filter(|&i| {
                events[i]
                    .bytes()
                    .is_some_and(|b| (100_003..100_100).contains(&b))
            })
            .collect();
        assert_eq!(big.len(), 5, "{}", py.display());
        for i in big {
            let before = pace[i.saturating_sub(4)..=i].iter().max().unwrap();
            assert!(
                *before >= 10_000_000,
                "{}: pace {before} before event {i}",
                py.display()
            );
        }
        // Without --pace: the same program's trace has no pace column.
        let (plain, _) = record(&py, script, &dir);
        assert!(!plain.is_empty());
        assert!(!ParallelReader::open(&dir.join("t.pbt"), false)
            .unwrap()
            .has_pace());
    }
}

/// `--defer` converts after the program exits from a spill file: the same events as a live
/// conversion of the same deterministic program, and nothing left beside the output.
#[test]
fn a_deferred_recording_holds_the_same_events_and_leaves_no_spill() {
    for py in pythons() {
        let d = tempdir("defer");
        let src = d.join("prog.py");
        std::fs::write(
            &src,
            "import gc\nd = {str(i): [i] * (i % 7) for i in range(20000)}\ndel d\ngc.collect()\n",
        )
        .unwrap();
        let mut traces = Vec::new();
        for (name, defer) in [("live.pbt", false), ("deferred.pbt", true)] {
            let mut cmd = pybench();
            cmd.args(["record", "-q", "-o", name]);
            if defer {
                cmd.arg("--defer");
            }
            let out = cmd
                .arg("--")
                .arg(&py)
                .arg(&src)
                .env("PYTHONHASHSEED", "0")
                .current_dir(&d)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            traces.push(read_all(&d.join(name)).unwrap().0);
        }
        // The two runs are two processes (paths of different lengths in their strings), so
        // sizes may differ by a few bytes; what they allocate and free, by kind, may not.
        let kinds = |events: &[Event]| {
            let mut by = std::collections::BTreeMap::new();
            for e in events {
                let domain = match e {
                    Event::Alloc { domain, .. } | Event::Calloc { domain, .. } => Some(*domain),
                    _ => None,
                };
                *by.entry(format!("{:?} {domain:?}", e.op())).or_insert(0u64) += 1;
            }
            by
        };
        assert!(
            traces[0].len() > 40_000,
            "{}: {}",
            py.display(),
            traces[0].len()
        );
        assert_eq!(traces[0].len(), traces[1].len(), "{}", py.display());
        assert_eq!(kinds(&traces[0]), kinds(&traces[1]), "{}", py.display());
        let mut left: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["deferred.pbt", "live.pbt", "prog.py"]);
        let _ = std::fs::remove_dir_all(&d);
    }
}

/// On a machine whose other cores are busy (faked: every core in use), a live recording says
/// before the program starts that `--defer` would spare it the converter's competition; a
/// deferred one, a `-q` one and one on a quiet machine say nothing of it, and a refused
/// output is said alone.
#[test]
fn a_busy_machine_gets_a_note_pointing_to_defer_before_a_live_recording() {
    let Some(py) = python(11) else {
        eprintln!("skipped: no CPython 3.11 on this machine");
        return;
    };
    let dir = tempdir("record-busy");
    std::fs::write(dir.join("prog.py"), "x = [dict(a=i) for i in range(100)]\n").unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stderr = |busy: usize, flags: &[&str]| {
        let out = pybench()
            .arg("record")
            .args(flags)
            .args(["-f", "-o", "t.pbt", "--"])
            .arg(&py)
            .arg("prog.py")
            .env("PYBENCH_FAKE_BUSY_CORES", busy.to_string())
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let busy = stderr(cores, &[]);
    let note = format!("pybench: note: the machine is busy ({cores}.0 of {cores} cores in use");
    assert!(busy.starts_with(&note), "{busy}");
    assert!(busy.contains("`--defer`"), "{busy}");
    assert_eq!(busy.matches("pybench: note:").count(), 1, "{busy}");
    for quiet in [stderr(cores, &["--defer"]), stderr(cores, &["-q"])] {
        assert!(!quiet.contains("the machine is busy"), "{quiet}");
    }
    if cores >= 2 {
        assert!(!stderr(0, &[]).contains("the machine is busy"));
    }
    // A refusal comes alone: the note waits until the recording is sure to start.
    let out = pybench()
        .args(["record", "-o"])
        .arg(format!("{}.pbt", "a".repeat(300)))
        .arg("--")
        .arg(&py)
        .arg("prog.py")
        .env("PYBENCH_FAKE_BUSY_CORES", cores.to_string())
        .current_dir(&dir)
        .output()
        .unwrap();
    let refused = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{refused}");
    assert_eq!(refused.trim_end().lines().count(), 1, "{refused}");
    assert!(refused.starts_with("pybench: error: "), "{refused}");
}
