//! A pybench killed outright takes its children with it (issue 16, part of the smaller
//! defects in `hardening`): a `run` cell and an `exec` or `record` program, and what that
//! program started, must not outlive their parent.

use crate::common::{self, tempdir};
use std::time::Duration;

/// The pids of `pid`'s children.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Whether `pid` is already on its way out: the kernel sets `PF_EXITING` (0x4) in its flags
/// (the ninth field of /proc/PID/stat) as `do_exit` begins, and it stays until the process is
/// gone. The pending sets alone miss a moment: once a dead process is released (state `X`,
/// briefly, before its /proc entry goes) /proc shows no signal pending at all. CI saw a killed
/// cell that was neither a zombie nor had SIGKILL pending, under load, on 2026-12-08.
fn exiting(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let after_name = s.rsplit(')').next().unwrap_or("");
        (after_name.split_whitespace().nth(6))
            .and_then(|f| f.parse::<u64>().ok())
            .is_some_and(|flags| flags & 0x4 != 0)
    })
}

/// Whether `pid` was killed: gone, a zombie, exiting, or with SIGKILL pending (`SigPnd` or
/// `ShdPnd` of /proc/PID/status, bit 9; it stays in the process's shared set until it is
/// taken, then the process is exiting).
fn killed(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let sigkill = |mask: String| u64::from_str_radix(&mask, 16).is_ok_and(|m| m & (1 << 8) != 0);
    !alive(pid) || exiting(pid) || sigkill(field("SigPnd:")) || sigkill(field("ShdPnd:"))
}

/// A process's command line as the kernel holds it (empty once it is gone).
fn cmdline(pid: u32) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()
}

/// Waits for `parent`'s first child (`what`) to have started its own program, kills `parent`
/// outright, and checks that the child was killed with it. No clock decides: the wait for
/// the child follows the parent's progress (it fails if the parent ends first), and the
/// kernel sends the parent-death signal (`PR_SET_PDEATHSIG`) while the parent exits, before
/// the parent can be reaped, so once `wait` returned the child is gone or has SIGKILL
/// pending, however loaded the machine (in theory: see the second look below). The child
/// counts only once its command line is no
/// longer the parent's, i.e. after its `exec`: between `fork` and the `prctl` before it, a
/// child whose parent dies exits by itself instead (`sys::process::signal_on_parent_death`
/// checks `getppid`), without a signal this test could see (it failed so once, at load
/// 2.2, 2026-12-07). A child left running (the defect) fails at once; a killed one is then
/// waited for, and goes.
fn killing_the_parent_ends_its_child(mut parent: std::process::Child, what: &str) {
    let pid = parent.id();
    let own = cmdline(pid);
    let mut child = None;
    common::wait_while_running(&mut parent, &format!("no {what} started"), || {
        child = (children(pid).into_iter()).find(|&c| {
            let line = cmdline(c);
            !line.is_empty() && line != own
        });
        child.is_some()
    });
    let child = child.unwrap();
    parent.kill().unwrap();
    parent.wait().unwrap();
    // Killed is a state the child cannot leave, and a child left running (the defect) stays
    // out of it for the seconds its cell lasts; yet twice under CI's load (2026-12-08) the
    // first look found neither a pending SIGKILL nor an exit begun. So a first miss is looked
    // at again for up to a second before the test fails, with what /proc showed.
    let mut looks = 0;
    while !killed(child) {
        looks += 1;
        let proc_file = |f: &str| std::fs::read_to_string(format!("/proc/{child}/{f}"));
        assert!(
            looks <= 50,
            "{what} {child} still runs a second after its parent was killed, with no SIGKILL \
             pending: stat {:?}, status {:?}",
            proc_file("stat"),
            proc_file("status")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    if looks > 0 {
        eprintln!("{what} {child}: killed seen at look {looks}");
    }
    while alive(child) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cell_dies_with_its_parent() {
    let d = tempdir("orphan");
    let parent = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args([
            "run", "-w", "churn", "-a", "system", "-r", "50", "--scale", "3000000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(d.join("results"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    killing_the_parent_ends_its_child(parent, "cell");
    let _ = std::fs::remove_dir_all(&d);
}

/// Whether `pid` has `signal` pending (`SigPnd` or `ShdPnd` of /proc/PID/status).
fn pending(pid: u32, signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .any(|m| u64::from_str_radix(m.trim(), 16).is_ok_and(|m| m & (1 << (signal - 1)) != 0))
}

/// A killed `pybench exec` takes the program and what the program started with it: until
/// 2026-12-07 its launcher was killed outright, and the program's own children (a
/// `subprocess` under way, here a backgrounded `sleep`) outlived everything. No clock
/// decides: once pybench is reaped, the kernel has signalled the launcher (the parent-death
/// signal is sent before the parent can be reaped); the wait for the launcher's end then
/// follows the launcher's own progress, and it ends only after it has killed and reaped the
/// program's tree, so the `sleep` must be gone by then.
#[test]
fn an_exec_program_and_its_children_die_with_their_parent() {
    let exec = ["exec", "-a", "system", "-r", "1", "--quiet", "--no-plots"];
    the_program_tree_dies_with_pybench("orphan-exec", &exec, "--out", "results");
}

/// The same for `record` (and so `validate`'s recording): until 2026-12-07 the program had
/// no launcher there (the hook required pybench itself as its parent), and a killed
/// pybench left the program's children running. The program need not be Python for the
/// process tree to be tested: a shell records nothing but is started the same way.
#[test]
fn a_recorded_program_and_its_children_die_with_their_parent() {
    the_program_tree_dies_with_pybench("orphan-record", &["record"], "-o", "t.pbt");
}

/// Starts `pybench ARGS OUT_FLAG DIR/OUT -- sh -c …` (a program that starts a `sleep`),
/// kills pybench once the sleep runs, and checks that the launcher was told and the program
/// and the sleep were killed.
fn the_program_tree_dies_with_pybench(name: &str, args: &[&str], out_flag: &str, out: &str) {
    let d = tempdir(name);
    let grandchild_file = d.join("grandchild");
    let script = format!(
        "sleep 300 & echo $! > {0}.tmp && mv {0}.tmp {0}; wait",
        grandchild_file.display()
    );
    let mut parent = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"))
        .args(args)
        .arg(out_flag)
        .arg(d.join(out))
        .args(["--", "sh", "-c", &script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let grandchild = common::program_pid(&mut parent, &grandchild_file) as u32;
    let launcher = children(parent.id())[0];
    let program = children(launcher)[0];
    parent.kill().unwrap();
    parent.wait().unwrap();
    let usr1 = libc::SIGUSR1;
    assert!(
        !alive(launcher) || pending(launcher, usr1) || killed(launcher) || killed(program),
        "the launcher {launcher} was not told that pybench died"
    );
    while alive(launcher) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(killed(program), "the program {program} outlived pybench");
    assert!(
        !alive(grandchild),
        "the program's child {grandchild} outlived pybench and the program"
    );
    let _ = std::fs::remove_dir_all(&d);
}
