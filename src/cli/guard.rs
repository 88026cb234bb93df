//! Checks on a command's outputs made before it does any work, so that a bad combination is
//! one line and exit 2, not a destroyed input or a failure after a long run.

use crate::sys::target::{same_regular_file, why_not_a_directory};
use crate::trace::source::file_of;
use std::ffi::OsStr;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

/// A file a command reads: what it is (for the message) and its path.
pub struct Input {
    pub role: &'static str,
    pub path: PathBuf,
}

/// The files behind workload arguments (built-in workload names are no file).
pub fn workload_inputs(names: &[String]) -> Vec<Input> {
    names
        .iter()
        .filter_map(|name| file_of(name))
        .map(|path| Input {
            role: "the input",
            path,
        })
        .collect()
}

/// The workloads or traces of a repeatable, comma-separated flag (`-w dicts,json -w x.toml`):
/// each value split at its commas unless it names a file or folder that exists as it is, so a
/// spec or trace whose name holds a comma (`-w 'a,b.toml'`) is that file (clap's own splitting
/// made it "unknown workload `a`", with no way to name it).
pub fn name_list(values: Vec<String>) -> Vec<String> {
    let mut names = Vec::new();
    for value in values {
        if value.contains(',') && std::fs::symlink_metadata(&value).is_err() {
            names.extend(value.split(',').map(str::to_string));
        } else {
            names.push(value);
        }
    }
    names
}

/// `--workload` then `--trace` values as one list of workloads ([`name_list`] on each), once
/// every `--trace` value is known to name a trace, however named: `--trace dicts` is not the
/// built-in workload. `run` and `sweep` take their flags so.
pub fn workloads_then_traces(
    workload: Vec<String>,
    trace: Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let (mut workloads, mut traces) = (name_list(workload), name_list(trace));
    crate::trace::Source::require_traces(&traces)?;
    // Traces are workloads like any other from here on.
    workloads.append(&mut traces);
    Ok(workloads)
}

/// The program a command runs, as found on `PATH`, and every argument of it, each taken as
/// a path (a script, a data file): those that name no file are never matched.
pub fn program_inputs<S: AsRef<OsStr>>(program: &[S]) -> Vec<Input> {
    let found = program
        .first()
        .and_then(|p| crate::sys::process::find_program(&p.as_ref().to_string_lossy()));
    found
        .into_iter()
        .map(|path| Input {
            role: "the program",
            path,
        })
        .chain(program.iter().skip(1).map(|a| Input {
            role: "the program's argument",
            path: PathBuf::from(a.as_ref()),
        }))
        .collect()
}

/// Refuses an output that is the same regular file as one of `inputs` (a link to it
/// included): writing it would replace what the command reads.
pub fn refuse_overwriting_inputs(
    outputs: &[(&str, &Path)],
    inputs: &[Input],
) -> anyhow::Result<()> {
    for (flag, out) in outputs {
        if let Some(input) = inputs.iter().find(|i| same_regular_file(out, &i.path)) {
            anyhow::bail!(
                "{flag} {} is {} {}: writing there would replace that input; choose another output file",
                out.display(),
                input.role,
                input.path.display()
            );
        }
    }
    Ok(())
}

/// Refuses to replace whatever is at an output file `out` the user named (a file, a link, a
/// dangling link) unless `force`, as zstd and gzip refuse without `-f`: a trace may be the
/// only copy of a recording (a long program run, on a machine since gone), and a mistyped
/// `-o`, or `record` run twice in one folder, replaced it without a word; an export
/// (`--csv FILE`) mistyped onto a file of one's own loses that file the same way. A device
/// or a FIFO (a pipe to another tool, `/dev/null`) is written as always, and so is one of
/// pybench's own descriptors (`-o /dev/stdout > t.pbt`: the shell opened that file on the
/// user's word, and it is written through the descriptor, not replaced).
pub fn refuse_replacing(flag: &str, out: &Path, force: bool) -> anyhow::Result<()> {
    let Ok(link) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let special = std::fs::metadata(out).is_ok_and(|m| !m.is_file() && !m.is_dir())
        || crate::sys::target::names_own_descriptor(out);
    if force || special || link.is_dir() {
        // A folder is check_output_file's to name.
        return Ok(());
    }
    // A link is replaced, never written through (README, "Reliability"): say so before the
    // user gives --force expecting the file it leads to to change.
    let link = if link.is_symlink() {
        let to = std::fs::read_link(out).unwrap_or_default();
        format!(
            " ({} is a link to {}: --force replaces the link, not what it leads to)",
            out.display(),
            to.display()
        )
    } else {
        String::new()
    };
    anyhow::bail!(
        "{flag} {} already exists; give --force to replace it, or another file name{link}",
        out.display()
    )
}

/// A trace output as given to `-o`, with `-` meaning standard output as it does for `--csv -`:
/// `gen -o -` used to make a file named `-` in the current folder. Written through pybench's
/// descriptor 1 (`/dev/stdout`, which the writer honours, see `sys::target`), and refused
/// when that is a terminal, which a binary trace would only garble.
pub fn trace_output(out: PathBuf) -> anyhow::Result<PathBuf> {
    if out.as_os_str() != "-" {
        return Ok(out);
    }
    anyhow::ensure!(
        !std::io::stdout().is_terminal(),
        "-o - writes the trace to standard output, which is a terminal here; redirect it to a \
         file or a pipe, or give -o FILE"
    );
    Ok(PathBuf::from("/dev/stdout"))
}

