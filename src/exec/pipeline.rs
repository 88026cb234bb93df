//! The `validate` pipeline: does the replay's verdict hold for the program itself? Records the
//! program's trace, replays it against the in-process equivalents of the allocators, runs the
//! program under each (as `exec`), and puts both sides side by side ([`super::validate`]).

use super::program::{self, ProgramRequest};
use super::validate::{validate, Pairing};
use super::Contender;
use crate::alloc::{AllocOptions, AllocatorSpec};
use crate::harness::cell::{CellOptions, CellSpec};
use crate::harness::runner::{self, Outcome};
use crate::harness::throughput::Calibration;
use crate::report::model::{AllocatorInfo, Prediction, RunResults, Validation};
use crate::report::store::ResultsStore;
use crate::trace::record::{exit_code, record, Launch, Options};
use crate::trace::source::{Origin, Source};
use crate::trace::Meta;
use crate::workload::PyVersion;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The in-process allocator that stands for an exec contender in the replay: the real
/// obmalloc of the recorded version for `pymalloc` (the engine preset when that libpython is
/// missing); the engine with the same geometry for the engine in the interpreter; the crate
/// build for Debian's (the manifest shows both versions); the same allocator for the others
/// that exist in process; none otherwise.
pub fn replay_allocator(
    c: &Contender,
    python: PyVersion,
    opts: &AllocOptions,
) -> Option<AllocatorSpec> {
    let available = |s: &AllocatorSpec| s.availability(opts).status.is_ok();
    let spec = match &c.spec {
        AllocatorSpec::Pymalloc => {
            let real = AllocatorSpec::Cpython(python);
            if available(&real) {
                return Some(real);
            }
            AllocatorSpec::Pymalloc.resolve(python)
        }
        s @ (AllocatorSpec::Engine(_)
        | AllocatorSpec::System
        | AllocatorSpec::Jemalloc
        | AllocatorSpec::Mimalloc
        | AllocatorSpec::Snmalloc) => s.clone(),
        AllocatorSpec::Debian(build) => build.crate_build(),
        _ => return None,
    };
    available(&spec).then_some(spec)
}

/// Refuses, before anything runs, a set in which fewer than two contenders have a replay:
/// `validate` compares the replay's ranking of the allocators with the real runs', and with
/// one (`--preload m=LIB` alone, `-a pymalloc,tcmalloc`) it measured everything, then said
/// nothing (an empty verdict, exit 0). Whether a contender has a replay does not depend on
/// the recorded CPython version (`pymalloc` falls back to its engine preset), so any serves.
pub fn refuse_unreplayable(set: &[Contender]) -> anyhow::Result<()> {
    let opts = AllocOptions::default();
    let (with, without): (Vec<&Contender>, Vec<&Contender>) = set
        .iter()
        .partition(|c| replay_allocator(c, PyVersion::ALL[0], &opts).is_some());
    if with.len() >= 2 {
        return Ok(());
    }
    let names = |cs: &[&Contender]| {
        cs.iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let why = match (with.as_slice(), without.is_empty()) {
        (one, true) => format!("only {} was named", names(one)),
        ([], false) => real_only(&names(&without), without.len()),
        (one, false) => format!(
            "only {} has a replay: {}",
            names(one),
            real_only(&names(&without), without.len())
        ),
    };
    anyhow::bail!(
        "validate compares how the replay and the real runs rank two or more allocators, but \
         {why}; add one with -a (pymalloc, system, jemalloc, mimalloc, snmalloc), or measure \
         the real runs alone with `pybench exec`"
    )
}

/// `names` (`count` contenders) have no replay, and why.
fn real_only(names: &str, count: usize) -> String {
    let verb = if count == 1 { "runs" } else { "run" };
    format!(
        "{names} {verb} on the real side only (tcmalloc and --preload libraries have no \
         in-process replay)"
    )
}

/// Records the program into `trace` (with each event's pace when the mutator replay needs
/// it, issue 14 item 2), started as the real runs will be; fails when it cannot be recorded
/// or exits non-zero. Returns the recorded run's wall time, or `None` when a stop signal
/// came first (then nothing more is measured).
fn record_program(
    req: &ProgramRequest,
    label: &str,
    trace: &Path,
    pace: bool,
) -> anyhow::Result<Option<Duration>> {
    if !req.quiet {
        crate::stderr_line!("recording {label} …");
    }
    if runner::interrupted() {
        // Stopped between the results folder and the recording: nothing to record.
        return Ok(None);
    }
    let meta = Meta {
        source: "recorded".into(),
        name: label.to_string(),
        command: req.program.clone(),
        domains: vec!["obj".into(), "mem".into(), "raw".into()],
        ..Meta::default()
    };
    let opts = Options {
        program: req.program.iter().map(Into::into).collect(),
        out: trace.to_path_buf(),
        domains: 0b111,
        pace,
        defer: false,
        launch: Launch::AsExec(req.streams()),
        timeout: req.timeout,
        // Its own file in the run's folder.
        replace: true,
    };
    let (rec, problem) = record(&opts, meta)?;
    // Ctrl-C reached the program too: whatever it did then is the user's stop, not its
    // failure.
    if rec.interrupted {
        return Ok(None);
    }
    if rec.timed_out {
        anyhow::bail!(
            "{label} ran longer than --timeout {} s while being recorded and was killed; nothing to validate",
            req.timeout.unwrap_or_default().as_secs()
        );
    }
    if let Some(p) = problem {
        anyhow::bail!("cannot record {label}: {p}");
    }
    let code = exit_code(rec.status);
    if code != 0 {
        let failed = format!("{label} failed while being recorded (exit status {code})");
        // Under -q its output was discarded: say what it last said.
        let failed = super::measure::with_last_words(failed, rec.stderr_tail.as_ref());
        anyhow::bail!("{failed}; nothing to validate");
    }
    if let Some(w) = rec.incomplete_warning() {
        // The replays then predict only what was recorded; `record` says the same.
        crate::stderr_line!("warning: {label}: {w}");
    }
    Ok(Some(rec.wall))
}

/// How `validate` replays and judges, beyond what `exec` shares ([`ProgramRequest`]).
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Also the mutator replay (the trace recorded with its pace).
    pub mutator: bool,
    /// The replay figure that predicts the program's time.
    pub prediction: Prediction,
    /// The plain replay's throughput calibration (`--rounds`; the mutator replay takes
    /// [`super::mutator_replay::calibration`] of it).
    pub replay: Calibration,
}

