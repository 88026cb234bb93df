//! CLI tests for `pybench plot` and the plots written at the end of `pybench run`: the SVG
//! and HTML files parse as XML and hold the expected series, labels and links.

use crate::common::{pybench, refusal, run, save, tempdir};
use predicates::prelude::*;
use std::path::Path;

/// The text of a file, parsed as XML (panics with the parser's message when it is not).
fn read(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    if let Err(e) = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    ) {
        panic!("{path:?} is not well-formed XML: {e}");
    }
    text
}

/// Values of attribute `attr` on elements `tag` with class `class`.
fn attrs(text: &str, tag: &str, class: &str, attr: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class))
        .filter_map(|n| n.attribute(attr).map(str::to_string))
        .collect()
}

/// All text content of elements with class `class`.
fn texts(text: &str, class: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

#[test]
fn plot_writes_every_chart_with_series_labels_and_legend() {
    let tmp = tempdir("plot");
    let dir = save(
        &tmp,
        "run",
        &run("run", 3, |_, a, _| if a == "system" { 2e7 } else { 3e7 }),
    );
    pybench()
        .arg("plot")
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicate::str::contains("index.html"));
    let plots = dir.join("plots");
    let both = ["pymalloc:cpython-3.11", "system"];

    for w in ["dicts", "churn"] {
        let rss = read(&plots.join(format!("rss-{w}.svg")));
        assert_eq!(attrs(&rss, "polyline", "series", "data-series"), both);
        assert_eq!(texts(&rss, "legend-entry"), both);
        let labels = texts(&rss, "axis-label");
        assert!(
            labels.contains(&"allocator events replayed".to_string()),
            "{labels:?}"
        );
        assert!(labels.contains(&"RSS above the pre-loop baseline".to_string()));
        // The RSS series peaks at 1,200,000 B: the axis reaches it in binary units.
        assert!(
            texts(&rss, "tick").contains(&"1.5 MiB".to_string()),
            "{rss}"
        );

        let lat = read(&plots.join(format!("latency-{w}.svg")));
        assert_eq!(attrs(&lat, "polyline", "series", "data-series"), both);
        let ticks = texts(&lat, "tick");
        for t in ["min", "90 %", "99 %", "99.9 %", "max", "10 ns", "1 µs"] {
            assert!(ticks.contains(&t.to_string()), "{t} in {ticks:?}");
        }

        // Engine pools: only the engine has them.
        let pools = read(&plots.join(format!("pools-{w}.svg")));
        assert_eq!(
            attrs(&pools, "rect", "bar", "data-series"),
            ["pymalloc:cpython-3.11"]
        );
        assert_eq!(texts(&pools, "legend-entry"), ["pymalloc:cpython-3.11"]);
    }

    // Throughput and frag_ratio: one bar per workload × allocator, error bars from 3 reps.
    for name in ["ops_per_sec.svg", "frag_ratio.svg"] {
        let svg = read(&plots.join(name));
        assert_eq!(attrs(&svg, "rect", "bar", "data-series").len(), 4, "{name}");
        assert_eq!(attrs(&svg, "path", "error-bar", "d").len(), 4, "{name}");
        assert!(texts(&svg, "tick").contains(&"churn".to_string()));
    }
    let ops = read(&plots.join("ops_per_sec.svg"));
    // Gross, and said so: the tables beside it give net ops/s.
    assert!(ops.contains("gross throughput (ops/s, harness included)"));
    assert!(read(&plots.join("frag_ratio.svg")).contains("RSS = live bytes"));

    // index.html shows every SVG and the summary tables.
    let html = read(&dir.join("index.html"));
    let doc = xhtml(&html);
    let mut srcs: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("img"))
        .filter_map(|n| n.attribute("src").map(str::to_string))
        .collect();
    srcs.sort();
    let mut files: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| format!("plots/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    assert_eq!(srcs, files);
    assert_eq!(files.len(), 8, "{files:?}");
    let cells: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("td"))
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
        })
        .collect();
    assert!(cells.contains(&"system".to_string()), "{cells:?}");
    assert!(
        cells.iter().any(|c| c.contains("(0.67×)")),
        "throughput ratio: {cells:?}"
    );
}

