//! Which file a workload argument names: a shipped trace found by name in the trace
//! directories, a trace or spec file given by path, sniffed for a trace's magic bytes, and
//! refused when it is a pipe that cannot be read twice.

use super::PREFIX;
use crate::trace::format::MAGIC;
use crate::trace::EXTENSION;
use crate::workload::Workload;
use std::path::{Path, PathBuf};

/// Directories searched for shipped traces: `workloads/traces` under the current directory,
/// then under the source tree the binary was built from (so a built binary finds them when
/// run from anywhere on the build machine).
pub fn trace_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("workloads/traces")];
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/traces");
    if dirs[0].canonicalize().ok() != built.canonicalize().ok() {
        dirs.push(built);
    }
    dirs
}

/// Shipped traces, `(name, path)`, sorted by name; the first directory wins on a clash.
pub fn shipped() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for dir in trace_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some(EXTENSION) {
                continue;
            }
            if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                if !out.iter().any(|(n, _)| n == stem) {
                    out.push((stem.to_string(), p));
                }
            }
        }
    }
    out.sort();
    out
}

/// True when the file at `path` starts with a trace's magic bytes (a missing or short file
/// is not a trace, nor is anything but a regular file: a FIFO is refused by
/// [`refuse_pipe`], and sniffing one must not wait for a writer).
pub fn has_trace_magic(path: &Path) -> bool {
    crate::sys::fs::regular_file_head::<{ MAGIC.len() }>(path) == Some(MAGIC)
}

/// Whether a workload argument names a trace: `trace:NAME`, a `.pbt` file (meant as a
/// trace even when it is not one, so the error says so rather than "bad spec"), or a file
/// that starts with a trace's magic.
pub(super) fn names_a_trace(name: &str) -> bool {
    name.starts_with(PREFIX)
        || name.ends_with(&format!(".{EXTENSION}"))
        || has_trace_magic(Path::new(name))
}

/// The file a workload argument reads, decided as [`super::Source::load`] decides it: a trace's
/// (a shipped trace's path for `trace:NAME`) or a spec file's; `None` for a built-in name or
/// an unknown shipped trace.
pub fn file_of(name: &str) -> Option<PathBuf> {
    if names_a_trace(name) {
        return trace_path(name).ok();
    }
    Workload::names_a_file(name).then(|| PathBuf::from(name))
}

/// Refuses a pipe or socket (`<(cat t.pbt)`): a trace is read more than once (its block
/// index, then its events) and any file is first sniffed for a trace's magic bytes, which a
/// pipe cannot give back.
pub fn refuse_pipe(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let kind = meta.file_type();
    if kind.is_fifo() || kind.is_socket() {
        anyhow::bail!(
            "{}: cannot be read from a pipe: pybench reads a trace or spec more than once, so it needs a regular file (save it to one first)",
            path.display()
        );
    }
    Ok(())
}

/// Refuses a trace argument (`stats TRACE`) that names something other than a regular file:
/// a FIFO or socket as [`refuse_pipe`] does, a device or a folder by what it is. Such a name
/// fell through to the spec reader, which read `/dev/zero` up to the spec's size limit and
/// called it "larger than the limit … (a workload spec)", and `/tmp` "cannot read workload
/// spec"; nothing is opened here, so nothing can block or read without end.
pub fn refuse_special_file(name: &str) -> anyhow::Result<()> {
    if name.starts_with(PREFIX) {
        return Ok(());
    }
    let path = Path::new(name);
    refuse_pipe(path)?;
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => anyhow::bail!(
            "{name} is a {}, not a trace: give a trace file (.pbt) or trace:NAME",
            crate::sys::target::kind_name(m.file_type())
        ),
        _ => Ok(()),
    }
}

/// The file of a trace name or path.
pub fn trace_path(name: &str) -> anyhow::Result<PathBuf> {
    // `--trace a.pbt,` or `--trace ''` said ": cannot open: No such file or directory".
    anyhow::ensure!(
        !name.trim().is_empty(),
        "an empty trace name (two commas in a row, a comma at an end, or an empty argument): \
         name a trace file between every two commas"
    );
    let Some(short) = name.strip_prefix(PREFIX) else {
        refuse_pipe(Path::new(name))?;
        return Ok(PathBuf::from(name));
    };
    let found = shipped();
    // `-w trace:` said "unknown trace ``" and suggested nothing.
    anyhow::ensure!(
        !short.trim().is_empty(),
        "`{PREFIX}` names no trace: write {PREFIX}NAME, NAME one of the shipped traces: {}",
        listing(&found)
    );
    match found.iter().find(|(n, _)| n == short) {
        // A shipped name can be a link to a FIFO: refused as the same FIFO given by path is,
        // before anything opens it (which would wait for a writer).
        Some((_, p)) => {
            refuse_pipe(p)?;
            Ok(p.clone())
        }
        None => anyhow::bail!(
            "unknown trace `{short}`{}; shipped traces: {} (searched {})",
            crate::suggest::did_you_mean(short, found.iter().map(|(n, _)| n.as_str())),
            listing(&found),
            trace_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The shipped traces' names for a message, "none" when there are none.
fn listing(found: &[(String, PathBuf)]) -> String {
    if found.is_empty() {
        return "none".to_string();
    }
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    names.join(", ")
}
