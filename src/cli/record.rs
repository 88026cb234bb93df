//! `pybench record [-o FILE] [--domains obj,mem,raw] -- PROGRAM ARGS…`: record the allocator
//! calls of a CPython program into a trace, then summarise it on stderr.

use crate::exit::Exit;
use crate::sys::target::portable_name;
use crate::trace::record::{
    busy_machine_note, environment_warning, exit_code, record_then, Launch, Options,
};
use crate::trace::{Meta, EXTENSION};
use anyhow::Context as _;
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Trace file to write (default: NAME.pbt in the current directory).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Allocator domains to record, comma separated: obj, mem, raw.
    #[arg(long, value_delimiter = ',', default_value = "obj,mem,raw")]
    domains: Vec<String>,
    /// Name of the trace (default: the output file's stem, else `trace`).
    ///
    /// Without -o the trace goes to NAME.pbt here, made portable as `run --label` is: any character
    /// but ASCII letters, digits and `-_+.`, and a leading `.`, becomes `_`.
    #[arg(long)]
    name: Option<String>,
    /// Also store each event's pace: the CPU cycles since the previous call.
    ///
    /// The cycles (TSC) are those the program ran since its previous allocator call, kept in an
    /// optional column of the trace (about 0.1 – 0.3 bytes an event).
    #[arg(long)]
    pace: bool,
    /// Convert after the program exits instead of while it runs.
    ///
    /// The hook's records spill to a nameless temporary file beside the output (16 bytes an event,
    /// 24 with --pace: 0.5 GB for 30 M events). The program then competes only with a copy, not
    /// with the converter (40 – 50 ns an event): use it when the other cores are busy (without it,
    /// a note says so when less than one and a half cores are free as the recording starts).
    #[arg(long)]
    defer: bool,
    /// Seconds after which the program is killed (default: no limit).
    ///
    /// It is killed with SIGKILL, with every process it started; the trace keeps what it recorded
    /// until then, and pybench exits 137 as the program did.
    #[arg(long, value_name = "SECS", value_parser = super::program::parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// No summary after recording, and no note about a busy machine before it.
    #[arg(short, long)]
    quiet: bool,
    /// Replace the output file if it exists.
    ///
    /// Without it, an existing file is refused: a trace may be the only copy of a recording.
    #[arg(short, long)]
    force: bool,
    /// The program and its arguments, after `--`: e.g. `-- python3 script.py ARGS`.
    #[arg(last = true, value_name = "PROGRAM")]
    program: Vec<OsString>,
}

/// Parses `--domains` into the hook's mask (bit 0 RAW, 1 MEM, 2 OBJ) and sorted names.
fn domain_mask(names: &[String]) -> anyhow::Result<(u8, Vec<String>)> {
    let mut mask = 0u8;
    for n in names {
        mask |= match n.trim() {
            "raw" => 1,
            "mem" => 2,
            "obj" => 4,
            other => anyhow::bail!("unknown domain `{other}`; valid domains: obj, mem, raw"),
        };
    }
    let listed = ["raw", "mem", "obj"]
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    Ok((mask, listed))
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let (opts, meta) = request(&args)?;
    if let Some(w) = environment_warning(&opts.launch) {
        crate::stderr_line!("pybench: warning: {w}");
    }
    // Measured now, said once the recording is sure to start (a refused output comes alone);
    // under -q neither (the measurement takes 100 ms).
    let note = (!args.quiet)
        .then(|| busy_machine_note(opts.defer))
        .flatten();
    let (rec, problem) = record_then(&opts, meta, || {
        if let Some(n) = note {
            crate::stderr_line!("pybench: note: {n}");
        }
    })?;
    let code = exit_code(rec.status);
    if let Some(p) = problem {
        crate::stderr_line!("pybench: error: {p}");
        // The program ran: its own failure status wins, else ours.
        return Ok(ExitCode::from(if code != 0 {
            code
        } else {
            Exit::Usage.code()
        }));
    }
    let out = rec.out.clone().unwrap_or_else(|| opts.out.clone());
    if out != opts.out {
        // Even with -q: the trace is not where it was asked for.
        crate::stderr_line!(
            "pybench: warning: {} appeared while the program ran (a second record into this folder, or the program itself): it is kept, and this trace is saved as {}",
            opts.out.display(),
            out.display()
        );
    }
    if rec.timed_out {
        crate::stderr_line!(
            "pybench: warning: the program ran longer than --timeout {} s and was killed: the trace holds what it did until then",
            args.timeout.unwrap_or_default().as_secs()
        );
    } else if let Some(w) = rec.incomplete_warning().or_else(|| rec.failure_warning()) {
        crate::stderr_line!("pybench: warning: {w}");
    }
    if !args.quiet {
        print_summary(&rec, &out, code)?;
    }
    Ok(ExitCode::from(code))
}

