//! Helpers shared by the integration tests: the binary under test and the smallest runs of
//! each command, traces and fresh temporary directories; result files built with the crate's
//! own model types (`results`, for the CLI tests of `compare` and `plot`), a replay into the
//! engine without the harness (`replay`), waiting on a started pybench (`process`). Each test binary's `tests/<group>/main.rs` declares it
//! (`#[path = "../common/mod.rs"] mod common;`) and its files use `crate::common`.
#![allow(dead_code)] // each test crate uses part of it

use std::path::{Path, PathBuf};

mod process;
mod replay;
mod results;
// Re-exported so tests name every helper `crate::common::…`; each test crate uses part.
#[allow(unused_imports)]
pub use process::{program_pid, wait_while_running};
#[allow(unused_imports)]
pub use replay::replay_by_hand;
#[allow(unused_imports)]
pub use results::*;

/// The one run folder a command wrote under `root` (its `--out`).
pub fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory in {root:?}: {dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// A fake sysfs under `root` (read instead of `/sys` where `PYBENCH_FAKE_SYSFS` names it):
/// one virtio device `id` (`0x0005`: a balloon) with `features` (bit 5: free page
/// reporting), reporting order 9.
pub fn fake_sysfs(root: &Path, id: &str, features: &str) {
    let dev = root.join("bus/virtio/devices/virtio0");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("device"), format!("{id}\n")).unwrap();
    std::fs::write(dev.join("features"), format!("{features}\n")).unwrap();
    let p = root.join("module/page_reporting/parameters");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("page_reporting_order"), "9\n").unwrap();
}

