//! The ninth audit: allocators named wrongly, or a `--libpython` that is no libpython, in
//! `run` and `list allocators`. Each is refused in one line that says what the thing is, with
//! exit code 2, before anything is measured or listed.

use crate::common::{pybench, refusal, refusal_with_out, tempdir};
use std::path::Path;

/// A text file, a static archive and a dangling symbolic link, each named `libpython3.11.so`
/// in its own folder under `dir`, with what the refusal of each must say.
fn not_libraries(dir: &Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let at = |sub: &str| {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        d.join("libpython3.11.so")
    };
    let text = at("text");
    std::fs::write(&text, "hello\n").unwrap();
    let archive = at("archive");
    std::fs::write(
        &archive,
        b"!<arch>\n/               0           0     0     0       4         `\n",
    )
    .unwrap();
    let dangling = at("dangling");
    std::os::unix::fs::symlink(dir.join("gone.so"), &dangling).unwrap();
    vec![
        (text, "not a shared library (no ELF header)"),
        (
            archive,
            "a static library (an `ar` archive), not a shared library: pass the `.so`",
        ),
        (dangling, "a symbolic link to a file that does not exist"),
    ]
}

/// They were "PATH: PATH: file too short", "PATH: PATH: invalid ELF header" (the loader's
/// words, the path twice) and "no such file" for a link that is there.
#[test]
fn a_libpython_that_is_no_shared_library_says_what_it_is() {
    let tmp = tempdir("misnamed-libpython");
    let out = tmp.join("out");
    for (lib, says) in not_libraries(&tmp) {
        for alloc in ["cpython:3.11", "system"] {
            let line = refusal(
                pybench()
                    .args(["run", "-w", "dicts", "--scale", "1000", "-a", alloc])
                    .arg("--libpython")
                    .arg(&lib)
                    .arg("--out")
                    .arg(&out),
            );
            assert_eq!(
                line,
                format!("pybench: error: --libpython {}: {says}", lib.display()),
                "-a {alloc}"
            );
        }
    }
    assert!(!out.exists(), "nothing measured, nothing written");
}

/// `list allocators --libpython BAD` marked all six `cpython:3.X` rows "no" with the reason and
/// exited 0; a libpython of a version pybench does not drive changed no row, silently.
#[test]
fn list_refuses_a_libpython_it_cannot_use() {
    let tmp = tempdir("list-libpython");
    for (lib, says) in not_libraries(&tmp) {
        for args in [&["list", "allocators"][..], &["list"][..]] {
            let mut cmd = pybench();
            cmd.args(args).arg("--libpython").arg(&lib);
            let line = refusal(&mut cmd);
            assert!(line.ends_with(says), "{args:?}: {line}");
            let out = cmd.output().unwrap();
            assert!(out.stdout.is_empty(), "nothing listed before the refusal");
        }
    }
    let libz = Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    if libz.exists() {
        let line = refusal(
            pybench()
                .args(["list", "allocators", "--libpython"])
                .arg(libz),
        );
        assert!(
            line.ends_with("not a libpython (no Py_GetVersion)"),
            "{line}"
        );
    }
    let root = std::env::var_os("PYENV_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    let old = root.and_then(|r| {
        std::fs::read_dir(r.join("versions"))
            .ok()?
            .flatten()
            .map(|e| e.path().join("lib/libpython3.7m.so"))
            .find(|p| p.exists())
    });
    match old {
        Some(lib) => {
            let line = refusal(
                pybench()
                    .args(["list", "allocators", "--libpython"])
                    .arg(&lib),
            );
            assert!(line.contains("which pybench does not drive"), "{line}");
        }
        None => eprintln!("skipped the CPython 3.7 case: no pyenv 3.7 here"),
    }
}

/// `-a ''` and `-a ,` said "unknown allocator ``", as if an empty name were a typo.
#[test]
fn an_empty_allocator_list_is_named_as_such() {
    let tmp = tempdir("empty-list");
    for empty in ["", ",", " , "] {
        let line = refusal_with_out(&["run", "-w", "dicts", "-a", empty], &tmp);
        assert!(
            line.starts_with(
                "pybench: error: no allocator named (the list is empty); valid names: "
            ),
            "{line}"
        );
        let line = refusal(pybench().args(["list", "allocators", empty]));
        assert!(line.contains("no allocator named"), "{line}");
    }
}

/// `-a null,null` was taken silently, where `-a system,system` is refused.
#[test]
fn null_named_twice_is_refused_like_any_allocator() {
    let tmp = tempdir("null-twice");
    for list in ["null,null", "system,null,null"] {
        let line = refusal_with_out(&["run", "-w", "dicts", "--scale", "1000", "-a", list], &tmp);
        assert_eq!(
            line,
            "pybench: error: `null` is named twice in -a: name each allocator once"
        );
    }
    assert_eq!(
        std::fs::read_dir(&*tmp).unwrap().count(),
        0,
        "nothing written"
    );
}
