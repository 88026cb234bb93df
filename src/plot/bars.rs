//! Bar charts: one metric's median per (workload, allocator), with min–max error bars.

use super::finite::{bar_values, drawable, Drawn};
use super::labels::{fmt_count, fmt_ratio};
use super::svg::{self, Axis, Bar, Group};
use super::{allocators, cells, Figure};
use crate::metrics::Id;
use crate::report::model::RunResults;
use crate::stats::median;

/// Median bars with min–max error bars of one metric, workloads × allocators.
pub(super) fn bars(results: &RunResults, workloads: &[&str], metric: Id) -> Drawn {
    let series = allocators(results);
    let groups: Vec<Group> = workloads
        .iter()
        .map(|w| bar_group(results, w, &series, metric))
        .collect();
    if groups.iter().all(|g| g.bars.is_empty()) {
        return None;
    }
    let top = bar_values(&groups).fold(0.0, f64::max);
    let names: Vec<(String, usize)> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_string(), i))
        .collect();
    let BarLabels {
        title,
        y,
        reference,
        section,
        caption,
    } = bar_labels(metric, top, &results.parameters.repetitions_said());
    let file = format!("{metric}.svg");
    if let Err(why) = drawable(&file, bar_values(&groups).chain([y.min, y.max])) {
        return Some(Err(why));
    }
    Some(Ok(Figure {
        file,
        section: section.to_string(),
        caption,
        svg: svg::bar_chart(title, "workload", &y, &names, &groups, reference),
    }))
}

/// What a bar chart says around its bars: only throughput and fragmentation are drawn so.
struct BarLabels {
    title: &'static str,
    y: Axis,
    /// A horizontal line with its label (fragmentation's 1.0).
    reference: Option<(f64, &'static str)>,
    section: &'static str,
    caption: String,
}

/// The labels of `metric`'s bar chart, whose tallest bar is `top`, over `reps` (as the run
/// says its repetitions).
fn bar_labels(metric: Id, top: f64, reps: &str) -> BarLabels {
    if metric == Id::OpsPerSec {
        BarLabels {
            title: "Throughput per workload",
            // Gross, as `ops_per_sec` is: said on the axis and in the caption, since the
            // tables above the chart give net ops/s (the harness's cost taken out), a larger
            // figure for the same allocator that a reader took for a contradiction.
            y: Axis::linear(
                "gross throughput (ops/s, harness included)",
                0.0,
                top,
                fmt_count,
            ),
            reference: None,
            section: "Throughput",
            caption: format!(
                "Events replayed per second of the untimed loop, the harness's own cost (null) \
                 included — gross, where the tables' net ops/s leave it out: median of {reps}; \
                 error bars span the slowest to the fastest repetition. Higher is better."
            ),
        }
    } else {
        BarLabels {
            title: "Fragmentation: peak RSS / peak live bytes",
            y: Axis::linear(
                "frag_ratio (1.0 = no overhead)",
                0.0,
                top.max(1.0),
                fmt_ratio,
            ),
            reference: Some((1.0, "RSS = live bytes")),
            section: "Fragmentation",
            caption: format!(
                "Peak RSS above the baseline divided by the peak of live requested bytes: median \
                 of {reps}, error bars from the smallest to the largest. Lower is \
                 better; below 1 means pages of the live set were never touched."
            ),
        }
    }
}

/// One workload's bars: per allocator the median of `metric` over its repetitions, with an
/// error bar from the smallest to the largest when there are several; none for an allocator
/// without the figure.
fn bar_group(results: &RunResults, w: &str, series: &[&str], metric: Id) -> Group {
    let mut bars = Vec::new();
    for (i, a) in series.iter().enumerate() {
        let v: Vec<f64> = cells(results, w, a)
            .iter()
            .filter_map(|c| c.metric(metric, None))
            .collect();
        let (Some(m), Some(lo), Some(hi)) = (
            median(&v),
            v.iter().copied().reduce(f64::min),
            v.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        bars.push(Bar {
            series: i,
            value: m,
            error: (v.len() > 1).then_some((lo, hi)),
        });
    }
    Group {
        label: w.to_string(),
        bars,
    }
}
