//! `compare --format csv` and `--format json` describe the same rows in the same words: a
//! script written against one format reads the other. JSON used to spell the verdict
//! `not_significant` (CSV and Markdown: `not significant`) and name the test `exact`, or
//! leave it null for Welch's tests, where the CSV said `mann_whitney_exact` or `welch_log`.

use crate::common::{compare, compare_csv, run, save, tempdir};
use std::collections::BTreeMap;

/// (workload, allocator, metric, op) → (verdict, test) of every row of `--format json`.
fn json_rows(
    base: &std::path::Path,
    cur: &std::path::Path,
) -> BTreeMap<[String; 4], (String, String)> {
    let out = compare(base, cur)
        .args(["--format", "json"])
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                [
                    text(&r["workload"]),
                    text(&r["allocator"]),
                    text(&r["metric"]),
                    text(&r["op"]),
                ],
                (text(&r["verdict"]), text(&r["test"])),
            )
        })
        .collect()
}

#[test]
fn csv_and_json_name_every_rows_verdict_and_test_alike() {
    let tmp = tempdir("cmp-formats");
    let b = save(&tmp, "base", &run("base", 5, |_, _, _| 1e7));
    // system on churn scatters by ±30 % between repetitions: a change the rank test cannot
    // confirm ("not significant", Mann-Whitney); the other cells hold still.
    let c = save(
        &tmp,
        "cur",
        &run("cur", 5, |w, a, rep| {
            let noisy = w == "churn" && a == "system";
            1e7 * if noisy {
                [1.3, 0.7, 1.2, 0.8, 1.1][rep as usize]
            } else {
                1.0
            }
        }),
    );
    let columns = ["workload", "allocator", "metric", "op", "verdict", "test"];
    let (csv, _) = compare_csv(&b, &c, &[], 0, columns);
    let json = json_rows(&b, &c);
    assert_eq!(csv.len(), json.len(), "{csv:?}\n{json:?}");
    for [w, a, m, op, verdict, test] in &csv {
        let key = [w.clone(), a.clone(), m.clone(), op.clone()];
        let j = json
            .get(&key)
            .unwrap_or_else(|| panic!("no JSON row {key:?}"));
        assert_eq!((verdict, test), (&j.0, &j.1), "{key:?}");
    }
    // Not vacuous: the rows hold a rank-tested "not significant" and a Welch-tested one.
    let seen = |v: &str, t: &str| json.values().any(|j| j.0 == v && j.1 == t);
    assert!(seen("not significant", "mann_whitney_exact"), "{json:?}");
    assert!(json.values().any(|j| j.1 == "welch_log"), "{json:?}");
}

/// An interval's end that rounds to zero is "0.0 %": it printed as "-0.0 %", a direction
/// the figure does not have at that precision.
#[test]
fn an_interval_end_that_rounds_to_zero_has_no_sign() {
    let tmp = tempdir("cmp-zero");
    // churn × system's peak RSS scatters by ±1 % between processes; the current run's is
    // `factor` times the baseline's, so its Welch interval is the baseline's scaled.
    let scattered = |name: &str, factor: f64| {
        let mut r = run(name, 5, |_, _, _| 1e7);
        for c in &mut r.cells {
            if c.workload == "churn" && c.allocator == "system" {
                let j = [1.0, 1.01, 0.99, 1.005, 0.995][c.repetition as usize];
                for m in &mut c.metrics {
                    if m.name == "peak_rss_bytes" {
                        m.value *= j * factor;
                    }
                }
            }
        }
        save(&tmp, name, &r)
    };
    let b = scattered("base", 1.0);
    let row = |cur: &std::path::Path| {
        let columns = ["workload", "allocator", "metric", "ci_low"];
        let (rows, _) = compare_csv(&b, cur, &[], 0, columns);
        let r = rows
            .into_iter()
            .find(|[w, a, m, _]| w == "churn" && a == "system" && m == "peak_rss_bytes")
            .expect("churn × system peak_rss_bytes");
        r[3].parse::<f64>().unwrap()
    };
    // Scaled so that the interval's low end is 0.02 % below 1.
    let low = row(&scattered("probe", 1.03));
    let c = scattered("cur", 1.03 / low * 0.9998);
    let low = row(&c);
    assert!(low < 1.0 && low > 0.9995, "{low}");
    let out = compare(&b, &c).arg("--all-rows").assert().code(0);
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let line = md
        .lines()
        .find(|l| l.starts_with("| churn × `system` | peak_rss_bytes |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(line.contains(" [0.0 %, +"), "{line}");
    assert!(!md.contains("-0.0 %") && !md.contains("+0.0 %"), "{md}");
}
