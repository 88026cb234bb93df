//! Ctrl-C in a command that writes one file (`gen`, `gen --like`, `convert`): the previous
//! file stays as it was and nothing else is left in its folder. These commands keep SIGINT's
//! default action, so no destructor runs: the output is written to a nameless temporary that
//! gets a name only once complete (`sys::atomic_file`). Before, each interrupted command left
//! a `.NAME.<pid>-….tmp` of up to the whole output's size beside it.

use crate::common::{entries, tempdir};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;

/// True once process `pid` holds a descriptor on a file in `dir` other than `except` (its
/// output under construction, named or not).
fn writing_into(pid: u32, dir: &Path, except: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|p| p.parent() == Some(dir) && p != except)
}

/// Starts `args` with its output in `dir`, waits until it writes there, sends SIGINT, and
/// checks what is left. Returns false if the command finished before it could be caught.
fn interrupt(dir: &Path, input: &Path, args: &[&str]) -> bool {
    let out = dir.join("out.pbt");
    std::fs::write(&out, "previous").unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"));
    // --force: the point is that an interrupted replacement leaves the previous file.
    cmd.args(args)
        .arg("--force")
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SIGINT's default action, whatever the tests were started with: a shell starts a
    // background job (`cargo test … &`, as some CI runners do) with SIGINT ignored, and a
    // child inherits that, so the command would not stop and the test would prove nothing.
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut caught = false;
    while child.try_wait().unwrap().is_none() {
        if writing_into(child.id(), dir, input) {
            // SAFETY: signalling our own child, still unreaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            caught = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    if caught && status.signal() == Some(libc::SIGINT) {
        let mut want = vec!["out.pbt".to_string()];
        if input.parent() == Some(dir) {
            want.push(input.file_name().unwrap().to_string_lossy().into_owned());
            want.sort();
        }
        assert_eq!(entries(dir), want, "{args:?}");
        assert_eq!(std::fs::read(&out).unwrap(), b"previous", "{args:?}");
        return true;
    }
    false
}

#[test]
fn an_interrupted_gen_or_convert_leaves_the_previous_file_and_nothing_else() {
    let dir = tempdir("interrupt");
    let input = dir.join("in.pbt");
    std::fs::copy("workloads/traces/pip_list.pbt", &input).unwrap();
    let i = input.to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &["gen", "-w", "dicts", "--scale", "200000000"],
        &["gen", "--like", i],
        &["convert", i],
    ];
    let mut caught = 0;
    for args in cases {
        caught += usize::from(interrupt(&dir, &input, args));
    }
    // gen at that scale writes for seconds, against a poll every 2 ms: it at least is
    // always caught mid-write.
    assert!(caught >= 1);
}
