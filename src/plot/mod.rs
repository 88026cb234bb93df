//! Plots of a run: SVG files under `plots/` and an `index.html` that shows them with the
//! summary tables, written into the results directory (`pybench plot`, and at the end of
//! `pybench run` unless `--no-plots`).
//!
//! - `rss-<workload>.svg`: RSS over the replay, one line per allocator (first repetition);
//! - `latency-<workload>.svg`: HDR-style percentile curves of all ops, log-scaled tail;
//! - `ops_per_sec.svg` (gross), `frag_ratio.svg`: medians per workload and allocator, error
//!   bars from the smallest to the largest repetition;
//! - `pools-<workload>.svg`: the engine's pools per size class.

mod bars;
mod finite;
pub mod heatmap;
mod html;
mod labels;
mod slug;
pub mod svg;
mod target;

pub use labels::{fmt_bytes, fmt_ns};
pub(crate) use slug::{distinct_by, slug};
pub use target::{check_out, drawn_by_pybench};

use crate::metrics::Id;
use crate::report::model::{CellKind, CellResult, RunResults};
use crate::report::store::write_atomically;
use crate::stats::median;
use anyhow::Context as _;
use bars::bars;
use finite::{bar_values, drawable, Drawn};
use labels::{fmt_count, fmt_ratio};
use std::path::{Path, PathBuf};
use svg::{Axis, Bar, Group, Line};

/// One chart: file name under `plots/`, section heading and caption for `index.html`.
pub struct Figure {
    pub file: String,
    pub section: String,
    pub caption: String,
    pub svg: String,
}

/// What [`write_plots`] did: the files written (`index.html` last) and one line for each
/// chart it left out, for the caller to print as a warning.
pub struct Plots {
    pub written: Vec<PathBuf>,
    pub skipped: Vec<String>,
    /// Charts an earlier plot wrote into the folder that this one did not, removed
    /// (`target::stale_charts`).
    pub removed: Vec<PathBuf>,
}

/// Writes `dir/plots/*.svg` and `dir/index.html`.
///
/// A `plots` that is a symbolic link is refused, wherever it leads: the charts are written
/// into a folder of the run's own, and a link planted there (`plots -> ~/site/img`) had them
/// written, and an earlier run's charts of those names removed, in a folder the user never
/// named (fuzzing, 2026-12-07). A folder named by the user (`--out`) is theirs to link.
pub fn write_plots(results: &RunResults, dir: &Path) -> anyhow::Result<Plots> {
    let plots = dir.join("plots");
    if crate::sys::fs::is_symlink(&plots) {
        let to = std::fs::read_link(&plots)
            .map(|t| format!(" (to {})", crate::trace::printable(&t.to_string_lossy())))
            .unwrap_or_default();
        anyhow::bail!(
            "{} is a symbolic link{to}: pybench writes its charts into a folder of its own; \
             remove the link or choose another folder",
            plots.display()
        );
    }
    std::fs::create_dir_all(&plots)
        .with_context(|| format!("cannot create {}", plots.display()))?;
    let (figures, skipped) = figures(results);
    let (mut written, mut removed) = (Vec::new(), Vec::new());
    for f in &figures {
        let path = plots.join(&f.file);
        write_atomically(&path, |out| out.write_all(f.svg.as_bytes()))?;
        written.push(path);
    }
    let index = dir.join("index.html");
    let page = html::page(results, &figures);
    write_atomically(&index, |out| out.write_all(page.as_bytes()))?;
    written.push(index);
    // Only once everything is written: an earlier plot's charts are what remains otherwise.
    for stale in target::stale_charts(&plots, &written) {
        if std::fs::remove_file(&stale).is_ok() {
            removed.push(stale);
        }
    }
    Ok(Plots {
        written,
        skipped,
        removed,
    })
}

/// Every chart the results allow, in page order, and a line for each chart left out because
/// a value it would draw is not a finite number (`drawable`).
pub fn figures(results: &RunResults) -> (Vec<Figure>, Vec<String>) {
    let workloads = crate::report::first_seen(results.cells.iter().map(|c| c.workload.as_str()));
    let mut all = vec![
        bars(results, &workloads, Id::OpsPerSec),
        bars(results, &workloads, Id::FragRatio),
    ];
    // One file per workload even where two names differ only in what a file name drops.
    let slugs = slug::distinct(&workloads);
    for w in &workloads {
        let s = &slugs[w];
        all.extend([
            rss(results, w, s),
            latency(results, w, s),
            pools(results, w, s),
        ]);
    }
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for f in all.into_iter().flatten() {
        match f {
            Ok(f) => out.push(f),
            Err(line) => skipped.push(line),
        }
    }
    (out, skipped)
}

/// Allocators measured (the harness's own `null` baseline left out).
fn allocators(results: &RunResults) -> Vec<&str> {
    crate::report::first_seen(
        results
            .cells
            .iter()
            .filter(|c| c.allocator != "null")
            .map(|c| c.allocator.as_str()),
    )
}