#[test]
fn plot_out_dir_and_bad_input() {
    let tmp = tempdir("plot");
    let dir = save(&tmp, "run", &run("run", 1, |_, _, _| 1e7));
    let out = tmp.join("elsewhere");
    pybench()
        .args(["plot", "--quiet"])
        .arg(dir.join("results.json"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    read(&out.join("index.html"));
    // One repetition: bars without error bars.
    let ops = read(&out.join("plots/ops_per_sec.svg"));
    assert_eq!(attrs(&ops, "path", "error-bar", "d").len(), 0);

    let bad = tmp.join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    let a = pybench().arg("plot").arg(&bad).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.json: not a pybench results file"),
        "{err}"
    );
}

/// Pool counts near `f64::MAX`: the median of two overflowed to infinity and the pool axis's
/// tick loop never ended (1.6 GB in 8 s, then an abort). Such a file is now refused when read
/// (`cli_compare_edges::a_figure_beyond_any_measurement_makes_the_file_unreadable`; the
/// charts' own guards are `plot::finite`'s tests); the largest figure a file may hold is
/// plotted at once, to scale. The old hang would fail at `pybench()`'s five-minute guard,
/// with no tighter clock that a loaded machine could trip.
#[test]
fn pool_counts_at_the_largest_figure_are_plotted_at_once() {
    let tmp = tempdir("plot-huge");
    let mut r = run("huge", 2, |_, _, _| 1e7);
    let huge = r.cells.iter_mut().flat_map(|c| &mut c.metrics);
    huge.filter(|m| m.name == "class_pools")
        .for_each(|m| m.value = pybench::report::checks::LARGEST_FIGURE);
    let dir = save(&tmp, "run", &r);
    pybench()
        .args(["plot", "--quiet"])
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    let pools = read(&dir.join("plots/pools-dicts.svg"));
    // One bar, to scale: the full height of the plot area.
    assert_eq!(attrs(&pools, "rect", "bar", "height"), ["320.0"], "{pools}");
}

#[test]
fn run_writes_plots_unless_told_not_to() {
    let tmp = tempdir("plot");
    for (sub, flag) in [("with", None), ("without", Some("--no-plots"))] {
        let out = tmp.join(sub);
        let mut cmd = pybench();
        cmd.args([
            "run",
            "-w",
            "dicts",
            "-a",
            "pymalloc,system",
            "-r",
            "1",
            "--scale",
            "3000",
            "-q",
            "--out",
        ])
        .arg(&out);
        if let Some(f) = flag {
            cmd.arg(f);
        }
        cmd.assert().success();
        let dir = std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let has = dir.join("index.html").exists();
        assert_eq!(has, flag.is_none(), "{sub}");
        if has {
            read(&dir.join("index.html"));
            let rss = read(&dir.join("plots/rss-dicts.svg"));
            assert_eq!(attrs(&rss, "polyline", "series", "data-series").len(), 2);
            read(&dir.join("plots/latency-dicts.svg"));
            read(&dir.join("plots/pools-dicts.svg"));
        }
    }
}

#[test]
fn an_allocator_keeps_its_colour_in_every_chart() {
    let tmp = tempdir("plot");
    // `system` first: the engine is the second series everywhere, but the only one with pools.
    let mut results = run("run", 2, |_, _, _| 1e7);
    results.cells.sort_by_key(|c| c.allocator != "system");
    let dir = save(&tmp, "run", &results);
    pybench().args(["plot", "-q"]).arg(&dir).assert().success();
    let plots = dir.join("plots");
    let colour_of = |file: &str, tag: &str, class: &str, attr: &str| -> Vec<(String, String)> {
        let text = read(&plots.join(file));
        let doc = roxmltree::Document::parse(&text).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class))
            .map(|n| {
                (
                    n.attribute("data-series").unwrap().to_string(),
                    n.attribute(attr).unwrap().to_string(),
                )
            })
            .collect()
    };
    let lines = colour_of("rss-dicts.svg", "polyline", "series", "stroke");
    let engine = &lines
        .iter()
        .find(|l| l.0.starts_with("pymalloc"))
        .unwrap()
        .1;
    let pools = colour_of("pools-dicts.svg", "rect", "bar", "fill");
    assert!(!pools.is_empty());
    assert!(
        pools.iter().all(|p| &p.1 == engine),
        "{pools:?} vs {engine}"
    );
    let bars = colour_of("ops_per_sec.svg", "rect", "bar", "fill");
    assert!(bars
        .iter()
        .filter(|b| b.0.starts_with("pymalloc"))
        .all(|b| &b.1 == engine));
}

