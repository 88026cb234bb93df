//! Hostile and careless use (issue 16): planted symlinks, a full disk, unbounded inputs, a
//! recorder leaking into other processes, and the small defects. Each test fails on the code
//! before the fix.

use crate::common;

use crate::common::{entries, pybench, tempdir};
use pybench::workload::{Domain, Event};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tiny tmpfs mounted for the test's lifetime, or `None` (with a message) where mounting
/// is not allowed.
struct Tmpfs(common::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempdir("tmpfs");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
            return None;
        }
        Some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // The folder itself goes when the field drops, after this.
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

// ---- 1. writers -------------------------------------------------------------------------

#[test]
fn exports_replace_a_planted_link_and_spare_an_unrelated_tmp_file() {
    let d = tempdir("export");
    let victim = d.join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("report.json")).unwrap();
    std::fs::write(d.join("report.tmp"), "unrelated").unwrap();
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(d.join("results"))
        .arg("--json")
        .arg(d.join("report.json"))
        // An existing target is refused without it (`replacing.rs`); forced, the link is
        // replaced, never written through.
        .arg("--force")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(
        std::fs::read_to_string(d.join("report.tmp")).unwrap(),
        "unrelated"
    );
    let json = std::fs::read_to_string(d.join("report.json")).unwrap();
    assert!(json.contains("\"format_version\""));
    assert_eq!(
        entries(&d),
        ["report.json", "report.tmp", "results", "victim"],
        "no temporary left behind"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_planted_run_folder_is_never_reused() {
    let d = tempdir("runfolder");
    let root = d.join("results");
    let elsewhere = d.join("elsewhere");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    // The folder name is predictable (`<UTC second>-<label>`): plant links for the next
    // seconds, as another user could. Ten minutes of them: longer than `pybench()` lets the
    // run take (five minutes), so the run starts within the planted window however slowly
    // it gets going, and `-planted-2` below holds on a loaded machine too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for s in 0..600 {
        let name = format!("{}-planted", pybench::sys::time::format_utc(now + s));
        std::os::unix::fs::symlink(&elsewhere, root.join(name)).unwrap();
    }
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
        ])
        .args(["--quiet", "--no-plots", "--label", "planted", "--out"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        entries(&elsewhere).is_empty(),
        "nothing written through a link"
    );
    let real: Vec<String> = entries(&root)
        .into_iter()
        .filter(|n| !pybench::sys::fs::is_symlink(&root.join(n)))
        .collect();
    assert_eq!(real.len(), 1, "{real:?}");
    assert!(real[0].ends_with("-planted-2"), "{real:?}");
    let json = std::fs::read_to_string(root.join(&real[0]).join("results.json")).unwrap();
    assert!(
        json.contains(&format!("\"run\": \"{}\"", real[0])),
        "the run is named after its folder"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_full_disk_stops_the_run_before_the_next_cell_and_leaves_no_partial_file() {
    let Some(fs) = Tmpfs::mount("48k") else {
        return;
    };
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "40", "--scale", "2000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&fs.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("results could not be saved after cell"),
        "{err}"
    );
    let dir = fs.0.join(&entries(&fs.0)[0]);
    let files = entries(&dir);
    assert!(
        files.iter().all(|f| !f.contains(".tmp")),
        "no temporary left: {files:?}"
    );
    // The last complete save is intact and holds fewer cells than the plan's 80.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap().len();
    assert!(cells < 80, "stopped early ({cells} cells saved)");
    // ...and says it did not finish: it used to read as a complete run of fewer cells.
    assert_eq!(json["interrupted"], true);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("The run did not finish"), "{summary}");
}

