//! `pybench exec -- python3 app.py ARGS…`: run the program itself once per allocator per
//! repetition, interleaved (A B C A B C …) so drift spreads evenly.

use super::output::{self, OutputArgs};
use crate::exec::engine_site::EngineReport;
use crate::exec::{contender, execute, to_cell, Contender};
use crate::report::model::{AllocatorInfo, CellKind, CellResult, RunParameters, RunResults};
use crate::report::store::ResultsStore;
use clap::Args;
use std::process::ExitCode;

/// The arguments of `exec` and `validate`: which allocators, how often, and the program.
#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// Allocators: pymalloc (the interpreter as it is); pymalloc:PRESET or
    /// pymalloc:arena=SIZE,pool=SIZE (pybench's engine serving the interpreter's MEM and OBJ
    /// domains); system (PYTHONMALLOC=malloc); jemalloc, mimalloc, snmalloc (PYTHONMALLOC=malloc
    /// and LD_PRELOAD of pybench's own build of the crate the replay links); jemalloc@debian,
    /// mimalloc@debian, tcmalloc (Debian's libraries). Default: pymalloc, system, jemalloc,
    /// mimalloc, snmalloc.
    #[arg(long, short, value_delimiter = ',')]
    pub(super) allocators: Vec<String>,
    /// Another allocator library to preload, as NAME=PATH (repeatable; real runs only, it has
    /// no in-process replay).
    #[arg(long, value_name = "NAME=PATH")]
    pub(super) preload: Vec<String>,
    /// Runs per allocator, interleaved (for `validate`: on each side, replay and real; five
    /// give the 95 % intervals and significance tests a useful resolution).
    #[arg(long, short, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) repeat: u32,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub(super) program: Vec<String>,
}

