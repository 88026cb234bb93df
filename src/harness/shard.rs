//! Sharding a run across machines (`run --shard K/N`, issue 15 item 4): which part of a run's
//! cells shard K of N measures, decided the same way on every machine from the command line
//! alone, and the `shard.json` each shard's results folder carries so `pybench merge` can
//! check that the parts fit together.
//!
//! The unit of sharding is the **(workload, repetition) group**: `null` and every allocator of
//! one repetition of one workload. Their throughput samples come from one process in which
//! they take turns round by round, and the speed ratios pair those rounds
//! ([`super::paired`], [`super::group`]); splitting a group would lose the pairing, so a
//! group is never split. Repetitions of one workload may land on different shards: their
//! figures are then pooled across machines, which is sound only when the machines are of one
//! kind — `merge` refuses shards from different machine kinds.
//!
//! Groups are assigned by estimated cost, largest first, each to the least-loaded shard so
//! far (ties: the lower shard, the earlier group): deterministic, and no shard's estimated
//! load exceeds another's by more than the largest group's cost.

use super::throughput::Calibration;
use crate::trace::{Source, TraceReader};
use crate::workload::Overrides;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Name of the file in a shard's (or a merged run's) results folder.
pub const SHARD_FILE: &str = "shard.json";

/// Version of `shard.json`'s layout.
pub const SHARD_FORMAT: u32 = 1;

/// The largest `shard.json` read (a run of thousands of groups is a few hundred KiB).
const MAX_SHARD_FILE_BYTES: u64 = 16 << 20;

/// The most shards a `shard.json` may name beyond its groups. `run --shard K/N` accepts any
/// N (a shard past the last group runs no cell), but `merge` reserves memory per shard and
/// names the missing ones: a hand-edited count of 4294967295 made it abort asking for 16 GiB
/// (fuzzing, 2026-12-07). A merge of more shards than this and than groups is refused.
pub const MAX_EMPTY_SHARDS: u32 = 1024;