/// `results.json` of the one run folder a command wrote under `root` (its `--out`).
pub fn results_json(root: &Path) -> serde_json::Value {
    let dir = run_dir(root);
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// `events` written as the trace `DIR/NAME.pbt` (a generated one, CPython 3.11), whose
/// workload name is `name`.
pub fn write_trace(dir: &Path, name: &str, events: &[pybench::workload::Event]) -> PathBuf {
    use pybench::trace::{Meta, TraceWriter};
    let meta = Meta {
        source: "generated".into(),
        name: name.into(),
        python: "3.11".into(),
        ..Meta::default()
    };
    let mut w = TraceWriter::new(Vec::new(), &meta).unwrap();
    for e in events {
        w.push(e).unwrap();
    }
    let path = dir.join(format!("{name}.pbt"));
    std::fs::write(&path, w.finish(Default::default()).unwrap()).unwrap();
    path
}

/// A version-2 trace made by hand, to be refused: a header (file id 1, CPython 3.11), one
/// events-block header per entry of `blocks` declaring that many events (2^20 bytes of raw
/// data, no payload, checksum 0: nothing a reader can check before it reads the payload),
/// then an end block, checksummed, whose JSON is `end` and whose header gives `table` slots.
pub fn crafted_trace(blocks: &[u32], end: &serde_json::Value, table: u32) -> Vec<u8> {
    use pybench::trace::format::{block_binding, crc, MAGIC};
    let meta = br#"{"name":"crafted","python":"3.11"}"#;
    let mut out = MAGIC.to_vec();
    out.extend(2u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend((meta.len() as u32).to_le_bytes());
    out.extend(1u64.to_le_bytes());
    out.extend(meta);
    out.extend(crc(&[&out]).to_le_bytes());
    let head = |kind: u8, events: u32, raw: u32, stored: u32, table: u32| {
        let mut h = vec![kind];
        for v in [events, raw, stored, table] {
            h.extend(v.to_le_bytes());
        }
        h
    };
    for &events in blocks {
        out.extend(head(1, events, 1 << 20, 0, 0));
        out.extend([0u8; 4]);
    }
    let json = end.to_string().into_bytes();
    let h = head(2, 0, json.len() as u32, json.len() as u32, table);
    let binding = block_binding(1, blocks.len() as u64);
    out.extend(&h);
    out.extend(crc(&[&binding, &h, &json]).to_le_bytes());
    out.extend(json);
    out
}

/// Header length and each block's byte range (header included) of a version-2 trace file.
pub fn blocks(b: &[u8]) -> (usize, Vec<(usize, usize)>) {
    use pybench::trace::format::BLOCK_HEADER_V2;
    let header = 24 + u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize + 4;
    let mut at = header;
    let mut out = Vec::new();
    while at < b.len() {
        let stored = u32::from_le_bytes(b[at + 9..at + 13].try_into().unwrap()) as usize;
        out.push((at, at + BLOCK_HEADER_V2 + stored));
        at += BLOCK_HEADER_V2 + stored;
    }
    (header, out)
}

/// The `pybench` binary of this build, ready for arguments. Killed after 5 minutes (no test
/// command takes one): a hang then fails its own test at once, where it used to stall CI until
/// the cell's 600 s timeout (2026-12-03, a throughput process asked 20 million passes a
/// sample) and push the whole run past CI's limit. The machine's probes are faked
/// ([`QUIET_MACHINE`]): a test's warnings must not depend on the neighbours of the machine it
/// runs on (two runs' clocks read apart under load would warn in `compare`), and the real
/// cache probe takes about 0.6 s and 128 MiB a run.
pub fn pybench() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pybench").expect("binary built");
    cmd.timeout(std::time::Duration::from_secs(300))
        .envs(QUIET_MACHINE);
    cmd
}

/// [`pybench`] in a process whose `resource` is limited to `limit` (`ulimit -v` is
/// `RLIMIT_AS`, `ulimit -f` `RLIMIT_FSIZE`), as some clusters and CI runners set them.
pub fn pybench_limited(resource: libc::__rlimit_resource_t, limit: u64) -> assert_cmd::Command {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pybench"));
    cmd.envs(QUIET_MACHINE);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(resource, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(std::time::Duration::from_secs(300));
    cmd
}

/// `pybench exec` of one repetition under `allocators`, quietly and without plots, writing
/// under `out`: the smallest real run. Ready for more arguments (`--timeout`, then `--` and
/// the program).
pub fn quick_exec(allocators: &str, out: &Path) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.args(["exec", "-q", "--no-plots", "-r", "1", "-a", allocators])
        .arg("--out")
        .arg(out);
    cmd
}

/// `pybench validate` of one repetition against the engine and glibc, quietly and without
/// plots, writing under `out`: the smallest real validation. Ready for more arguments (the
/// program goes last, after `--`).
pub fn quick_validate(out: &Path) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.args([
        "validate",
        "-q",
        "--no-plots",
        "-r",
        "1",
        "-a",
        "pymalloc,system",
    ])
    .arg("--out")
    .arg(out);
    cmd
}

/// `run` flags for a cell that takes a fraction of a second: a small stream, two rounds of a
/// millisecond each (for tests of what a run says, not of its figures).
pub const QUICK_RUN: [&str; 6] = ["--scale", "20000", "--rounds", "2", "--min-time", "0.001"];

/// `pybench run` of the built-in churn workload against glibc alone, two processes at
/// [`QUICK_RUN`]'s size, quietly and without plots, writing under `out`: the smallest run of a
/// workload, for tests of what a run records rather than of its figures. Ready for more
/// arguments and environment.
pub fn quick_churn_run(out: &Path) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.args([
        "run",
        "-w",
        "churn",
        "-a",
        "system",
        "-r",
        "2",
        "--no-plots",
        "-q",
    ])
    .args(QUICK_RUN)
    .arg("--out")
    .arg(out);
    cmd
}

/// `pybench run` of one trace against glibc alone, `reps` processes, quietly and without
/// plots, writing under `out`: the smallest real run, for tests about what a run does with
/// its inputs and outputs rather than about its figures. Ready for more arguments.
pub fn quick_trace_run(trace: &Path, reps: u32, out: &Path) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.args([
        "run",
        "-a",
        "system",
        "-r",
        &reps.to_string(),
        "--quiet",
        "--no-plots",
    ])
    .arg("--trace")
    .arg(trace)
    .arg("--out")
    .arg(out);
    cmd
}

/// The one line a refused command printed on stderr (trailing newline trimmed), after
/// checking that it exited with 2, pybench's code for bad input: the house rule that bad
/// input gets exactly one line, checked where each refusal is tested.
pub fn refusal(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.trim_end().to_string()
}

