//! `pybench sweep`: cells against single-engine accountings (the library's single-cell path,
//! an independent replay written here, and `pybench run`'s results), parallel against serial,
//! impossible points, the CSV and the heatmaps.

use crate::common::{pybench, replay_by_hand, tempdir};
use predicates::prelude::*;
use pybench::harness::cell::Materialized;
use pybench::harness::timer::Timer;
use pybench::pymalloc::{ArenaPlacement, Geometry, Pymalloc};
use pybench::sweep::report::CSV_COLUMNS;
use pybench::sweep::{self, GridSpec, SweepRequest};
use pybench::trace::source::Source;
use pybench::workload::Overrides;
use std::collections::HashMap;
use std::path::Path;

fn overrides(scale: u64) -> Overrides {
    Overrides {
        scale: Some(scale),
        ..Overrides::default()
    }
}

fn churn(scale: u64) -> Materialized {
    Source::load("churn")
        .unwrap()
        .materialize(overrides(scale))
        .unwrap()
}

fn grid(arenas: &str, pools: &str, spare: &str) -> GridSpec {
    use pybench::sweep::grid::{parse_sizes, parse_spare};
    GridSpec {
        arenas: parse_sizes(arenas).unwrap(),
        pools: parse_sizes(pools).unwrap(),
        spare: parse_spare(spare).unwrap(),
        presets: vec![],
    }
}

#[test]
fn sweep_cells_equal_single_engine_accountings_of_the_same_geometry() {
    let scale = 60_000;
    let m = churn(scale);
    let req = SweepRequest {
        sources: vec!["churn".into()],
        overrides: overrides(scale),
        // Small arenas and no spare make arenas come and go; 16 KiB pools lose one per
        // unaligned arena.
        grid: grid("64K,1M", "4K,16K", "0,1"),
        placement: ArenaPlacement::Unaligned,
        jobs: Some(2),
    };
    let r = sweep::sweep(&req, &|_| {}).unwrap();
    assert_eq!(r.cells.len(), 8);
    assert!(r.cells.iter().any(|c| c.accounting.arenas_unmapped > 0));
    let timer = Timer::calibrate();
    for c in &r.cells {
        let g = c.point.geometry;
        let single = sweep::account(&m, g, ArenaPlacement::Unaligned, &timer).unwrap();
        assert_eq!(
            c.accounting, single,
            "{g}: sweep cell vs the single-cell path"
        );
        let a = &c.accounting;
        let by_hand = replay_by_hand(&m, g, ArenaPlacement::Unaligned);
        let ours = [
            a.peak_arenas,
            a.final_arenas,
            a.arenas_mapped,
            a.arenas_unmapped,
            a.unused_pool_bytes,
            a.quantization_bytes,
            a.final_heap_rss,
            a.peak_heap_rss,
        ];
        assert_eq!(
            ours, by_hand,
            "{g}: sweep cell vs a replay straight into the engine"
        );
        assert!(a.mean_heap_rss <= a.peak_heap_rss && a.peak_heap_rss > 0);
        assert!(a.peak_heap_rss <= a.peak_arenas * g.arena_size());
        assert_eq!(c.events, m.events.len());
    }
}

#[test]
fn arena_placement_decides_the_pools_lost_to_alignment() {
    let m = churn(20_000);
    let g: Geometry = "arena=256K,pool=16K".parse().unwrap();
    let lost = |placement| {
        let mut e = Pymalloc::with_placement(g, placement);
        let ps: Vec<*mut u8> = (0..m.slots.min(5000)).map(|_| e.malloc(64)).collect();
        let s = e.stats();
        for p in ps {
            unsafe { e.free(p) }
        }
        (s.unaligned_arenas, s.arenas_allocated_current)
    };
    let (unaligned, arenas) = lost(ArenaPlacement::Unaligned);
    assert!(arenas > 1);
    assert_eq!(unaligned, arenas, "every arena starts off a pool boundary");
    assert_eq!(lost(ArenaPlacement::Aligned).0, 0);
}

