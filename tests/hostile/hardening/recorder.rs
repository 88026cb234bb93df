//! Section 4 of `tests/hostile/hardening.rs`: a recorder confined to its program (a shell or a
//! wrapper around the interpreter, a child interpreter, a foreign writer on the channel, an
//! empty PYTHONPATH).

use super::{entries, pybench, stderr};
use crate::common::tempdir;
use std::path::{Path, PathBuf};

/// `python3` on PATH, if any (the recording tests need a real CPython).
fn python3() -> Option<PathBuf> {
    let found = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if found.is_none() {
        eprintln!("skipped: no python3 on PATH");
    }
    found
}

fn record(dir: &Path, program: &[&str]) -> std::process::Output {
    pybench()
        .current_dir(dir)
        .args(["record", "-q", "-o", "t.pbt", "--"])
        .args(program)
        .output()
        .unwrap()
}

#[test]
fn a_shell_wrapping_two_pythons_records_nothing_and_says_so() {
    let Some(py) = python3() else { return };
    let d = tempdir("sh");
    let py = py.display();
    let script = format!(
        "{py} -c 'x = [str(i) for i in range(5000)]'; {py} -c 'y = [i * 2.0 for i in range(5000)]'; true"
    );
    let out = record(&d, &["sh", "-c", &script]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no allocator hook was installed"),
        "{}",
        stderr(&out)
    );
    assert!(
        entries(&d).is_empty(),
        "no trace, no temporary: {:?}",
        entries(&d)
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_pyenv_style_shim_that_runs_python_as_a_child_gets_a_hint_naming_the_fix() {
    let Some(py) = python3() else { return };
    let d = tempdir("shim");
    // Like pyenv's pip-rehash: the shim runs the interpreter as its child, then does more.
    let shims = d.join("shims");
    std::fs::create_dir(&shims).unwrap();
    let shim = shims.join("mypython");
    std::fs::write(&shim, format!("#!/bin/sh\n{} \"$@\"\ntrue\n", py.display())).unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = pybench()
        .current_dir(&d)
        .env("PATH", path)
        .args([
            "record", "-q", "-o", "t.pbt", "--", "mypython", "-c", "x = [1]",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`mypython` is a pyenv shim"), "{err}");
    assert!(err.contains("$(pyenv which mypython)"), "{err}");
    assert!(!d.join("t.pbt").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_python_run_with_e_does_not_record_its_child_interpreter() {
    let Some(py) = python3() else { return };
    let d = tempdir("dash-e");
    let child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'x = [str(i) for i in range(5000)]'], check=True)";
    let out = record(&d, &[py.to_str().unwrap(), "-E", "-c", child]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no allocator hook was installed"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("t.pbt").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn records_from_a_foreign_writer_are_refused_counted_and_fail_the_recording() {
    let Some(py) = python3() else { return };
    let d = tempdir("foreign");
    // The recorded program hands the channel to a child process, which writes into it.
    std::fs::write(
        d.join("leak.py"),
        "import os, stat, subprocess, sys\n\
         def sock(f):\n    try: return stat.S_ISSOCK(os.fstat(f).st_mode)\n    except OSError: return False\n\
         fd = next(f for f in sorted(map(int, os.listdir('/proc/self/fd'))) if f > 2 and sock(f))\n\
         w = os.dup(fd)\n\
         subprocess.run([sys.executable, '-c', 'import os; os.write(%d, bytes(4096))' % w], pass_fds=(w,), check=True)\n\
         x = [str(i) for i in range(5000)]\n",
    )
    .unwrap();
    let out = record(&d, &[py.to_str().unwrap(), "leak.py"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("4096 bytes of records written by processes other than the recorded one"),
        "{err}"
    );
    // The same when the records spill to a file and are converted after the program.
    let out = pybench()
        .current_dir(&d)
        .args(["record", "-q", "--defer", "--force", "-o", "t.pbt", "--"])
        .args([py.to_str().unwrap(), "leak.py"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("4096 bytes of records written by processes other than"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_empty_pythonpath_does_not_import_the_current_directory() {
    let Some(py) = python3() else { return };
    let d = tempdir("emptypath");
    std::fs::write(
        d.join("sitecustomize.py"),
        "open('IMPORTED', 'w').write('the cwd was on sys.path')\n",
    )
    .unwrap();
    let out = pybench()
        .current_dir(&d)
        .env("PYTHONPATH", "")
        .args(["record", "-q", "-o", "t.pbt", "--"])
        .arg(&py)
        .args(["-c", "x = [str(i) for i in range(1000)]"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !d.join("IMPORTED").exists(),
        "./sitecustomize.py was imported"
    );
    assert!(d.join("t.pbt").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_program_that_reopens_the_channels_number_keeps_its_own_file() {
    let Some(py) = python3() else { return };
    let d = tempdir("closerange");
    // Daemon-style: close every inherited descriptor, then open files until one gets the
    // number the channel had, and write to it after allocating for a while. Before, the
    // hook's records went into that file (megabytes) and the recording "succeeded".
    std::fs::write(
        d.join("daemon.py"),
        "import os\n\
         os.closerange(3, 4096)\n\
         files = [open(os.path.join(os.getcwd(), 'own%d.txt' % i), 'w') for i in range(8)]\n\
         x = [str(i) for i in range(200000)]\n\
         for f in files:\n    f.write('mine\\n'); f.close()\n",
    )
    .unwrap();
    let out = record(&d, &[py.to_str().unwrap(), "daemon.py"]);
    for i in 0..8 {
        let own = std::fs::read_to_string(d.join(format!("own{i}.txt"))).unwrap();
        assert_eq!(own, "mine\n", "own{i}.txt: {} bytes", own.len());
    }
    // Nothing reached pybench before the channel was gone: an error, not an empty success.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no allocator call of the program reached pybench")
            && err.contains("closed pybench's channel (os.closerange)"),
        "{err}"
    );
}

#[test]
fn closing_the_low_descriptors_leaves_the_channel_alone() {
    let Some(py) = python3() else { return };
    let d = tempdir("closelow");
    // A program that closes the first few hundred descriptors it did not open and opens
    // sockets and files in their place. The hook holds the channel far above those numbers
    // (so another thread's new socket cannot take its number between the hook's check and
    // its send), so the recording goes on. Before, the channel had a low number: it was
    // closed with the rest and nothing was recorded.
    std::fs::write(
        d.join("closelow.py"),
        "import os, socket\n\
         os.closerange(3, 256)\n\
         a, b = socket.socketpair()\n\
         files = [open(os.path.join(os.getcwd(), 'own%d.txt' % i), 'w') for i in range(4)]\n\
         x = [str(i) for i in range(200000)]\n\
         a.sendall(b'mine'); assert b.recv(16) == b'mine'\n\
         for f in files:\n    f.write('mine\\n'); f.close()\n",
    )
    .unwrap();
    let out = record(&d, &[py.to_str().unwrap(), "closelow.py"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("closed pybench's channel"), "{err}");
    for i in 0..4 {
        let own = std::fs::read_to_string(d.join(format!("own{i}.txt"))).unwrap();
        assert_eq!(own, "mine\n", "own{i}.txt: {} bytes", own.len());
    }
    let stats = pybench()
        .current_dir(&d)
        .args(["stats", "t.pbt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    let events: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no event count in: {text}"));
    // The 200,000 strings were allocated after the closerange, so they are in the trace.
    assert!(events > 200_000, "{events} events");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_recording_cut_short_says_what_may_have_cut_it() {
    let Some(py) = python3() else { return };
    let d = tempdir("exit-early");
    let out = record(
        &d,
        &[
            py.to_str().unwrap(),
            "-c",
            "import os; x = [str(i) for i in range(100000)]; os._exit(0)",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: the program ended without Python's normal shutdown (os._exit, a signal), replaced itself (exec), or closed pybench's channel (os.closerange): the trace holds the "),
        "{err}"
    );
}

#[test]
fn a_program_that_execs_keeps_its_calls_up_to_the_exec() {
    let Some(py) = python3() else { return };
    let d = tempdir("exec");
    // Fewer calls than one hook buffer (8192), then the process is replaced: before, all of
    // them went with it and the recording "succeeded" with 0 events.
    let out = record(
        &d,
        &[
            py.to_str().unwrap(),
            "-c",
            "import os; x = [str(i) for i in range(1000)]; os.execvp('true', ['true'])",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("replaced itself (exec)"), "{err}");
    let stats = pybench()
        .current_dir(&d)
        .args(["stats", "t.pbt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout).into_owned();
    let events: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .and_then(|n| n.split_whitespace().next()?.replace(',', "").parse().ok())
        .unwrap_or(0);
    assert!(events > 1000, "{text}");
}
