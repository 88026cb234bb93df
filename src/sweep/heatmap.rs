//! `--plot DIR`: one heatmap per workload, spare-arena policy and figure, arena size (rows)
//! × pool size (columns), presets outlined and named, Pareto-best geometries starred and
//! named under the grid.

use super::{SweepCell, SweepResult};
use crate::plot::heatmap::{heatmap, HeatAxes, HeatCell};
use crate::pymalloc::format_size;
use crate::report::summary::human;
use std::path::{Path, PathBuf};

/// A figure of a cell that gets its own heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    PeakHeapRss,
    MeanHeapRss,
    Churn,
    PeakArenas,
    FinalArenas,
    UnusedPoolBytes,
    QuantizationBytes,
}

impl Figure {
    pub const ALL: [Figure; 7] = [
        Figure::PeakHeapRss,
        Figure::MeanHeapRss,
        Figure::Churn,
        Figure::PeakArenas,
        Figure::FinalArenas,
        Figure::UnusedPoolBytes,
        Figure::QuantizationBytes,
    ];

    /// The file-name part, as in the CSV's column names.
    pub fn slug(self) -> &'static str {
        match self {
            Figure::PeakHeapRss => "peak_heap_rss",
            Figure::MeanHeapRss => "mean_heap_rss",
            Figure::Churn => "churn",
            Figure::PeakArenas => "peak_arenas",
            Figure::FinalArenas => "final_arenas",
            Figure::UnusedPoolBytes => "unused_pool_bytes",
            Figure::QuantizationBytes => "quantization_bytes",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Figure::PeakHeapRss => "peak heap RSS (carved pools)",
            Figure::MeanHeapRss => "mean heap RSS over the run (carved pools)",
            Figure::Churn => "arena churn (mmap + munmap)",
            Figure::PeakArenas => "peak arenas",
            Figure::FinalArenas => "arenas at the end",
            Figure::UnusedPoolBytes => "unused-pool bytes at the end",
            Figure::QuantizationBytes => "quantization bytes at the end",
        }
    }

    fn value(self, c: &SweepCell) -> usize {
        let a = &c.accounting;
        match self {
            Figure::PeakHeapRss => a.peak_heap_rss,
            Figure::MeanHeapRss => a.mean_heap_rss,
            Figure::Churn => a.churn(),
            Figure::PeakArenas => a.peak_arenas,
            Figure::FinalArenas => a.final_arenas,
            Figure::UnusedPoolBytes => a.unused_pool_bytes,
            Figure::QuantizationBytes => a.quantization_bytes,
        }
    }

    fn is_bytes(self) -> bool {
        matches!(
            self,
            Figure::PeakHeapRss
                | Figure::MeanHeapRss
                | Figure::UnusedPoolBytes
                | Figure::QuantizationBytes
        )
    }
}

/// The part of a workload's heatmap file names that names it (`sweep-<stem>-churn.svg`).
pub fn file_stem(workload: &str) -> String {
    slug(workload)
}

/// A workload name usable in a file name: the plots' slug of the name without `trace:`.
fn slug(s: &str) -> String {
    crate::plot::slug(s.strip_prefix("trace:").unwrap_or(s))
}

