//! A user's own workload specs, copied from a built-in and edited (the sixth audit,
//! 2026-12-05): values at the edges of what the parser accepts, specs that make nothing,
//! and what the spec format's documentation promises.

use crate::common::{self, pybench, refusal};
use pybench::workload::rng::Rng;
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

/// Specs at the parser's limit (10 M), cut at `--scale 1000`: (file name, generator, params).
fn specs_at_the_limits() -> [(&'static str, &'static str, String); 3] {
    let m = "{ \"10000000\" = 1.0 }";
    [
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
    ]
}

/// Containers of 10 M items that allocate nothing (shared objects), run at `--scale 20000`:
/// (file name, generator, params).
fn containers_of_shared_items() -> [(&'static str, &'static str, String); 5] {
    let m = "{ \"10000000\" = 1.0 }";
    [
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
    ]
}

/// `pybench stats --json ARGS -w SPEC`, which must succeed: its summary and stderr. The
/// 60 s timeout is only a guard against a hang (a generator that runs a step of 10 M items to
/// its end takes minutes to hours); what the tests assert are counts, not times.
fn stats_json(spec: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let out = pybench()
        .args(["stats", "--json"])
        .args(args)
        .arg("-w")
        .arg(spec)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    (doc["summary"].clone(), err)
}

/// The stream's budget at `scale`, as the cut warning states it: twice the scale plus a
/// margin of 10,000 Python objects, and 64 reallocs per object of that.
fn budget(scale: u64) -> (u64, u64) {
    let objects = 2 * scale + 10_000;
    (objects, 64 * objects)
}

/// Checks that the event counts of `summary` (a `stats --json` summary) stay within the
/// budget of `scale`: allocations of Python objects within the object budget, and of other
/// blocks (a list's item array, an instance's values: one for an object at most) within as
/// many again; reallocs within theirs; frees no more than allocations. So the stream's length
/// (phase markers aside) is at most 4 × the object budget plus the realloc budget.
fn assert_within_budget(name: &str, summary: &serde_json::Value, scale: u64) {
    let count = |op: &str, domains: &[&str]| -> u64 {
        domains
            .iter()
            .map(|d| summary[op][d].as_u64().unwrap())
            .sum()
    };
    let all = ["raw", "mem", "obj"];
    let (objects, reallocs) = budget(scale);
    let object_allocs = count("alloc", &["obj"]) + count("calloc", &["obj"]);
    let allocs = count("alloc", &all) + count("calloc", &all);
    assert!(
        object_allocs > 0 && object_allocs <= objects,
        "{name}: {summary}"
    );
    assert!(allocs <= 2 * objects, "{name}: {summary}");
    assert!(count("realloc", &all) <= reallocs, "{name}: {summary}");
    assert!(count("free", &all) <= allocs, "{name}: {summary}");
    let events = summary["events"].as_u64().unwrap() - summary["phase_markers"].as_u64().unwrap();
    assert!(events <= 4 * objects + reallocs, "{name}: {summary}");
}

/// Ranges at the parser's limit (10 M) at `--scale 1000`: the stream was cut at 12,000
/// objects, but the generator ran its step to its end — 10 M entries each with a list of
/// 10 M appends (dicts aborted: "memory allocation of 4294967296 bytes failed"), json's
/// nested 10 M fanouts (43 s and gigabytes), 10 M pieces of a str (10^10 reallocs: hours).
/// Each now ends with the cut's warning, naming the bound that cut it, and its counts within
/// that bound; that a cut step stops its work is [`a_steps_random_draws_follow_its_events`].
#[test]
fn specs_at_the_limits_end_at_once_with_the_cut_said() {
    let dir = common::tempdir("wide-specs");
    let (objects, reallocs) = budget(1000);
    for (name, generator, params) in specs_at_the_limits() {
        let path = spec(&dir, name, generator, &params);
        let (summary, err) = stats_json(&path, &[]);
        let cut = if name == "wstrings" {
            format!("warning: the stream was cut at {reallocs} reallocs")
        } else {
            format!("warning: the stream was cut at {objects} Python objects")
        };
        assert!(err.contains(&cut), "{name}: {err}");
        assert_within_budget(name, &summary, 1000);
    }
}

/// Containers of 10 M items that allocate nothing (shared objects): the items counted toward
/// no budget, and a step went over every one of them, so `--scale` bounded nothing — 39 s at
/// `--scale 1000` for tuples, about 16 hours at a built-in's scale, without a word. Now a
/// step's work follows its events ([`a_steps_random_draws_follow_its_events`]); here the
/// stream stays within the scale's budget without being cut.
#[test]
fn containers_whose_items_allocate_nothing_are_bounded_by_the_scale() {
    let dir = common::tempdir("shared-items");
    for (name, generator, params) in containers_of_shared_items() {
        let path = spec(&dir, name, generator, &params);
        let (summary, err) = stats_json(&path, &["--scale", "20000"]);
        assert!(!err.contains("the stream was cut"), "{name}: {err}");
        assert_within_budget(name, &summary, 20000);
    }
}

