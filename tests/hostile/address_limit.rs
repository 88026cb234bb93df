//! A run under an address-space limit (`ulimit -v`, as some clusters and CI runners set):
//! `null`'s scratch area and pymalloc's arena spans are reserved for the worst case (4 GiB,
//! 64 GiB), which such a limit refuses long before it would refuse what a run uses.

use crate::common::{run_dir, tempdir, QUIET_CACHE};
use std::os::unix::process::CommandExt as _;

/// `pybench run` in a process whose address space is limited to `limit` bytes.
fn run_limited(limit: u64, out: &std::path::Path) -> std::process::Output {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"));
    cmd.args([
        "run", "-w", "dicts", "-a", "pymalloc", "-r", "2", "--scale", "20000",
    ])
    .args(["--no-plots", "--min-time", "0.002", "-o"])
    .arg(out)
    .env(pybench::sys::cache_probe::FAKE_CACHE_PROBE_ENV, QUIET_CACHE);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(std::time::Duration::from_secs(300));
    cmd.output().unwrap()
}

/// Under a 3 GiB limit, which refuses both reservations as first asked, the run still
/// measures, and pymalloc's arenas still sit in a (smaller) span: no cell says otherwise.
#[test]
fn a_run_under_an_address_space_limit_measures_with_smaller_reservations() {
    let tmp = tempdir("aslimit");
    let out = run_limited(3 << 30, tmp.as_path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("outside the span"), "{stderr}");
    let json = std::fs::read_to_string(run_dir(tmp.as_path()).join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&json).unwrap();
    for c in results["cells"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
        assert!(c["throughput"].get("arenas_outside_span").is_none(), "{c}");
    }
}