/// A run with throughput samples shows on index.html the verdict the terminal and summary.md
/// show (net throughput with its interval, the ratio to the reference), row for row, not
/// another table of gross medians that can contradict it.
#[test]
fn index_html_shows_the_same_verdict_rows_as_summary_md() {
    let tmp = tempdir("html-verdict");
    pybench()
        .args([
            "run",
            "-w",
            "churn,dicts",
            "-a",
            "pymalloc,system",
            "-r",
            "2",
        ])
        .args([
            "--scale",
            "20000",
            "--rounds",
            "2",
            "--min-time",
            "0.001",
            "-q",
        ])
        .arg("--out")
        .arg(&tmp)
        .assert()
        .success();
    let dir = std::fs::read_dir(&tmp)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let md_rows: Vec<Vec<String>> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| allocator"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(md_rows.len(), 4, "{md}");
    let html = read(&dir.join("index.html"));
    let doc = xhtml(&html);
    let html_rows: Vec<Vec<String>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .map(|tr| {
            tr.children()
                .filter(|c| c.has_tag_name("td"))
                .map(|td| td.text().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(html_rows, md_rows);
    assert!(md_rows.iter().any(|r| r[2] == "reference"), "{md_rows:?}");
    assert!(!html.contains("Medians over repetitions"), "{html}");
    // The caveats too, line for line (two processes of a tiny stream: wide intervals).
    let md_caveats: Vec<String> = (md.split("## Caveats\n").nth(1))
        .unwrap_or_else(|| panic!("no caveats in {md}"))
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("- "))
        .filter_map(|l| l.strip_prefix("- "))
        .map(rendered)
        .collect();
    assert!(!md_caveats.is_empty(), "{md}");
    let html_caveats: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("ul") && n.attribute("class") == Some("caveats"))
        .flat_map(|ul| ul.children().filter(|c| c.has_tag_name("li")))
        .map(|li| li.text().unwrap_or(""))
        .collect();
    assert_eq!(html_caveats, md_caveats);
}

/// Markdown text as it reads rendered: summary.md backslash-escapes `` ` ``, `<`, `|` … in
/// what it quotes, and the backslash shows nothing.
fn rendered(md: &str) -> String {
    let mut escaped = false;
    let shown = |&c: &char| {
        escaped = !escaped && c == '\\';
        !escaped
    };
    md.chars().filter(shown).collect()
}

/// index.html parsed (it is XHTML with a doctype).
fn xhtml(html: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn plot_out_never_overwrites_another_runs_charts() {
    let tmp = tempdir("plot-other");
    let mine = save(&tmp, "mine", &run("mine", 1, |_, _, _| 1e7));
    let theirs = save(&tmp, "theirs", &run("theirs", 1, |_, _, _| 2e7));
    pybench()
        .args(["plot", "-q"])
        .arg(&theirs)
        .assert()
        .success();
    let before = read(&theirs.join("index.html"));
    let a = pybench()
        .args(["plot", "-q"])
        .arg(&mine)
        .arg("--out")
        .arg(&theirs)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("holds another run's results (theirs)"),
        "{err}"
    );
    assert_eq!(read(&theirs.join("index.html")), before, "left alone");
    // Its own folder, named as --out in another spelling, is re-plotted.
    pybench()
        .args(["plot", "-q"])
        .arg(mine.join("results.json"))
        .arg("--out")
        .arg(tmp.join("theirs/../mine/"))
        .assert()
        .success();
    read(&mine.join("index.html"));
}

#[test]
fn plot_out_never_replaces_a_page_it_did_not_write() {
    let tmp = tempdir("plot-page");
    let mine = save(&tmp, "mine", &run("mine", 1, |_, _, _| 1e7));
    let site = tmp.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let page = "<!DOCTYPE html><html><head><title>My notes</title></head></html>\n";
    std::fs::write(site.join("index.html"), page).unwrap();
    let plot = || {
        let mut c = pybench();
        c.args(["plot", "-q"]).arg(&mine).arg("--out").arg(&site);
        c
    };
    let err = refusal(&mut plot());
    assert!(
        err.contains("holds an index.html that pybench did not write"),
        "{err}"
    );
    assert_eq!(read(&site.join("index.html")), page, "left alone");
    // Its own page there is replaced without asking (re-plotting); another page with --force.
    plot().arg("--force").assert().success();
    assert!(read(&site.join("index.html")).contains("<title>pybench run mine"));
    plot().assert().success();
}

#[test]
fn plot_out_never_replaces_a_chart_it_did_not_draw() {
    let tmp = tempdir("plot-chart");
    let mine = save(&tmp, "mine", &run("mine", 1, |_, _, _| 1e7));
    let site = tmp.join("site");
    std::fs::create_dir_all(site.join("plots")).unwrap();
    let chart = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>\n";
    let own = site.join("plots/ops_per_sec.svg");
    std::fs::write(&own, chart).unwrap();
    let plot = || {
        let mut c = pybench();
        c.args(["plot", "-q"]).arg(&mine).arg("--out").arg(&site);
        c
    };
    let err = refusal(&mut plot());
    assert!(err.contains("ops_per_sec.svg"), "{err}");
    assert_eq!(read(&own), chart, "left alone");
    assert!(!site.join("index.html").exists(), "nothing written");
    // With --force it is replaced; pybench's own chart there then is, without asking.
    plot().arg("--force").assert().success();
    assert!(
        read(&own).contains("<title>"),
        "replaced by the run's chart"
    );
    plot().assert().success();
}

/// Without `--out` the charts go beside the results file read, and that folder may be one of
/// the user's own (`plot baseline.json` in a site's folder): its own page and charts are
/// refused there as anywhere else, where until 2026-12-07 they were replaced without a word.
#[test]
fn plot_beside_a_results_file_never_replaces_a_page_or_chart_of_ones_own() {
    let tmp = tempdir("plot-beside");
    let saved = save(&tmp, "mine", &run("mine", 1, |_, _, _| 1e7));
    let site = tmp.join("site");
    std::fs::create_dir_all(site.join("plots")).unwrap();
    let baseline = site.join("baseline.json");
    std::fs::copy(saved.join("results.json"), &baseline).unwrap();
    let page = "<!DOCTYPE html><html><head><title>My notes</title></head></html>\n";
    let chart = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>\n";
    std::fs::write(site.join("index.html"), page).unwrap();
    let own = site.join("plots/ops_per_sec.svg");
    std::fs::write(&own, chart).unwrap();
    let plot = || {
        let mut c = pybench();
        c.args(["plot", "-q"]).arg(&baseline);
        c
    };
    let err = refusal(&mut plot());
    assert!(
        err.contains("holds an index.html that pybench did not write"),
        "{err}"
    );
    std::fs::remove_file(site.join("index.html")).unwrap();
    let err = refusal(&mut plot());
    assert!(err.contains("ops_per_sec.svg"), "{err}");
    assert_eq!(read(&own), chart, "left alone");
    assert!(!site.join("index.html").exists(), "nothing written");
    // A run's own folder is re-plotted as before: its page and charts are pybench's.
    plot().arg("--force").assert().success();
    assert!(read(&own).contains("<title>"), "replaced with --force");
    pybench()
        .args(["plot", "-q"])
        .arg(&saved)
        .assert()
        .success();
    pybench()
        .args(["plot", "-q"])
        .arg(&saved)
        .assert()
        .success();
}