/// Puts both sides' versions into the manifest: each replayed allocator's as "NAME
/// (replay)", and the real `pymalloc`'s as the recorded interpreter's.
fn note_versions(
    results: &mut RunResults,
    replays: &[AllocatorSpec],
    source: &Source,
    alloc_opts: &AllocOptions,
) {
    // Both sides' versions go into the manifest: a preloaded library need not be the crate
    // linked for replay (`mimalloc@debian` is 2.0.9 against 3.x in process).
    for replay in replays {
        results.allocators.push(AllocatorInfo {
            name: format!("{replay} (replay)"),
            version: replay
                .availability(alloc_opts)
                .version
                .unwrap_or_else(|| "unknown".to_string()),
        });
    }
    // The real `pymalloc` is the recorded interpreter's own obmalloc: the same build as the
    // replay's `cpython:X` when that libpython is the same version (e.g. 3.11.7).
    let python_full = match source {
        Source::Trace { meta, .. } => meta.python.clone(),
        _ => source.python().name().to_string(),
    };
    if let Some(info) = results.allocators.iter_mut().find(|a| a.name == "pymalloc") {
        info.version = format!("CPython {python_full}");
    }
}

/// Step 2 of [`validate_program`]: the recorded trace replayed against each contender's
/// in-process equivalent, `req.repetitions` times, saved into `results` with both sides'
/// versions in its manifest. Returns the replayed allocators, the pairing of real contenders
/// with replays, and whether Ctrl-C stopped it.
fn replay_trace(
    source: &Source,
    req: &ProgramRequest,
    set: &[Contender],
    calibration: Calibration,
    store: &ResultsStore,
    results: &mut RunResults,
) -> anyhow::Result<(Vec<AllocatorSpec>, Pairing, bool)> {
    let alloc_opts = AllocOptions::default();
    let replays: Vec<Option<AllocatorSpec>> = set
        .iter()
        .map(|c| replay_allocator(c, source.python(), &alloc_opts))
        .collect();
    let pairing: Pairing = set
        .iter()
        .zip(&replays)
        .map(|(c, r)| (c.name.clone(), r.as_ref().map(AllocatorSpec::name)))
        .collect();
    let distinct = distinct_replays(&replays);
    note_versions(results, &distinct, source, &alloc_opts);
    let mut cells = Vec::new();
    for rep in 0..req.repetitions {
        for replay in &distinct {
            cells.push(CellSpec::new(
                source,
                replay.clone(),
                rep,
                &CellOptions::default(),
            ));
        }
    }
    let plan = runner::Plan {
        cells,
        timeout: Duration::from_secs(600),
        progress: !req.quiet,
        // The replay's throughput comes from calibrated, paired samples, as in `run`.
        throughput: Some(calibration),
        memory_repetitions: None,
    };
    let outcome = runner::run_and_save(&plan, store, results)?;
    Ok((distinct, pairing, outcome == Outcome::Interrupted))
}