fn sorted_unique(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

/// One figure's heatmap of `cells` (one workload, one spare policy); `best` names the
/// workload's Pareto-best geometries.
fn draw(cells: &[&SweepCell], f: Figure, title: &str, best: &[String], placement: &str) -> String {
    let arenas = sorted_unique(
        cells
            .iter()
            .map(|c| c.point.geometry.arena_size())
            .collect(),
    );
    let pools = sorted_unique(cells.iter().map(|c| c.point.geometry.pool_size()).collect());
    let label = |v: &[usize]| v.iter().map(|&n| format_size(n)).collect::<Vec<_>>();
    let (cols, rows) = (label(&pools), label(&arenas));
    let hcells: Vec<HeatCell> = cells
        .iter()
        .map(|c| {
            let g = c.point.geometry;
            let v = f.value(c);
            let mark = c.point.preset_label();
            HeatCell {
                col: pools.iter().position(|&p| p == g.pool_size()).unwrap_or(0),
                row: arenas
                    .iter()
                    .position(|&a| a == g.arena_size())
                    .unwrap_or(0),
                value: v as f64,
                text: if f.is_bytes() {
                    human(v as f64, true)
                } else {
                    v.to_string()
                },
                mark: (!mark.is_empty()).then(|| format!("CPython {mark}")),
                best: c.pareto,
            }
        })
        .collect();
    let axes = HeatAxes {
        x_label: "pool size",
        cols: &cols,
        y_label: "arena size",
        rows: &rows,
    };
    let mut caption = vec![
        "★ Pareto-best: no other geometry is as good on mean heap RSS and churn and better on one:"
            .to_string(),
    ];
    caption.extend(wrap(best, 95));
    caption.push(format!(
        "outlined: CPython presets; grey: not swept or impossible; lighter = lower; arenas placed {placement}"
    ));
    heatmap(title, &axes, &hcells, &caption)
}

/// `names` (joined by "; ") in lines of at most about `width` characters, so a long list of
/// Pareto-best geometries stays inside the picture.
fn wrap(names: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for n in names {
        match lines.last_mut() {
            Some(l) if l.chars().count() + n.chars().count() + 2 <= width => {
                l.push_str("; ");
                l.push_str(n);
            }
            _ => lines.push(format!("  {n}")),
        }
    }
    lines
}

/// Every heatmap of a sweep, as (file name, SVG).
pub fn figures(r: &SweepResult) -> Vec<(String, String)> {
    let mut workloads: Vec<&str> = Vec::new();
    for c in &r.cells {
        if !workloads.contains(&c.workload.as_str()) {
            workloads.push(&c.workload);
        }
    }
    let mut out = Vec::new();
    for w in workloads {
        let mine: Vec<&SweepCell> = r.cells.iter().filter(|c| c.workload == w).collect();
        let best: Vec<String> = mine
            .iter()
            .filter(|c| c.pareto)
            .map(|c| c.point.geometry.to_string())
            .collect();
        for spare in [true, false] {
            let cells: Vec<&SweepCell> = mine
                .iter()
                .copied()
                .filter(|c| c.point.geometry.keeps_spare_arena() == spare)
                .collect();
            if cells.is_empty() {
                continue;
            }
            let policy = if spare { "" } else { "-nospare" };
            let policy_title = if spare {
                "spare arena kept"
            } else {
                "no spare arena"
            };
            for f in Figure::ALL {
                let title = format!("{w}: {} ({policy_title})", f.title());
                let file = format!("sweep-{}-{}{policy}.svg", slug(w), f.slug());
                out.push((file, draw(&cells, f, &title, &best, r.placement.name())));
            }
        }
    }
    out
}

/// Writes every heatmap into `dir` (created if missing), each file atomically; returns them.
pub fn write(r: &SweepResult, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (file, svg) in figures(r) {
        let path = dir.join(file);
        crate::sys::fs::write_atomically(&path, |out| out.write_all(svg.as_bytes()))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{slug, wrap};

    #[test]
    fn file_names_drop_the_trace_prefix_and_the_path() {
        assert_eq!(slug("trace:webapp"), "webapp");
        assert_eq!(slug("trace:traces/my run.pbt"), "my_run");
        assert_eq!(slug("workloads/churn.toml"), "churn");
    }

    #[test]
    fn long_lists_of_names_wrap_without_losing_one() {
        let names: Vec<String> = (0..12).map(|i| format!("arena={i}M,pool=16K")).collect();
        let lines = wrap(&names, 60);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 62), "{lines:?}");
        let joined = lines.join(" ");
        assert!(names.iter().all(|n| joined.contains(n.as_str())));
        assert!(wrap(&[], 60).is_empty());
    }
}
