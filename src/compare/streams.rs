//! What `compare` says of the streams two runs replayed: whether they were the same events,
//! and whether they reached the loop the same way (streamed or held in memory).

use crate::report::model::RunResults;
use std::collections::{BTreeMap, BTreeSet};

/// One warning per workload whose throughput processes streamed their events in one run and
/// held them in memory in the other (`run --stream`, or `auto` deciding differently on
/// machines with different memory). `null`, which waits on little but the records, reads a
/// streamed run's faster, fresh from the read-ahead (1.31 against 1.45 ns/event on the
/// 10⁸-event webapp trace, 2026-12-06, README "Streaming replay"), while an allocator's
/// replay hides that wait: net figures then differ by a few per cent for that reason alone.
/// Silent where either run did not record how it replayed (results before 2026-12-06).
pub fn replay_mode_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    let (b, c) = (replay_modes(baseline), replay_modes(current));
    b.iter()
        .filter_map(|(w, mb)| {
            let mc = c.get(w)?;
            (mb != mc).then(|| {
                format!(
                    "warning: {w}: the baseline replayed its events {} and the current run {} \
                     (--stream): `null` reads streamed events faster, so net figures differ by a \
                     few per cent for that reason alone; compare runs of one mode",
                    mode_words(mb),
                    mode_words(mc)
                )
            })
        })
        .collect()
}

/// Per workload, how its throughput cells replayed: streamed (`true`), from memory, or both.
pub fn replay_modes(r: &RunResults) -> BTreeMap<&str, BTreeSet<bool>> {
    let mut modes = BTreeMap::<&str, BTreeSet<bool>>::new();
    for c in &r.cells {
        if let Some(s) = c.throughput.as_ref().and_then(|t| t.streamed) {
            modes.entry(c.workload.as_str()).or_default().insert(s);
        }
    }
    modes
}

/// One warning per workload whose cold passes had memory backed first in one run and not in
/// the other (`harness::throughput::ColdPrime`: `run`'s materialised replays on a machine that
/// reports free pages to its hypervisor, since 2026-12-06): pymalloc's cold pass on the
/// 10⁸-event webapp trace took a median 23.9 ns/event without against 6.65 with, so the
/// workload's `cold_ns_per_op` rows differ for that reason. Silent where neither primed
/// (a run from before the change reads as not primed).
pub fn cold_prime_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    let (b, c) = (primed(baseline), primed(current));
    b.iter()
        .filter_map(|(w, pb)| {
            let pc = c.get(w)?;
            (pb != pc).then(|| {
                let side = |p: bool| {
                    if p {
                        "had memory backed first"
                    } else {
                        "did not"
                    }
                };
                format!(
                    "warning: {w}: the baseline's cold passes {} and the current run's {} (a \
                     machine that reports free pages to its hypervisor; README \"Cold passes on \
                     a machine that reports free pages\"): its cold_ns_per_op rows differ for \
                     that reason",
                    side(*pb),
                    side(*pc)
                )
            })
        })
        .collect()
}

/// Per workload with throughput cells, whether any of its processes backed memory before
/// their cold passes.
fn primed(r: &RunResults) -> BTreeMap<&str, bool> {
    let mut out = BTreeMap::<&str, bool>::new();
    for c in &r.cells {
        if let Some(t) = &c.throughput {
            *out.entry(c.workload.as_str()).or_default() |= t.cold_primed_bytes.unwrap_or(0) > 0;
        }
    }
    out
}

fn mode_words(m: &BTreeSet<bool>) -> &'static str {
    match (m.contains(&true), m.contains(&false)) {
        (true, false) => "streamed",
        (false, true) => "from memory",
        _ => "streamed in some processes and from memory in others",
    }
}

/// One warning per workload both runs replayed as different streams: a changed built-in
/// model (e.g. the loop bodies `tuples`, `numbers` and `instances` got on 2026-12-01),
/// another `--scale` or trace, so the workload's differences are not the allocators'. Where
/// both runs recorded stream fingerprints (results since 2026-12-01) they decide, so a
/// stream changed at the same length is caught too; otherwise unequal allocator-event
/// counts prove different streams, and equal ones prove nothing.
pub fn stream_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    let (b, c) = (baseline.streams(), current.streams());
    b.iter()
        .filter_map(|(w, sb)| {
            let sc = c.get(w)?;
            sb.differ(sc).then(|| {
                let what = sb.difference(sc);
                format!(
                    "warning: {w}: the runs replayed different streams ({what}): a changed \
                     workload model, scale or trace, so its differences are not only the \
                     allocators'"
                )
            })
        })
        .collect()
}
