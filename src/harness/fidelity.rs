//! `pybench fidelity`: does the engine reach the figures the real obmalloc reaches on the same
//! stream? A child process replays the workload's events into the engine preset of a Python
//! version and into that version's real obmalloc (loaded from its libpython), reads both
//! allocators' accounting at the end of the stream — the real one through
//! `_PyObject_DebugMallocStats` — and the parent compares them.
//!
//! Both allocators must start from the same state. For 3.8 – 3.11 the child loads libpython
//! without starting the interpreter ([`CpythonAllocator::load_unstarted`]), so the real
//! obmalloc holds nothing, as the engine does: from there the two agree on every pool and
//! block figure. Until 2026-12-05 every version was started first, and the interpreter's own
//! partly used pools took the replay's first blocks; that shifts which blocks share a pool
//! for the rest of the stream, so the real allocator ended with more pools of a class as well
//! as fewer (`churn` on 3.9, 3·10⁵ requests: 545 pools of 32 B against the engine's 540), and
//! the command blamed the engine for its own starting point.
//!
//! From 3.12 obmalloc's state lives in the interpreter, which must start. Its objects are then
//! already in the pools, so its figures are taken as after − before, and the real allocator
//! may need *fewer* new pools (and arenas) than the engine by the *slack* its start-up pools
//! explain, allowed on top of the ±1 pool per class / ±1 arena tolerance. (The shift above
//! can go the other way too; no workload shipped shows it on 3.12 or 3.13.)

use super::cell::{materialize, CellOptions, CellSpec};
use super::replay::{Replayer, Touch};
use super::runner::run_child;
use super::timer::Timer;
use crate::alloc::libpython::{check_named, driven_version, other_version_line, NamedRefusal};
use crate::alloc::{
    serves_unstarted, AllocOptions, Allocator, AllocatorSpec, CpythonAllocator, DebugMallocStats,
    PymallocAllocator,
};
use crate::pymalloc::{Geometry, Preset, NUM_CLASSES};
use crate::trace::Source;
use crate::workload::{Overrides, PyVersion};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of the hidden subcommand that measures in a child process.
pub const FIDELITY_SUBCOMMAND: &str = "__fidelity";

/// What the child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FidelityMeasurement {
    pub workload: String,
    pub python: String,
    pub library: String,
    pub events: usize,
    pub engine: DebugMallocStats,
    pub cpython_before: DebugMallocStats,
    pub cpython_after: DebugMallocStats,
    /// What a reader must know about the stream replayed (a cut one): the warnings `stats`
    /// prints for it.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Whether the real obmalloc was measured inside a started interpreter (3.12+), or in
    /// a library whose interpreter never started, empty like the engine (3.8 – 3.11).
    pub interpreter_started: bool,
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub what: String,
    pub engine: i64,
    pub cpython: i64,
    /// How many fewer the real allocator may need thanks to its start-up slack.
    pub slack: i64,
    pub flagged: bool,
}

/// What `pybench fidelity` is asked to compare on a workload.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A built-in workload's name or a spec file.
    pub workload: String,
    /// `--python`: the version to compare; `None` takes the workload's own, as `run` does.
    pub python: Option<String>,
    pub scale: Option<u64>,
    pub seed: Option<u64>,
    /// `--libpython`: the library to load instead of searching for one.
    pub libpython: Option<PathBuf>,
}

/// The answer: the child's measurement, the preset it was held to, and the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub measurement: FidelityMeasurement,
    pub preset: String,
    pub rows: Vec<Row>,
    /// How many rows differ beyond their tolerance.
    pub flagged: usize,
}

/// How long the child may take: a default workload needs seconds, a huge `--scale` minutes.
const CHILD_TIMEOUT: Duration = Duration::from_secs(600);

