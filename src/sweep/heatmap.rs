//! `--plot DIR`: one heatmap per workload, spare-arena policy and figure, arena size (rows)
//! × pool size (columns), presets outlined and named, Pareto-best geometries starred and
//! named under the grid.

use super::{SweepCell, SweepResult};
use crate::plot::heatmap::{heatmap, HeatAxes, HeatCell};
use crate::pymalloc::format_size;
use crate::report::summary::human;
use std::collections::HashMap;
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

/// The part of each workload's heatmap file names that names it (`sweep-<stem>-churn.svg`),
/// one per workload: `readable_stem`, and where two workloads share that (`a/x.pbt` and
/// `b/x.pbt`) a hash of the whole name after it, as the run's plots do.
pub fn file_stems<'a>(workloads: &[&'a str]) -> HashMap<&'a str, String> {
    crate::plot::distinct_by(workloads, readable_stem)
}

/// A workload name usable in a file name: the plots' slug of the name without `trace:`, a
/// trace's or spec's folder and its `.pbt` or `.toml` (a sweep names a file by its path as
/// typed). Other dots stay: a spec named `v1.0` is not `v1`.
fn readable_stem(s: &str) -> String {
    let s = s.strip_prefix("trace:").unwrap_or(s);
    let path = std::path::Path::new(s);
    let known = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("pbt" | "toml")
    );
    let name = match (known, path.file_stem(), path.file_name()) {
        (true, Some(stem), _) => stem.to_string_lossy(),
        (false, _, Some(name)) => name.to_string_lossy(),
        _ => s.into(),
    };
    crate::plot::slug(&name)
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
    let workloads = crate::report::first_seen(r.cells.iter().map(|c| c.workload.as_str()));
    let stems = file_stems(&workloads);
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
                let file = format!("sweep-{}-{}{policy}.svg", stems[w], f.slug());
                out.push((file, draw(&cells, f, &title, &best, r.placement.name())));
            }
        }
    }
    out
}

/// The first line of every heatmap a sweep writes. With the name (`sweep-*.svg`) it is how a
/// later sweep into the folder knows the file as one it may remove; a file without it (a
/// user's own, or a heatmap of a pybench from before 2026-12-05) is never touched. (No
/// double hyphen inside: XML forbids it in a comment.)
pub const OWNER_MARK: &str =
    "<!-- pybench sweep heatmap: the next sweep plotting into this folder replaces or removes it -->";

/// What [`write`](fn@write) did in the folder.
#[derive(Debug, Default)]
pub struct Written {
    /// This sweep's heatmaps.
    pub files: Vec<PathBuf>,
    /// Heatmaps an earlier sweep wrote there that this one did not draw (another workload,
    /// spare policy or figure), removed so none left looks like this sweep's.
    pub removed: Vec<PathBuf>,
    /// One line for each such heatmap that could not be removed.
    pub warnings: Vec<String>,
}

impl Written {
    /// "14 heatmaps in DIR", and what was removed: "; removed 2 an earlier sweep wrote there
    /// that this one did not draw: sweep-dicts-churn.svg, sweep-dicts-peak_arenas.svg" (the
    /// first three named).
    pub fn summary(&self, dir: &Path) -> String {
        let mut line = format!("{} heatmaps in {}", self.files.len(), dir.display());
        if !self.removed.is_empty() {
            let names: Vec<String> = (self.removed.iter().take(3))
                .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
                .collect();
            let more = if self.removed.len() > 3 { ", …" } else { "" };
            line.push_str(&format!(
                "; removed {} an earlier sweep wrote there that this one did not draw: {}{more}",
                self.removed.len(),
                names.join(", ")
            ));
        }
        line
    }
}

/// Refuses (unless `force`) to draw into `dir` where a file has the name of one of this
/// sweep's heatmaps and pybench did not draw it ([`OWNER_MARK`], or a chart's opening for a
/// heatmap from before the mark): it would be replaced, and a file of the user's own named
/// `sweep-dicts-churn.svg` was, without a word. Called before anything is written.
pub fn check_targets(r: &SweepResult, dir: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let foreign: Vec<PathBuf> = figures(r)
        .into_iter()
        .map(|(file, _)| dir.join(file))
        .filter(|p| {
            std::fs::symlink_metadata(p).is_ok() && !marked(p) && !crate::plot::drawn_by_pybench(p)
        })
        .collect();
    match foreign.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!(
            "--plot {}: {}{} is not a heatmap pybench drew, and this sweep's heatmap of that \
             name would replace it; choose another folder, or --force to replace it",
            dir.display(),
            first.display(),
            match foreign.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            }
        ),
    }
}

