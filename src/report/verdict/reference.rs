//! The reference allocator a verdict's ratios are relative to (`run --reference`, `compare
//! --relative-to`): which row a name stands for, and refusing a name that stands for none
//! before anything runs.

use super::super::model::{RunParameters, RunResults};
use std::collections::BTreeMap;

/// Whether `asked` (a `--reference` or `compare --relative-to`) names `allocator`: the same
/// name, or a bare `pymalloc` standing for whichever engine preset the workload's Python
/// version gave (`pymalloc:cpython-3.11`).
pub fn names_allocator(asked: &str, allocator: &str) -> bool {
    allocator == asked || (asked == "pymalloc" && allocator.starts_with("pymalloc"))
}

/// Picks the reference among a workload's `allocators` (in the run's order): the one asked
/// for; for a bare `pymalloc` (also the default), the preset it became on this workload
/// (`preset`, [`RunParameters::pymalloc_presets`](super::super::model::RunParameters)); else an
/// engine preset before a custom geometry (`pymalloc:arena=512K,pool=8K` listed first is not
/// what "pymalloc" means), any engine row, and last the first row.
pub fn pick_reference<'a>(
    allocators: &[&'a str],
    asked: Option<&str>,
    preset: Option<&str>,
) -> Option<&'a str> {
    let asked = asked.unwrap_or("pymalloc");
    let find = |p: &dyn Fn(&str) -> bool| allocators.iter().copied().find(|a| p(a));
    let spec = |a: &str| a.parse::<crate::alloc::AllocatorSpec>().ok();
    find(&|a| a == asked)
        .or_else(|| find(&|a| asked == "pymalloc" && Some(a) == preset))
        .or_else(|| find(&|a| spec(a).is_some_and(|s| s.is_engine_preset())))
        .or_else(|| find(&|a| spec(a).is_some_and(|s| s.is_engine())))
        .or_else(|| allocators.first().copied())
}

/// Refuses a `--reference` that is none of the run's `allocators` before anything runs (a
/// bare `pymalloc` matches any engine preset; `null` has no row, being the harness's cost,
/// so it cannot be the base of one). The error says so for `null`, and for a run of `null`
/// alone, whose list of contenders is empty: "allocators ()" told nobody what was wrong.
/// Also refuses a preset that a bare `pymalloc` gave only some workloads (the others were
/// measured against another version's preset, which a table headed by the asked one would
/// hide).
pub fn check_reference(asked: &str, parameters: &RunParameters) -> anyhow::Result<()> {
    let rows: Vec<&str> = (parameters.allocators.iter())
        .map(String::as_str)
        .filter(|a| *a != "null")
        .collect();
    if rows.iter().any(|a| names_allocator(asked, a)) {
        return on_every_workload(asked, &parameters.pymalloc_presets);
    }
    let listed = if rows.is_empty() {
        "none but null; add one with -a".to_string()
    } else {
        rows.join(", ")
    };
    if asked == "null" {
        anyhow::bail!(
            "--reference null: null is the harness's baseline (its own cost, subtracted from \
             the others), not a contender to rank against; this run's allocators: {listed}"
        );
    }
    // An empty name printed as "--reference : not one …"; a typo was left to be spotted in
    // the list (until 2026-12-05).
    anyhow::ensure!(
        !asked.trim().is_empty(),
        "--reference is empty: name one of this run's allocators ({listed})"
    );
    anyhow::bail!(
        "--reference {asked}: not one of this run's allocators ({listed}){}",
        crate::suggest::did_you_mean(asked, rows.iter().copied())
    )
}

/// Refuses `asked` when it is the preset a bare `pymalloc` became on some workloads only.
fn on_every_workload(asked: &str, presets: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let (on, off): (Vec<_>, Vec<_>) = presets.iter().partition(|(_, p)| *p == asked);
    let Some((w, other)) = off.first() else {
        return Ok(());
    };
    anyhow::ensure!(
        on.is_empty(),
        "--reference {asked}: measured only on {} (a bare pymalloc is each workload's Python \
         version's preset: {other} on {w}); --reference pymalloc takes each workload's own",
        on.iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Whether `asked` names an allocator of the run (for a clear error before printing).
pub fn has_allocator(results: &RunResults, asked: &str) -> bool {
    (results.cells.iter()).any(|c| names_allocator(asked, &c.allocator))
}