/// The `key = value` rows of `pybench sweep --csv`, by geometry.
fn read_sweep_csv(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn cli_sweep_agrees_with_pybench_run_on_the_engine_figures() {
    let tmp = tempdir("sweep-vs-run");
    // 4 KiB pools are one page, so where mmap puts an arena cannot change the figures:
    // `run` (wherever mmap puts arenas) and the sweep must agree exactly.
    let geometries = ["arena=64K,pool=4K,keep_spare=false", "arena=256K,pool=4K"];
    let mut run = pybench();
    run.args(["run", "-w", "churn", "--scale", "40000", "-r", "1"])
        .args(["--rounds", "2", "--min-time", "0.001", "--no-plots"]);
    for g in geometries {
        run.arg("-a").arg(format!("pymalloc:{g}"));
    }
    run.arg("--out").arg(&tmp).assert().success();
    let dir = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let mut run_values: HashMap<(String, String), f64> = HashMap::new();
    let mut r = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec[6].is_empty() {
            run_values.insert(
                (rec[2].to_string(), rec[5].to_string()),
                rec[7].parse().unwrap(),
            );
        }
    }

    let csv_path = tmp.join("sweep.csv");
    pybench()
        .args([
            "sweep",
            "-w",
            "churn",
            "--scale",
            "40000",
            "--placement",
            "mmap",
        ])
        .args([
            "--arena", "64K,256K", "--pool", "4K", "--spare", "0,1", "-q",
        ])
        .arg("--csv")
        .arg(&csv_path)
        .assert()
        .success();
    let (_, rows) = read_sweep_csv(&csv_path);
    for g in geometries {
        let row = rows
            .iter()
            .find(|r| r["geometry"] == g)
            .unwrap_or_else(|| panic!("{g} in the sweep"));
        let alloc = format!("pymalloc:{g}");
        for (sweep_col, run_metric) in [
            ("peak_arenas", "arenas_highwater"),
            ("final_arenas", "arenas_allocated_current"),
            ("arenas_mapped", "arenas_allocated_total"),
            ("unused_pool_bytes", "bytes_in_unused_pools"),
            ("quantization_bytes", "bytes_lost_quantization"),
        ] {
            let ran = run_values
                .get(&(alloc.clone(), run_metric.to_string()))
                .unwrap_or_else(|| panic!("{run_metric} of {alloc} in results.csv"));
            let swept: f64 = row[sweep_col].parse().unwrap();
            assert_eq!(swept, *ran, "{g}: sweep {sweep_col} vs run {run_metric}");
        }
    }
}

#[test]
fn parallel_and_serial_sweeps_print_identical_tables_and_csv() {
    let tmp = tempdir("sweep-jobs");
    let run = |jobs: &str| {
        let csv = tmp.join(format!("jobs{jobs}.csv"));
        let out = pybench()
            .args(["sweep", "-w", "churn,trace:compileall", "--scale", "30000"])
            .args([
                "--arena",
                "64K,256K,1M",
                "--pool",
                "4K,16K",
                "--spare",
                "0,1",
            ])
            .args(["--preset", "all", "--jobs", jobs])
            .arg("--csv")
            .arg(&csv)
            .assert()
            .success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        (stdout, std::fs::read_to_string(csv).unwrap())
    };
    let (serial, parallel) = (run("1"), run("3"));
    assert!(serial.0.contains("trace:compileall") && serial.0.contains("churn"));
    assert_eq!(serial.0, parallel.0, "tables differ");
    assert_eq!(serial.1, parallel.1, "CSV differs");
}

/// Every row's columns line up, however long a geometry's name: a 39-character one
/// (`* arena=512K,pool=128K,keep_spare=false`) pushed its row one column out.
#[test]
fn the_table_columns_line_up_for_the_longest_geometry() {
    let out = pybench()
        .args(["sweep", "-q", "-w", "churn", "--scale", "20000"])
        .args(["--arena", "512K", "--pool", "4K,128K", "--spare", "0,1"])
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // Each row ends at the same column: the last figure is right-aligned.
    let widths: Vec<usize> = (table.lines().skip(1))
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().count())
        .collect();
    assert_eq!(widths.len(), 5, "{table}");
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "{widths:?}\n{table}"
    );
    assert!(
        table.contains("arena=512K,pool=128K,keep_spare=false"),
        "{table}"
    );
}

