//! What `merge` refuses ([`super::merge`]): shards that are not parts of one run measured
//! the same way, shards given twice or missing, and shards that stopped short. Every check
//! reads the shards only; nothing is written until all have passed.

use super::Part;
use crate::compare::{mode_word, replay_modes};
use crate::report::model::{RunResults, StreamIds};
use serde::Serialize;
use std::collections::HashMap;

/// Refuses `b` unless it is a part of the same run as `a`, measured the same way on the same
/// kind of machine; the error names what differs.
pub(super) fn same_run(a: &Part, b: &Part) -> anyhow::Result<()> {
    let (ra, rb) = (&a.results, &b.results);
    let (an, bn) = (a.name(), b.name());
    if (&ra.pybench_version, &ra.git_commit) != (&rb.pybench_version, &rb.git_commit) {
        anyhow::bail!(
            "{an} and {bn} were measured by different pybench builds ({} {} vs {} {})",
            ra.pybench_version,
            ra.git_commit.as_deref().unwrap_or("-"),
            rb.pybench_version,
            rb.git_commit.as_deref().unwrap_or("-")
        );
    }
    let params = field_differences(&ra.parameters, &rb.parameters);
    if !params.is_empty() {
        anyhow::bail!("run parameters differ between {an} and {bn}: {params}");
    }
    if ra.allocators != rb.allocators {
        let show = |r: &RunResults| {
            r.allocators
                .iter()
                .map(|i| format!("{} {}", i.name, i.version))
                .collect::<Vec<_>>()
                .join(", ")
        };
        anyhow::bail!(
            "allocator versions differ between {an} ({}) and {bn} ({})",
            show(ra),
            show(rb)
        );
    }
    let cal = field_differences(&a.shard.calibration, &b.shard.calibration);
    if !cal.is_empty() {
        anyhow::bail!(
            "throughput calibration (--rounds, --min-time) differs between {an} and {bn}: {cal}"
        );
    }
    if a.shard.count != b.shard.count {
        anyhow::bail!("{an} and {bn} split the run into different numbers of shards");
    }
    if a.shard.units != b.shard.units {
        anyhow::bail!(
            "{an} and {bn} split the run differently (a trace file or workload spec changed between them?)"
        );
    }
    let (mut ma, mut mb) = (ra.machine.clone(), rb.machine.clone());
    (ma.load_average, mb.load_average) = (None, None);
    (ma.cache_share, mb.cache_share) = (None, None);
    (ma.clock, mb.clock) = (None, None);
    let kind = field_differences(&ma, &mb);
    if !kind.is_empty() {
        anyhow::bail!(
            "{an} and {bn} ran on different kinds of machine ({kind}): repetitions from both would \
             be pooled as one experiment; run every shard on one kind of machine"
        );
    }
    Ok(())
}