/// Longest `--label` or `--name`, in characters: with a timestamp, a `-N` suffix and a
/// temporary's decorations, the file name it becomes stays within NAME_MAX (255 bytes).
pub const LABEL_MAX: usize = 200;

/// Refuses an empty `--label`/`--name` (an unset shell variable, most likely), one too long
/// for a file name, and one holding a control or bidirectional character
/// ([`crate::trace::hostile_in`]): the name is printed, and `record --name` is the trace's
/// name, shown by `stats` and `list`, as a spec's `name` is. Anything else is made portable
/// for the file name by `sys::target::portable_name`.
pub fn check_label(flag: &str, label: &str) -> anyhow::Result<()> {
    if label.is_empty() {
        anyhow::bail!("{flag} is empty; give a name, or leave {flag} out for the default one");
    }
    if let Some(what) = crate::trace::hostile_in(label) {
        anyhow::bail!("{flag} holds {what}; a name must be one line of visible text");
    }
    let n = label.chars().count();
    if n > LABEL_MAX {
        anyhow::bail!("{flag} has {n} characters; at most {LABEL_MAX} fit in a file name");
    }
    Ok(())
}

/// Refuses a folder argument (`--out DIR`) at which no folder can be made, naming what is
/// in the way: the path itself (a regular file, a dangling link) or a part of it.
pub fn check_directory(flag: &str, path: &Path) -> anyhow::Result<()> {
    match why_not_a_directory(path) {
        None => Ok(()),
        Some((at, why)) if at == path => anyhow::bail!("{flag} {} {why}", path.display()),
        Some((at, why)) => anyhow::bail!("{flag} {}: {} {why}", path.display(), at.display()),
    }
}

/// [`check_directory`], and then, with nothing in the way, whether a folder can be made
/// there at all (a read-only folder, `/proc`): for a folder made only after long work
/// (`sweep --plot`) or after the machine's probes (`run`, `exec` and `validate --out`). A
/// probe folder is made and removed in the nearest part of the path that exists, for the
/// few microseconds between the two calls.
pub fn check_directory_writable(flag: &str, path: &Path) -> anyhow::Result<()> {
    check_directory(flag, path)?;
    crate::sys::target::probe_folder(path).map_err(|e| {
        anyhow::anyhow!(
            "{flag} {}: a folder cannot be made or written there: {e}",
            path.display()
        )
    })
}

/// Refuses, before a long run, an output file that could not be written at its end: a
/// directory, a path whose folder is missing or is not a folder, or one in a folder that
/// takes no new file (`sys::atomic_file::probe`).
pub fn check_output_file(flag: &str, path: &Path) -> anyhow::Result<()> {
    // `--csv ''` said "--csv  cannot be written:  is not a file name" (until 2026-12-05).
    if path.as_os_str().is_empty() {
        anyhow::bail!("{flag} is empty: give a file name, or - for stdout");
    }
    if path.is_dir() {
        anyhow::bail!("{flag} {} is a directory", path.display());
    }
    // Before the folder checks below, which pass `a/b/` (its parent is `a`): the write would
    // fail only after the run.
    if crate::sys::target::names_a_folder(path) {
        anyhow::bail!(
            "{flag} {} names a folder (it ends in /): give a file name",
            path.display()
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Some((at, why)) = why_not_a_directory(parent) {
            anyhow::bail!("{flag} {}: {} {why}", path.display(), at.display());
        }
        if !parent.is_dir() {
            anyhow::bail!(
                "{flag} {}: the folder {} does not exist",
                path.display(),
                parent.display()
            );
        }
    }
    crate::sys::atomic_file::probe(path)
        .map_err(|e| anyhow::anyhow!("{flag} {} cannot be written: {e}", path.display()))
}

/// Where an output path points, for comparing two: its folder's canonical path joined with
/// its name (neither need exist as a file); `-`, and a path whose folder does not exist, as
/// given.
pub fn resolved_target(path: &Path) -> std::path::PathBuf {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    match (
        parent.unwrap_or(Path::new(".")).canonicalize(),
        path.file_name(),
    ) {
        (Ok(folder), Some(name)) if path != Path::new("-") => folder.join(name),
        _ => path.to_path_buf(),
    }
}

/// Refuses two outputs at one target — both `-` (stdout), or two paths naming one file,
/// compared by their folder's canonical path and their name since neither need exist yet
/// (`--csv out.csv --json ./out.csv`, `sweep --plot out --csv out`): the second would
/// overwrite or interleave the first, or fail in its way, after all the work.
pub fn refuse_same_target(outputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    for (i, (flag, path)) in outputs.iter().enumerate() {
        if let Some((other, _)) = outputs[..i]
            .iter()
            .find(|(_, p)| resolved_target(p) == resolved_target(path))
        {
            let what = if *path == Path::new("-") {
                "stdout".to_string()
            } else {
                path.display().to_string()
            };
            anyhow::bail!("{other} and {flag} both write to {what}: give each its own target");
        }
    }
    Ok(())
}
