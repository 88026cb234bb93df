//! The tenth audit: `pybench run` as a new user meets it — typos in the lists, one process,
//! the flags' extremes. Each refusal is one line with exit code 2, before anything is
//! measured, and nothing a user typed is dropped without a word.

use crate::common::{pybench, refusal, refusal_with_out, tempdir};

/// `-a system,,jemalloc` (and a comma at either end) ran `system` and `jemalloc` and said
/// nothing of the empty name between them; `run`, `exec` and `list allocators` now refuse it
/// as `-a ''` is refused, quoting the value that holds it.
#[test]
fn an_empty_allocator_name_beside_others_is_refused() {
    let tmp = tempdir("empty-allocator-name");
    for list in ["system,,jemalloc", "system,", ",system"] {
        let line = refusal_with_out(&["run", "-w", "dicts", "--scale", "1000", "-a", list], &tmp);
        assert_eq!(
            line,
            format!(
                "pybench: error: an empty allocator name in `{list}` (two commas in a row, or \
                 one at an end): name an allocator between every two commas"
            )
        );
        let line = refusal(pybench().args(["exec", "-a", list, "--", "true"]));
        assert!(
            line.contains(&format!("empty allocator name in `{list}`")),
            "{line}"
        );
    }
    // An empty argument of its own beside a named allocator.
    let line = refusal(pybench().args(["list", "allocators", "system", ""]));
    assert!(
        line.ends_with(
            "an empty allocator name beside the others: leave it out, or name an allocator"
        ),
        "{line}"
    );
    // Nothing was measured: no results folder.
    assert_eq!(std::fs::read_dir(&*tmp).unwrap().count(), 0);
}

/// `-w dicts,,json` said "unknown workload ``" and `--trace ''` ": cannot open: No such file
/// or directory": neither showed a name nor where the empty one came from.
#[test]
fn an_empty_workload_or_trace_name_is_said_to_be_empty() {
    let tmp = tempdir("empty-workload-name");
    for list in ["dicts,,json", "dicts,", ""] {
        let line = refusal_with_out(&["run", "-a", "system", "-w", list], &tmp);
        assert_eq!(
            line,
            "pybench: error: an empty workload name (two commas in a row, a comma at an end, \
             or an empty argument): name a workload between every two commas"
        );
    }
    for list in ["trace:json_tool,", ""] {
        let line = refusal_with_out(&["run", "-a", "system", "--trace", list], &tmp);
        assert!(
            line.starts_with("pybench: error: an empty trace name ("),
            "{line}"
        );
    }
    assert_eq!(std::fs::read_dir(&*tmp).unwrap().count(), 0);
}

/// `--reference ''` printed "--reference : not one of this run's allocators", and a typo of
/// one of them was left to be spotted in the list; `--csv ''` said "--csv  cannot be written:
///  is not a file name", two blanks where the name should be.
#[test]
fn an_empty_or_mistyped_reference_or_export_is_named_for_what_it_is() {
    let tmp = tempdir("empty-reference");
    let run = |extra: &[&str]| {
        let mut cmd = pybench();
        cmd.args([
            "run",
            "-w",
            "dicts",
            "--scale",
            "1000",
            "-a",
            "system,jemalloc",
        ])
        .args(extra)
        .arg("--out")
        .arg(&*tmp);
        refusal(&mut cmd)
    };
    assert_eq!(
        run(&["--reference", ""]),
        "pybench: error: --reference is empty: name one of this run's allocators (system, \
         jemalloc)"
    );
    assert_eq!(
        run(&["--reference", "jemaloc"]),
        "pybench: error: --reference jemaloc: not one of this run's allocators (system, \
         jemalloc) (did you mean `jemalloc`?)"
    );
    for flag in ["--csv", "--json", "--markdown"] {
        assert_eq!(
            run(&[flag, ""]),
            format!("pybench: error: {flag} is empty: give a file name, or - for stdout")
        );
    }
    assert_eq!(std::fs::read_dir(&*tmp).unwrap().count(), 0);
}

/// `run --help` gave `--scale`, `--seed` and `--python` no default (they "override the
/// specs"), so a new user could not tell what a run uses without them.
#[test]
fn the_spec_overrides_say_where_their_default_comes_from() {
    let out = pybench().args(["run", "--help"]).assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for flag in ["--scale <", "--seed <", "--python <"] {
        let start = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} in {help}"));
        // The flag's text runs to the next option's line.
        let rest = &help[start..];
        let end = rest[1..].find("\n  -").map_or(rest.len(), |e| e + 1);
        let text = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("default: each spec's own"), "{text}");
    }
}

/// `--seed -1` said "invalid digit found in string": every command that takes a seed now says
/// what a seed is, in one line, before anything runs.
#[test]
fn a_seed_that_is_not_a_whole_number_says_what_a_seed_is() {
    for args in [
        &["run", "-w", "dicts", "--seed", "-1"][..],
        &[
            "gen",
            "-w",
            "dicts",
            "-o",
            "/nonexistent/x.pbt",
            "--seed=1.5",
        ],
        &["engine", "--seed", "-1"],
        &["stats", "-w", "dicts", "--seed", "18446744073709551616"],
    ] {
        let line = refusal(pybench().args(args));
        assert!(
            line.contains("is not a seed: a seed is a whole number from 0 to 18446744073709551615"),
            "{args:?}: {line}"
        );
    }
}

/// An `--out` where no folder can be made but nothing is in the way (`/proc` takes none, not
/// even from root) passed the look before the run and was refused only when the run folder
/// was made, after the machine's probes, in words that did not name the flag (found
/// 2026-12-07). Now `run`, `exec` and `validate` try it first, and say which flag.
#[test]
fn an_out_folder_nothing_can_be_made_in_is_refused_naming_the_flag() {
    let out = "/proc/pybench-results";
    let program = ["--", "python3", "-c", "pass"];
    let commands: [&[&str]; 3] = [
        &["run", "-w", "dicts", "--scale", "1000", "-a", "system"],
        &["exec", "-a", "system"],
        &["validate", "-a", "system"],
    ];
    for args in commands {
        let mut cmd = pybench();
        cmd.args(args).args(["--out", out]);
        if args[0] != "run" {
            cmd.args(program);
        }
        let line = refusal(&mut cmd);
        assert!(
            line.starts_with(&format!(
                "pybench: error: --out {out}: a folder cannot be made or written there: "
            )),
            "{args:?}: {line}"
        );
    }
}
