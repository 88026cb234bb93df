//! The results directory `results/<utc-timestamp>-<label>/`, rewritten before each
//! measurement that follows a new cell (`harness::runner::SavingSink`) so a crash or Ctrl-C
//! keeps what was measured (design.md §5).

use super::export::{Csv, Exporter, Json, Markdown};
use super::model::RunResults;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

pub struct ResultsStore {
    dir: PathBuf,
}

impl ResultsStore {
    /// Creates a new `root/<run_name>/` with `mkdir`: an existing directory (or a link
    /// planted under that name) is never reused; the name gets a `-2`, `-3`, … suffix instead.
    pub fn create(root: &Path, run_name: &str) -> anyhow::Result<Self> {
        let dir = crate::sys::fs::create_unique_dir(root, run_name).with_context(|| {
            format!(
                "cannot create results directory {}",
                root.join(run_name).display()
            )
        })?;
        Ok(ResultsStore { dir })
    }

    /// Creates exactly `dir` with `mkdir` (its parent if missing): an existing directory, file
    /// or planted link under that name is refused, never written into.
    pub fn create_new(dir: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => Ok(ResultsStore {
                dir: dir.to_path_buf(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
                "{} already exists; choose a new folder (nothing is written into an existing one)",
                dir.display()
            ),
            Err(e) => Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory's own name (the run's name, with its suffix if one was needed).
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// Removes the run's directory and everything in it, for a command that failed before
    /// measuring anything (`validate` whose program cannot be recorded): a folder holding an
    /// empty run would only be mistaken for a result. The directory was made by this
    /// command ([`Self::create`] never reuses one), so all it holds is this command's.
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
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

/// Writes `path` through a fresh temporary beside it (`sys::fs::AtomicFile`), so readers
/// never see half a file, a planted link is never followed, and an error leaves nothing.
pub fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    crate::sys::fs::write_atomically(path, f)
        .with_context(|| format!("cannot write {}", path.display()))
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
