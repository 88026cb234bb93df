//! `pybench fidelity`: the engine preset against the real obmalloc of the same CPython version,
//! on the same event stream (see `harness::fidelity`).

use crate::alloc::libpython::{is_minor, probe_version};
use crate::alloc::AllocatorSpec;
use crate::exit::Exit;
use crate::harness::cell::{CellOptions, CellSpec};
use crate::harness::fidelity::{compare, FidelityMeasurement, FIDELITY_SUBCOMMAND};
use crate::harness::runner::run_child;
use crate::harness::trace_fidelity::{TraceFidelity, TraceRow};
use crate::pymalloc::Preset;
use crate::trace::Source;
use crate::workload::{Overrides, PyVersion};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct FidelityArgs {
    /// Workload to replay (built-in name or spec file).
    #[arg(long, short, default_value = "dicts")]
    workload: String,
    /// CPython version whose engine preset and real obmalloc are compared (default: the
    /// workload's — a spec's `python`, a trace's recorded version — as `run` decides).
    #[arg(long, value_name = "3.X")]
    python: Option<String>,
    /// Instead of a workload: a trace recorded by `pybench record`, replayed into the engine
    /// preset of its Python version from the interpreter's recorded start-up state and
    /// compared with the interpreter's own accounting at the end of the program (both stored
    /// in the trace; no interpreter is run).
    /// (`trace:NAME` names a shipped trace.)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["workload", "python", "scale", "seed", "libpython"])]
    trace: Option<String>,
    /// Allocation requests to model (overrides the spec).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed (overrides the spec).
    #[arg(long)]
    seed: Option<u64>,
    /// libpython to load instead of searching for it.
    #[arg(long, value_name = "PATH")]
    libpython: Option<PathBuf>,
    /// Print the measurement and comparison as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: FidelityArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.trace {
        let f = crate::harness::trace_fidelity::measure(path)?;
        print_trace(&f, args.json)?;
        return Ok(if f.flagged == 0 {
            ExitCode::SUCCESS
        } else {
            Exit::Regressed.into()
        });
    }
    let asked: Option<PyVersion> = match &args.python {
        Some(v) => {
            anyhow::ensure!(
                Preset::for_python(v).is_some(),
                "no engine preset for Python {v}; valid: 3.8 … 3.13"
            );
            Some(v.parse().map_err(|e: String| anyhow::anyhow!(e))?)
        }
        None => None,
    };
    // Fail on a bad workload here, in one line, rather than in the child.
    let source = Source::load(&args.workload)?;
    // The rule `run` follows: --python if given, else the version the events are shaped for.
    let python = asked.unwrap_or_else(|| source.python());
    let preset = Preset::for_python(python.name())
        .ok_or_else(|| anyhow::anyhow!("no engine preset for Python {python}"))?;
    if let Some(lib) = &args.libpython {
        check_libpython(lib, python, asked.is_some())?;
    }
    let options = CellOptions {
        overrides: Overrides {
            python: Some(python),
            scale: args.scale,
            seed: args.seed,
            ..Overrides::default()
        },
        libpython: args.libpython.clone(),
        ..CellOptions::default()
    };
    let spec = CellSpec::new(&source, AllocatorSpec::Cpython(python), 0, &options);
    let json = serde_json::to_string(&spec)?;
    let line = run_child(FIDELITY_SUBCOMMAND, &json, Duration::from_secs(600))
        .map_err(|reason| anyhow::anyhow!("fidelity measurement failed: {reason}"))?;
    let m: FidelityMeasurement = serde_json::from_str(&line)?;
    for note in &m.notes {
        eprintln!("warning: {note}");
    }
    let rows = compare(&m, preset.geometry());
    let flagged = rows.iter().filter(|r| r.flagged).count();
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({ "measurement": m, "rows": rows, "flagged": flagged });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(
            out,
            "{} on Python {}: engine preset {} vs the real obmalloc of {} ({} events)",
            m.workload, m.python, preset, m.library, m.events
        )?;
        writeln!(
            out,
            "CPython figures are after − before the replay; slack = how many fewer its start-up pools allow\n"
        )?;
        writeln!(
            out,
            "{:<14} {:>9} {:>9} {:>6}  verdict",
            "figure", "engine", "cpython", "slack"
        )?;
        for r in &rows {
            let verdict = if r.flagged { "DIFFERS" } else { "ok" };
            writeln!(
                out,
                "{:<14} {:>9} {:>9} {:>6}  {verdict}",
                r.what, r.engine, r.cpython, r.slack
            )?;
        }
        writeln!(
            out,
            "\n{} of {} figures differ beyond ±1 pool per class / ±1 arena (blocks must match exactly)",
            flagged,
            rows.len()
        )?;
    }
    Ok(if flagged == 0 {
        ExitCode::SUCCESS
    } else {
        Exit::Regressed.into()
    })
}

