//! Which allocators a run measures: the ones named (all available) or every available one,
//! checked against `--libpython`, with the manifest's names and versions.

use super::RunRequest;
use crate::alloc::registry;
use crate::alloc::{AllocOptions, AllocatorSpec};
use crate::report::model::AllocatorInfo;
use crate::workload::PyVersion;

/// The allocators the run names (or every available one) for the sources' Python versions,
/// and the skipped ones' lines; checks `--libpython` against them, warning when it serves none.
pub(super) fn resolve_allocators(
    req: &RunRequest,
    pythons: &[PyVersion],
    warnings: &mut Vec<String>,
) -> anyhow::Result<(Vec<AllocatorSpec>, Vec<String>)> {
    if let Some(p) = &req.alloc.libpython {
        // Checked whether or not a cpython:3.X is in the run: a typo must not pass
        // silently into a run that then measures something else than asked.
        crate::sys::library_file::check_library_file(p)
            .map_err(|why| anyhow::anyhow!("--libpython {}: {why}", p.display()))?;
    }
    let (allocators, skipped) = select_allocators(&req.allocators, pythons, &req.alloc)?;
    let cpythons: Vec<PyVersion> = allocators
        .iter()
        .filter_map(AllocatorSpec::cpython_version)
        .collect();
    match &req.alloc.libpython {
        Some(_) if cpythons.is_empty() => warnings.push(
            "--libpython is for the cpython:3.X allocators and none is in this run: ignored"
                .to_string(),
        ),
        // The search found each cpython:3.X somewhere else when the library serves none.
        Some(p) => {
            crate::alloc::libpython::check_named_for_run(p, &cpythons, !req.allocators.is_empty())
                .map_err(anyhow::Error::msg)?
        }
        None => {}
    }
    Ok((allocators, skipped))
}

/// Each allocator's name and version for the manifest (`unknown` where it cannot say).
pub(super) fn allocator_infos(
    resolved: &[AllocatorSpec],
    alloc: &AllocOptions,
) -> Vec<AllocatorInfo> {
    resolved
        .iter()
        .map(|a| AllocatorInfo {
            name: a.name(),
            version: a
                .availability(alloc)
                .version
                .unwrap_or_else(|| "unknown".to_string()),
        })
        .collect()
}

/// What naming `null` in `-a` does. It is the harness's own cost, measured in every
/// throughput process beside each allocator (issue 12: the net figures subtract it round by
/// round), so it never has a row: beside others it is noted once; alone it measures only
/// the harness — its cost (each workload's "harness (null)" line) and its own memory (the
/// processes' peak RSS with nothing allocated, which issue 15's streaming target is about).
/// `null` named twice is refused as any allocator named twice is (it was taken silently,
/// where `-a system,system` is refused).
pub(super) fn null_named(allocators: &[AllocatorSpec]) -> anyhow::Result<Option<String>> {
    match allocators.iter().filter(|a| a.is_null()).count() {
        0 => return Ok(None),
        1 => {}
        _ => anyhow::bail!("`null` is named twice in -a: name each allocator once"),
    }
    if allocators.iter().all(AllocatorSpec::is_null) {
        return Ok(Some(
            "-a null alone measures only the harness: its cost is each workload's \"harness \
             (null)\" line and there is no allocator row to compare; name an allocator to \
             measure one, e.g. -a pymalloc"
                .to_string(),
        ));
    }
    Ok(Some(
        "null is measured in every run as the harness's own cost: it has no row, its figure \
         is each workload's \"harness (null)\" (and `null ns/op` in --format wide)"
            .to_string(),
    ))
}

/// The allocators of the run. Named ones must all be available (else exit 2 before
/// measuring). By default: every available allocator, with the engine as `pymalloc`
/// (resolved per workload) first and, of the real interpreters, only those whose version a
/// workload models — the comparison the engine preset stands in for. Returns the skipped
/// ones' one-line reasons.
fn select_allocators(
    named: &[AllocatorSpec],
    pythons: &[PyVersion],
    opts: &AllocOptions,
) -> anyhow::Result<(Vec<AllocatorSpec>, Vec<String>)> {
    if !named.is_empty() {
        return Ok((registry::select_specs(named, opts)?.specs, Vec::new()));
    }
    let selection = registry::select_specs(&[], opts)?;
    let mut skipped: Vec<String> = selection
        .skipped
        .iter()
        .filter(|(spec, _)| spec.cpython_version().is_none())
        .map(|(name, reason)| format!("skipped {name}: {reason}"))
        .collect();
    let mut specs: Vec<AllocatorSpec> = Vec::new();
    for spec in selection.specs {
        match spec {
            AllocatorSpec::Pymalloc => specs.insert(0, spec),
            AllocatorSpec::Cpython(v) if !pythons.contains(&v) => {}
            _ => specs.push(spec),
        }
    }
    for py in pythons {
        let wanted = AllocatorSpec::Cpython(*py);
        if !specs.contains(&wanted) {
            let reason = selection
                .skipped
                .iter()
                .find(|(s, _)| *s == wanted)
                .map_or("not found", |(_, r)| r.as_str());
            skipped.push(format!("skipped {wanted}: {reason}"));
        }
    }
    Ok((specs, skipped))
}