/// Shard `index` of `count` (both from 1): what `--shard K/N` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = anyhow::Error;

    /// `K/N` with 1 ≤ K ≤ N; anything else is refused with the reason.
    fn from_str(s: &str) -> anyhow::Result<Shard> {
        let bad = |why: &str| {
            anyhow::anyhow!("--shard {s}: {why} (expected K/N with 1 ≤ K ≤ N, e.g. 2/4)")
        };
        let (k, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let num = |v: &str| {
            let v = v.trim();
            v.parse::<u32>().map_err(|_| {
                // `1/4294967296` is a whole number, only too large to be a count of shards.
                let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                bad(&if digits {
                    format!("`{v}` is too large (at most {})", u32::MAX)
                } else {
                    format!("`{v}` is not a whole number")
                })
            })
        };
        let (index, count) = (num(k)?, num(n)?);
        if count == 0 {
            return Err(bad("a run cannot be split into 0 shards"));
        }
        if index == 0 || index > count {
            return Err(bad(&format!("shard {index} of {count} does not exist")));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One (workload, repetition) group of the whole run and the shard that measures it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The workload's name as results show it.
    pub workload: String,
    /// From 0, as in the results files.
    pub repetition: u32,
    /// Estimated cost in nanoseconds ([`estimate_cost`]): only its proportions matter.
    pub cost: u64,
    /// The shard measuring it, from 1.
    pub shard: u32,
}

/// What `shard.json` holds: how the whole run was split, and which shards this folder holds
/// (one after `run --shard`, several after `merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub format: u32,
    /// N: how many shards the run was split into.
    pub count: u32,
    /// The shards whose cells this folder holds, ascending.
    pub shards: Vec<u32>,
    /// How throughput was measured: shards measured differently must not be merged, and the
    /// results manifest does not record it.
    pub calibration: Calibration,
    /// Every group of the whole run, in the run's order, with its shard.
    pub units: Vec<Unit>,
    /// Cells in every group: `null` and each allocator. A shard killed before it finished
    /// (SIGKILL, a CI job's time limit) leaves a results file that says nothing of it; merge
    /// counts each group's cells against this. Absent from the files of older pybenches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells_per_group: Option<u32>,
}

impl ShardManifest {
    /// The split of a run's groups (`workloads × repetitions`, repetitions outermost, as the
    /// plan lays out cells) with `costs[i]` for unit `i`, seen from `shard`; each group holds
    /// `cells_per_group` cells.
    pub fn split(
        groups: Vec<(String, u32)>,
        costs: &[u64],
        shard: Shard,
        calibration: Calibration,
        cells_per_group: u32,
    ) -> ShardManifest {
        let owners = assign(costs, shard.count);
        let units = groups
            .into_iter()
            .zip(costs.iter().zip(owners))
            .map(|((workload, repetition), (&cost, shard))| Unit {
                workload,
                repetition,
                cost,
                shard,
            })
            .collect();
        ShardManifest {
            format: SHARD_FORMAT,
            count: shard.count,
            shards: vec![shard.index],
            calibration,
            units,
            cells_per_group: Some(cells_per_group),
        }
    }

    /// Whether unit `i` belongs to the shards this folder holds.
    pub fn holds(&self, i: usize) -> bool {
        self.units
            .get(i)
            .is_some_and(|u| self.shards.contains(&u.shard))
    }

    /// Estimated cost of each shard, 1 … N.
    pub fn loads(&self) -> Vec<u64> {
        let mut loads = vec![0u64; self.count as usize];
        for u in &self.units {
            loads[(u.shard - 1) as usize] += u.cost;
        }
        loads
    }

    /// Reads `dir/shard.json`; `Ok(None)` when there is none (a run that was not sharded).
    pub fn load(dir: &Path) -> anyhow::Result<Option<ShardManifest>> {
        let path = dir.join(SHARD_FILE);
        if !path.exists() {
            return Ok(None);
        }
        // A regular file only: a FIFO in its place would make `merge` wait for ever.
        let text = crate::sys::fs::read_regular_string(&path, MAX_SHARD_FILE_BYTES, "a shard file")
            .with_context(|| format!("cannot read {}", path.display()))?;
        let m: ShardManifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a pybench shard file", path.display()))?;
        if m.format != SHARD_FORMAT {
            anyhow::bail!(
                "{}: shard file format {}, this pybench reads {SHARD_FORMAT}",
                path.display(),
                m.format
            );
        }
        let valid = |s: u32| (1..=m.count).contains(&s);
        if m.count == 0
            || !m.shards.iter().all(|&s| valid(s))
            || !m.units.iter().all(|u| valid(u.shard))
        {
            anyhow::bail!("{}: shard numbers outside 1…{}", path.display(), m.count);
        }
        let most = u32::try_from(m.units.len())
            .unwrap_or(u32::MAX)
            .max(MAX_EMPTY_SHARDS);
        if m.count > most {
            anyhow::bail!(
                "{}: split into {} shards, more than its {} groups and more than {MAX_EMPTY_SHARDS}: \
                 not a shard file pybench can merge",
                path.display(),
                m.count,
                m.units.len()
            );
        }
        // A group holds `null` at least: with 0, a shard killed before it finished would
        // count as whole (`check_complete` compares each group's cells against it).
        if m.cells_per_group == Some(0) {
            anyhow::bail!(
                "{}: cells_per_group is 0 (a group holds null at least)",
                path.display()
            );
        }
        Ok(Some(m))
    }

    /// Writes `dir/shard.json` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        crate::report::store::write_atomically(&dir.join(SHARD_FILE), |out| {
            serde_json::to_writer_pretty(&mut *out, self)?;
            writeln!(out)
        })
    }
}

/// Assigns items of `costs` to `count` shards (1-based result per item): largest cost first
/// (ties: earlier item first), each to the shard with the least load so far (ties: the lower
/// shard). When the last item lands on the most loaded shard, that shard was the least
/// loaded one just before, so max − min load ≤ the largest single cost.
pub fn assign(costs: &[u64], count: u32) -> Vec<u32> {
    let count = count.max(1) as usize;
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].cmp(&costs[a]).then(a.cmp(&b)));
    let mut loads = vec![0u64; count];
    let mut owner = vec![0u32; costs.len()];
    for i in order {
        let (s, _) = loads
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| a.cmp(b).then(i.cmp(j)))
            .expect("at least one shard");
        loads[s] = loads[s].saturating_add(costs[i]);
        owner[i] = s as u32 + 1;
    }
    owner
}

/// Nominal replay cost per event for the estimate (the measured replays run at 10 – 60 ns
/// per event; only proportions between groups matter, and those hold at any constant).
const NOMINAL_NS_PER_EVENT: u64 = 40;

/// Nominal cost of starting one measuring process and preparing its events.
const NOMINAL_PROCESS_NS: u64 = 20_000_000;