/// The contenders asked for, or the default set, and the one-line problems of those that
/// cannot run (a preload library that was not built, a geometry that cannot serve): the
/// others still run, and the problems end the command with exit code 2. Usage errors
/// (unknown names, bad `--preload`) stop it before any run.
pub fn contenders(
    names: &[String],
    preloads: &[String],
) -> anyhow::Result<(Vec<Contender>, Vec<String>)> {
    let (mut set, mut problems) = if names.is_empty() {
        let (set, problems) = contender::default_set();
        (set, problems.iter().map(ToString::to_string).collect())
    } else {
        (Vec::new(), Vec::new())
    };
    for n in &contender::rejoin_geometries(names) {
        match contender::by_name(n) {
            Ok(c) => set.push(c),
            Err(e) if contender::is_local(&e) => problems.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    for p in preloads {
        match contender::from_preload_arg(p) {
            Ok(c) => set.push(c),
            Err(e) if contender::is_local(&e) => problems.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((set, problems))
}

/// Ends a command whose runs were written: each problem in one line, exit code 2.
pub fn report_problems(problems: &[String], code: ExitCode) -> ExitCode {
    for p in problems {
        eprintln!("error: {p}");
    }
    if problems.is_empty() {
        code
    } else {
        ExitCode::from(2)
    }
}

/// Fails in one line when the program cannot be started at all.
pub fn check_program(program: &[String]) -> anyhow::Result<()> {
    let Some(first) = program.first() else {
        anyhow::bail!("no program given: pybench exec -- python3 app.py ARGS…");
    };
    let path = std::path::Path::new(first);
    let found = if first.contains('/') {
        path.is_file()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(first).is_file()))
            .unwrap_or(false)
    };
    if !found {
        anyhow::bail!("cannot start `{first}`: no such program");
    }
    Ok(())
}

/// A short label for the program: the script's file stem, the module of `-m MODULE`, `inline`
/// for `-c CODE`, else the command's name.
pub fn program_label(program: &[String]) -> String {
    let stem = |p: &str| {
        std::path::Path::new(p)
            .file_stem()
            .map_or_else(|| p.to_string(), |s| s.to_string_lossy().into_owned())
    };
    let args = &program[1..];
    if let Some(script) = args.iter().find(|a| a.ends_with(".py")) {
        return stem(script);
    }
    if let Some(i) = args.iter().position(|a| a == "-m") {
        if let Some(module) = args.get(i + 1) {
            return module.clone();
        }
    }
    if args.iter().any(|a| a == "-c") {
        return format!("{}-inline", stem(&program[0]));
    }
    stem(&program[0])
}

/// The results directory `<timestamp>-<kind>-<label>` and manifest of a run of real programs.
pub fn start_results(
    output: &OutputArgs,
    kind: &str,
    program: &[String],
    set: &[Contender],
    repeat: u32,
) -> anyhow::Result<(ResultsStore, RunResults)> {
    let parameters = RunParameters {
        workloads: vec![program.join(" ")],
        allocators: set.iter().map(|c| c.name.clone()).collect(),
        repetitions: repeat,
        ..RunParameters::default()
    };
    let infos = set
        .iter()
        .map(|c| AllocatorInfo {
            name: c.name.clone(),
            version: c.version.clone(),
        })
        .collect();
    let label = format!("{kind}-{}", program_label(program));
    output::start(output, &label, parameters, infos)
}

/// Runs the program `repeat` times under every contender, interleaved, saving each run's
/// cell as it finishes. Returns true when Ctrl-C stopped it early.
pub fn run_programs(
    args: &ProgramArgs,
    set: &[Contender],
    label: &str,
    store: &ResultsStore,
    results: &mut RunResults,
    problems: &mut Vec<String>,
) -> anyhow::Result<bool> {
    let (program, repeat, quiet) = (&args.program, args.repeat, args.output.quiet);
    crate::harness::runner::install_sigint_handler();
    let total = set.len() as u32 * repeat;
    let mut done = 0;
    // Engine contenders the interpreter cannot host: one failed run says why; no more runs.
    let mut refused: Vec<String> = Vec::new();
    for rep in 0..repeat {
        for c in set {
            if crate::harness::runner::interrupted() {
                return Ok(true);
            }
            if refused.contains(&c.name) {
                continue;
            }
            done += 1;
            if !quiet {
                eprintln!(
                    "[{done}/{total}] {label} under {} (run {})",
                    c.name,
                    rep + 1
                );
            }
            let cell = match execute(program, c, quiet) {
                Ok(e) => {
                    if let Some(EngineReport::Refused(reason)) = &e.engine {
                        refused.push(c.name.clone());
                        problems.push(format!("{}: {reason}", c.name));
                    }
                    to_cell(label, c, rep, &e)
                }
                Err(e) => {
                    let reason = format!("cannot start `{}`: {e}", program[0]);
                    let mut cell = CellResult::failed(label, &c.name, rep, reason);
                    cell.kind = CellKind::Exec;
                    cell
                }
            };
            results.cells.push(cell);
            store.save(results)?;
        }
    }
    Ok(crate::harness::runner::interrupted())
}

pub fn run(args: ProgramArgs) -> anyhow::Result<ExitCode> {
    check_program(&args.program)?;
    let (set, mut problems) = contenders(&args.allocators, &args.preload)?;
    let label = program_label(&args.program);
    let (store, mut results) =
        start_results(&args.output, "exec", &args.program, &set, args.repeat)?;
    let interrupted = run_programs(&args, &set, &label, &store, &mut results, &mut problems)?;
    let code = output::finish(&args.output, &store, &mut results, interrupted)?;
    Ok(report_problems(&problems, code))
}

#[cfg(test)]
mod tests {
    use super::program_label;

    fn label(args: &[&str]) -> String {
        program_label(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn labels_name_the_script_module_or_command() {
        assert_eq!(
            label(&["python3", "-X", "dev", "app/serve.py", "--port", "1"]),
            "serve"
        );
        assert_eq!(
            label(&["python3", "-m", "json.tool", "big.json"]),
            "json.tool"
        );
        assert_eq!(label(&["python3", "-c", "x = [1] * 9"]), "python3-inline");
        assert_eq!(label(&["/usr/bin/env"]), "env");
    }
}
