//! A user's own workload specs, copied from a built-in and edited (the sixth audit,
//! 2026-12-05): values at the edges of what the parser accepts, specs that make nothing,
//! and what the spec format's documentation promises.

use crate::common::{self, pybench, refusal};
use std::path::{Path, PathBuf};

/// `body` under the spec's required keys, as `DIR/NAME.toml`.
fn spec(dir: &Path, name: &str, generator: &str, params: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\ndescription = \"d\"\ngenerator = \"{generator}\"\nscale = 1000\n\
         [params]\n{params}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Ranges at the parser's limit (10 M) at `--scale 1000`: the stream was cut at 12,000
/// objects, but the generator ran its step to its end — 10 M entries each with a list of
/// 10 M appends (dicts aborted: "memory allocation of 4294967296 bytes failed"), json's
/// nested 10 M fanouts (43 s and gigabytes), 10 M pieces of a str (10^10 reallocs: hours).
#[test]
fn specs_at_the_limits_end_at_once_with_the_cut_said() {
    let dir = common::tempdir("wide-specs");
    let m = "{ \"10000000\" = 1.0 }";
    for (name, generator, params) in [
        (
            "wdicts",
            "dicts",
            format!("items = {m}\nlist_value_share = 1.0\nlist_appends = {m}"),
        ),
        (
            "wjson",
            "json",
            format!("fanout = {m}\nmax_depth = 64\nmax_nodes = 10000000\nstring_len = {m}"),
        ),
        (
            "wstrings",
            "strings",
            "build_share = 1.0\nbuild_pieces = { \"1000000\" = 1.0 }\npiece_len = { \"1-10\" = 1.0 }"
                .to_string(),
        ),
    ] {
        let path = spec(&dir, name, generator, &params);
        let out = pybench()
            .args(["stats", "-w"])
            .arg(&path)
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .success();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("warning: the stream was cut at"), "{name}: {err}");
    }
}

/// Containers of 10 M items that allocate nothing (shared objects): the items counted toward
/// no budget, and a step went over every one of them, so `--scale` bounded nothing — 39 s at
/// `--scale 1000` for tuples, about 16 hours at a built-in's scale, without a word. Now a
/// step's work follows its events.
#[test]
fn containers_whose_items_allocate_nothing_are_bounded_by_the_scale() {
    let dir = common::tempdir("shared-items");
    let m = "{ \"10000000\" = 1.0 }";
    for (name, generator, params) in [
        (
            "tuples",
            "tuples",
            format!("len = {m}\nitem_alloc_share = 0.0"),
        ),
        (
            "literals",
            "lists",
            format!("len = {m}\nitem_alloc_share = 0.0\nappend_share = 0.0"),
        ),
        (
            "appended",
            "lists",
            format!("len = {m}\nitem_alloc_share = 0.0\nappend_share = 1.0"),
        ),
        (
            "entries",
            "dicts",
            format!("items = {m}\nnew_key_share = 0.0\nvalue_alloc_share = 0.0"),
        ),
        (
            "grouped",
            "dicts",
            format!(
                "items = {{ \"1\" = 1.0 }}\nvalue_alloc_share = 0.0\nlist_value_share = 1.0\n\
                 list_appends = {m}"
            ),
        ),
    ] {
        let path = spec(&dir, name, generator, &params);
        let out = pybench()
            .args(["stats", "--scale", "20000", "-w"])
            .arg(&path)
            .timeout(std::time::Duration::from_secs(60))
            .assert();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        out.success();
        assert!(text.contains("scale 20000"), "{name}: {text}");
    }
}

/// 10 M pieces of up to 10 M chars: the built str's length overflowed every size derived
/// from it (u32), so its reallocs asked wrong sizes without a word.
#[test]
fn a_built_string_past_the_limit_is_refused_at_its_key() {
    let dir = common::tempdir("long-str");
    let path = spec(
        &dir,
        "long",
        "strings",
        "build_share = 0.5\nbuild_pieces = { \"2-10000000\" = 1.0 }\npiece_len = { \"1-10000000\" = 1.0 }",
    );
    let err = refusal(pybench().args(["stats", "-w"]).arg(&path));
    assert!(
        err.contains("long.toml:7: key `params.build_pieces`: a built string could reach"),
        "{err}"
    );
}

