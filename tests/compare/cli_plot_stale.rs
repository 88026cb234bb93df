//! `plot --out DIR` into a folder an earlier plot of another run drew in: the folder is left
//! with this run's charts only (the earlier run's charts of workloads this one lacks used to
//! stay beside them, reading as this run's), and nothing pybench did not draw is touched.

use crate::common::{pybench, run, save, tempdir};
use pybench::report::model::RunResults;

/// `run`'s two workloads renamed, so the charts named after them differ.
fn renamed(mut r: RunResults, from: &str, to: &str) -> RunResults {
    for c in &mut r.cells {
        if c.workload == from {
            c.workload = to.to_string();
        }
    }
    for w in &mut r.parameters.workloads {
        if w == from {
            *w = to.to_string();
        }
    }
    r
}

#[test]
fn plot_into_an_earlier_plots_folder_leaves_only_this_runs_charts() {
    let tmp = tempdir("plot-stale");
    let a = save(&tmp, "a", &run("a", 1, |_, _, _| 1e7));
    let b = save(
        &tmp,
        "b",
        &renamed(run("b", 1, |_, _, _| 2e7), "churn", "webapp"),
    );
    let site = tmp.join("site");
    let plot = |results: &std::path::Path| {
        let out = pybench()
            .arg("plot")
            .arg(results)
            .arg("--out")
            .arg(&site)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    plot(&a);
    let mine = site.join("plots/rss-mine.svg");
    std::fs::write(&mine, "<svg/>").unwrap();
    assert!(site.join("plots/rss-churn.svg").exists());
    let err = plot(&b);
    assert!(
        err.contains("(removed 3 chart(s) an earlier plot left there)"),
        "{err}"
    );
    for w in ["rss", "latency", "pools"] {
        assert!(!site.join(format!("plots/{w}-churn.svg")).exists(), "{w}");
        assert!(site.join(format!("plots/{w}-webapp.svg")).exists(), "{w}");
        assert!(site.join(format!("plots/{w}-dicts.svg")).exists(), "{w}");
    }
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "<svg/>");
}