/// A disk already full when the run starts: its first save fails, and the empty run folder
/// it made is removed (it was left behind, to be taken for a result).
#[test]
fn a_disk_full_before_the_first_save_leaves_no_empty_run_folder() {
    let Some(fs) = Tmpfs::mount("16k") else {
        return;
    };
    let filler = fs.0.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    while std::io::Write::write_all(&mut f, &[0u8; 4096]).is_ok() {}
    drop(f);
    let out = pybench()
        .args([
            "run", "-w", "dicts", "-a", "system", "-r", "1", "--scale", "2000",
        ])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&fs.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("results.json"), "{}", stderr(&out));
    assert_eq!(entries(&fs.0), ["filler"]);
}

#[test]
fn gen_on_a_full_disk_leaves_neither_a_truncated_trace_nor_a_temporary() {
    let Some(fs) = Tmpfs::mount("32k") else {
        return;
    };
    let target = fs.0.join("big.pbt");
    let out = pybench()
        .args(["gen", "--workload", "dicts", "--scale", "200000", "-o"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot write {}", target.display())),
        "the error names the file: {err}"
    );
    assert!(entries(&fs.0).is_empty(), "{:?}", entries(&fs.0));
}

/// A device that refuses every write (`/dev/full`, ENOSPC), written in place: each trace
/// writer's one-line error names it, whichever write fails first (before 2026-12-03 `gen`,
/// `convert` and `record` said only "No space left on device").
#[test]
fn trace_writers_name_a_full_output_in_their_error() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full here");
        return;
    }
    let mut runs = vec![
        pybench()
            .args(["gen", "-w", "dicts", "--scale", "20000", "-o", "/dev/full"])
            .output()
            .unwrap(),
        pybench()
            .args(["convert", "trace:test_json", "-o", "/dev/full"])
            .output()
            .unwrap(),
    ];
    if common::have_python() {
        runs.push(
            pybench()
                .args(["record", "-o", "/dev/full", "--", "python3"])
                .args(["-c", "x = [str(i) for i in range(100000)]"])
                .output()
                .unwrap(),
        );
    }
    for out in runs {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot write /dev/full"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// An output name longer than the file system takes (`NAME_MAX`) is refused before any
/// work: the nameless temporary needs no name, so only the final rename failed, and `record`
/// first ran the whole program (here `touch`, whose file says whether it ran), then lost it.
#[test]
fn an_output_name_too_long_is_refused_before_the_program_runs() {
    let d = tempdir("name-too-long");
    let long = d.join(format!("{}.pbt", "a".repeat(300)));
    let ran = d.join("ran");
    let runs = [
        pybench()
            .arg("record")
            .arg("-o")
            .arg(&long)
            .arg("--")
            .arg("touch")
            .arg(&ran)
            .output()
            .unwrap(),
        pybench()
            .args(["gen", "-w", "dicts", "--scale", "1000", "-o"])
            .arg(&long)
            .output()
            .unwrap(),
    ];
    for out in runs {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot create") && err.contains("File name too long"),
            "{err}"
        );
    }
    assert!(!ran.exists(), "the program must not run");
    assert_eq!(entries(&d), Vec::<String>::new());
}

#[test]
fn gen_replaces_a_planted_link_instead_of_writing_through_it() {
    let d = tempdir("genlink");
    let victim = d.join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("t.pbt")).unwrap();
    // Refused as any existing output is, the link left as it was...
    let out = pybench()
        .args(["gen", "--workload", "dicts", "--scale", "1000", "-o"])
        .arg(d.join("t.pbt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists; give --force"));
    assert!(pybench::sys::fs::is_symlink(&d.join("t.pbt")));
    // ...and replaced, not written through, when asked.
    pybench()
        .args([
            "gen",
            "--workload",
            "dicts",
            "--scale",
            "1000",
            "--force",
            "-o",
        ])
        .arg(d.join("t.pbt"))
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!pybench::sys::fs::is_symlink(&d.join("t.pbt")));
    let _ = std::fs::remove_dir_all(&d);
}

// ---- 3. bounded inputs ------------------------------------------------------------------