/// Successful cells of one workload and allocator, by repetition.
fn cells<'a>(results: &'a RunResults, w: &str, a: &str) -> Vec<&'a CellResult> {
    let mut v: Vec<&CellResult> = results
        .cells
        .iter()
        .filter(|c| c.is_ok() && c.workload == w && c.allocator == a)
        .collect();
    v.sort_by_key(|c| c.repetition);
    v
}

/// RSS over the replay, first successful repetition of each allocator, into `rss-SLUG.svg`.
fn rss(results: &RunResults, w: &str, slug: &str) -> Drawn {
    let mut lines = Vec::new();
    for (color, a) in allocators(results).into_iter().enumerate() {
        if let Some(c) = cells(results, w, a)
            .into_iter()
            .find(|c| !c.rss_series.is_empty())
        {
            lines.push(Line {
                name: a.to_string(),
                color,
                points: c
                    .rss_series
                    .iter()
                    .map(|&(e, b)| (e as f64, b as f64))
                    .collect(),
            });
        }
    }
    if lines.is_empty() {
        return None;
    }
    let max_x = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0, f64::max);
    let max_y = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let exec = results
        .cells
        .iter()
        .any(|c| c.workload == w && c.kind == CellKind::Exec);
    let (x, y, caption) = rss_axes(exec, w, max_x, max_y);
    // Whole numbers of events and bytes: always finite.
    Some(Ok(Figure {
        file: format!("rss-{slug}.svg"),
        section: format!("{w}: RSS over time"),
        caption,
        svg: svg::line_chart(&format!("RSS over time — {w}"), &x, &y, &lines),
    }))
}

/// The RSS chart's axes and caption. A real program's series (`exec`) is (milliseconds since
/// start, resident bytes), a replay's (events replayed, RSS above its baseline): the axes say
/// which.
fn rss_axes(exec: bool, w: &str, max_x: f64, max_y: f64) -> (Axis, Axis, String) {
    if exec {
        (
            Axis::linear(
                "milliseconds since the program started",
                0.0,
                max_x,
                fmt_count,
            ),
            Axis::linear_bytes("resident set size", max_y, fmt_bytes),
            format!(
                "Resident set size of the program {w}, sampled while it ran; first successful \
                 repetition of each allocator."
            ),
        )
    } else {
        (
            Axis::linear("allocator events replayed", 0.0, max_x, fmt_count),
            Axis::linear_bytes("RSS above the pre-loop baseline", max_y, fmt_bytes),
            format!(
                "Resident set size minus the baseline taken before the loop, sampled about \
                 1,000 times during the replay of {w}; first successful repetition of each \
                 allocator."
            ),
        )
    }
}

/// x position of percentile `p` on the tail scale: −log10(1 − p/100), so 90 % → 1,
/// 99 % → 2, 99.9 % → 3. 100 % (the maximum) has no finite position: see `latency`.
fn tail_x(p: f64) -> Option<f64> {
    (p < 100.0).then(|| -(1.0 - p / 100.0).log10())
}

/// The latency chart's x axis, from the minimum (0) to the maximum (`max_x`, finite, at most
/// about 17: p/100 below 1 is at most 1 − 2⁻⁵³), with a tick a decade of the tail between:
/// 90 %, 99 %, 99.9 %, …
fn tail_axis(max_x: f64) -> Axis {
    let mut ticks = vec![(0.0, "min".to_string())];
    for d in 1..=(max_x - 0.6).floor() as usize {
        let p = 100.0 * (1.0 - 10f64.powf(-(d as f64)));
        let decimals = d.saturating_sub(2);
        ticks.push((d as f64, format!("{p:.decimals$} %")));
    }
    ticks.push((max_x, "max".to_string()));
    Axis {
        label: "percentile (log-scaled tail)".to_string(),
        scale: svg::Scale::Linear,
        min: 0.0,
        max: max_x,
        format: fmt_ratio,
        step: 1.0,
        ticks: Some(ticks),
    }
}

/// HDR-style latency percentile curves of all ops, first repetition of each allocator, into
/// `latency-SLUG.svg`.
fn latency(results: &RunResults, w: &str, slug: &str) -> Drawn {
    let mut curves = Vec::new();
    for (color, a) in allocators(results).into_iter().enumerate() {
        let curve = cells(results, w, a).into_iter().find_map(|c| {
            c.latency_curves
                .get("all")
                .filter(|v| !v.is_empty())
                .cloned()
        });
        if let Some(curve) = curve {
            curves.push((a.to_string(), color, curve));
        }
    }
    if curves.is_empty() {
        return None;
    }
    let last = curves
        .iter()
        .flat_map(|(_, _, c)| c.iter().filter_map(|(p, _)| tail_x(*p)))
        .fold(0.0, f64::max);
    // The maximum sits a little right of the last finite percentile, labelled "max".
    let max_x = last.max(1.0) + 0.8;
    let lines: Vec<Line> = curves
        .into_iter()
        .map(|(name, color, c)| Line {
            name,
            color,
            points: c
                .iter()
                .filter(|(_, ns)| *ns > 0.0)
                .map(|&(p, ns)| (tail_x(p).unwrap_or(max_x), ns))
                .collect(),
        })
        .collect();
    let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi == 0.0 {
        return None; // no positive latency: nothing a log scale can show
    }
    let file = format!("latency-{slug}.svg");
    if let Err(why) = drawable(&file, [lo, hi, max_x]) {
        return Some(Err(why));
    }
    let x = tail_axis(max_x);
    let y = Axis::log("latency of one operation", lo, hi, fmt_ns);
    Some(Ok(Figure {
        file,
        section: format!("{w}: latency percentiles"),
        caption: format!(
            "Latency of every timed malloc/free/realloc/calloc of {w} (op kind `all`) at HDR-style \
             percentiles, timed pass, timer overhead included; each step right halves the \
             remaining tail. First successful repetition of each allocator."
        ),
        svg: svg::line_chart(&format!("Latency percentiles — {w}"), &x, &y, &lines),
    }))
}

