//! `run --precision`: measuring further throughput processes until the answer's intervals are
//! as narrow as asked, within `--max-repetitions`, and the options it refuses.

use crate::common::{pybench, refusal, results_json, tempdir, TempDir};

/// A quick run of churn with the engine and glibc (`sizes`: its -r and --rounds), with
/// `precision`'s options; it must succeed. Returns its folder, stdout and stderr.
fn precision_run(tag: &str, sizes: [&str; 4], precision: &[&str]) -> (TempDir, String, String) {
    let tmp = tempdir(tag);
    let a = pybench()
        .args(["run", "-w", "churn", "-a", "pymalloc,system"])
        .args(sizes)
        .args(["--scale", "20000", "--min-time", "0.002", "--no-plots"])
        .args(precision)
        .arg("--out")
        .arg(&tmp)
        .env_remove("PYBENCH_FAKE_LOADAVG")
        .assert()
        .success();
    let text = |b: &Vec<u8>| String::from_utf8(b.clone()).unwrap();
    let (out, err) = (text(&a.get_output().stdout), text(&a.get_output().stderr));
    (tmp, out, err)
}

/// A precision no pair of different allocators can reach (±0.001 %): the run adds processes
/// batch by batch up to the cap, saves every one, records what was asked, and says at the
/// end that it was not reached and why.
#[test]
fn an_unreachable_precision_measures_up_to_the_cap_and_says_so() {
    let (tmp, out, err) = precision_run(
        "precision-cap",
        ["-r", "2", "--rounds", "2"],
        &["--precision", "0.001%", "--max-repetitions", "5"],
    );
    let lines =
        |prefix: &str| -> Vec<&str> { err.lines().filter(|l| l.starts_with(prefix)).collect() };
    // 2 planned, then at least 2 more (doubling), then the last one to the cap. The asked
    // precision keeps its digits (it printed as "±0.0 %").
    let batches = lines("--precision ±0.001 %: system vs pymalloc");
    assert_eq!(batches.len(), 2, "{err}");
    assert!(
        batches[0].ends_with("measuring 2 more (4 of at most 5)"),
        "{err}"
    );
    assert!(
        batches[1].ends_with("measuring 1 more (5 of at most 5)"),
        "{err}"
    );
    // Each batch says its size and the most the run could still add; from the second on,
    // timed at the pace of the batch before it.
    let sizes = lines("--precision: ");
    assert_eq!(sizes.len(), 2, "{err}");
    assert_eq!(
        sizes[0],
        "--precision: 2 throughput process(es) in this batch; at most 1 more after it if the \
         answer stays wide",
        "{err}"
    );
    assert!(
        sizes[1].starts_with("--precision: 1 throughput process(es) in this batch, about ")
            && sizes[1].ends_with(" s; the last batch (--max-repetitions)"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: --precision ±0.001 % not reached on 1 workload(s) (--max-repetitions 5 \
             reached): widest system vs pymalloc"
        ),
        "{err}"
    );
    assert!(
        out.contains("churn — ") && out.contains("5 throughput process(es)"),
        "{out}"
    );
    let json = results_json(&tmp);
    assert_eq!(json["parameters"]["repetitions"], 2);
    assert_eq!(json["parameters"]["precision"]["max_repetitions"], 5);
    let mut reps: Vec<u64> = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["allocator"] == "system")
        .map(|c| c["repetition"].as_u64().unwrap())
        .collect();
    reps.sort_unstable();
    assert_eq!(
        reps,
        [0, 1, 2, 3, 4],
        "one new number for each added process"
    );
}

/// A precision every run meets adds nothing: the run is the planned one, with a closing note
/// that it was reached. ±50 % over five processes allows their ratios to scatter by about
/// 40 % (sd); on a quiet 2-core VM they scatter by 9 – 15 % (README "Stability").
#[test]
fn a_precision_already_met_adds_no_process() {
    let (_tmp, _, err) = precision_run(
        "precision-met",
        ["-r", "5", "--rounds", "10"],
        &["--precision", "50"],
    );
    assert!(!err.contains("more ("), "no batch added: {err}");
    assert!(
        err.contains("note: --precision ±50.0 % reached")
            && err.contains("(throughput processes: churn 5)"),
        "{err}"
    );
}

/// Precision options that cannot work are refused before anything is measured, each in
/// the one line (exit 2) that pybench gives bad input, saying what is wrong.
#[test]
fn precision_options_that_cannot_work_are_one_line_errors() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--precision", "0"],
            "`0` is not a percentage above 0 and at most 50",
        ),
        (
            &["--precision=-1"],
            "`-1` is not a percentage above 0 and at most 50",
        ),
        (
            &["--precision", "nan"],
            "`nan` is not a percentage above 0 and at most 50",
        ),
        (
            &["--precision", "inf"],
            "`inf` is not a percentage above 0 and at most 50",
        ),
        // Rounds to 0 as a number.
        (
            &["--precision", "1e-400"],
            "`1e-400` is not a percentage above 0 and at most 50",
        ),
        (
            &["--precision", "75%"],
            "`75%` is not a percentage above 0 and at most 50",
        ),
        (
            &["--max-repetitions", "50"],
            "the following required arguments were not provided: --precision <PCT>",
        ),
        (
            &["--precision", "2", "-r", "30", "--max-repetitions", "10"],
            "pybench: error: --max-repetitions 10 is below -r 30",
        ),
        (
            &["--precision", "2", "--shard", "1/2"],
            "pybench: error: --precision cannot be split into --shard parts",
        ),
    ];
    for (args, message) in cases {
        let tmp = tempdir("precision-bad");
        let line = refusal(
            pybench()
                .args(["run", "-w", "churn", "--no-plots", "--out"])
                .arg(&tmp)
                .args(args),
        );
        assert!(line.contains(message), "{args:?}: {line}");
    }
}
