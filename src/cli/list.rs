//! `pybench list …`: everything the user can name.

use crate::alloc::registry::{self, AllocOptions};
use crate::alloc::AllocatorSpec;
use crate::pymalloc::{Geometry, Preset};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list; without it, all three in turn.
    #[arg(value_enum)]
    what: Option<ListWhat>,
    /// Allocators only: show just these names, checked as a run checks them.
    ///
    /// An unknown name, or an in-process one not available here, is an error (exit code 2); an
    /// exec-only name (`tcmalloc`, `X@debian`, `NAME=PATH`) is shown with whether its library is
    /// here.
    #[arg(value_name = "NAME")]
    names: Vec<String>,
    /// Also list test-only entries (the `test-crash` allocator).
    #[arg(long)]
    all: bool,
    /// libpython to use for the `cpython:3.X` of its version, before any search.
    #[arg(long, value_name = "PATH")]
    libpython: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListWhat {
    /// pymalloc engine presets and their geometry.
    Presets,
    /// Built-in workloads (name, generator, default scale, description) and the shipped
    /// traces (`trace:NAME`: the CPython that recorded them, size, command).
    Workloads,
    /// Allocators: name, version, and whether each is available here (and why not).
    Allocators,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    if !args.names.is_empty() && !matches!(args.what, Some(ListWhat::Allocators)) {
        // Silently listing everything would look like the names were checked.
        anyhow::bail!(
            "names are taken by `list allocators` only; `list presets` and `list workloads` \
             list everything"
        );
    }
    if let Some(p) = &args.libpython {
        crate::alloc::libpython::check_named_for_list(p).map_err(anyhow::Error::msg)?;
    }
    let mut out = std::io::stdout().lock();
    match args.what {
        Some(ListWhat::Presets) => list_presets(&mut out)?,
        Some(ListWhat::Workloads) => list_workloads(&mut out)?,
        Some(ListWhat::Allocators) => list_allocators(&mut out, &args)?,
        // A bare `pybench list` shows everything that can be named, each part under the
        // command that lists it alone.
        None => {
            writeln!(out, "# pybench list allocators")?;
            list_allocators(&mut out, &args)?;
            writeln!(out, "\n# pybench list workloads")?;
            list_workloads(&mut out)?;
            writeln!(out, "\n# pybench list presets")?;
            list_presets(&mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_allocators(out: &mut impl Write, args: &ListArgs) -> anyhow::Result<()> {
    let opts = AllocOptions {
        libpython: args.libpython.clone(),
    };
    let specs = if args.names.is_empty() {
        registry::all()
            .into_iter()
            .filter(|s| args.all || !s.is_hidden())
            .collect()
    } else {
        // Named ones are checked as a run checks them; exec-only ones as exec does.
        let specs = AllocatorSpec::parse_list(&args.names)?;
        let in_process: Vec<AllocatorSpec> = specs
            .iter()
            .filter(|s| !s.is_exec_only())
            .cloned()
            .collect();
        registry::select_specs(&in_process, &opts)?;
        specs
    };
    let rows: Vec<(String, String, String)> = specs.iter().map(|s| row(s, &opts)).collect();
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(9);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(7);
    writeln!(out, "{:<w0$}  {:<w1$}  available", "allocator", "version")?;
    for (name, version, status) in rows {
        writeln!(out, "{name:<w0$}  {version:<w1$}  {status}")?;
    }
    writeln!(
        out,
        "also: pymalloc:arena=SIZE,pool=SIZE (custom engine geometry, see `pybench list presets`);\n\
         exec and validate: NAME=PATH (or --preload NAME=PATH) preloads any allocator library; \
         jemalloc, mimalloc, snmalloc are pybench's preload libraries of the crates above, \
         pymalloc:PRESET the engine inside the interpreter"
    )?;
    Ok(())
}

/// One row: name, version, and whether it is available here (and why not).
fn row(spec: &AllocatorSpec, opts: &AllocOptions) -> (String, String, String) {
    if spec.is_exec_only() {
        return match crate::exec::contender::by_spec(spec) {
            Ok(c) => (
                spec.name(),
                c.version,
                format!(
                    "exec only (preloads {})",
                    c.preload
                        .map_or_else(String::new, |p| p.display().to_string())
                ),
            ),
            Err(e) => (spec.name(), "-".into(), format!("exec only, not here: {e}")),
        };
    }
    let a = spec.availability(opts);
    // `run` loads these in process; `exec` and `validate` preload a library of pybench's
    // own, which a binary copied away from its build folder does not find: say so here
    // rather than only when an exec's allocator fails after the others ran.
    let exec_missing = match crate::exec::contender::by_spec(spec) {
        Err(e @ crate::exec::contender::ContenderError::OwnLibrary { .. }) => Some(e.to_string()),
        _ => None,
    };
    let status = match (a.status, exec_missing) {
        (Ok(note), Some(e)) if note.is_empty() => format!("yes; not for exec/validate: {e}"),
        (Ok(note), Some(e)) => format!("yes ({note}); not for exec/validate: {e}"),
        (Ok(note), None) if note.is_empty() => "yes".to_string(),
        (Ok(note), None) => format!("yes ({note})"),
        (Err(reason), _) => format!("no: {reason}"),
    };
    (spec.name(), a.version.unwrap_or_else(|| "-".into()), status)
}

fn list_presets(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<14} {:>8} {:>8} {:>11} {:>10}",
        "preset", "arena", "pool", "pools/arena", "keep spare"
    )?;
    for p in Preset::ALL {
        let g: Geometry = p.geometry();
        writeln!(
            out,
            "{:<14} {:>8} {:>8} {:>11} {:>10}",
            p.name(),
            crate::pymalloc::format_size(g.arena_size()),
            crate::pymalloc::format_size(g.pool_size()),
            g.pools_per_arena(),
            if g.keeps_spare_arena() { "yes" } else { "no" }
        )?;
    }
    writeln!(
        out,
        "custom geometries: arena=SIZE,pool=SIZE[,keep_spare=false], e.g. arena=512K,pool=8K"
    )
}

fn list_workloads(out: &mut impl Write) -> anyhow::Result<()> {
    let mut rows: Vec<[String; 4]> = vec![[
        "workload".into(),
        "generator".into(),
        "scale".into(),
        "description".into(),
    ]];
    for (name, _) in crate::workload::BUILTINS {
        let w = crate::workload::Workload::builtin(name)?;
        rows.push([
            w.name,
            w.params.generator().to_string(),
            w.scale.to_string(),
            w.description,
        ]);
    }
    rows.extend(trace_rows());
    // One width per column for built-ins and traces alike, so every row lines up.
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for [name, generator, scale, what] in &rows {
        writeln!(out, "{name:<w0$} {generator:<w1$} {scale:>w2$}  {what}")?;
    }
    writeln!(
        out,
        "a spec file path works wherever a name does: --workload my.toml (format: README.md);\n\
         so does a trace file, whatever its name: --workload my.pbt or --trace my.pbt"
    )?;
    Ok(())
}

/// Traces shipped in `workloads/traces/`: name, python, size and the recorded command (from
/// the header only, so listing stays instant).
fn trace_rows() -> Vec<[String; 4]> {
    use crate::trace::source::{shipped, PREFIX};
    shipped()
        .into_iter()
        .map(|(name, path)| {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            let (kind, what) = match crate::trace::TraceReader::open(&path) {
                Ok(r) => {
                    let m = r.meta().printable();
                    (
                        format!("{} {}", m.source, m.python),
                        format!("{} KiB: {}", size >> 10, m.command.join(" ")),
                    )
                }
                Err(e) => ("unreadable".to_string(), e.to_string()),
            };
            [format!("{PREFIX}{name}"), kind, "-".to_string(), what]
        })
        .collect()
}
