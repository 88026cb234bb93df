//! Warnings about the machines two runs were measured on, and the builds that measured them:
//! a setting both recorded and that differs (CPU model, huge page mode, governor, free page
//! reporting), cores clocked apart, a `checked` build. Each is one line on stderr before
//! `compare`'s report ([`super::mismatch_warnings`]); the comparison goes on.

use crate::report::model::RunResults;

/// Both runs' values of one machine setting, when both recorded it and they differ: runs
/// saved before a setting was recorded, or on a machine without it, are not compared on it.
fn differing<'a>(
    baseline: &'a RunResults,
    current: &'a RunResults,
    setting: impl Fn(&'a RunResults) -> Option<&'a String>,
) -> Option<(&'a str, &'a str)> {
    let (a, b) = (setting(baseline)?, setting(current)?);
    (a != b).then_some((a.as_str(), b.as_str()))
}

/// A one-line warning when the two runs come from different CPU models: timings then differ
/// for reasons no allocator change explains (issue 12).
pub fn cpu_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let (a, b) = differing(baseline, current, |r| r.machine.cpu_model.as_ref())?;
    Some(format!(
        "warning: the runs come from different CPUs ({a} vs {b}): timing differences may be the machine's"
    ))
}

/// A one-line warning when the two runs' machines were set to different transparent huge
/// page modes (`/sys/kernel/mm/transparent_hugepage/enabled`): each allocator's heap then
/// sits on pages of another size. Measured on Zen 5 (2026-12-08, docs/stability.md "Nor huge
/// pages for every heap"): with `always` against `madvise`, five runs each way alternated,
/// jemalloc's peak RSS on dicts +7.8 % and snmalloc's +34 % in every memory cell, and
/// jemalloc 0.69 → 0.75 of pymalloc's speed (medians of the processes).
pub fn thp_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let (a, b) = differing(baseline, current, |r| {
        r.machine.transparent_hugepages.as_ref()
    })?;
    Some(format!(
        "warning: the runs' machines used different transparent huge page modes ({a} vs {b}): \
         memory and timing differences may be the page size's, not the allocators'"
    ))
}

/// A one-line warning when the two runs' cores were under different frequency governors
/// (`scaling_governor` of cpu0): `powersave` against `performance` moves every timing by
/// the clock it lets the core keep, whatever the allocators do.
pub fn governor_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let (a, b) = differing(baseline, current, |r| r.machine.cpu_governor.as_ref())?;
    Some(format!(
        "warning: the runs' cores ran under different frequency governors ({a} vs {b}): \
         timing differences may be the clock's"
    ))
}

/// How far apart two runs' effective clocks may be before `compare` says so: further than
/// one sitting's start readings ever were. The fifty shards of attempt 90 (Zen 5,
/// 2026-12-07 20:40 – 20:53, docs/stability.md) started at 3.17 – 3.91 GHz, 1.23× apart, so
/// a tenth would have warned about two runs of one quiet sitting.
const CLOCK_APART: f64 = 1.25;

/// A one-line warning when the two runs' cores ran at clearly different effective clocks as
/// they started (`sys::clock_probe`): every timing then moves for a reason of the host's,
/// and ratios between allocators that wait on memory and those that do not move too. Silent
/// when either run has no clock figure.
pub fn clock_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let ghz = |r: &RunResults| r.machine.clock.as_ref()?.median_ghz();
    let (b, c) = (ghz(baseline)?, ghz(current)?);
    (b.max(c) / b.min(c) > CLOCK_APART).then(|| {
        format!(
            "warning: the runs' cores ran at different clocks as each started ({b:.2} GHz in \
             the baseline, {c:.2} GHz in the current run): timing differences may be the \
             host's, and ratios between allocators may move with it"
        )
    })
}

/// A one-line warning when one run's machine hands free memory back to its hypervisor and
/// the other's does not (`sys::hypervisor`): huge pages then cost the two runs differently,
/// most for mimalloc. Silent when either run did not record it.
pub fn reporting_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let on = |r: &RunResults| r.machine.free_page_reporting.map(|p| p.enabled);
    match (on(baseline), on(current)) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "warning: free page reporting is {} in the baseline's machine and {} in the \
             current's: huge pages cost the two runs differently (most for mimalloc)",
            if a { "on" } else { "off" },
            if b { "on" } else { "off" },
        )),
        _ => None,
    }
}

/// A warning when `machine`'s figures came from a build whose engine verifies every free
/// (`checked` or `debug`, [`crate::BUILD`]): pymalloc is slower there than in a release build.
pub fn build_warning_for(machine: &crate::sys::procfs::MachineInfo) -> Option<String> {
    match machine.build.as_deref() {
        Some(b) if b != "release" => Some(format!(
            "warning: measured with a `{b}` build of pybench, whose engine verifies every free: \
             pymalloc's figures are slower than a release build's (`cargo build --release`)"
        )),
        _ => None,
    }
}

/// A warning when the two runs were measured by different builds ([`crate::BUILD`]): the
/// engine's figures differ between a release and a `checked` build.
pub fn build_warning(baseline: &RunResults, current: &RunResults) -> Option<String> {
    let (a, b) = differing(baseline, current, |r| r.machine.build.as_ref())?;
    Some(format!(
        "warning: the runs come from different builds of pybench ({a} vs {b}): the engine's \
         timing differences may be the build's"
    ))
}
