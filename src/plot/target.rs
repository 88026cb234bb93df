//! Where `pybench plot --out DIR` may write: `index.html` and `plots/*.svg` are replaced in
//! place, which is what re-plotting a run's own folder means, but in another run's results
//! folder it would overwrite that run's charts with this one's (and leave those of its
//! workloads this run lacks), beside a `results.json` they no longer describe.

use crate::report::model::RunResults;
use std::path::Path;

/// Refuses `out` when it holds the `results.json` of a run other than `results` (read from
/// the folder `from`); any other folder, existing or not, is fine.
pub fn check_out(results: &RunResults, from: &Path, out: &Path) -> anyhow::Result<()> {
    let theirs = out.join("results.json");
    if !theirs.exists() || same_folder(from, out) {
        return Ok(());
    }
    let other = match crate::compare::load(&theirs) {
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

fn same_folder(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
