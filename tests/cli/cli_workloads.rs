//! `pybench list workloads` and `pybench stats`, including bad input.

use crate::common;

use crate::common::pybench;
use predicates::prelude::*;
use std::io::Write as _;

const BUILTINS: [&str; 11] = [
    "dicts",
    "lists",
    "tuples",
    "strings",
    "numbers",
    "instances",
    "json",
    "gc_cycles",
    "churn",
    "arena_thrash",
    "webapp",
];

#[test]
fn list_workloads_shows_every_builtin_with_scale() {
    let out = pybench().args(["list", "workloads"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for name in BUILTINS {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        let scale = pybench::workload::Workload::builtin(name).unwrap().scale;
        assert!(
            line.split_whitespace().any(|w| w == scale.to_string()),
            "{line}"
        );
    }
}

#[test]
fn stats_prints_documented_sections() {
    pybench()
        .args(["stats", "--workload", "dicts", "--python", "3.11"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("events by op and domain")
                .and(predicate::str::contains("size classes"))
                .and(predicate::str::contains("share > 512 B"))
                .and(predicate::str::contains("realloc share"))
                .and(predicate::str::contains("lifetimes"))
                .and(predicate::str::contains("<= 16k"))
                .and(predicate::str::contains("peak live"))
                .and(predicate::str::contains("python 3.11")),
        );
}

/// A workload with loop bodies says so in its title (and in the JSON's stream info); one
/// without does not.
#[test]
fn stats_names_a_workloads_loop_bodies() {
    let looped = pybench()
        .args(["stats", "--workload", "tuples", "--scale", "20000"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&looped.get_output().stdout).to_string();
    assert!(text.contains("seed 1, loops of 8 steps)"), "{text}");
    let plain = pybench()
        .args(["stats", "--workload", "dicts", "--scale", "20000"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&plain.get_output().stdout).to_string();
    assert!(!text.contains("loops of"), "{text}");
    let json = pybench()
        .args([
            "stats",
            "--workload",
            "tuples",
            "--scale",
            "20000",
            "--json",
        ])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(doc["stream"]["loop_iterations"], 8);
}

#[test]
fn stats_json_is_machine_readable_and_overrides_apply() {
    let out = pybench()
        .args([
            "stats",
            "--workload",
            "lists",
            "--python",
            "3.8",
            "--scale",
            "5000",
            "--seed",
            "9",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("stdout is JSON");
    assert_eq!(v["stream"]["python"], "3.8");
    assert_eq!(v["stream"]["scale"], 5000);
    assert_eq!(v["stream"]["seed"], 9);
    assert!(v["summary"]["realloc"]["mem"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn stats_is_deterministic_across_runs() {
    let run = || {
        pybench()
            .args(["stats", "--workload", "webapp", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    // Two separate processes must print the same stream summary: nothing may depend on the
    // process (addresses, hash seeds, time).
    let (first_process, second_process) = (run(), run());
    assert_eq!(first_process, second_process);
}

#[test]
fn unknown_workload_lists_available_and_exits_2() {
    pybench()
        .args(["stats", "--workload", "dictz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown workload `dictz`").and(
            predicate::str::contains("dicts, lists, tuples, strings, numbers, instances, json, gc_cycles, churn, arena_thrash, webapp"),
        ).and(predicate::str::contains("(did you mean `dicts`?)")));
    pybench()
        .args(["run", "-w", "trace:pip_lst"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown trace `pip_lst` (did you mean `pip_list`?)",
        ));
    // `trace:` alone names no trace: said so, with the names it could have been.
    for args in [&["run", "-w", "trace:"][..], &["stats", "trace: "]] {
        let out = pybench().args(args).assert().code(2).get_output().clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("`trace:` names no trace"), "{args:?}: {err}");
        assert!(
            err.contains("pip_list") && err.lines().count() == 1,
            "{err}"
        );
    }
}

fn bad_spec(body: &str, expected: &[&str]) {
    let mut f = tempfile();
    f.1.write_all(body.as_bytes()).expect("write spec");
    let path = f.0.clone();
    let assert = pybench()
        .args(["stats", "--workload", &path])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(err.contains(&path), "file not named: {err}");
    for e in expected {
        assert!(err.contains(e), "expected `{e}` in: {err}");
    }
}

/// A fresh spec file in a fresh temporary directory (removed when the third part drops).
fn tempfile() -> (String, std::fs::File, common::TempDir) {
    let dir = common::tempdir("spec");
    let path = dir.join("spec.toml");
    let f = std::fs::File::create(&path).expect("create spec");
    (path.to_string_lossy().to_string(), f, dir)
}

const HEAD: &str = "name = \"x\"\ndescription = \"d\"\n";

#[test]
fn spec_with_unknown_key_names_line_key_and_valid_keys() {
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\nscale = 10\nbogus = 1\n"),
        &[
            ":5:",
            "`bogus`",
            "expected one of",
            "`generator`",
            "`scale`",
            "`params`",
        ],
    );
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\nscale = 10\n[params]\nlive_dict = 3\n"),
        &[":6:", "params.live_dict", "live_dicts", "str_keys"],
    );
}

/// A required key left out has no line: the error used to say `spec.toml:1: key `name`:
/// missing field `scale``, naming a key that was there.
#[test]
fn spec_without_a_required_key_names_that_key_not_line_one() {
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\n"),
        &["missing key `scale`"],
    );
    let mut f = tempfile();
    f.1.write_all(b"name = \"x\"\ngenerator = \"dicts\"\nscale = 10\n")
        .unwrap();
    pybench()
        .args(["stats", "--workload", &f.0])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("missing key `description`")
                .and(predicate::str::contains(":1:").not()),
        );
}

/// An empty file, given as a spec or as `stats FILE`, is called empty: it used to be read as
/// a spec "missing key `name`", sending the user looking for a key in a file with nothing.
#[test]
fn an_empty_file_is_called_empty_not_a_spec_missing_its_name() {
    for body in ["", "  \n\n"] {
        bad_spec(body, &["is empty: neither a trace", "nor a workload spec"]);
        let mut f = tempfile();
        f.1.write_all(body.as_bytes()).unwrap();
        pybench().args(["stats", &f.0]).assert().code(2).stderr(
            predicate::str::contains("is empty: neither a trace")
                .and(predicate::str::contains("missing key").not()),
        );
    }
}

#[test]
fn spec_with_wrong_type_names_line_and_key() {
    bad_spec(
        &format!("{HEAD}generator = \"lists\"\nscale = \"many\"\n"),
        &[":4:", "`scale`", "invalid type"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"lists\"\nscale = 10\n[params]\nappend_share = \"often\"\n"),
        &[":6:", "params.append_share", "invalid type"],
    );
}

#[test]
fn spec_with_negative_size_is_rejected() {
    bad_spec(
        &format!("{HEAD}generator = \"churn\"\nscale = 10\n[params]\nround_objects = -5\n"),
        &[":6:", "params.round_objects", "-5"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"churn\"\nscale = -1\n"),
        &[":4:", "`scale`", "positive"],
    );
}

#[test]
fn spec_with_probabilities_not_summing_to_1_is_rejected() {
    bad_spec(
        &format!("{HEAD}generator = \"strings\"\nscale = 10\n[params]\nkinds = {{ ascii = 0.5, latin1 = 0.2, ucs2 = 0.2 }}\n"),
        &[":6:", "params.kinds", "sum to 1", "0.9"],
    );
    bad_spec(
        &format!(
            "{HEAD}generator = \"dicts\"\nscale = 10\n[params]\nitems = {{ \"1-5\" = 0.5 }}\n"
        ),
        &[":6:", "params.items", "sum to 1"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"strings\"\nscale = 10\n[params]\nkinds = {{ ascii = 0.5, utf8 = 0.5 }}\n"),
        &[":6:", "params.kinds", "utf8", "valid keys: ascii, latin1, ucs2"],
    );
}

#[test]
fn spec_with_unknown_generator_or_version_lists_valid_values() {
    bad_spec(
        &format!("{HEAD}generator = \"dictz\"\nscale = 10\n"),
        &[":3:", "`generator`", "dicts, lists", "webapp"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\npython = \"3.7\"\nscale = 10\n"),
        &[":4:", "`python`", "3.8", "3.13"],
    );
}

#[test]
fn user_spec_file_works() {
    let mut f = tempfile();
    f.1.write_all(
        format!("{HEAD}generator = \"numbers\"\npython = \"3.13\"\nscale = 1000\nseed = 5\n")
            .as_bytes(),
    )
    .expect("write");
    pybench()
        .args(["stats", "--workload", &f.0])
        .assert()
        .success()
        .stdout(predicate::str::contains("python 3.13"));
}

#[test]
fn readme_example_spec_is_valid() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("```toml\n")
        .expect("a toml example in README.md")
        + 8;
    let len = readme[start..].find("```").expect("closed code block");
    let mut f = tempfile();
    f.1.write_all(&readme.as_bytes()[start..start + len])
        .expect("write");
    pybench()
        .args(["stats", "--workload", &f.0])
        .assert()
        .success()
        .stdout(predicate::str::contains("python 3.8").and(predicate::str::contains("seed 7")));
}

#[test]
fn spec_with_out_of_range_counts_is_rejected_not_crashing() {
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\nscale = 10\n[params]\nlive_dicts = 4000000000\n"),
        &[":6:", "params.live_dicts", "from 1 to 10000000"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"dicts\"\nscale = 10\n[params]\nlive_dicts = 0\n"),
        &[":6:", "params.live_dicts", "from 1 to"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"strings\"\nscale = 10\n[params]\nlen = {{ \"1-4000000000\" = 1.0 }}\n"),
        &[":6:", "params.len", "not supported"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"json\"\nscale = 10\n[params]\nmax_depth = 100000\n"),
        &[":6:", "params.max_depth", "1 to 64"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"tuples\"\nscale = 10\nloop_iterations = 0\n"),
        &[":5:", "`loop_iterations`", "from 1 to 10000, got 0"],
    );
    bad_spec(
        &format!("{HEAD}generator = \"tuples\"\nscale = 10\nloop_iterations = 2.5\n"),
        &[":5:", "`loop_iterations`", "invalid type"],
    );
}
