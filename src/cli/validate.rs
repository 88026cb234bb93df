//! `pybench validate -- python3 app.py ARGS…`: does the replay's verdict hold for the program
//! itself? Records the program's trace, replays it against the allocators, runs the program
//! under each (as `exec`), and prints both sides with their rankings and agreement.

use super::exec::{
    check_program, contenders, program_label, report_problems, run_programs, start_results,
    ProgramArgs,
};
use super::output;
use crate::alloc::{AllocOptions, AllocatorSpec};
use crate::exec::validate::{validate, Pairing};
use crate::exec::Contender;
use crate::harness::cell::CellSpec;
use crate::harness::replay::Touch;
use crate::harness::runner::{self, Plan};
use crate::report::model::AllocatorInfo;
use crate::report::validation::render;
use crate::trace::record::{exit_code, record, Options};
use crate::trace::{source::Source, Meta};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// The in-process allocator that stands for an exec contender in the replay: the real
/// obmalloc of the recorded version for `pymalloc` (the engine preset when that libpython is
/// missing); the same allocator for the others that exist in process; none otherwise.
fn replay_allocator(c: &Contender, python: &str, opts: &AllocOptions) -> Option<String> {
    let available = |name: &str| {
        name.parse::<AllocatorSpec>()
            .is_ok_and(|s| s.availability(opts).status.is_ok())
    };
    let name = match c.name.as_str() {
        "pymalloc" => {
            let real = format!("cpython:{python}");
            if available(&real) {
                return Some(real);
            }
            format!("pymalloc:cpython-{python}")
        }
        // The engine in the interpreter is replayed as the engine with the same geometry.
        n if n.starts_with("pymalloc:") => n.to_string(),
        "system" | "jemalloc" | "mimalloc" | "snmalloc" => c.name.clone(),
        // Debian's builds are compared with the crate builds; the table shows both versions.
        n => n.strip_suffix("@debian")?.to_string(),
    };
    available(&name).then_some(name)
}

pub fn run(args: ProgramArgs) -> anyhow::Result<ExitCode> {
    check_program(&args.program)?;
    let (set, mut problems) = contenders(&args.allocators, &args.preload)?;
    let label = program_label(&args.program);
    let (store, mut results) =
        start_results(&args.output, "validate", &args.program, &set, args.repeat)?;

    // 1. Record the program's allocator calls.
    let trace = store.dir().join(format!("{label}.pbt"));
    if !args.output.quiet {
        eprintln!("recording {label} …");
    }
    let meta = Meta {
        source: "recorded".into(),
        name: label.clone(),
        command: args.program.clone(),
        domains: vec!["obj".into(), "mem".into(), "raw".into()],
        ..Meta::default()
    };
    let opts = Options {
        program: args.program.iter().map(Into::into).collect(),
        out: trace.clone(),
        domains: 0b111,
    };
    let (rec, problem) = record(&opts, meta)?;
    if let Some(p) = problem {
        anyhow::bail!("cannot record {label}: {p}");
    }
    let code = exit_code(rec.status);
    if code != 0 {
        anyhow::bail!(
            "{label} failed while being recorded (exit status {code}); nothing to validate"
        );
    }

    // 2. Replay it against the in-process equivalents.
    let trace_name = trace.display().to_string();
    let source = Source::load(&trace_name)?;
    let python = source.python().to_string();
    // The recorded interpreter's full version (e.g. 3.11.7), for the manifest.
    let python_full = match &source {
        Source::Trace { meta, .. } => meta.python.clone(),
        _ => python.clone(),
    };
    let alloc_opts = AllocOptions::default();
    let pairing: Pairing = set
        .iter()
        .map(|c| (c.name.clone(), replay_allocator(c, &python, &alloc_opts)))
        .collect();
    // Both sides' versions go into the manifest: the preloaded libraries are not the crates
    // linked for replay (e.g. mimalloc 2.0.9 from Debian against 3.x in process).
    for replay in pairing.iter().filter_map(|(_, r)| r.as_ref()) {
        let version = replay
            .parse::<AllocatorSpec>()
            .ok()
            .and_then(|s| s.availability(&alloc_opts).version)
            .unwrap_or_else(|| "unknown".to_string());
        results.allocators.push(AllocatorInfo {
            name: format!("{replay} (replay)"),
            version,
        });
    }
    // The real `pymalloc` is the recorded interpreter's own obmalloc: the same build as the
    // replay's `cpython:X` when that libpython is the same version.
    if let Some(info) = results.allocators.iter_mut().find(|a| a.name == "pymalloc") {
        info.version = format!("CPython {python_full}");
    }
    let mut cells = Vec::new();
    for rep in 0..args.repeat {
        for replay in pairing.iter().filter_map(|(_, r)| r.as_ref()) {
            cells.push(CellSpec {
                workload: trace_name.clone(),
                python: None,
                scale: None,
                seed: None,
                allocator: replay.clone(),
                repetition: rep,
                touch: Touch::Header,
                sample_every: 1,
                libpython: None,
            });
        }
    }
    runner::install_sigint_handler();
    let plan = Plan {
        cells,
        timeout: Duration::from_secs(600),
        progress: !args.output.quiet,
    };
    let outcome = runner::run_and_save(&plan, &store, &mut results, |_| {})?;
    let mut interrupted = outcome == runner::Outcome::Interrupted;

    // 3. Run the program itself under each allocator.
    if !interrupted {
        interrupted = run_programs(&args, &set, &label, &store, &mut results, &mut problems)?;
    }

    // 4. Both sides, side by side.
    let v = validate(&results, &args.program.join(" "), &trace_name, &pairing);
    results.validation = Some(v.clone());
    let code = output::finish(&args.output, &store, &mut results, interrupted)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", render(&v))?;
    Ok(report_problems(&problems, code))
}