#[test]
fn endless_inputs_are_refused_with_the_limit_named() {
    let out = pybench()
        .args(["compare", "/dev/zero", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("limit of 268435456 bytes"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = pybench()
        .args(["stats", "--workload", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("limit of 1048576 bytes"), "{err}");
}

#[test]
fn scale_bounds_a_spec_with_huge_ranges() {
    let d = tempdir("wide");
    let spec = d.join("wide.toml");
    std::fs::write(
        &spec,
        "name = \"wide\"\ndescription = \"x\"\ngenerator = \"lists\"\nscale = 1000\n\
         [params]\nlen = { \"1000000-10000000\" = 1.0 }\n",
    )
    .unwrap();
    let out = pybench()
        .args(["stats", "--json", "--workload"])
        .arg(&spec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = v["summary"]["events"].as_u64().unwrap();
    let bound = pybench::workload::max_objects(1000);
    // Every object is at most an allocation, a free and a few reallocs.
    assert!(events <= 4 * bound, "{events} events at scale 1000");
    // The cut is not silent: the user learns the workload is shorter than the spec asks.
    assert!(
        stderr(&out).contains("warning: the stream was cut at 12000 Python objects"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&d);
}

// ---- 5. smaller defects -----------------------------------------------------------------

/// `--timeout` values out of its range (0, and values whose seconds overflow a deadline)
/// are refused as usage errors in one line naming the flag and the value, not a panic.
#[test]
fn timeouts_out_of_range_are_usage_errors_not_panics() {
    for t in ["9223372036854775807", "0", "18446744073709551615"] {
        let err =
            common::refusal(pybench().args(["run", "-w", "dicts", "-a", "system", "--timeout", t]));
        assert!(
            err.contains(&format!("invalid value '{t}' for '--timeout")),
            "--timeout {t}: {err}"
        );
    }
}

#[test]
fn a_corrupt_trace_is_refused_before_measuring() {
    let d = tempdir("corrupt");
    let trace = d.join("t.pbt");
    pybench()
        .args(["gen", "--workload", "dicts", "--scale", "5000", "-o"])
        .arg(&trace)
        .assert()
        .success();
    // Damage the middle of the file (inside an event block's payload), keeping the header.
    let mut bytes = std::fs::read(&trace).unwrap();
    let mid = bytes.len() / 2;
    let (_, blocks) = common::blocks(&bytes);
    let (k, &(start, end)) = blocks
        .iter()
        .enumerate()
        .find(|(_, (start, end))| (start..end).contains(&&mid))
        .unwrap();
    assert!(
        start + pybench::trace::format::BLOCK_HEADER_V2 <= mid && mid + 16 <= end,
        "the damage lies in block {k}'s payload"
    );
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&trace, &bytes).unwrap();
    // Refused in one line naming the damaged block where it starts, as every trace error does.
    let err = common::refusal(&mut common::quick_trace_run(&trace, 2, &d.join("results")));
    assert!(
        err.contains(&format!(
            "t.pbt: byte {start}: checksum mismatch in block {k} "
        )),
        "{err}"
    );
    assert!(!d.join("results").exists(), "nothing measured or written");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_request_over_256_mib_does_not_fail_the_null_cell() {
    let d = tempdir("big");
    let big = 300 << 20;
    let trace = common::write_trace(
        &d,
        "big",
        &[
            Event::Alloc {
                slot: 0,
                size: 64,
                domain: Domain::Obj,
                thread: 0,
            },
            Event::Alloc {
                slot: 1,
                size: big,
                domain: Domain::Raw,
                thread: 0,
            },
            Event::Free { slot: 1, thread: 0 },
            Event::Free { slot: 0, thread: 0 },
        ],
    );
    let out = common::quick_trace_run(&trace, 1, &d.join("results"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&d);
}

// ---- 4. a recorder confined to its program: tests/hardening/recorder.rs ----------------
#[path = "hardening/recorder.rs"]
mod recorder;