/// Refuses shards that replayed different streams of one workload (fingerprints with no
/// value in common, the test `compare` applies to two runs): a trace or spec changed between
/// them, and their repetitions would be pooled as one experiment. Every replay cell records
/// its stream's fingerprint (those of throughput alone since 2026-12-05), so a shard holding
/// only further repetitions is checked too.
pub(super) fn same_streams(parts: &[Part]) -> anyhow::Result<()> {
    let mut seen: HashMap<&str, (&Part, StreamIds<'_>)> = HashMap::new();
    for p in parts {
        for (w, s) in p.results.streams() {
            if !s.fingerprinted() {
                continue;
            }
            match seen.get(w) {
                None => {
                    seen.insert(w, (p, s));
                }
                Some((q, first)) if first.differ(&s) => anyhow::bail!(
                    "{} and {} replayed different streams of {w} ({}): a trace or workload \
                     spec changed between them; measure every shard from the same one",
                    q.name(),
                    p.name(),
                    first.difference(&s)
                ),
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Refuses shards that replayed one workload's events in different ways, streamed in one
/// and held in memory in another: `--stream auto` decides by the machine's free memory, so
/// machines of one kind can still decide differently, and `null` reads streamed events at
/// another speed than events held in memory (faster on the model-167 Intel host, 1.31 against
/// 1.45 ns/event on the 10⁸-event webapp trace; slower on an AMD EPYC model 17, 0.90 against
/// 0.80; README "Streaming replay"), so the shards' net figures would differ by a few per cent
/// for that alone and be pooled as one experiment. Shards that did not record how they replayed
/// (results before 2026-12-06) are not checked.
pub(super) fn same_replay_modes(parts: &[Part]) -> anyhow::Result<()> {
    let mut seen: HashMap<&str, (&Part, bool)> = HashMap::new();
    for p in parts {
        for (w, modes) in replay_modes(&p.results) {
            for m in modes {
                let &mut (q, first) = seen.entry(w).or_insert((p, m));
                if first != m {
                    anyhow::bail!(
                        "{} replayed the events of {w} {} and {} {}: their net figures would \
                         differ by a few per cent for that alone; run every shard with the \
                         same --stream always or --stream never",
                        q.name(),
                        mode_word(first),
                        p.name(),
                        mode_word(m)
                    );
                }
            }
        }
    }
    Ok(())
}

/// `field (a vs b)` for every field of two serialisable records that differs; where both
/// sides hold a record of their own (`--stream`'s mode and budget), its differing fields are
/// named inside it (`stream.mode (auto vs always)`) rather than printed whole as JSON.
pub(super) fn field_differences<T: Serialize>(a: &T, b: &T) -> String {
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return String::new();
    };
    let mut found = Vec::new();
    differing_fields("", &a, &b, &mut found);
    found.join(", ")
}

/// Appends `prefix` + `field (a vs b)` to `found` for each differing field of two JSON
/// objects, descending into fields that are objects on both sides.
fn differing_fields(
    prefix: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    found: &mut Vec<String>,
) {
    use serde_json::Value;
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return;
    };
    fn show(v: &Value) -> String {
        match v {
            Value::Null => "none".to_string(),
            Value::String(s) => s.clone(),
            // A record against nothing (`--mutator` in one shard only): `key=value,…`, as
            // options are written, not JSON.
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| format!("{k}={}", show(v)))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        }
    }
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (x, y) = (
            a.get(k).unwrap_or(&Value::Null),
            b.get(k).unwrap_or(&Value::Null),
        );
        match (x, y) {
            _ if x == y => {}
            (Value::Object(_), Value::Object(_)) => {
                differing_fields(&format!("{prefix}{k}."), x, y, found)
            }
            _ => found.push(format!("{prefix}{k} ({} vs {})", show(x), show(y))),
        }
    }
}

/// Each shard at most once, and all of them unless `partial`: returns the missing ones.
pub(super) fn check_coverage(parts: &[Part], partial: bool) -> anyhow::Result<Vec<u32>> {
    let count = parts[0].shard.count;
    let mut seen: HashMap<u32, &Part> = HashMap::new();
    for p in parts {
        if let Some(other) = seen.insert(p.index(), p) {
            anyhow::bail!(
                "shard {}/{count} given twice: {} and {}",
                p.index(),
                other.dir.display(),
                p.dir.display()
            );
        }
    }
    let missing: Vec<u32> = (1..=count).filter(|k| !seen.contains_key(k)).collect();
    if !missing.is_empty() && !partial {
        anyhow::bail!(
            "shard {} missing ({} of {count} given); pass --partial to merge without {}",
            shard_list(&missing, count),
            parts.len(),
            if missing.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(missing)
}

/// How many shards a list names before "and N more": a merge of a thousand shards with
/// most missing must still refuse in one readable line (a count of 10⁶ once made a 15.9 MB
/// line; fuzzing, 2026-12-07), as `compare` lists missing cells.
const SHARDS_LISTED: usize = 6;

/// `k/count` for the first `SHARDS_LISTED` of `shards`, then how many more.
pub fn shard_list(shards: &[u32], count: u32) -> String {
    let mut shown: Vec<String> = (shards.iter().take(SHARDS_LISTED))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if shards.len() > SHARDS_LISTED {
        shown.push(format!("and {} more", shards.len() - SHARDS_LISTED));
    }
    shown.join(", ")
}

/// Refuses a shard whose `cells_per_group` is not the number of allocators its run
/// parameters name, `null` included (what `run --shard` writes: `plan.rs` passes
/// `with_baseline.len()`): a hand-edited or damaged count would judge a killed shard whole
/// or a whole one short. Results without the parameter list (older files) are not checked.
fn cells_per_group_matches(p: &Part) -> anyhow::Result<()> {
    let named = p.results.parameters.allocators.len();
    match p.shard.cells_per_group {
        Some(n) if named > 0 && n as usize != named => anyhow::bail!(
            "{}: its shard.json says a group holds {n} cells, but its run names {named} \
             allocators (null included); the shard file was edited or damaged",
            p.name()
        ),
        _ => Ok(()),
    }
}

/// Every shard given holds all the cells of its part unless `partial`: returns the ones
/// that do not, ascending. A shard stopped by Ctrl-C says so (`interrupted`); one killed
/// outright (SIGKILL, a CI job's time limit) or stopped by SIGTERM leaves a results file
/// saved after its last finished cell that does not, so each of its groups' cells is
/// counted: against `cells_per_group` from its `shard.json`, or, for a shard file of an
/// older pybench, the most cells any group of the merge holds (every group of a run has
/// the same: `null` and each allocator).
pub(super) fn check_complete(parts: &[Part], partial: bool) -> anyhow::Result<Vec<u32>> {
    // Cells the shard holds in each group of its part.
    let per_unit = |p: &Part| -> Vec<usize> {
        let k = p.index();
        (p.shard.units.iter().filter(|u| u.shard == k))
            .map(|u| {
                (p.results.cells.iter())
                    .filter(|c| c.workload == u.workload && c.repetition == u.repetition)
                    .count()
            })
            .collect()
    };
    for p in parts {
        cells_per_group_matches(p)?;
    }
    let observed = parts.iter().flat_map(per_unit).max().unwrap_or(0);
    let mut short = Vec::new();
    for p in parts {
        let expected = p.shard.cells_per_group.map_or(observed, |n| n as usize);
        let units = per_unit(p);
        let want = expected * units.len();
        let have: usize = units.iter().map(|&n| n.min(expected)).sum();
        let lacking = have < want;
        if (p.results.interrupted || lacking) && !partial {
            let why = if p.results.interrupted {
                "was interrupted"
            } else {
                "stopped before it finished (killed, or out of time?)"
            };
            anyhow::bail!(
                "{} {why}: it holds {have} of the {want} cells of its part; re-run it, or pass \
                 --partial to merge what it has",
                p.name()
            );
        }
        if p.results.interrupted || lacking {
            short.push(p.index());
        }
    }
    short.sort_unstable();
    Ok(short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::RunParameters;

    #[test]
    fn differences_name_each_differing_field_with_both_values() {
        let a = RunParameters {
            repetitions: 3,
            touch: "header".to_string(),
            ..RunParameters::default()
        };
        let b = RunParameters {
            seed: Some(7),
            touch: "full".to_string(),
            ..a.clone()
        };
        assert_eq!(
            field_differences(&a, &b),
            "seed (none vs 7), touch (header vs full)"
        );
        assert_eq!(field_differences(&a, &a.clone()), "");
        // Shards measuring memory and latency in different repetitions (`--memory-repetitions`).
        let four = RunParameters {
            memory_repetitions: Some(4),
            ..a.clone()
        };
        let three = RunParameters {
            memory_repetitions: Some(3),
            ..a.clone()
        };
        assert_eq!(
            field_differences(&three, &four),
            "memory_repetitions (3 vs 4)"
        );
        // A record inside a record: its differing fields by name, not the whole of it.
        use crate::harness::stream_policy::{StreamMode, StreamPolicy};
        let auto = RunParameters {
            stream: Some(StreamPolicy::default()),
            ..a.clone()
        };
        let always = RunParameters {
            stream: Some(StreamPolicy {
                mode: StreamMode::Always,
                ..StreamPolicy::default()
            }),
            ..a.clone()
        };
        assert_eq!(
            field_differences(&auto, &always),
            "stream.mode (auto vs always)"
        );
        // Present on one side only: the record is shown whole against none, as options are
        // written (`key=value,…`), not as JSON.
        let shown = field_differences(&a, &always);
        assert!(
            shown.starts_with("stream (none vs budget_bytes="),
            "{shown}"
        );
        assert!(shown.ends_with(",mode=always)"), "{shown}");
        let mutator = RunParameters {
            mutator: Some(crate::harness::mutator::MutatorParams::default()),
            ..a.clone()
        };
        assert_eq!(
            field_differences(&mutator, &a),
            "mutator (alu=8,recent=0.9,ring=16 vs none)"
        );
    }
}