/// Measures a workload in a child process and compares its two accountings. Every mistake
/// the user can make (an unknown version or workload, a `--libpython` of another version) is
/// refused here in one line, before the child starts.
pub fn measure(req: &Request) -> anyhow::Result<Report> {
    let asked: Option<PyVersion> = match &req.python {
        Some(v) => {
            anyhow::ensure!(
                Preset::for_python(v).is_some(),
                "no engine preset for Python {v}; valid: 3.8 … 3.13"
            );
            Some(v.parse().map_err(|e: String| anyhow::anyhow!(e))?)
        }
        None => None,
    };
    let source = Source::load(&req.workload)?;
    if asked.is_none() {
        // Compared with the real obmalloc of the version named: a guess would mislead.
        if let Some(w) = source.check_python()? {
            anyhow::bail!("{w}; give --python 3.X to compare it as that version");
        }
    }
    // The rule `run` follows: --python if given, else the version the events are shaped for.
    let python = asked.unwrap_or_else(|| source.python());
    let preset = Preset::for_python(python.name())
        .ok_or_else(|| anyhow::anyhow!("no engine preset for Python {python}"))?;
    let libpython = libpython_for(req, python, asked.is_some())?;
    let options = CellOptions {
        overrides: Overrides {
            python: Some(python),
            scale: req.scale,
            seed: req.seed,
            ..Overrides::default()
        },
        libpython: Some(libpython),
        ..CellOptions::default()
    };
    let spec = CellSpec::new(&source, AllocatorSpec::Cpython(python), 0, &options);
    let line = run_child(
        FIDELITY_SUBCOMMAND,
        &serde_json::to_string(&spec)?,
        CHILD_TIMEOUT,
    )
    .map_err(|reason| anyhow::anyhow!("fidelity measurement failed: {reason}"))?;
    let mut measurement: FidelityMeasurement = serde_json::from_str(&line)?;
    measurement
        .notes
        .extend(other_version_note(&source, python));
    let rows = compare(&measurement, preset.geometry());
    Ok(Report {
        flagged: rows.iter().filter(|r| r.flagged).count(),
        preset: preset.to_string(),
        measurement,
        rows,
    })
}

/// The libpython to compare against: `--libpython`, checked to be of `python`'s version
/// (`asked`: the version was named on the command line), or the one found for it. Searched
/// here, once, and handed to the child: a missing interpreter is then this command's one
/// line rather than the child's error quoted inside "fidelity measurement failed".
fn libpython_for(req: &Request, python: PyVersion, asked: bool) -> anyhow::Result<PathBuf> {
    if let Some(lib) = &req.libpython {
        check_libpython(lib, python, asked)?;
        return Ok(lib.clone());
    }
    let minor = AllocatorSpec::Cpython(python).cpython_minor();
    match minor.map(|m| crate::alloc::libpython::find(m, None)) {
        Some(Ok(f)) => Ok(f.path),
        Some(Err(why)) => anyhow::bail!("cpython:{python} is not available: {why}"),
        None => anyhow::bail!("no libpython for Python {python}"),
    }
}

/// A trace compared as another version than the one it was recorded on: the comparison
/// holds (both allocators get the same events), but the events are that interpreter's, which
/// the headline's "on Python 3.X" alone did not say.
fn other_version_note(source: &Source, python: PyVersion) -> Option<String> {
    let Source::Trace { meta, .. } = source else {
        return None;
    };
    let recorded = crate::trace::source::python_of(&meta.python);
    (recorded != python).then(|| {
        format!(
            "the trace was recorded on CPython {} and is compared as {python}: both allocators \
             get its events, shaped by {recorded}'s interpreter, not those {python} would have asked for",
            meta.python
        )
    })
}

/// Refuses a `--libpython` that is not CPython `python` (the search would otherwise skip it
/// and quietly load another library of the right version).
fn check_libpython(lib: &Path, python: PyVersion, asked: bool) -> anyhow::Result<()> {
    match check_named(lib, &[python]) {
        Ok(()) => Ok(()),
        Err(NamedRefusal::Unusable(line)) => anyhow::bail!("{line}"),
        Err(NamedRefusal::OtherVersion { found }) => {
            anyhow::bail!("{}", libpython_mismatch(lib, &found, python, asked))
        }
    }
}

/// The one line saying a `--libpython` of version `found` cannot serve a comparison on
/// `python`, and what to pass instead.
fn libpython_mismatch(lib: &Path, found: &str, python: PyVersion, asked: bool) -> String {
    let whose = if asked {
        "--python"
    } else {
        "the workload's version"
    };
    let instead = match driven_version(found) {
        Some(v) => format!("pass --python {v} or a libpython{python}"),
        None => format!("pass a libpython{python} (fidelity compares 3.8 … 3.13)"),
    };
    other_version_line(lib, found, &[python], whose, &instead)
}

/// Replays `events` into `a` and leaves the blocks live (the accounting is read at the end of
/// the stream, before anything is freed).
fn replay_and_keep<A: Allocator>(a: &mut A, m: &super::cell::Materialized) -> anyhow::Result<()> {
    let timer = Timer::calibrate();
    let mut r = Replayer::new(a, m.slots, true, Touch::Header);
    for (i, ev) in m.events.iter().enumerate() {
        r.apply::<false>(ev, &timer, i as u64)?;
    }
    // Leak the slot table's blocks on purpose: the process ends right after measuring.
    std::mem::forget(r);
    Ok(())
}

