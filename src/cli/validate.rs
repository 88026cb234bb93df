//! `pybench validate -- python3 app.py ARGS…`: does the replay's verdict hold for the program
//! itself? The pipeline (record → replay → real runs → agreement) is `exec::pipeline`; this
//! prints both sides with their rankings and agreement.

use super::output::{self, OutputArgs};
use super::program::{report_problems, ProgramArgs};
use crate::exec::pipeline::{validate_program, Checks};
use crate::exec::program::{self, check_program, program_label};
use crate::harness::throughput::Calibration;
use crate::report::model::{CellKind, Prediction, RunResults, Validation};
use crate::report::validation::{render, render_verdict};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub program: ProgramArgs,
    /// Skip the mutator replay: the plain replay and the real runs only.
    ///
    /// The mutator replay is the trace replayed again with the program's recorded work between the
    /// calls, as `run --mutator`; without it the validation is shorter, and the trace is recorded
    /// without its pace. It is the longest step: each repetition replays the program's work about
    /// 12 times per allocator (its first progress line gives the count and a bound on the time),
    /// and the time verdict does not need it.
    #[arg(long)]
    pub no_mutator: bool,
    /// Which replay figure predicts the program's time.
    ///
    /// The other's agreement is printed too, on one line; runs without cold figures use the warm
    /// ones.
    #[arg(long, value_enum, default_value_t = Prediction::Cold)]
    pub prediction: Prediction,
    /// Rounds of paired samples in each replay process.
    ///
    /// Every replayed allocator and `null` take turns, one sample of at least 20 ms each a round,
    /// as in `run --rounds`. The default 20 gives each process 20 paired samples (a default `run`
    /// takes 3 in each of its 20 processes, 60 in all); the mutator replay takes a quarter of them
    /// (at least 2). Fewer make a quicker validation whose replay intervals are wider. At least 2.
    #[arg(long, value_name = "N", default_value_t = Calibration::DEFAULT.rounds, value_parser = clap::value_parser!(u32).range(2..))]
    pub rounds: u32,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    // Until the results folder is made: a stop says that nothing was saved, and exits.
    crate::harness::runner::exit_before_results();
    let ValidateArgs {
        program: args,
        no_mutator,
        prediction,
        rounds,
    } = args;
    let replay = Calibration {
        rounds,
        ..Calibration::DEFAULT
    };
    let checks = Checks {
        mutator: !no_mutator,
        prediction,
        replay,
    };
    check_program(&args.program)?;
    args.output.check(&args.inputs())?;
    let req = args.request()?;
    if let Some(w) = req.check_stdin()? {
        crate::stderr_line!("warning: {w}");
    }
    // Before anything runs, so a run that could show nothing is not waited for unawares.
    if let Some(w) = crate::exec::agreement::too_few_runs(req.repetitions) {
        crate::stderr_line!("warning: {w}");
    }
    let (set, mut problems) = program::contenders(&req)?;
    crate::exec::pipeline::refuse_unreplayable(&set)?;
    let label = program_label(&req.program);
    let (mut parameters, infos) = program::manifest(&req.program, &set, req.repetitions);
    // The plain replay's; the mutator replay's follows from it.
    parameters.calibration = Some(replay);
    let (store, mut results) = output::start(
        &args.output,
        &format!("validate-{label}"),
        parameters,
        infos,
    )?;
    output::warn_for_real_runs(&results.machine, args.output.quiet);
    let (v, interrupted) =
        validate_program(&req, &set, checks, &store, &mut results, &mut problems)?;
    let code = output::finish(&args.output, &store, &mut results, interrupted)?;
    print_validation(&v, &results, &args.output, interrupted)?;
    Ok(report_problems(&problems, code))
}

/// Prints the validation (both sides and their agreement) on stdout, unless stdout holds an
/// export or nothing was measured.
fn print_validation(
    v: &Validation,
    results: &RunResults,
    output: &OutputArgs,
    interrupted: bool,
) -> anyhow::Result<()> {
    // Stopped while recording: nothing was measured, so there is nothing to compare; stopped
    // before any real run, the replay has nothing to be compared with (its comparison would
    // say that no pair disagrees, true of nothing).
    let real_runs = results.cells.iter().any(|c| c.kind == CellKind::Exec);
    if interrupted && !real_runs && !results.cells.is_empty() {
        crate::stderr_line!("interrupted before the real runs: the replays are saved, there is nothing to compare them with");
    } else if !results.cells.is_empty() && !output.stdout_taken() {
        // An export on stdout holds it alone (`--csv -` stays parseable); summary.md has the
        // comparison. `-q`: the verdict alone, for a script.
        let text = if output.quiet {
            render_verdict(v)
        } else {
            render(v)
        };
        super::printed(std::io::stdout().lock().write_all(text.as_bytes()))?;
    }
    Ok(())
}