/// Every number a small int, no floats: no allocator is asked for anything. `run` measured
/// "285.95M ops/s" of nothing with a peak RSS of 0 B, `gen` wrote an empty trace (that `run`
/// then refused, "nothing to replay") and `sweep` a row of zeros, each with exit 0.
#[test]
fn a_spec_that_allocates_nothing_is_refused_by_run_gen_and_sweep() {
    let dir = common::tempdir("no-allocs");
    let path = spec(
        &dir,
        "singletons",
        "numbers",
        "float_share = 0.0\nsmall_int_share = 1.0",
    );
    let said =
        "singletons.toml: workload `singletons` makes no allocations at scale 1000 (0 events)";
    let out = dir.join("out");
    let err = refusal(
        pybench()
            .args(["run", "-a", "system", "-r", "1", "-q", "-w"])
            .arg(&path)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains(said), "{err}");
    assert!(!out.exists(), "run wrote results");
    let trace = dir.join("t.pbt");
    let err = refusal(
        pybench()
            .args(["gen", "-w"])
            .arg(&path)
            .arg("-o")
            .arg(&trace),
    );
    assert!(err.contains(said), "{err}");
    assert_eq!(
        common::entries(&dir),
        ["singletons.toml"],
        "gen left a file"
    );
    let err = refusal(
        pybench()
            .args(["sweep", "--arena", "256K", "--pool", "4K", "-w"])
            .arg(&path),
    );
    assert!(err.contains(said), "{err}");
}

/// A key written `"x\npybench: forged line\u001b[31mRED"` was echoed raw in the refusal: a
/// second line that read as pybench's own and a live escape sequence recolouring the terminal.
#[test]
fn a_spec_error_echoes_the_files_keys_on_one_line_without_escapes() {
    let dir = common::tempdir("evil-key");
    let path = dir.join("evil.toml");
    std::fs::write(
        &path,
        "name = \"t\"\ndescription = \"d\"\ngenerator = \"dicts\"\nscale = 1000\n\
         \"x\\npybench: forged line\\u001b[31mRED\" = 1\n",
    )
    .unwrap();
    let err = refusal(pybench().args(["stats", "-w"]).arg(&path));
    assert!(
        err.contains("unknown field `x\\npybench: forged line\\u{1b}[31mRED`"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

/// Every str built of 10,000 one-char pieces: about 128 events a request, where the memory
/// check assumed 1.5. At `--scale 2000000` under `ulimit -v 4 GiB`, `run`'s cells died of
/// SIGABRT ("memory allocation of 5242617856 bytes failed") and `sweep` aborted (exit 134,
/// a backtrace) after generating gigabytes. Now the rate of the stream's start is measured
/// and the command refuses in one line before generating it.
#[test]
fn a_stream_too_large_to_hold_is_refused_in_one_line_not_aborted() {
    let dir = common::tempdir("realloc-heavy");
    let path = spec(
        &dir,
        "reall",
        "strings",
        "build_share = 1.0\nbuild_pieces = { \"10000\" = 1.0 }\npiece_len = { \"1\" = 1.0 }",
    );
    let said = "holding the events of reall at scale 2000000 (up to ";
    let limit = 4 << 30;
    let err = refusal(
        common::pybench_limited(libc::RLIMIT_AS, limit)
            .args(["sweep", "--arena", "1M", "--pool", "16K", "-j1"])
            .args(["--scale", "2000000", "-w"])
            .arg(&path),
    );
    assert!(
        err.contains(said) && err.ends_with("give a smaller --scale"),
        "{err}"
    );
    let out = dir.join("out");
    let err = refusal(
        common::pybench_limited(libc::RLIMIT_AS, limit)
            .args(["run", "-a", "system", "-r", "1", "-q", "--no-plots"])
            .args(["--stream", "never", "--scale", "2000000", "-w"])
            .arg(&path)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains(said), "{err}");
    assert!(!out.exists(), "run wrote results");
}
