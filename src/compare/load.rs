//! Reading the two result files: a `results.json`, or the one a results folder holds, its
//! size bounded and its format version checked before anything else.

use super::CompareError;
use crate::report::model::{RunResults, FORMAT_VERSION};
use std::path::{Path, PathBuf};

/// The largest `results.json` read: far above any real run (a thousand cells with their
/// series and curves is a few MB), low enough that `/dev/zero` or a stray huge file is
/// refused at once instead of growing the process.
pub const MAX_RESULTS_BYTES: u64 = 256 << 20;

/// Reads a `results.json`, or the one inside a results directory, checking its format
/// version before anything else so an old or newer file gets a version error, not a parse
/// error about some field.
///
/// The file a folder holds must be a regular file: a FIFO there (with no writer, `open`
/// would wait for ever) is refused at once. A path given as the file itself is read
/// whatever it is, so a pipe (`compare <(cat a/results.json) b`) still works.
pub fn load(path: &Path) -> Result<RunResults, CompareError> {
    use crate::sys::fs::{read_bounded_string, read_regular_string, ReadError};
    let file = results_file(path)?;
    let read = if file == path {
        read_bounded_string
    } else {
        read_regular_string
    };
    let text = read(&file, MAX_RESULTS_BYTES, "a results file").map_err(|e| match e {
        ReadError::TooLarge { limit, .. } => CompareError::TooLarge {
            path: file.clone(),
            limit,
        },
        ReadError::NotRegular { kind } => CompareError::NotAFile {
            path: file.clone(),
            kind,
        },
        ReadError::Io(error) => CompareError::Read {
            path: file.clone(),
            error,
        },
        e @ ReadError::NotText { .. } => CompareError::Read {
            path: file.clone(),
            error: e.into(),
        },
    })?;
    parse(&text, &file)
}

/// The `results.json` that `path` names: the file itself, the one in a results folder, or —
/// for the folder given to `run --out`, which holds one timestamped run folder per run — the
/// one in its only run folder. With several run folders there the choice is refused (the
/// newest is named as an example), not guessed.
pub fn results_file(path: &Path) -> Result<PathBuf, CompareError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let own = path.join("results.json");
    if own.exists() {
        return Ok(own);
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("results.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    // Run folders start with their UTC timestamp, so the name order is the time order.
    runs.sort();
    match runs.len() {
        0 => Err(CompareError::NotResults {
            path: path.to_path_buf(),
        }),
        1 => Ok(runs.remove(0).join("results.json")),
        _ => Err(CompareError::SeveralRuns {
            path: path.to_path_buf(),
            runs,
        }),
    }
}

/// Parses the text of a `results.json` (`file` names it in errors), version first.
pub fn parse(text: &str, file: &Path) -> Result<RunResults, CompareError> {
    let corrupt = |reason: String| CompareError::Corrupt {
        path: file.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let version = value
        .get("format_version")
        .ok_or_else(|| corrupt("no format_version field".to_string()))?
        .as_u64()
        .ok_or_else(|| corrupt("format_version is not a number".to_string()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(CompareError::Version {
            path: file.to_path_buf(),
            found: version,
        });
    }
    let results: RunResults = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    // Names first: every later refusal names a cell.
    results.check_names().map_err(corrupt)?;
    results.check_samples().map_err(corrupt)?;
    results.check_metrics().map_err(corrupt)?;
    results.check_unique_cells().map_err(corrupt)?;
    results.check_unique_metrics().map_err(corrupt)?;
    Ok(results)
}