#[test]
fn impossible_points_are_named_and_skipped_and_an_empty_grid_is_refused() {
    let out = pybench()
        .args(["sweep", "-w", "churn", "--scale", "5000"])
        .args(["--arena", "64K,100K", "--pool", "4K,32K"])
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let skipped: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 3, "{stderr}");
    assert!(skipped
        .iter()
        .any(|l| l.contains("arena=64K,pool=32K") && l.contains("fewer than 4 pools")));
    assert!(skipped
        .iter()
        .any(|l| l.contains("arena=100K,pool=4K") && l.contains("power of two")));
    assert!(stdout.contains("arena=64K,pool=4K"), "{stdout}");
    assert!(
        !stdout.contains("pool=32K") && !stdout.contains("100K"),
        "{stdout}"
    );

    // An empty grid says why each point was impossible, in one line; a zero size as given.
    let out = pybench()
        .args(["sweep", "-w", "churn", "--arena", "0,16K", "--pool", "16K"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("grid is empty"), "{err}");
    assert!(err.contains("arena=0,pool=16K: bad geometry"), "{err}");
    assert!(
        err.contains("arena=16K,pool=16K: bad geometry: arena 16384 holds fewer than 4 pools"),
        "{err}"
    );
    pybench()
        .args(["sweep", "-w", "churn", "--arena", "64Q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("64Q"));
    pybench()
        .args(["sweep", "-w", "no_such_workload", "--preset", "3.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no_such_workload"));
}

/// A stream cut at its object cap is named on stderr, as `stats` names it, even with -q.
#[test]
fn a_cut_stream_is_never_silent() {
    let spec = "tests/fixtures/lists-overshoot.toml";
    let warning = "warning: lists_overshoot: the stream was cut at 12000 Python objects";
    for quiet in [false, true] {
        let mut cmd = pybench();
        cmd.args(["sweep", "-w", spec, "--scale", "1000"])
            .args(["--arena", "1M", "--pool", "16K"]);
        if quiet {
            cmd.arg("-q");
        }
        cmd.assert()
            .success()
            .stderr(predicate::str::contains(warning));
    }
    // The same words as stats.
    pybench()
        .args(["stats", "-w", spec, "--scale", "1000"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: the stream was cut at 12000 Python objects",
        ));
}

#[test]
fn csv_has_one_row_per_cell_with_the_stated_columns_and_heatmaps_mark_presets() {
    let tmp = tempdir("sweep-csv");
    let csv_path = tmp.join("out.csv");
    let plots = tmp.join("plots");
    let out = pybench()
        .args([
            "sweep", "-w", "churn", "--scale", "20000", "--preset", "all",
        ])
        .args(["--arena", "128K,1M", "--pool", "4K,16K"])
        .arg("--csv")
        .arg(&csv_path)
        .arg("--plot")
        .arg(&plots)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let (header, rows) = read_sweep_csv(&csv_path);
    assert_eq!(header, CSV_COLUMNS);
    // 2 × 2 keeping the spare (1M/16K is the 3.10+ preset), plus 3.9's 256K/4K and 3.8's
    // 256K/4K without a spare.
    assert_eq!(rows.len(), 6);
    let table_rows = stdout.lines().filter(|l| l.contains("arena=")).count();
    assert_eq!(table_rows, rows.len(), "{stdout}");
    let n = |r: &HashMap<String, String>, k: &str| r[k].parse::<usize>().unwrap();
    for r in &rows {
        assert_eq!(
            n(r, "churn"),
            n(r, "arenas_mapped") + n(r, "arenas_unmapped")
        );
        assert_eq!(
            n(r, "arenas_unmapped"),
            n(r, "arenas_mapped") - n(r, "final_arenas")
        );
        assert!(n(r, "peak_arenas") >= n(r, "final_arenas"));
        assert!(n(r, "peak_heap_rss_bytes") >= n(r, "mean_heap_rss_bytes"));
        assert_eq!(n(r, "arena_bytes").to_string(), r["arena_bytes"]);
    }
    let preset_of = |g: &str| rows.iter().find(|r| r["geometry"] == g).unwrap()["presets"].clone();
    assert_eq!(
        preset_of("arena=256K,pool=4K,keep_spare=false"),
        "cpython-3.8"
    );
    assert_eq!(
        preset_of("arena=1M,pool=16K"),
        "cpython-3.10 cpython-3.11 cpython-3.12 cpython-3.13"
    );
    assert!(rows.iter().any(|r| r["pareto"] == "1"));
    // The table names the presets as the CSV and `list presets` do (it said `3.8`); several
    // of one geometry as a range of them.
    let table_line = |g: &str| {
        let g = format!(" {g} ");
        stdout.lines().find(|l| l.contains(&g)).unwrap().to_string()
    };
    let line = table_line("arena=256K,pool=4K,keep_spare=false");
    assert!(line.contains(" cpython-3.8 "), "{line}");
    let line = table_line("arena=1M,pool=16K");
    assert!(line.contains(" cpython-3.10–3.13 "), "{line}");

    let svg = std::fs::read_to_string(plots.join("sweep-churn-peak_heap_rss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.contains(&"CPython 3.9") && texts.contains(&"CPython 3.10–3.13"));
    let best: Vec<&str> = rows
        .iter()
        .filter(|r| r["pareto"] == "1")
        .map(|r| r["geometry"].as_str())
        .collect();
    let caption: String = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("caption"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(caption.contains("Pareto-best"), "{caption}");
    for g in best {
        assert!(caption.contains(g), "{g} named in: {caption}");
    }
    assert!(plots.join("sweep-churn-churn-nospare.svg").is_file());
}
