//! The `exec` pipeline: a real program run once per allocator per repetition, interleaved
//! (A B C A B C …) so drift spreads evenly, every run saved as a cell when it ends.

use super::contender::{self, Contender, ContenderError};
use super::engine_site::EngineReport;
use super::{execute, to_cell};
use crate::alloc::{AllocError, AllocatorSpec};
use crate::harness::runner;
use crate::harness::throughput::round_order;
use crate::report::model::{AllocatorInfo, CellKind, CellResult, RunParameters, RunResults};
use crate::report::store::ResultsStore;
use crate::stats::SplitMix64;

/// A real program and how to run it, as the command line gives them.
#[derive(Debug)]
pub struct ProgramRequest {
    /// The program and its arguments.
    pub program: Vec<String>,
    /// Named allocators (`-a` and `--preload`); empty for the default set.
    pub allocators: Vec<AllocatorSpec>,
    pub repetitions: u32,
    /// No progress lines, and the program's own output discarded.
    pub quiet: bool,
    /// The program's standard input in every run (`--stdin`); `/dev/null` without.
    pub stdin: Option<std::path::PathBuf>,
    /// A run (and `validate`'s recording) longer than this is killed and reported as failed.
    pub timeout: Option<std::time::Duration>,
}

impl ProgramRequest {
    /// How its runs' standard streams are set up.
    pub fn streams(&self) -> super::measure::Streams {
        super::measure::Streams {
            quiet: self.quiet,
            stdin: self.stdin.clone(),
        }
    }

    /// Before any run: a `--stdin` that is not a regular file pybench can read is refused in
    /// one line (a FIFO would feed the first run alone); without `--stdin`, a warning when
    /// input was piped or redirected to pybench, which the program never sees: it used to run
    /// on `/dev/null` and be measured doing other work than the user meant, without a word.
    pub fn check_stdin(&self) -> anyhow::Result<Option<String>> {
        match &self.stdin {
            Some(path) => match crate::sys::fs::regular_input(path) {
                Ok(_) => Ok(None),
                Err(e) => anyhow::bail!(
                    "--stdin {}: {e} (every run reads it from its start)",
                    path.display()
                ),
            },
            None => Ok(crate::sys::fs::stdin_has_data().then(|| {
                "the input piped or redirected to pybench is not passed on: every run of the \
                 program reads /dev/null; give it with --stdin FILE"
                    .to_string()
            })),
        }
    }
}

/// The contenders of a request (the default set when none is named), and the one-line
/// problems of default contenders that cannot run (a preload library this build lacks): those
/// the user did not ask for, so the others still run and the problems end the command with
/// exit code 2 afterwards (`report_problems` in the CLI). Every allocator the user *named* is
/// checked here instead, before any run, and one that cannot run (a library that is missing,
/// not built, no allocator or not loadable) stops the command: measuring the others alone
/// would spend the runs on a set nobody asked for, and write a results folder the user must
/// then tell apart from a complete one.
pub fn contenders(req: &ProgramRequest) -> anyhow::Result<(Vec<Contender>, Vec<String>)> {
    if req.allocators.is_empty() {
        let (set, skipped) = contender::default_set();
        return Ok((set, skipped.iter().map(ToString::to_string).collect()));
    }
    let set = req
        .allocators
        .iter()
        .map(contender::by_spec)
        .collect::<Result<Vec<_>, _>>()?;
    refuse_same_runs(&set)?;
    Ok((set, Vec::new()))
}

/// Refuses two named allocators that would run the program identically under two names
/// (`jemalloc@debian` and `j=/usr/lib/…/libjemalloc.so.2`, or one library through a symlink
/// and its file): `run` refuses such spellings of one allocator, and here they would spend
/// the runs twice and show one allocator as two rows that differ only by noise.
fn refuse_same_runs(set: &[Contender]) -> anyhow::Result<()> {
    let how = |c: &Contender| {
        let lib = c
            .preload
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        (lib, c.python_malloc, c.engine)
    };
    for (i, c) in set.iter().enumerate() {
        if let Some(first) = set[..i].iter().find(|o| how(o) == how(c)) {
            let what = match &c.preload {
                Some(p) => format!("preload the same library ({})", p.display()),
                None => "run the program the same way".to_string(),
            };
            anyhow::bail!(
                "`{}` and `{}` {what}: name each allocator once",
                first.spec,
                c.spec
            );
        }
    }
    Ok(())
}