/// The engine's pools per size class, median over repetitions, one series per engine preset,
/// into `pools-SLUG.svg`.
fn pools(results: &RunResults, w: &str, slug: &str) -> Drawn {
    let mut series: Vec<(String, usize)> = Vec::new();
    let mut by_class: Vec<(u64, Vec<Bar>)> = Vec::new();
    for (color, a) in allocators(results).into_iter().enumerate() {
        let medians = pools_by_class(&cells(results, w, a));
        if medians.is_empty() {
            continue;
        }
        let idx = series.len();
        series.push((a.to_string(), color));
        for (class, m) in medians {
            let bar = Bar {
                series: idx,
                value: m,
                error: None,
            };
            match by_class.iter_mut().find(|(c, _)| *c == class) {
                Some((_, bars)) => bars.push(bar),
                None => by_class.push((class, vec![bar])),
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    by_class.sort_by_key(|(c, _)| *c);
    let top = by_class
        .iter()
        .flat_map(|(_, b)| b.iter().map(|b| b.value))
        .fold(1.0, f64::max);
    let groups: Vec<Group> = by_class
        .into_iter()
        .map(|(c, bars)| Group {
            label: c.to_string(),
            bars,
        })
        .collect();
    let y = Axis::linear_whole("pools", top, fmt_count);
    let file = format!("pools-{slug}.svg");
    if let Err(why) = drawable(&file, bar_values(&groups).chain([y.min, y.max])) {
        return Some(Err(why));
    }
    Some(Ok(Figure {
        file,
        section: format!("{w}: engine pools per size class"),
        caption: format!(
            "Pools the pymalloc engine holds for each size class (block size in bytes) in the \
             engine's accounting of {w}; median over repetitions."
        ),
        svg: svg::bar_chart(
            &format!("Engine pools per size class — {w}"),
            "size class (bytes per block)",
            &y,
            &series,
            &groups,
            None,
        ),
    }))
}

/// The engine's pools of each size class `cs` report (its `class_pools` metric), the median
/// over the cells, by class in ascending order; empty for an allocator without them.
fn pools_by_class(cs: &[&CellResult]) -> Vec<(u64, f64)> {
    let mut classes: Vec<u64> = cs
        .iter()
        .flat_map(|c| c.metrics.iter())
        .filter(|m| m.id() == Some(Id::ClassPools))
        .filter_map(|m| m.op.as_deref()?.parse().ok())
        .collect();
    classes.sort_unstable();
    classes.dedup();
    classes
        .into_iter()
        .filter_map(|class| {
            let op = class.to_string();
            let v: Vec<f64> = cs
                .iter()
                .filter_map(|c| c.metric(Id::ClassPools, Some(&op)))
                .collect();
            median(&v).map(|m| (class, m))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_scale_puts_nines_one_decade_apart() {
        assert_eq!(tail_x(0.0), Some(0.0));
        assert!((tail_x(90.0).unwrap() - 1.0).abs() < 1e-12);
        assert!((tail_x(99.9).unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(tail_x(100.0), None);
    }

    /// Specs named `v1.0` and `v1.1` both drew `rss-v1.svg`, and the page showed the second's
    /// chart under the first; a trace of a 245-character name made a file name too long to
    /// write, and the run failed after measuring everything.
    #[test]
    fn every_workload_gets_chart_files_of_its_own_short_enough_to_write() {
        let long = format!("trace:{}", "a".repeat(245));
        let names = ["v1.0", "v1.1", "v1 1", long.as_str()];
        let cells = names
            .iter()
            .map(|w| {
                let mut c = CellResult::new(w, "system", 0, CellKind::Replay);
                c.rss_series = vec![(0, 1), (10, 2048)];
                c
            })
            .collect();
        let (figures, _) = figures(&RunResults::of_cells(cells));
        let mut files: Vec<&str> = figures
            .iter()
            .filter(|f| f.file.starts_with("rss-"))
            .map(|f| f.file.as_str())
            .collect();
        assert!(files.contains(&"rss-v1_0.svg"), "{files:?}");
        assert!(files.iter().all(|f| f.len() < 100), "{files:?}");
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), names.len(), "{files:?}");
    }
}
