//! What `compare` says of the streams two runs replayed: whether they were the same events,
//! and whether they reached the loop the same way (streamed or held in memory).

use crate::report::model::{RunResults, ThroughputSamples};
use std::collections::{BTreeMap, BTreeSet};

/// One warning per workload whose throughput processes streamed their events in one run and
/// held them in memory in the other (`run --stream`, or `auto` deciding differently on
/// machines with different memory). `null`, which waits on little but the records, reads a
/// streamed run's at another speed than a stream in memory — faster on the model-167 Intel
/// host (1.31 against 1.45 ns/event on the 10⁸-event webapp trace, 2026-12-06), slower on an
/// AMD EPYC model 17 (0.90 against 0.80, 2026-12-07; README "Streaming replay") — while an
/// allocator's replay hides that difference: net figures then differ by a few per cent for
/// that reason alone, in a direction that depends on the host.
/// Silent where either run did not record how it replayed (results before 2026-12-06).
pub fn replay_mode_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    per_workload_differences(
        replay_modes(baseline),
        replay_modes(current),
        |w, mb, mc| {
            format!(
                "warning: {w}: the baseline replayed its events {} and the current run {} \
             (--stream): `null` reads streamed events at another speed than events held in \
             memory, so net figures differ by a few per cent for that reason alone; compare \
             runs of one mode",
                mode_words(mb),
                mode_words(mc)
            )
        },
    )
}

/// Per workload, how its throughput cells replayed: streamed (`true`), from memory, or both;
/// workloads none of whose cells recorded it (results before 2026-12-06) are left out.
pub fn replay_modes(r: &RunResults) -> BTreeMap<&str, BTreeSet<bool>> {
    let mut modes = per_workload(r, |m: &mut BTreeSet<bool>, t| m.extend(t.streamed));
    modes.retain(|_, m| !m.is_empty());
    modes
}

/// One warning per workload whose cold passes had memory backed first in one run and not in
/// the other (`harness::throughput::ColdPrime`: `run`'s materialised replays on a machine that
/// reports free pages to its hypervisor, since 2026-12-06): pymalloc's cold pass on the
/// 10⁸-event webapp trace took a median 23.9 ns/event without against 6.65 with, so the
/// workload's `cold_ns_per_op` rows differ for that reason. Silent where neither primed
/// (a run from before the change reads as not primed).
pub fn cold_prime_warnings(baseline: &RunResults, current: &RunResults) -> Vec<String> {
    // Whether any of a workload's throughput processes backed memory first.
    let primed = |r| per_workload(r, |p: &mut bool, t| *p |= t.cold_primed_bytes > Some(0));
    per_workload_differences(primed(baseline), primed(current), |w, pb, pc| {
        let side = |p: bool| {
            if p {
                "had memory backed first"
            } else {
                "did not"
            }
        };
        format!(
            "warning: {w}: the baseline's cold passes {} and the current run's {} (a machine \
             that reports free pages to its hypervisor; README \"Cold passes on a machine that \
             reports free pages\"): its cold_ns_per_op rows differ for that reason",
            side(*pb),
            side(*pc)
        )
    })
}

/// Folds each workload's throughput samples into one value with `add`.
fn per_workload<T: Default>(
    r: &RunResults,
    mut add: impl FnMut(&mut T, &ThroughputSamples),
) -> BTreeMap<&str, T> {
    let mut out = BTreeMap::<&str, T>::new();
    for c in &r.cells {
        if let Some(t) = &c.throughput {
            add(out.entry(c.workload.as_str()).or_default(), t);
        }
    }
    out
}

/// `say(workload, baseline's, current's)` for every workload both runs have whose values
/// differ.
fn per_workload_differences<T: PartialEq>(
    b: BTreeMap<&str, T>,
    c: BTreeMap<&str, T>,
    say: impl Fn(&str, &T, &T) -> String,
) -> Vec<String> {
    (b.iter())
        .filter_map(|(w, vb)| c.get(w).filter(|vc| *vc != vb).map(|vc| say(w, vb, vc)))
        .collect()
}

/// How a process got its events, as the warnings say it.
pub fn mode_word(streamed: bool) -> &'static str {
    if streamed {
        "streamed"
    } else {
        "from memory"
    }
}

fn mode_words(m: &BTreeSet<bool>) -> &'static str {
    match (m.contains(&true), m.contains(&false)) {
        (true, false) => mode_word(true),
        (false, true) => mode_word(false),
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