/// Estimated nanoseconds of one (workload, repetition) group with `contenders` throughput
/// contenders (`null` included): one throughput process, in which each contender runs the
/// schedule [`Calibration::contender_ns`] states; and, when the repetition
/// has them (`memory`: the first `--memory-repetitions`), a memory-and-latency
/// process per contender (two passes and the stream's preparation). Samples are time-bound
/// for short streams, so the cost is not simply proportional to the event count.
pub fn estimate_cost(events: u64, contenders: u64, cal: &Calibration, memory: bool) -> u64 {
    let pass = events.saturating_mul(NOMINAL_NS_PER_EVENT);
    let throughput = cal.contender_ns(pass);
    let cell = if memory {
        pass.saturating_mul(3).saturating_add(NOMINAL_PROCESS_NS)
    } else {
        0
    };
    contenders
        .saturating_mul(throughput.saturating_add(cell))
        .saturating_add(NOMINAL_PROCESS_NS)
}

/// Events a source replays, for the estimate: a trace's declared total, or a spec's scale
/// with the overrides applied (its allocation requests; the streams have 0.7 – 1.5 events
/// per request). Never generates the stream, so planning stays instant.
pub fn estimated_events(source: &Source, o: Overrides) -> anyhow::Result<u64> {
    Ok(match source {
        Source::Synthetic { workload, .. } => workload.clone().with(o).scale,
        Source::Trace { path, .. } => {
            let r = TraceReader::open(path).with_context(|| format!("{}", path.display()))?;
            r.declared().map_or(0, |e| e.events)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_outside_one_to_n_are_refused_with_the_reason() {
        let ok: Shard = "2/4".parse().unwrap();
        assert_eq!((ok.index, ok.count), (2, 4));
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for (bad, why) in [
            ("3/2", "does not exist"),
            ("0/4", "does not exist"),
            ("a/b", "not a whole number"),
            ("1/0", "0 shards"),
            ("2", "no `/`"),
            ("-1/3", "not a whole number"),
            (
                "1/4294967296",
                "`4294967296` is too large (at most 4294967295)",
            ),
        ] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn equal_groups_spread_evenly_and_every_group_gets_one_shard() {
        let owners = assign(&[5; 12], 4);
        for s in 1..=4 {
            assert_eq!(owners.iter().filter(|&&o| o == s).count(), 3, "{owners:?}");
        }
        // More shards than groups: the extra shards stay empty rather than splitting one.
        let owners = assign(&[5, 5], 3);
        assert_eq!(owners, vec![1, 2]);
    }

    #[test]
    fn loads_differ_by_at_most_the_largest_group_on_uneven_grids() {
        // Three workloads of very different sizes × 5 repetitions, split 2 … 6 ways.
        let mut costs = Vec::new();
        for _rep in 0..5 {
            costs.extend([1_000u64, 7_300, 42_000]);
        }
        for n in 2..=6u32 {
            let owners = assign(&costs, n);
            let mut loads = vec![0u64; n as usize];
            for (c, o) in costs.iter().zip(&owners) {
                loads[(*o - 1) as usize] += c;
            }
            let (max, min) = (loads.iter().max().unwrap(), loads.iter().min().unwrap());
            assert!(max - min <= 42_000, "n = {n}: loads {loads:?}");
            assert_eq!(assign(&costs, n), owners, "deterministic");
        }
    }

    #[test]
    fn short_streams_cost_their_minimum_sample_time_not_their_events() {
        // A 20 ms minimum sample, as `validate`'s calibration has.
        let cal = Calibration {
            min_time_ns: 20_000_000,
            rounds: 20,
            ..Calibration::DEFAULT
        };
        // 1,000 and 10,000 events both fit in one 20 ms sample: ten times the events cost a
        // few per cent more (the switch-in passes before the samples are not time-bound).
        let (a, b) = (
            estimate_cost(1_000, 3, &cal, true),
            estimate_cost(10_000, 3, &cal, true),
        );
        assert!(b > a && (b as f64 / a as f64) < 1.05, "{a} {b}");
        // 10⁸ events take seconds per pass: cost grows with events, and with contenders.
        let big = estimate_cost(100_000_000, 3, &cal, true);
        assert!(big > 10 * b);
        let twice = estimate_cost(100_000_000, 6, &cal, true) as f64 / big as f64;
        assert!((twice - 2.0).abs() < 0.001, "{twice}");
        // Repetitions past the first three make no memory cells: three processes and six
        // passes fewer.
        let lean = estimate_cost(100_000_000, 3, &cal, false);
        assert_eq!(
            big - lean,
            3 * (3 * 100_000_000 * NOMINAL_NS_PER_EVENT + NOMINAL_PROCESS_NS)
        );
    }
}