/// The recording's options and the trace's header from the flags, refused before the program
/// runs when they cannot give a trace the user would want (no program, `-o -`, an output
/// that is one of the program's inputs or an existing file without `--force`).
fn request(args: &RecordArgs) -> anyhow::Result<(Options, Meta)> {
    if args.program.is_empty() {
        anyhow::bail!(
            "no program to record; usage: pybench record [-o FILE] -- python3 script.py ARGS…"
        );
    }
    // `-` is standard output for `gen` and `convert`; here the program writes there too, and
    // its output would land inside the trace.
    anyhow::ensure!(
        args.out.as_deref() != Some(std::path::Path::new("-")),
        "-o - would put the trace on standard output, where the program writes too; give -o FILE"
    );
    let (mask, domains) = domain_mask(&args.domains)?;
    if let Some(name) = &args.name {
        super::guard::check_label("--name", name)?;
    }
    let (name, out) = name_and_output(args);
    // Before the program runs: `-o script.py -- python3 script.py` would replace the script.
    super::guard::refuse_overwriting_inputs(
        &[("-o", &out)],
        &super::guard::program_inputs(&args.program),
    )?;
    let flag = if args.out.is_some() {
        "-o"
    } else {
        "the default output"
    };
    super::guard::refuse_replacing(flag, &out, args.force)?;
    let meta = Meta {
        source: "recorded".into(),
        name,
        command: args
            .program
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        domains,
        ..Meta::default()
    };
    let opts = Options {
        program: args.program.clone(),
        out,
        domains: mask,
        pace: args.pace,
        defer: args.defer,
        launch: Launch::Own,
        timeout: args.timeout,
        replace: args.force,
    };
    Ok((opts, meta))
}

/// The trace's name (`--name`, else the output's stem, else `trace`) and its output file
/// (`-o`, else NAME.pbt here).
fn name_and_output(args: &RecordArgs) -> (String, PathBuf) {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .as_ref()
            .and_then(|p| p.file_stem())
            .map_or("trace".to_string(), |s| s.to_string_lossy().into_owned())
    });
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.{}", portable_name(&name), EXTENSION)));
    (name, out)
}

/// The trace's summary and the recording's closing line, on stderr (stdout is the
/// program's).
fn print_summary(
    rec: &crate::trace::record::Recorded,
    out: &std::path::Path,
    code: u8,
) -> anyhow::Result<()> {
    // A trace written into a FIFO or a device cannot be read back: no summary, no size.
    let file = std::fs::metadata(out).ok().filter(|m| m.is_file());
    let c = &rec.counters;
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let size = match &file {
        Some(m) => {
            let stats = super::stats::summarize_trace(out)
                .with_context(|| format!("cannot read back {}", out.display()))?;
            crate::stderr_text!("{stats}");
            format!(" ({})", super::trace_size(m.len(), rec.events))
        }
        None => String::new(),
    };
    crate::stderr_line!(
        "recorded {} events in {:.2} s to {}{size}; frees of blocks from before the hook: {} dropped; threads: {}; exit status {code}",
        rec.events,
        rec.wall.as_secs_f64(),
        out.display(),
        get("unknown_frees"),
        get("threads"),
    );
    Ok(())
}
