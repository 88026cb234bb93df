//! `exec`'s launcher (`pybench::sys::spawn`): a program's reported peak RSS is its own, not
//! the RSS of the process that started it, and its status and environment come through.

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