/// Random draws from `before` to `after`, two states of one generator: how many times
/// `before` must be advanced to reach `after` (told by their next two outputs), or `None`
/// past `cap`.
fn draws_between(before: &Rng, after: &Rng, cap: u64) -> Option<u64> {
    let next_two = |r: &Rng| {
        let mut r = r.clone();
        (r.next_u64(), r.next_u64())
    };
    let target = next_two(after);
    let mut r = before.clone();
    for k in 0..=cap {
        if next_two(&r) == target {
            return Some(k);
        }
        r.next_u64();
    }
    None
}

/// Draws a step may make: a few for each event it makes (a size, a kind, a chance), and for
/// each of up to two containers (a dict's keys and its values) the first 512 items drawn one
/// chance each (`gen::items::DRAWN_ONE_BY_ONE`), plus a margin for the step's own choices.
fn draws_allowed(events: usize) -> u64 {
    8 * events as u64 + 2 * 512 + 64
}

/// Steps the generator of the spec at `path`, at `scale`, as a stream steps it (until `scale`
/// objects or steps, or the cut), and checks each step's random draws against
/// [`draws_allowed`] for the events it made. Panics naming the first step over it. Runs on a
/// thread given 5 minutes: only a guard against a step that never ends, whose check is
/// `stats_json`'s through the CLI.
fn check_draws(path: &Path, scale: u64) {
    use pybench::workload::{heap::Heap, max_objects, Overrides, Workload};
    let name = path.display().to_string();
    let w = Workload::load(&name).unwrap().with(Overrides {
        scale: Some(scale),
        ..Overrides::default()
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let stepper = name.clone();
    std::thread::spawn(move || {
        let name = stepper;
        let mut h = Heap::new(w.python, w.seed);
        h.limit(max_objects(w.scale));
        let mut gen = w.params.build(w.python);
        let mut steps = 0;
        while h.objects < w.scale && steps < w.scale && !h.cut() {
            let before = h.rng.clone();
            h.out.clear();
            gen.step(&mut h);
            let events = h.out.len();
            let draws = draws_between(&before, &h.rng, draws_allowed(events));
            if draws.is_none() {
                let _ = tx.send(Err(format!(
                    "{name}: step {steps} made {events} events and more than {} draws",
                    draws_allowed(events)
                )));
                return;
            }
            steps += 1;
        }
        let _ = tx.send(Ok(steps));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(300)) {
        Ok(Ok(steps)) => assert!(steps > 0, "{name}: no step"),
        Ok(Err(e)) => panic!("{e}"),
        Err(e) => panic!("{name}: the generator did not finish ({e})"),
    }
}

/// A step's work follows its events, at any width of the spec's ranges: the random draws of
/// every step (one at least for each item or piece a step goes over) are within a few per
/// event it makes. Before, a step drew once for each of 10 M shared items, making 2 events,
/// and a step cut short went on drawing to its end; `--scale` bounds a stream's events, so
/// this bounds its work, which no clock on a shared machine measures reliably.
#[test]
fn a_steps_random_draws_follow_its_events() {
    let dir = common::tempdir("draws");
    for (name, generator, params) in specs_at_the_limits() {
        check_draws(&spec(&dir, name, generator, &params), 1000);
    }
    for (name, generator, params) in containers_of_shared_items() {
        check_draws(&spec(&dir, name, generator, &params), 20000);
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

/// A spec whose file name holds a comma is that file when a `-w` value names it whole
/// (`-w 'a,b.toml'`); other values still split at their commas. clap's own splitting made it
/// "unknown workload `a`", with no way to name the file.
#[test]
fn a_spec_whose_file_name_holds_a_comma_is_that_file() {
    let tmp = common::tempdir("spec-comma");
    let churn = std::fs::read_to_string("workloads/churn.toml").unwrap();
    let path = tmp.join("a,b.toml");
    std::fs::write(
        &path,
        churn.replace("name = \"churn\"", "name = \"commas\""),
    )
    .unwrap();
    let out = tmp.join("out");
    pybench()
        .args(["run", "-w"])
        .arg(&path)
        .args([
            "-w",
            "dicts,churn",
            "-a",
            "pymalloc",
            "-r",
            "1",
            "--scale",
            "2000",
        ])
        .args(["--no-plots", "-q", "--out"])
        .arg(&out)
        .assert()
        .success();
    let json = common::results_json(&out);
    let mut workloads: Vec<&str> = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["workload"].as_str().unwrap())
        .collect();
    workloads.sort_unstable();
    workloads.dedup();
    assert_eq!(workloads, ["churn", "commas", "dicts"]);
    // A value that names no file is a list, as before.
    let err = refusal(
        pybench()
            .args(["run", "-w", "nosuch,dicts", "--out"])
            .arg(&out),
    );
    assert!(err.contains("unknown workload `nosuch`"), "{err}");
}