/// Parses `-a` values and `--preload NAME=PATH`s into a request's specs. Any name that cannot
/// be run stops everything before a run: a name no command knows is reported as exec reports
/// it (with the exec allocators, not the replay's), and a geometry that cannot serve
/// (`pymalloc:arena=4K,pool=16K`) as the engine's contender, naming it.
pub fn parse_allocators(
    names: &[String],
    preloads: &[String],
) -> anyhow::Result<Vec<AllocatorSpec>> {
    let mut specs = Vec::new();
    let listed = match AllocatorSpec::split_list(names) {
        // `-a ''` named nothing; it must not mean the default list.
        Err(AllocError::Empty) => return Err(ContenderError::Empty.into()),
        other => other?,
    };
    for name in listed {
        match name.parse::<AllocatorSpec>() {
            Ok(spec) => specs.push(spec),
            Err(AllocError::Unknown { name }) => return Err(ContenderError::Unknown(name).into()),
            Err(AllocError::BadArgument { reason, .. }) if name.starts_with("pymalloc:") => {
                return Err(ContenderError::Engine { name, reason }.into())
            }
            Err(other) => return Err(other.into()),
        }
    }
    for p in preloads {
        match p.parse::<AllocatorSpec>() {
            Ok(spec @ AllocatorSpec::Preload { .. }) => specs.push(spec),
            _ => return Err(ContenderError::BadPreload(p.clone()).into()),
        }
    }
    refuse_duplicates(&specs)?;
    Ok(specs)
}

/// The name an allocator's runs carry in the results: NAME of `NAME=PATH`, else its own.
fn result_name(spec: &AllocatorSpec) -> String {
    match spec {
        AllocatorSpec::Preload { name, .. } => name.clone(),
        other => other.name(),
    }
}

/// Refuses two allocators whose runs would carry one name (`-a pymalloc,pymalloc`, or
/// `--preload pymalloc=lib.so` beside `-a pymalloc`): the tables and the agreement pool the
/// runs of one name, so a second copy would count as more repetitions than ran, and another
/// library under a taken name would be mixed into that allocator's figures.
fn refuse_duplicates(specs: &[AllocatorSpec]) -> anyhow::Result<()> {
    for (i, spec) in specs.iter().enumerate() {
        let name = result_name(spec);
        if let Some(first) = specs[..i].iter().find(|o| result_name(o) == name) {
            let (a, b) = (first.to_string(), spec.to_string());
            if a == b {
                anyhow::bail!("`{a}` is named twice: name each allocator once");
            }
            anyhow::bail!(
                "`{a}` and `{b}` would both be reported as `{name}`: give the library another NAME"
            );
        }
    }
    Ok(())
}

/// Fails in one line when the program cannot be started at all, or is a Python interpreter
/// whose script does not exist (`exec::script`: it would only fail at once, under every
/// allocator).
pub fn check_program(program: &[String]) -> anyhow::Result<()> {
    let Some(first) = program.first() else {
        anyhow::bail!("no program given: pybench exec -- python3 app.py ARGS…");
    };
    if let Some(why) = crate::sys::process::cannot_start(first) {
        anyhow::bail!("cannot start `{first}`: {why}");
    }
    if let Some(why) = super::script::missing_script(program) {
        anyhow::bail!("cannot run the program: {why}");
    }
    Ok(())
}

/// Longest [`program_label`], in characters: it names the cells' workload and so the plots'
/// files (`rss-LABEL.svg`), which a script's full name could push past the file system's
/// 255 bytes after the run had measured everything.
const LABEL_MAX: usize = 60;

/// A short label for the program: the script's file stem, the module of `-m MODULE`, `inline`
/// for `-c CODE`, else the command's name; at most `LABEL_MAX` characters, control characters
/// escaped ([`crate::trace::printable`]): it is printed and names the trace and the plots.
pub fn program_label(program: &[String]) -> String {
    crate::trace::printable(&full_label(program))
        .chars()
        .take(LABEL_MAX)
        .collect()
}

