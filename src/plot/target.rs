//! Where `pybench plot --out DIR` may write: `index.html` and `plots/*.svg` are replaced in
//! place, which is what re-plotting a run's own folder means, but in another run's results
//! folder it would overwrite that run's charts with this one's (and leave those of its
//! workloads this run lacks), beside a `results.json` they no longer describe.

use crate::report::model::RunResults;
use std::path::Path;

/// Refuses `out` when it holds the `results.json` of a run other than `results`, or (unless
/// `force`) an `index.html` that is not a pybench run page — a page of the user's own,
/// which the run's page would replace — or a file under `plots/`
/// with the name of one of this run's charts that is not a pybench chart (a folder of the
/// user's own `plots/ops_per_sec.svg` lost it without a word); any other folder, existing
/// or not, is fine. The folder the results were read from is checked too: a run's own
/// folder holds only its own page and charts, which pass, but `plot baseline.json` in a
/// folder of the user's own wrote over its `index.html` and charts without `--force` while
/// the same files anywhere else were refused (found in review, 2026-12-07).
///
/// `read_from` is the results file `results` came from: when it is `out`'s own
/// `results.json`, the run is this one without reading the file again (a run's folder,
/// re-plotted, is the common case, and a results file may hold 256 MiB).
pub fn check_out(
    results: &RunResults,
    read_from: &Path,
    out: &Path,
    force: bool,
) -> anyhow::Result<()> {
    let index = out.join("index.html");
    if !force && std::fs::symlink_metadata(&index).is_ok() && !is_run_page(&index) {
        anyhow::bail!(
            "--out {} holds an index.html that pybench did not write: this run's page would \
             replace it; choose another folder, or --force to replace it",
            out.display()
        );
    }
    if !force {
        let plots = out.join("plots");
        let foreign: Vec<String> = super::figures(results)
            .0
            .into_iter()
            .map(|f| f.file)
            .filter(|f| {
                let path = plots.join(f);
                std::fs::symlink_metadata(&path).is_ok() && !drawn_by_pybench(&path)
            })
            .collect();
        if let Some(first) = foreign.first() {
            anyhow::bail!(
                "--out {}: {} that pybench did not draw ({}{}): this run's charts would \
                 replace it; choose another folder, or --force to replace it",
                out.display(),
                if foreign.len() == 1 {
                    "plots/ holds a file"
                } else {
                    "plots/ holds files"
                },
                plots.join(first).display(),
                match foreign.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                }
            );
        }
    }
    let theirs = out.join("results.json");
    if !theirs.exists() || crate::sys::target::same_regular_file(&theirs, read_from) {
        return Ok(());
    }
    // Read as the folder's file, not a path given directly: a FIFO there is refused at once
    // (as "of its own"), not waited on.
    let other = match crate::compare::load(out) {
        Ok(r) if r.run == results.run => return Ok(()),
        Ok(r) => format!("another run's results ({})", r.run),
        Err(_) => "a results.json of its own".to_string(),
    };
    anyhow::bail!(
        "--out {} holds {other}: its index.html and plots would be replaced by those of {}; \
         choose another folder",
        out.display(),
        results.run
    )
}

/// Whether `path` is a regular file (not a link) that begins as the page `plot::html` writes:
/// its title, within the first 256 bytes, names a pybench run (pages of every pybench that
/// wrote one do).
fn is_run_page(path: &Path) -> bool {
    use crate::sys::fs::{is_symlink, regular_file_head};
    const TITLE: &[u8] = b"<title>pybench run ";
    let Some(head) = (!is_symlink(path))
        .then(|| regular_file_head::<256>(path))
        .flatten()
    else {
        return false;
    };
    head.starts_with(b"<!DOCTYPE html>") && head.windows(TITLE.len()).any(|w| w == TITLE)
}

/// Whether `path` is a regular file (not a link) that begins as every chart `plot::svg` and
/// `plot::heatmap` draw: their opening tag, with the charts' font list. What `plot --out` and
/// `sweep --plot` may replace without `--force`.
pub fn drawn_by_pybench(path: &Path) -> bool {
    use super::svg::{FONTS, OPENING};
    use crate::sys::fs::{is_symlink, regular_file_head};
    let Some(head) = (!is_symlink(path))
        .then(|| regular_file_head::<256>(path))
        .flatten()
    else {
        return false;
    };
    let fonts = format!("font-family=\"{FONTS}\"");
    head.starts_with(OPENING.as_bytes()) && head.windows(fonts.len()).any(|w| w == fonts.as_bytes())
}

/// The charts an earlier plot left in `plots` that this one did not write (`written`): files
/// named as `plot` names its charts (`ops_per_sec.svg`, `frag_ratio.svg`, `rss-*`,
/// `latency-*` and `pools-*.svg`) that pybench drew ([`drawn_by_pybench`]). Plotting run B
/// into a folder run A's charts were in left A's `rss-dicts.svg` beside B's, where it read as
/// B's (and a chart B could not draw left A's of that name in its place). Anything else —
/// a sweep's heatmaps, a file of the user's own — is not named.
pub(super) fn stale_charts(
    plots: &Path,
    written: &[std::path::PathBuf],
) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(plots) else {
        return Vec::new();
    };
    let chart_name = |name: &str| {
        name.ends_with(".svg")
            && (name == "ops_per_sec.svg"
                || name == "frag_ratio.svg"
                || ["rss-", "latency-", "pools-"]
                    .iter()
                    .any(|p| name.starts_with(p)))
    };
    let mut out: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter(|e| chart_name(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| !written.contains(p) && drawn_by_pybench(p))
        .collect();
    out.sort();
    out
}