/// Refuses a `--libpython` that is not CPython `python` (the search would otherwise skip it
/// and quietly load another library of the right version).
fn check_libpython(lib: &Path, python: PyVersion, asked: bool) -> anyhow::Result<()> {
    let found =
        probe_version(lib).map_err(|e| anyhow::anyhow!("--libpython {}: {e}", lib.display()))?;
    let minor = python
        .name()
        .strip_prefix("3.")
        .and_then(|m| m.parse().ok());
    if minor.is_some_and(|m| is_minor(&found, m)) {
        return Ok(());
    }
    anyhow::bail!("{}", libpython_mismatch(lib, &found, python, asked))
}

/// The one line saying a `--libpython` of version `found` cannot serve a comparison on
/// `python`, and what to pass instead.
fn libpython_mismatch(lib: &Path, found: &str, python: PyVersion, asked: bool) -> String {
    let whose = if asked {
        "--python"
    } else {
        "the workload's version"
    };
    let short: String = found.split('.').take(2).collect::<Vec<_>>().join(".");
    let instead = match short.parse::<PyVersion>() {
        Ok(v) => format!("pass --python {v} or a libpython{python}"),
        Err(_) => format!("pass a libpython{python} (fidelity compares 3.8 … 3.13)"),
    };
    format!(
        "--libpython {} is CPython {found}, not {python} ({whose}); {instead}",
        lib.display()
    )
}

/// Prints a `fidelity --trace` comparison.
fn print_trace(f: &TraceFidelity, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(f)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} (Python {}): engine preset {} from the recorded start-up state, {} of {} events (up to the end report)",
        f.trace, f.python, f.preset, f.events, f.trace_events
    )?;
    let table = |out: &mut std::io::StdoutLock, rows: &[TraceRow]| -> std::io::Result<()> {
        writeln!(
            out,
            "{:<16} {:>9} {:>9} {:>6}  verdict",
            "figure", "engine", "cpython", "±"
        )?;
        for r in rows {
            let (tol, verdict) = match r.tolerance {
                Some(t) => (t.to_string(), if r.flagged { "DIFFERS" } else { "ok" }),
                None => ("".into(), "shown"),
            };
            writeln!(
                out,
                "{:<16} {:>9} {:>9} {:>6}  {verdict}",
                r.what, r.engine, r.cpython, tol
            )?;
        }
        Ok(())
    };
    writeln!(
        out,
        "\nstart: the seeded engine against the report at hook installation"
    )?;
    table(&mut out, &f.start)?;
    writeln!(
        out,
        "\nend: after the replay, against the report at the end of the program"
    )?;
    table(&mut out, &f.rows)?;
    let p = &f.prehook;
    writeln!(
        out,
        "\nfrees of blocks allocated before the hook: {} freed a phantom of their class, {} of unknown class, {} with no phantom left, {} not kept",
        p.applied, p.unknown_class, p.no_phantom, p.dropped
    )?;
    writeln!(
        out,
        "{} of {} end figures differ beyond their tolerance (arenas and pools per class ±1; blocks ± the frees not applied)",
        f.flagged,
        f.rows.iter().filter(|r| r.tolerance.is_some()).count()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_libpython_of_another_version_is_named_with_both_versions() {
        let lib = Path::new("/x/libpython3.9.so");
        assert_eq!(
            libpython_mismatch(lib, "3.9.18", PyVersion::V3_11, false),
            "--libpython /x/libpython3.9.so is CPython 3.9.18, not 3.11 (the workload's \
             version); pass --python 3.9 or a libpython3.11"
        );
        let lib = Path::new("/x/libpython2.7.so");
        assert_eq!(
            libpython_mismatch(lib, "2.7.18", PyVersion::V3_9, true),
            "--libpython /x/libpython2.7.so is CPython 2.7.18, not 3.9 (--python); pass a \
             libpython3.9 (fidelity compares 3.8 … 3.13)"
        );
    }
}
