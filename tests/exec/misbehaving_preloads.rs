//! The ninth audit: allocators that `exec` cannot take or that misbehave — a replay-only
//! name, a file that is no library, one library under two names, a library named relative
//! to the current folder, a malloc that aborts. Tests that build a C library skip, saying
//! so, where no C compiler is installed.

use crate::common::{pybench, refusal, run_dir, tempdir};
use std::path::{Path, PathBuf};

/// Builds `src` into `dir/NAME` with `cc -shared -fPIC`; `None` (after saying so) without cc.
fn c_library(dir: &Path, name: &str, src: &str) -> Option<PathBuf> {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let lib = dir.join(name);
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&c)
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        eprintln!("skipped: no C compiler (cc) to build a test allocator");
    }
    built.then_some(lib)
}

/// A malloc and free that hand on to glibc's, except that a request of exactly 123457 bytes
/// aborts: a crash the test's program sets off when it chooses, and no other process does.
const ABORTING: &str = "#include <stddef.h>\n#include <stdlib.h>\n\
extern void *__libc_malloc(size_t); extern void __libc_free(void *);\n\
void *malloc(size_t n) { if (n == 123457) abort(); return __libc_malloc(n); }\n\
void free(void *p) { __libc_free(p); }\n";

/// `null`, `cpython:3.X` and `test-crash` were "unknown exec allocator": they are known, to
/// `run`'s replay only, and the user was sent looking for a typo.
#[test]
fn a_replay_only_allocator_is_named_as_such() {
    for name in ["null", "cpython:3.11", "test-crash:5"] {
        let line = refusal(pybench().args(["exec", "-r", "1", "-a", name, "--", "true"]));
        assert!(
            line.starts_with(&format!(
                "pybench: error: `{name}` is an allocator of `pybench run`'s replay only"
            )),
            "{line}"
        );
    }
}

/// A text file or a folder given as a library was "not an allocator (it does not define
/// malloc and free)", and a static archive the same: they are no library at all.
#[test]
fn a_preload_that_is_no_library_says_what_it_is() {
    let tmp = tempdir("preload-kind");
    let text = tmp.join("text.so");
    std::fs::write(&text, "hello\n").unwrap();
    let archive = tmp.join("libx.a");
    std::fs::write(&archive, b"!<arch>\n").unwrap();
    for (path, says) in [
        (text, "not a shared library (no ELF header)"),
        (tmp.to_path_buf(), "a folder, not a shared library"),
        (archive, "a static library (an `ar` archive)"),
    ] {
        let line = refusal(
            pybench()
                .args(["exec", "-r", "1", "-a", "system", "--preload"])
                .arg(format!("x={}", path.display()))
                .args(["--", "true"]),
        );
        assert!(
            line.contains(&format!(
                "x: {} cannot be preloaded: {says}",
                path.display()
            )),
            "{line}"
        );
    }
}

/// One library under two names (directly and through a symbolic link) was run twice and shown
/// as two allocators differing only by noise; `run` refuses such spellings of one allocator.
/// So are two engine geometries that are one (`pymalloc:cpython-3.11` is arena=1M,pool=16K).
#[test]
fn one_allocator_under_two_names_is_refused() {
    let tmp = tempdir("preload-twice");
    let Some(lib) = c_library(&tmp, "libabort.so", ABORTING) else {
        return;
    };
    let link = tmp.join("liblink.so");
    std::os::unix::fs::symlink(&lib, &link).unwrap();
    let line = refusal(
        pybench()
            .args(["exec", "-r", "1", "-a", "system"])
            .arg(format!("--preload=a={}", lib.display()))
            .arg(format!("--preload=b={}", link.display()))
            .args(["--", "true"]),
    );
    assert!(
        line.contains("preload the same library") && line.ends_with("name each allocator once"),
        "{line}"
    );
    let line = refusal(pybench().args([
        "exec",
        "-r",
        "1",
        "-a",
        "pymalloc:cpython-3.11,pymalloc:arena=1M,pool=16K",
        "--",
        "true",
    ]));
    assert!(line.contains("run the program the same way"), "{line}");
}

/// `--preload mine=libmine.so` beside the library: every check read that file, then ld.so,
/// which looks a name without a slash up in the library path, refused it ("cannot open shared
/// object file") and ran the program on glibc under the allocator's name. The library here
/// aborts on a malloc of 123457 bytes, which the program asks for: the run fails with
/// SIGABRT only if that file is the malloc the program really ran on.
#[test]
fn a_preload_named_relative_to_the_current_folder_is_that_file() {
    let tmp = tempdir("preload-relative");
    if c_library(&tmp, "libmine.so", ABORTING).is_none() || !crate::common::have_python() {
        return;
    }
    let out = pybench()
        .current_dir(&*tmp)
        .args([
            "exec",
            "-r",
            "1",
            "-q",
            "--no-plots",
            "-a",
            "mine=libmine.so",
        ])
        .args(["--out", "r", "--", "python3", "-c"])
        .arg("import ctypes; ctypes.CDLL(None).malloc(123457)")
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("mine rep 0: the program was killed by signal 6 (SIGABRT)"),
        "{err}"
    );
    assert!(!err.contains("cannot be preloaded"), "{err}");
}

/// A malloc that aborts: the run is failed for that allocator with the signal's name (exec
/// said "killed by signal 6", where `run` says "signal 6 (SIGABRT)"), the other allocator is
/// measured and saved, and the exit code is 3.
#[test]
fn an_allocator_that_aborts_fails_its_runs_by_name_and_the_others_are_saved() {
    let tmp = tempdir("preload-abort");
    let Some(lib) = c_library(&tmp, "libabort.so", ABORTING) else {
        return;
    };
    if !crate::common::have_python() {
        return;
    }
    let out = crate::common::quick_exec("system", &tmp.join("r"))
        .arg(format!("--preload=crashy={}", lib.display()))
        .args(["--", "python3", "-c"])
        .arg("import ctypes; ctypes.CDLL(None).malloc(123457)")
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("crashy rep 0: the program was killed by signal 6 (SIGABRT)"),
        "{err}"
    );
    let results = std::fs::read_to_string(run_dir(&tmp.join("r")).join("results.json")).unwrap();
    assert!(results.contains("\"system\""), "system's run is saved");
}