/// Each allocator the replay needs, once, in first-seen order. Two contenders can replay as
/// the same allocator (`pymalloc` falls back to its engine preset when that libpython is
/// missing, which `pymalloc:cpython-3.12` is too): replayed twice, the allocator got two cells
/// a repetition, pooled under its one name and counted twice for each contender. Replayed
/// once, both contenders are paired with the same figures, which is what the replay says of
/// them: no difference.
fn distinct_replays(replays: &[Option<AllocatorSpec>]) -> Vec<AllocatorSpec> {
    let mut distinct: Vec<AllocatorSpec> = Vec::new();
    for r in replays.iter().flatten() {
        if !distinct.iter().any(|d| d.name() == r.name()) {
            distinct.push(r.clone());
        }
    }
    distinct
}

/// Step 4 of [`validate_program`]: the replays and the real runs in `results`, side by side.
fn side_by_side(
    results: &RunResults,
    req: &ProgramRequest,
    trace: &Path,
    pairing: &Pairing,
    prediction: Prediction,
) -> Validation {
    let trace = trace.display().to_string();
    validate(results, &req.program.join(" "), &trace, pairing, prediction)
}

/// Runs the whole pipeline for `set`, saving every cell into `results` as it is measured;
/// contenders the interpreter refuses add their one-line reason to `problems`. Returns the
/// validation and whether Ctrl-C stopped it early.
pub fn validate_program(
    req: &ProgramRequest,
    set: &[Contender],
    checks: Checks,
    store: &ResultsStore,
    results: &mut RunResults,
    problems: &mut Vec<String>,
) -> anyhow::Result<(Validation, bool)> {
    let label = program::program_label(&req.program);
    let Checks {
        mutator,
        prediction,
        replay: calibration,
    } = checks;
    // 1. Record the program's allocator calls.
    // Named as the results folder is: the label is the program's own text (`-m ../../x`,
    // `-m /abs/x`), which as a path put the trace outside the folder, over any file there.
    let file = crate::sys::target::portable_name(&label);
    let trace: PathBuf = store.dir().join(format!("{file}.pbt"));
    // A program that cannot be recorded leaves no folder: nothing was measured.
    let recorded = record_program(req, &label, &trace, mutator).inspect_err(|_| store.discard());
    let Some(recorded_wall) = recorded? else {
        let v = side_by_side(results, req, &trace, &Pairing::new(), prediction);
        return Ok((v, true));
    };

    // 2. Replay it against the in-process equivalents.
    let source = Source::open(&Origin::Trace(trace.clone()))?;
    let (replayed, pairing, mut interrupted) =
        replay_trace(&source, req, set, calibration, store, results)?;
    // 2b. Again, with the program's own work between the calls (throughput only).
    if mutator && !interrupted {
        interrupted = super::mutator_replay::replay(
            &source,
            &replayed,
            recorded_wall,
            req,
            super::mutator_replay::calibration(calibration),
            store,
            results,
        )?;
    }

    // 3. Run the program itself under each allocator.
    if !interrupted {
        interrupted = program::run_programs(req, set, &label, store, results, problems)?;
    }

    // 4. Both sides, side by side.
    let v = side_by_side(results, req, &trace, &pairing, prediction);
    results.validation = Some(v.clone());
    Ok((v, interrupted))
}

#[cfg(test)]
mod tests {
    use super::distinct_replays;
    use crate::alloc::AllocatorSpec;
    use crate::workload::PyVersion;

    #[test]
    fn two_contenders_replayed_as_one_allocator_replay_it_once() {
        let preset = AllocatorSpec::Pymalloc.resolve(PyVersion::V3_12);
        let named: AllocatorSpec = "pymalloc:cpython-3.12".parse().unwrap();
        let replays = [Some(preset), Some(named), None, Some(AllocatorSpec::System)];
        let names: Vec<String> = distinct_replays(&replays)
            .iter()
            .map(AllocatorSpec::name)
            .collect();
        assert_eq!(names, ["pymalloc:cpython-3.12", "system"]);
    }
}