/// `pybench ARGS --out OUT`, refused: its one line, as [`refusal`] returns it. For the
/// refusals a `run` must give before it measures anything into `out`.
pub fn refusal_with_out(args: &[&str], out: &std::path::Path) -> String {
    refusal(pybench().args(args).arg("--out").arg(out))
}

/// A shared-cache probe of an uncontended L3 (`sys::cache_probe`'s fake: hit and memory
/// latency, then the samples, in ns an access): every sample a hit.
pub const QUIET_CACHE: &str = "14,170,15,16,15,17,16,15,16,15";

/// A clock probe of a core that held its speed (`sys::clock_probe`'s fake: eight samples, in
/// GHz).
pub const STEADY_CLOCK: &str = "3.0,3.0,3.0,3.0,3.0,3.0,3.0,3.0";

/// The machine every test's pybench sees, whatever the one it runs on is doing: an
/// uncontended shared cache ([`QUIET_CACHE`]), a core that held its clock ([`STEADY_CLOCK`])
/// and no busy core (`record`'s busy-machine note, which tests running side by side would
/// otherwise set off now and then; its own test sets the value it needs). One list, so a
/// probe added later is faked for every way the tests start pybench (the clock probe was
/// added to four of them by hand, and missed in three, on 2026-12-07).
pub const QUIET_MACHINE: [(&str, &str); 3] = [
    (pybench::sys::cache_probe::FAKE_CACHE_PROBE_ENV, QUIET_CACHE),
    (
        pybench::sys::clock_probe::FAKE_CLOCK_PROBE_ENV,
        STEADY_CLOCK,
    ),
    (pybench::sys::procfs::FAKE_BUSY_CORES_ENV, "0"),
];

/// A FIFO made at `path` (`mkfifo`), for the tests of inputs and outputs that must be
/// refused or written at once rather than waited on.
pub fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// `pybench compare BASE CURRENT`, with no GitHub step summary to write to (CI sets one; a
/// test's output must not depend on where it runs), ready for more arguments.
pub fn compare(
    base: impl AsRef<std::ffi::OsStr>,
    current: impl AsRef<std::ffi::OsStr>,
) -> assert_cmd::Command {
    let mut cmd = pybench();
    cmd.arg("compare")
        .arg(base)
        .arg(current)
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// `pybench compare BASE CURRENT` refused in one line (exit 2, no report on stdout); the line.
pub fn compare_refused(base: &Path, current: &Path) -> String {
    let a = compare(base, current).assert().code(2);
    assert!(a.get_output().stdout.is_empty(), "no report");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// A fresh, empty directory under the system's temporary directory, unique to this process
/// and call (no tempfile crate needed); `tag` names it. Removed when dropped, unless the test
/// is failing (panicking): then it is kept and its path printed, for whoever debugs it.
pub fn tempdir(tag: &str) -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pybench-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A test's scratch directory ([`tempdir`]): derefs to its path.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for debugging: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Whether `python3` runs here; says so on stderr when not (the tests needing it then skip).
pub fn have_python() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "pass"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: no python3");
    }
    ok
}

/// Runs `pybench compare --format csv EXTRA BASE CUR` (no step summary), expects exit `code`,
/// and returns the named `columns` of every row, and stderr.
pub fn compare_csv<const N: usize>(
    base: &Path,
    cur: &Path,
    extra: &[&str],
    code: i32,
    columns: [&str; N],
) -> (Vec<[String; N]>, String) {
    let out = pybench()
        .args(["compare", "--format", "csv"])
        .args(extra)
        .arg(base)
        .arg(cur)
        .env_remove("GITHUB_STEP_SUMMARY")
        .assert()
        .code(code);
    let mut r = csv::Reader::from_reader(&out.get_output().stdout[..]);
    let h = r.headers().unwrap().clone();
    let at = columns.map(|n| {
        h.iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("no column {n} in {h:?}"))
    });
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            at.map(|i| rec[i].to_string())
        })
        .collect();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    (rows, err)
}
