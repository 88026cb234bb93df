//! `pybench fidelity`: the engine preset against the real obmalloc of the same CPython version,
//! on the same event stream (see `harness::fidelity`).

use crate::exit::Exit;
use crate::harness::fidelity;
use crate::harness::trace_fidelity::{TraceFidelity, TraceRow};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FidelityArgs {
    /// Workload to replay (built-in name or spec file).
    #[arg(long, short, default_value = "dicts")]
    workload: String,
    /// CPython version to compare (default: the workload's).
    ///
    /// Its engine preset and real obmalloc are compared. The workload's version is a spec's
    /// `python` or a trace's recorded version, as `run` decides.
    #[arg(long, value_name = "3.X")]
    python: Option<String>,
    /// Instead of a workload: a trace recorded by `pybench record`.
    ///
    /// It is replayed into the engine preset of its Python version from the interpreter's recorded
    /// start-up state and compared with the interpreter's own accounting at the end of the program
    /// (both stored in the trace; no interpreter is run). (`trace:NAME` names a shipped trace.)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["workload", "python", "scale", "seed", "libpython"])]
    trace: Option<String>,
    /// Allocation requests to model (overrides the spec).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed (overrides the spec).
    #[arg(long, value_parser = super::spec_args::parse_seed)]
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
        super::printed(print_trace(&f, args.json))?;
        return Ok(if f.flagged == 0 {
            ExitCode::SUCCESS
        } else {
            Exit::Regressed.into()
        });
    }
    let report = fidelity::measure(&fidelity::Request {
        workload: args.workload,
        python: args.python,
        scale: args.scale,
        seed: args.seed,
        libpython: args.libpython,
    })?;
    for note in &report.measurement.notes {
        crate::stderr_line!("warning: {note}");
    }
    super::printed(print_workload(&report, args.json))?;
    Ok(if report.flagged == 0 {
        ExitCode::SUCCESS
    } else {
        Exit::Regressed.into()
    })
}

/// Prints a workload's comparison: a table, or the JSON document.
fn print_workload(r: &fidelity::Report, json: bool) -> anyhow::Result<()> {
    let (m, rows, flagged) = (&r.measurement, &r.rows, r.flagged);
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "measurement": m, "rows": rows, "flagged": flagged });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} on Python {}: engine preset {} vs the real obmalloc of {} ({} events)",
        m.workload, m.python, r.preset, m.library, m.events
    )?;
    writeln!(out, "{}\n", fidelity::start_line(m.interpreter_started))?;
    writeln!(
        out,
        "{:<14} {:>9} {:>9} {:>6}  verdict",
        "figure", "engine", "cpython", "slack"
    )?;
    for row in rows {
        let verdict = if row.flagged { "DIFFERS" } else { "ok" };
        writeln!(
            out,
            "{:<14} {:>9} {:>9} {:>6}  {verdict}",
            row.what, row.engine, row.cpython, row.slack
        )?;
    }
    writeln!(
        out,
        "\n{} of {} figures differ beyond ±1 pool per class / ±1 arena (blocks must match exactly)",
        flagged,
        rows.len()
    )?;
    Ok(())
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
        f.trace,
        crate::trace::printable(&f.python),
        f.preset,
        f.events,
        f.trace_events
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
