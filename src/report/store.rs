//! The results directory `results/<utc-timestamp>-<label>/`, rewritten after every cell so a
//! crash or Ctrl-C keeps what was measured (design.md §5).

use super::export::{Csv, Exporter, Json, Markdown};
use super::model::RunResults;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

pub struct ResultsStore {
    dir: PathBuf,
}

impl ResultsStore {
    /// Creates `root/<timestamp>-<label>/`.
    pub fn create(root: &Path, run_name: &str) -> anyhow::Result<Self> {
        let dir = root.join(run_name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create results directory {}", dir.display()))?;
        Ok(ResultsStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes every file; each one atomically (temporary file, then rename).
    pub fn save(&self, results: &RunResults) -> anyhow::Result<()> {
        let exporters: [&dyn Exporter; 3] = [&Json, &Csv, &Markdown];
        for e in exporters {
            write_atomically(&self.dir.join(e.file_name()), |out| e.write(results, out))?;
        }
        Ok(())
    }
}

/// Writes `path` through a temporary sibling so readers never see half a file.
pub fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?,
    );
    f(&mut file).with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes results in `exporter`'s format to a file, or to stdout for `-`.
pub fn export_to(
    target: &str,
    exporter: &dyn Exporter,
    results: &RunResults,
) -> anyhow::Result<()> {
    if target == "-" {
        let mut out = std::io::stdout().lock();
        exporter.write(results, &mut out)?;
        return Ok(());
    }
    write_atomically(Path::new(target), |out| exporter.write(results, out))
}
