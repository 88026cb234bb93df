//! CLI tests for `pybench list allocators`.

use crate::common::pybench;
use predicates::prelude::*;

fn stdout_of(args: &[&str]) -> String {
    let out = pybench().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The row of allocator `name`, split into columns at runs of two or more spaces.
fn row<'a>(out: &'a str, name: &str) -> Option<Vec<&'a str>> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
}

#[test]
fn lists_every_allocator_with_version_and_availability() {
    let out = stdout_of(&["list", "allocators"]);
    assert!(out.starts_with("allocator"), "{out}");
    for name in [
        "system",
        "jemalloc",
        "mimalloc",
        "snmalloc",
        "pymalloc:cpython-3.11",
        "null",
    ] {
        let r = row(&out, name).unwrap_or_else(|| panic!("no row {name}:\n{out}"));
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[2], "yes", "{name} is built in by default: {r:?}");
    }
    assert!(row(&out, "system").unwrap()[1].starts_with("glibc 2."));
    assert!(row(&out, "jemalloc").unwrap()[1].starts_with("jemalloc 5."));
    for minor in 8..=13 {
        let name = format!("cpython:3.{minor}");
        let r = row(&out, &name).unwrap_or_else(|| panic!("no row {name}"));
        // Either found, with its real version, or not, with the one-line reason.
        if r[2].starts_with("yes") {
            assert!(r[1].starts_with(&format!("CPython 3.{minor}.")), "{r:?}");
        } else {
            assert!(r[2].contains("pass --libpython PATH"), "{r:?}");
        }
    }
    assert!(
        row(&out, "test-crash:1000").is_none(),
        "hidden without --all"
    );
    let all = stdout_of(&["list", "allocators", "--all"]);
    assert!(row(&all, "test-crash:1000").is_some(), "{all}");
}

/// Every name a command accepts is listed: bare `pymalloc` (per workload), every engine
/// preset, and the exec-only `tcmalloc`, marked as such.
#[test]
fn lists_every_accepted_name_with_exec_only_ones_marked() {
    let out = stdout_of(&["list", "allocators"]);
    assert_eq!(row(&out, "pymalloc").unwrap()[2], "yes", "{out}");
    for minor in 8..=13 {
        assert!(
            row(&out, &format!("pymalloc:cpython-3.{minor}")).is_some(),
            "{out}"
        );
    }
    let tc = row(&out, "tcmalloc").unwrap_or_else(|| panic!("no tcmalloc row:\n{out}"));
    assert!(tc[2].starts_with("exec only"), "{tc:?}");
    assert!(out.contains("NAME=PATH"), "{out}");
    // Named, it is shown too (not refused as unknown).
    let named = stdout_of(&["list", "allocators", "tcmalloc"]);
    assert!(
        row(&named, "tcmalloc").unwrap()[2].starts_with("exec only"),
        "{named}"
    );
}

#[test]
fn unknown_allocator_lists_the_valid_names() {
    pybench()
        .args(["list", "allocators", "hoard"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown allocator `hoard`")
                .and(predicate::str::contains("jemalloc"))
                .and(predicate::str::contains("cpython:3.X")),
        );
}

/// A typo is answered with the nearest name, on every command that takes allocator names
/// (`run`'s and `exec`'s lists differ: `null` is not an exec allocator).
#[test]
fn a_mistyped_allocator_is_answered_with_the_nearest_name() {
    for (args, meant) in [
        (vec!["list", "allocators", "jemaloc"], "jemalloc"),
        (
            vec!["run", "-w", "dicts", "-a", "pymalloc,Snmalloc"],
            "snmalloc",
        ),
        (vec!["run", "-w", "dicts", "-a", "nul"], "null"),
        (vec!["exec", "-a", "tcmaloc", "--", "true"], "tcmalloc"),
    ] {
        pybench()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "(did you mean `{meant}`?)"
            )));
    }
    pybench()
        .args(["exec", "-a", "nul", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean").not());
}

/// Names filter `list allocators` only; given to the other lists they are refused rather
/// than silently ignored, and an empty name is no name.
#[test]
fn names_are_refused_where_nothing_takes_them() {
    for what in ["presets", "workloads"] {
        pybench()
            .args(["list", what, "dicts"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("`list allocators` only"));
    }
    pybench()
        .args(["list", "allocators", ""])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no allocator named (the list is empty)",
        ));
}

#[test]
fn explicitly_named_unavailable_allocator_stops_with_exit_2() {
    // An interpreter is looked up in pyenv and on PATH: point both at nothing.
    let empty = std::env::temp_dir().join("pybench-no-pyenv");
    pybench()
        .args(["list", "allocators", "cpython:3.9"])
        .env("PYENV_ROOT", &empty)
        .env("PATH", &empty)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("cpython:3.9 is not available")
                .and(predicate::str::contains("pass --libpython PATH")),
        );
}

#[test]
fn libpython_override_is_used_for_its_version() {
    // The distribution's library, which the search (pyenv first) would not pick on its own
    // when pyenv also has a 3.11.
    let Some(lib) = ["/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .chain(std::env::var_os("PYBENCH_TEST_LIBPYTHON").map(Into::into))
        .find(|p| p.exists())
    else {
        eprintln!("skipping: no libpython3.11 at a known path");
        return;
    };
    let out = stdout_of(&[
        "list",
        "allocators",
        "cpython:3.11",
        "--libpython",
        lib.to_str().unwrap(),
    ]);
    let r = row(&out, "cpython:3.11").unwrap();
    assert!(r[2].contains(lib.to_str().unwrap()), "{r:?}");
}

/// A bare `pybench list` (it used to be a usage error) shows the three lists in turn, each
/// under the command that prints it alone, with the same rows.
#[test]
fn a_bare_list_shows_allocators_workloads_and_presets() {
    let all = stdout_of(&["list"]);
    let at = |h: &str| all.find(h).unwrap_or_else(|| panic!("no {h}:\n{all}"));
    let (a, w, p) = (
        at("# pybench list allocators"),
        at("# pybench list workloads"),
        at("# pybench list presets"),
    );
    assert!(a < w && w < p, "in that order:\n{all}");
    for what in ["allocators", "workloads", "presets"] {
        let alone = stdout_of(&["list", what]);
        assert!(all.contains(&alone), "`list {what}` appears whole:\n{all}");
    }
}

/// A pybench copied away from its build folder runs jemalloc in process but cannot preload it
/// for `exec`: the list said a bare "yes", and `exec -a jemalloc` failed with "was not built".
/// The row now says which commands it is not for, and how to point pybench at the libraries.
#[test]
fn a_preload_library_not_found_is_named_in_the_list() {
    let empty = crate::common::tempdir("nolibs");
    let out = pybench()
        .args(["list", "allocators"])
        .env("PYBENCH_LIB_DIR", &*empty)
        .assert()
        .success();
    let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for name in ["jemalloc", "pymalloc:cpython-3.11"] {
        let r = row(&out, name).unwrap_or_else(|| panic!("no row {name}:\n{out}"));
        assert!(
            r[2].starts_with("yes; not for exec/validate: ") && r[2].contains("PYBENCH_LIB_DIR"),
            "{r:?}"
        );
    }
    assert_eq!(
        row(&out, "system").unwrap()[2],
        "yes",
        "nothing to preload: {out}"
    );
}
