//! The launcher of `exec` and `record` (`pybench::sys::spawn`): a program's reported peak RSS
//! is its own, not the RSS of the process that started it, its status and environment come
//! through, and it hears of SIGTERM and its launcher's pid as `record` needs.

use crate::common;
use pybench::sys::spawn::{self, Ended};
use std::path::Path;
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn launcher() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pybench"))
}

/// Runs `program` through the launcher and waits for its report.
fn run(cmd: std::process::Command) -> Ended {
    let mut started = spawn::start(cmd).expect("the launcher starts the program");
    loop {
        if let Some(end) = started.poll().expect("the launcher reports") {
            return end;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `ru_maxrss` of `/bin/true` forked straight from this process.
fn direct_peak() -> u64 {
    let child = std::process::Command::new("/bin/true").spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waiting for our own child, which std will not wait for again.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut ru) }, pid);
    std::mem::forget(child);
    ru.ru_maxrss as u64 * 1024
}

#[test]
fn a_small_program_started_from_a_big_process_reports_its_own_peak() {
    // 256 MiB resident in this process: the floor a direct fork hands to its child.
    let mut hold = vec![0u8; 256 << 20];
    for i in (0..hold.len()).step_by(4096) {
        hold[i] = 1;
    }
    let direct = direct_peak();
    assert!(
        direct >= 256 * MIB,
        "the kernel floors a direct child's peak at its parent's RSS ({direct} bytes); \
         without that floor this test shows nothing"
    );
    let end = run(spawn::command(launcher(), &argv(&["/bin/true"])));
    assert!(libc::WIFEXITED(end.status) && libc::WEXITSTATUS(end.status) == 0);
    assert!(
        end.usage.max_rss_bytes < 64 * MIB,
        "through the launcher /bin/true peaks at {} bytes",
        end.usage.max_rss_bytes
    );
    std::hint::black_box(&hold);
}

#[test]
fn the_status_and_the_environment_reach_the_program() {
    let end = run(spawn::command(launcher(), &argv(&["sh", "-c", "exit 3"])));
    assert!(libc::WIFEXITED(end.status));
    assert_eq!(libc::WEXITSTATUS(end.status), 3);

    let end = run(spawn::command(
        launcher(),
        &argv(&["sh", "-c", "kill -TERM $$"]),
    ));
    assert!(libc::WIFSIGNALED(end.status));
    assert_eq!(libc::WTERMSIG(end.status), libc::SIGTERM);

    // LD_PRELOAD goes to the program (not the launcher), and the launcher's own variables
    // do not: the script exits 0 only if both hold.
    let script = r#"test "$LD_PRELOAD" = /nowhere/lib.so && test -z "$PYBENCH_SPAWN_FD$PYBENCH_SPAWN_PRELOAD""#;
    let mut cmd = spawn::command(launcher(), &argv(&["sh", "-c", script]));
    cmd.env("LD_PRELOAD", "/nowhere/lib.so")
        .stderr(std::process::Stdio::null());
    let end = run(cmd);
    assert_eq!(libc::WEXITSTATUS(end.status), 0, "status {}", end.status);
}

#[test]
fn a_program_that_cannot_start_is_an_error_of_its_kind() {
    let err = match spawn::start(spawn::command(launcher(), &argv(&["/nowhere/prog"]))) {
        Ok(_) => panic!("a missing program started"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
}

/// `record`'s use of the launcher: the program is told the launcher's pid under the name
/// asked for (the hook's parent check), and `PASS_TERM` sent to the launcher reaches the
/// program as SIGTERM (pybench passes a SIGTERM on that way, since the launcher ignores its
/// own). The 20 s timeout is a hang guard, not a measurement: without the passing on, the
/// program would loop until it.
#[test]
fn the_launcher_tells_its_pid_and_passes_sigterm_on() {
    let dir = common::tempdir("passterm");
    let ready = dir.join("ready");
    let script = format!(
        r#"test "$PROBE_PID" = "$PPID" || exit 9; trap 'exit 7' TERM; : > {}; while :; do sleep 0.05; done"#,
        ready.display()
    );
    let mut cmd = spawn::command(launcher(), &argv(&["sh", "-c", &script]));
    spawn::tell_pid_as(&mut cmd, "PROBE_PID");
    let mut started = spawn::start(cmd).unwrap();
    while !ready.exists() {
        if let Some(end) = started.poll().unwrap() {
            panic!(
                "the program ended before it was ready: status {}",
                end.status
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: the launcher is our unreaped child.
    unsafe {
        libc::kill(
            started.launcher_pid() as i32,
            pybench::sys::reaper::PASS_TERM,
        )
    };
    let (end, timed_out) = started.wait(Some(Duration::from_secs(20)), || {}).unwrap();
    assert!(!timed_out, "SIGTERM did not reach the program");
    assert!(libc::WIFEXITED(end.status), "status {}", end.status);
    assert_eq!(libc::WEXITSTATUS(end.status), 7);
}

/// The launcher's settings in pybench's own environment are not the launcher's: they used
/// to reach it, so `PYBENCH_SPAWN_PRELOAD` preloaded a library into an `exec` program
/// measured as `system`, and `PYBENCH_SPAWN_PID_AS` set a variable of the user's naming.
#[test]
fn launcher_settings_in_pybenchs_environment_are_ignored() {
    let dir = common::tempdir("strayenv");
    let seen = dir.join("seen");
    let script = format!(
        r#"printf '%s|%s' "$LD_PRELOAD" "$STRAY_PROBE" > {}"#,
        seen.display()
    );
    common::quick_exec("system", &dir.join("results"))
        .args(["--", "sh", "-c", &script])
        .env("PYBENCH_SPAWN_PRELOAD", "/nowhere/lib.so")
        .env("PYBENCH_SPAWN_PID_AS", "STRAY_PROBE")
        .env_remove("LD_PRELOAD")
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "|");
}