/// Writes every heatmap into `dir` (created if missing), each file atomically, then removes
/// the heatmaps an earlier sweep wrote there that this one did not ([`OWNER_MARK`]): the
/// folder holds one sweep's heatmaps, as `--csv` holds one sweep's table. Nothing is removed
/// unless every new heatmap was written.
pub fn write(r: &SweepResult, dir: &Path) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut out = Written::default();
    for (file, svg) in figures(r) {
        let path = dir.join(file);
        crate::sys::fs::write_atomically(&path, |f| {
            writeln!(f, "{OWNER_MARK}")?;
            f.write_all(svg.as_bytes())
        })
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        out.files.push(path);
    }
    for path in earlier_heatmaps(dir, &out.files) {
        match std::fs::remove_file(&path) {
            Ok(()) => out.removed.push(path),
            Err(e) => out.warnings.push(format!(
                "{} is a heatmap of an earlier sweep that this one did not draw, and could not \
                 be removed: {e}",
                path.display()
            )),
        }
    }
    Ok(out)
}

/// The heatmaps in `dir` an earlier sweep wrote (named `sweep-*.svg`, regular files whose
/// first line is [`OWNER_MARK`]) other than `current`, by name.
fn earlier_heatmaps(dir: &Path, current: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("sweep-") && name.ends_with(".svg")
        })
        .map(|e| e.path())
        .filter(|p| !current.contains(p) && marked(p))
        .collect();
    out.sort();
    out
}

/// Whether `path` is a regular file (not a link) that begins with [`OWNER_MARK`].
fn marked(path: &Path) -> bool {
    use crate::sys::fs::{is_symlink, regular_file_head};
    !is_symlink(path)
        && regular_file_head::<{ OWNER_MARK.len() }>(path)
            .is_some_and(|head| head[..] == *OWNER_MARK.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{earlier_heatmaps, file_stems, readable_stem, wrap, OWNER_MARK};
    use std::path::PathBuf;

    /// Only pybench's own heatmaps, by name and first line, are taken for an earlier
    /// sweep's: a user's `sweep-*.svg`, a marked file by another name, a link to a marked
    /// file and the current sweep's own are not.
    #[test]
    fn an_earlier_heatmap_is_known_by_its_name_and_its_mark() {
        let dir = std::env::temp_dir().join(format!("pybench-heatmap-mark-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let marked = format!("{OWNER_MARK}\n<svg/>");
        for (name, text) in [
            ("sweep-old-churn.svg", marked.as_str()),
            ("sweep-new-churn.svg", marked.as_str()),
            ("sweep-mine.svg", "<svg/>"),
            ("notes.svg", marked.as_str()),
            ("sweep-short.svg", "<!-- pybench"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::os::unix::fs::symlink(dir.join("sweep-old-churn.svg"), dir.join("sweep-link.svg"))
            .unwrap();
        let current: Vec<PathBuf> = vec![dir.join("sweep-new-churn.svg")];
        assert_eq!(
            earlier_heatmaps(&dir, &current),
            vec![dir.join("sweep-old-churn.svg")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_names_drop_the_trace_prefix_the_path_and_the_extension_only() {
        assert_eq!(readable_stem("trace:webapp"), "webapp");
        assert_eq!(readable_stem("trace:traces/my run.pbt"), "my_run");
        assert_eq!(readable_stem("workloads/churn.toml"), "churn");
        // A spec's name is no path: its dots are not an extension.
        assert_eq!(readable_stem("v1.0"), "v1_0");
        assert_eq!(readable_stem("trace:t/run.v2.pbt"), "run_v2");
        // A long trace name is cut short enough to write (plus `sweep-` and the figure).
        assert!(readable_stem(&format!("t/{}.pbt", "a".repeat(245))).len() <= 80);
    }

    #[test]
    fn workloads_sharing_a_stem_get_files_of_their_own() {
        let s = file_stems(&["trace:a/x.pbt", "trace:b/x.pbt", "v1.0", "v1.1", "dicts"]);
        assert_eq!((s["v1.0"].as_str(), s["v1.1"].as_str()), ("v1_0", "v1_1"));
        assert_eq!(s["dicts"], "dicts");
        let (a, b) = (&s["trace:a/x.pbt"], &s["trace:b/x.pbt"]);
        assert!(
            a.starts_with("x-") && b.starts_with("x-") && a != b,
            "{a} {b}"
        );
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
