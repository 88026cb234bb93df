//! `pybench exec -- python3 app.py ARGS…`: run the program itself once per allocator per
//! repetition, interleaved (A B C A B C …) so drift spreads evenly (`exec::program`).

use super::output;
use super::program::{report_problems, ProgramArgs};
use crate::exec::program::{self, check_program, program_label};
use std::process::ExitCode;

pub fn run(args: ProgramArgs) -> anyhow::Result<ExitCode> {
    // Until the results folder is made: a stop says that nothing was saved, and exits.
    crate::harness::runner::exit_before_results();
    check_program(&args.program)?;
    args.output.check(&args.inputs())?;
    let req = args.request()?;
    if let Some(w) = req.check_stdin()? {
        crate::stderr_line!("warning: {w}");
    }
    let (set, mut problems) = program::contenders(&req)?;
    let label = program_label(&req.program);
    let (parameters, infos) = program::manifest(&req.program, &set, req.repetitions);
    if let Some(r) = &args.output.reference {
        crate::report::verdict::check_reference(r, &parameters)?;
    }
    let (store, mut results) =
        output::start(&args.output, &format!("exec-{label}"), parameters, infos)?;
    output::warn_for_real_runs(&results.machine, args.output.quiet);
    let interrupted =
        program::run_programs(&req, &set, &label, &store, &mut results, &mut problems)?;
    let code = output::finish(&args.output, &store, &mut results, interrupted)?;
    Ok(report_problems(&problems, code))
}