fn full_label(program: &[String]) -> String {
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

/// What the manifest of a run of real programs says: parameters and allocator versions.
pub fn manifest(
    program: &[String],
    set: &[Contender],
    repetitions: u32,
) -> (RunParameters, Vec<AllocatorInfo>) {
    let parameters = RunParameters {
        workloads: vec![program.join(" ")],
        allocators: set.iter().map(|c| c.name.clone()).collect(),
        repetitions,
        ..RunParameters::default()
    };
    let infos = set
        .iter()
        .map(|c| AllocatorInfo {
            name: c.name.clone(),
            version: c.version.clone(),
        })
        .collect();
    (parameters, infos)
}

/// Seed of the contenders' order in [`run_programs`] (any fixed value: reruns repeat it).
const EXEC_ORDER_SEED: u64 = 0x0e7e_c0de;

/// Runs the program `repetitions` times under every contender, interleaved in a fresh order
/// each repetition, saving each run's cell as it finishes. Progress lines go to stderr,
/// repetitions numbered from 0 as in the results files; so does the program's own output, so
/// that stdout holds only pybench's table or `--csv -`. An engine contender the interpreter
/// refuses adds its reason to `problems` and is not run again. Returns true when Ctrl-C
/// stopped it early.
pub fn run_programs(
    req: &ProgramRequest,
    set: &[Contender],
    label: &str,
    store: &ResultsStore,
    results: &mut RunResults,
    problems: &mut Vec<String>,
) -> anyhow::Result<bool> {
    // In u64: `-r 4294967295` times two contenders overflowed u32 (`[1/4294967294]`).
    let total = set.len() as u64 * u64::from(req.repetitions);
    let mut done = 0u64;
    // Engine contenders the interpreter cannot host: one failed run says why; no more runs.
    let mut refused: Vec<String> = Vec::new();
    // A fresh order of the contenders every repetition, seeded so that a rerun repeats it. In
    // a fixed order each contender always runs right after the same one, and what a process
    // finds (the page cache, the pages the one before it freed, warm caches) depends on that
    // one: one fixed-order sitting here put mimalloc without purging at 1.01x pymalloc's wall
    // time where permuted orders gave 1.15x (docs/ground-truth.md, "Is that effect
    // mimalloc's clocked purging?"). Shuffled, such an effect becomes spread the intervals see, as in `run`'s
    // rounds (`round_order`).
    //
    // The results keep the cells in the order given (repetition, then `set`), which the
    // tables, the reference and validate's pairing follow: each cell is inserted at its place.
    let mut rng = SplitMix64::new(EXEC_ORDER_SEED);
    for rep in 0..req.repetitions {
        let rep_start = results.cells.len();
        let mut placed: Vec<usize> = Vec::with_capacity(set.len());
        for i in round_order(set.len(), &mut rng) {
            let c = &set[i];
            if runner::interrupted() {
                return Ok(true);
            }
            if refused.contains(&c.name) {
                continue;
            }
            done += 1;
            if !req.quiet {
                crate::stderr_line!("[{done}/{total}] {label} under {} rep {rep}", c.name);
            }
            let Some(cell) = run_once(req, c, label, rep, &mut refused, problems) else {
                return Ok(true);
            };
            let k = placed.partition_point(|&j| j < i);
            placed.insert(k, i);
            results.cells.insert(rep_start + k, cell);
            store.save(results)?;
        }
    }
    Ok(runner::interrupted())
}

/// One run of the program under contender `c`: its cell, or None when Ctrl-C cut it short.
/// An engine the interpreter refused is added to `refused` with its reason in `problems`.
fn run_once(
    req: &ProgramRequest,
    c: &Contender,
    label: &str,
    rep: u32,
    refused: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Option<CellResult> {
    let executed = execute(&req.program, c, &req.streams(), req.timeout);
    // Ctrl-C reaches the program too (one process group): the run it cut short is
    // neither a measurement nor a failure of the allocator, so it is not kept (as
    // `run` keeps no cell it interrupted).
    if runner::interrupted() {
        return None;
    }
    Some(match executed {
        Ok(e) => {
            if let Some(EngineReport::Refused(reason)) = &e.engine {
                refused.push(c.name.clone());
                problems.push(format!("{}: {reason}", c.name));
            }
            to_cell(label, c, rep, &e)
        }
        Err(e) => {
            let reason = format!("cannot start `{}`: {e}", req.program[0]);
            let mut cell = CellResult::failed(label, &c.name, rep, reason);
            cell.kind = CellKind::Exec;
            cell
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{parse_allocators, program_label, AllocatorSpec};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_geometry_that_cannot_serve_and_an_unknown_name_both_stop_everything() {
        let err = parse_allocators(
            &strings(&["pymalloc,pymalloc:arena=64K,pool=128K,jemalloc@debian"]),
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("pymalloc:arena=64K,pool=128K: "),
            "{err}"
        );
        let err = parse_allocators(&strings(&["system,hoard"]), &[]).unwrap_err();
        assert!(
            err.to_string().contains("unknown exec allocator `hoard`"),
            "{err}"
        );
        assert_eq!(
            parse_allocators(&strings(&["pymalloc,jemalloc@debian"]), &[]).unwrap(),
            [
                AllocatorSpec::Pymalloc,
                AllocatorSpec::Debian(crate::alloc::DebianBuild::Jemalloc)
            ]
        );
    }

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
        let long = format!("{}.py", "a".repeat(250));
        assert_eq!(label(&["python3", &long]), "a".repeat(60));
    }

    #[test]
    fn an_allocator_named_twice_or_a_preload_under_a_taken_name_is_refused() {
        let err = parse_allocators(&strings(&["pymalloc,system,pymalloc"]), &[]).unwrap_err();
        assert!(
            err.to_string().contains("`pymalloc` is named twice"),
            "{err}"
        );
        let err =
            parse_allocators(&strings(&["system"]), &strings(&["system=/lib/x.so"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("would both be reported as `system`"),
            "{err}"
        );
        assert!(parse_allocators(&strings(&["system"]), &strings(&["mine=/lib/x.so"])).is_ok());
    }
}