/// Child side: measure and print one JSON line.
pub fn child_main(spec_json: &str) -> anyhow::Result<()> {
    super::heap::HarnessHeap::activate();
    let spec: CellSpec = serde_json::from_str(spec_json)?;
    let m = materialize(&spec)?;
    let python = m.python.to_string();
    let preset = Preset::for_python(&python)
        .ok_or_else(|| anyhow::anyhow!("no engine preset for Python {python}"))?;
    let minor: u8 = python
        .strip_prefix("3.")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad Python version {python}"))?;

    let mut engine = PymallocAllocator::from_preset(preset);
    replay_and_keep(&mut engine, &m)?;
    let engine_stats = engine
        .engine_stats()
        .map(|s| DebugMallocStats::from(&s))
        .expect("the engine has stats");

    let opts = AllocOptions {
        libpython: spec.libpython.as_ref().map(Into::into),
    };
    let found = crate::alloc::libpython::find(minor, opts.libpython.as_deref())
        .map_err(|reason| anyhow::anyhow!("cpython:{python} is not available: {reason}"))?;
    let started = !serves_unstarted(minor);
    let mut real = if started {
        CpythonAllocator::load(&found, minor)?
    } else {
        CpythonAllocator::load_unstarted(&found, minor)?
    };
    let before = real.debug_stats()?;
    replay_and_keep(&mut real, &m)?;
    let after = real.debug_stats()?;
    let out = FidelityMeasurement {
        workload: m.name.clone(),
        python,
        library: found.path.display().to_string(),
        events: m.events.len(),
        engine: engine_stats,
        cpython_before: before,
        cpython_after: after,
        notes: m.notes.clone(),
        interpreter_started: started,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// The line under a table's headline saying where the real allocator started from, and so
/// what its figures and the slack column mean.
pub fn start_line(interpreter_started: bool) -> &'static str {
    if interpreter_started {
        "CPython figures are after − before the replay (from 3.12 obmalloc needs a started \
         interpreter, whose objects were there first); slack = how many fewer its start-up \
         pools allow"
    } else {
        "CPython's obmalloc started empty, as the engine does (libpython loaded, interpreter \
         not started: 3.8 – 3.11), so slack is 0"
    }
}

/// The comparison: arenas, then pools and blocks in use per class that either side used.
pub fn compare(m: &FidelityMeasurement, geometry: Geometry) -> Vec<Row> {
    let (e, b, a) = (&m.engine, &m.cpython_before, &m.cpython_after);
    let delta = |after: usize, before: usize| after as i64 - before as i64;
    let mut rows = Vec::new();
    // Unused pools of the baseline (cached empty or never carved) serve new pools without a
    // new arena.
    let arena_slack = b.unused_pools.div_ceil(geometry.pools_per_arena().max(1)) as i64;
    rows.push(flag(
        "arenas",
        e.arenas_allocated_current as i64,
        delta(a.arenas_allocated_current, b.arenas_allocated_current),
        arena_slack,
    ));
    for class in 0..NUM_CLASSES {
        let (ec, bc, ac) = (e.class(class), b.class(class), a.class(class));
        let cp_pools = delta(ac.pools, bc.pools);
        let cp_blocks = delta(ac.blocks_in_use, bc.blocks_in_use);
        if ec.pools == 0 && cp_pools == 0 && cp_blocks == 0 && ec.blocks_in_use == 0 {
            continue;
        }
        let size = crate::pymalloc::class_size(class);
        let per_pool = geometry.blocks_per_pool(class).max(1);
        let slack = bc.avail_blocks.div_ceil(per_pool) as i64;
        rows.push(flag(
            &format!("pools {size:>3} B"),
            ec.pools as i64,
            cp_pools,
            slack,
        ));
        rows.push(Row {
            what: format!("blocks {size:>3} B"),
            engine: ec.blocks_in_use as i64,
            cpython: cp_blocks,
            slack: 0,
            // Blocks in use are the same requests on both sides: they must match exactly.
            flagged: ec.blocks_in_use as i64 != cp_blocks,
        });
    }
    rows
}

/// Flags a figure when CPython needed more than the engine + 1, or fewer than the engine − 1
/// beyond what its start-up slack explains.
fn flag(what: &str, engine: i64, cpython: i64, slack: i64) -> Row {
    Row {
        what: what.to_string(),
        engine,
        cpython,
        slack,
        flagged: cpython > engine + 1 || cpython < engine - 1 - slack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_one_each_way_plus_slack_below() {
        assert!(!flag("x", 10, 11, 0).flagged);
        assert!(
            flag("x", 10, 12, 5).flagged,
            "more than engine + 1 is never explained"
        );
        assert!(
            !flag("x", 10, 6, 3).flagged,
            "start-up slack explains fewer pools"
        );
        assert!(flag("x", 10, 5, 3).flagged);
    }

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
