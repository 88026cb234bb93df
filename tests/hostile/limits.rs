//! pybench under resource limits, as some clusters and CI runners set them: an address-space
//! limit (`ulimit -v`), which `null`'s scratch area and pymalloc's arena spans, reserved for
//! the worst case (4 GiB, 64 GiB), meet long before what a run uses; and a file-size limit
//! (`ulimit -f`), whose signal would kill pybench without a word.

use crate::common::{crafted_trace, pybench_limited, run_dir, tempdir};
use std::ffi::OsStr;

/// `pybench ARGS` in a process whose `resource` is limited to `limit`.
fn limited(
    resource: libc::__rlimit_resource_t,
    limit: u64,
    args: &[&OsStr],
) -> std::process::Output {
    pybench_limited(resource, limit)
        .args(args)
        .output()
        .unwrap()
}

/// `args`, then `path`, as arguments.
fn with_path<'a>(args: &'a [&'a str], path: &'a std::path::Path) -> Vec<&'a OsStr> {
    args.iter()
        .map(OsStr::new)
        .chain([path.as_os_str()])
        .collect()
}

/// `pybench run` of a small dicts in a process whose address space is limited to `limit` bytes.
fn run_limited(limit: u64, out: &std::path::Path) -> std::process::Output {
    let args = [
        "run",
        "-w",
        "dicts",
        "-a",
        "pymalloc",
        "-r",
        "2",
        "--scale",
        "20000",
        "--no-plots",
        "--min-time",
        "0.002",
        "-o",
    ];
    limited(libc::RLIMIT_AS, limit, &with_path(&args, out))
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

/// A trace larger than the file-size limit: one line naming the error, exit 2, and no file
/// left, where SIGXFSZ killed pybench (exit 153, "File size limit exceeded" from the shell).
#[test]
fn a_file_past_the_file_size_limit_is_an_error_not_a_death() {
    let tmp = tempdir("fsize");
    let out = tmp.join("big.pbt");
    let args = ["gen", "-w", "webapp", "--scale", "2000000", "-o"];
    let done = limited(libc::RLIMIT_FSIZE, 64 << 10, &with_path(&args, &out));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("File too large") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(tmp.as_path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

/// 1 GiB arenas under a 3 GiB address-space limit: the engine cannot map all it needs, and
/// its small requests go to malloc (as CPython's do). Each command says so where it used to
/// print the result as the geometry's own: `engine` warns, `sweep` names and leaves out the
/// cell (and the Pareto front with it), `run` warns in its caveats.
#[test]
fn arenas_that_cannot_be_mapped_are_named_never_passed_off_as_the_geometry() {
    let huge = "arena=1G,pool=256M";
    let engine = limited(
        libc::RLIMIT_AS,
        3 << 30,
        &["engine", "-p", huge].map(OsStr::new),
    );
    let (out, err) = (
        String::from_utf8_lossy(&engine.stdout),
        String::from_utf8_lossy(&engine.stderr),
    );
    assert!(engine.status.success(), "{err}");
    assert!(out.contains("# small: no arena could be mapped"), "{out}");
    assert!(
        err.contains("because an arena of 1G could not be mapped here"),
        "{err}"
    );

    let sweep = limited(
        libc::RLIMIT_AS,
        3 << 30,
        &[
            "sweep", "-q", "-w", "dicts", "--scale", "100000", "--arena", "1G", "--pool",
            "4K,256M", "--csv", "-", "-j", "1",
        ]
        .map(OsStr::new),
    );
    let (csv, err) = (
        String::from_utf8_lossy(&sweep.stdout),
        String::from_utf8_lossy(&sweep.stderr),
    );
    assert!(sweep.status.success(), "{err}");
    assert!(
        err.contains("warning: skipped arena=1G,pool=256M on dicts: "),
        "{err}"
    );
    assert!(!csv.contains("pool=256M"), "{csv}");
    assert!(csv.contains("\"arena=1G,pool=4K\""), "{csv}");

    let tmp = tempdir("unmappable");
    let args = [
        "run",
        "-w",
        "dicts",
        "--scale",
        "100000",
        "-a",
        "pymalloc:arena=1G,pool=256M",
        "-r",
        "1",
        "--no-plots",
        "--min-time",
        "0.002",
        "-o",
    ];
    let run = limited(libc::RLIMIT_AS, 3 << 30, &with_path(&args, tmp.as_path()));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains(
            "small request(s) went to the system allocator because an arena could not be mapped"
        ),
        "{err}"
    );
}

/// 6 KB whose 64 block headers declare 2^20 events each, none of them there: `gen --like` and
/// `sweep --trace` reserved room for all 2^26 declared events (1 GiB) before the first block's
/// checksum was read, which under a 1 GiB address-space limit aborted with "memory allocation
/// of 1073741824 bytes failed" and a backtrace (exit 134). Now room follows what was decoded
/// (`trace::limits::reserve_toward`), and the memory check counts the address space left
/// (`ulimit -v`) too, so the file is refused in one line: by that check, from the declared
/// total, or by the first block's checksum, as `stats` refuses it.
#[test]
fn blocks_declaring_events_they_do_not_hold_reserve_nothing_for_them() {
    let tmp = tempdir("declared");
    let bomb = tmp.join("bomb.pbt");
    let end = serde_json::json!({ "events": 64u64 << 20, "slots": 0 });
    std::fs::write(&bomb, crafted_trace(&[1 << 20; 64], &end, 0)).unwrap();
    let out = tmp.join("x.pbt");
    let gen = ["gen", "--like", bomb.to_str().unwrap(), "-o"];
    let sweep = ["sweep", "-q", "--preset", "3.11", "--trace"];
    for args in [with_path(&gen, &out), with_path(&sweep, &bomb)] {
        let done = limited(libc::RLIMIT_AS, 1 << 30, &args);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {stderr}");
        let refused = stderr.contains("checksum mismatch in block 0")
            || stderr.contains("more than half of the");
        assert!(refused && stderr.lines().count() == 1, "{args:?}: {stderr}");
    }
    assert!(!out.exists());
}
