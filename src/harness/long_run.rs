//! Runs that would take long, announced before they start: a scale typed with a few zeros
//! too many, or a `--precision` whose cap lets the run grow for days, would otherwise just
//! run, silently.

use super::shard::Shard;
use crate::report::precision::Precision;

/// A run estimated to take longer than this is announced before it starts: a scale typed
/// with a few zeros too many would otherwise just run, silently, for days.
const LONG_RUN_NS: u64 = 3_600 * 1_000_000_000;

/// The warning for a run whose estimate exceeds [`LONG_RUN_NS`]. The cost model is a rough
/// one (a nominal cost per event, made to balance shards, not to time them), so the figure
/// is given as an order of magnitude.
/// A shard takes about its share: shards are balanced by this same estimate.
pub(super) fn warning(costs: &[u64], shard: Option<Shard>) -> Option<String> {
    let whole = costs.iter().fold(0u64, |a, &c| a.saturating_add(c));
    let total = whole / shard.map_or(1, |k| u64::from(k.count).max(1));
    (total > LONG_RUN_NS).then(|| {
        let what = if shard.is_some() {
            "this shard"
        } else {
            "this run"
        };
        format!(
            "{what} is roughly estimated at {} (the workloads' event counts × \
             allocators × -r); check --scale, -r and --rounds — Ctrl-C keeps the finished cells",
            rough_ns(total)
        )
    })
}

/// With `--precision`, a run under [`LONG_RUN_NS`] as planned may still grow past it: every
/// workload may need `--max-repetitions` processes. Announced the same way, with the cap, so
/// `--precision 0.5 --max-repetitions 5000` does not just run for days. `costs` are the
/// planned groups' (repetitions outermost, `workloads` groups each).
pub(super) fn precision_ceiling(
    costs: &[u64],
    workloads: usize,
    precision: Option<Precision>,
    repetitions: u32,
) -> Option<String> {
    let p = precision?;
    let sum = |c: &[u64]| c.iter().fold(0u64, |a, &x| a.saturating_add(x));
    let planned = sum(costs);
    // The last repetition's groups: throughput processes only once -r passes the memory
    // repetitions, as every further one is.
    let per_repetition = sum(&costs[costs.len().saturating_sub(workloads)..]);
    let further = u64::from(p.max_repetitions.saturating_sub(repetitions));
    let ceiling = planned.saturating_add(per_repetition.saturating_mul(further));
    (planned <= LONG_RUN_NS && ceiling > LONG_RUN_NS).then(|| {
        format!(
            "this run could take up to roughly {} if --precision needs --max-repetitions {} \
             processes for every workload (the workloads' event counts × allocators); \
             Ctrl-C keeps the finished cells, and the closing line says how far it got",
            rough_ns(ceiling),
            p.max_repetitions
        )
    })
}

/// "40 s", "25 min", "2 hours", "9 days": an estimate's order of magnitude, in the unit a
/// person would say it in. Also `--precision`'s batch lines.
pub(super) fn rough_duration(secs: f64) -> String {
    let (mins, hours) = (secs / 60.0, secs / 3600.0);
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if mins < 120.0 {
        format!("{mins:.0} min")
    } else if hours < 48.0 {
        format!("{hours:.0} hours")
    } else {
        format!("{:.0} days", hours / 24.0)
    }
}

/// [`rough_duration`] of nanoseconds.
fn rough_ns(ns: u64) -> String {
    rough_duration(ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_over_an_hour_is_announced_and_a_shard_by_its_share() {
        let hour = LONG_RUN_NS;
        assert_eq!(warning(&[hour / 2, hour / 2], None), None);
        let w = warning(&[hour, hour], None).expect("two hours");
        assert!(
            w.starts_with("this run is roughly estimated at 2 hours"),
            "{w}"
        );
        // Half of two hours each: under the bar.
        let half: Shard = "1/2".parse().unwrap();
        assert_eq!(warning(&[hour, hour], Some(half)), None);
        // Saturating, not overflowing, and in days once that long.
        let w = warning(&[u64::MAX, 5], Some("3/4".parse().unwrap())).unwrap();
        assert!(w.starts_with("this shard is roughly estimated at "), "{w}");
        assert!(w.contains(" days ("), "{w}");
    }

    #[test]
    fn a_precision_that_may_pass_an_hour_is_announced_with_its_cap() {
        let hour = LONG_RUN_NS;
        // Two workloads, a minute each a repetition, 20 planned: 40 minutes.
        let minute = hour / 60;
        let costs = vec![minute; 40];
        let p = |max| {
            Some(Precision {
                half_width: 0.02,
                max_repetitions: max,
            })
        };
        assert_eq!(precision_ceiling(&costs, 2, None, 20), None);
        // Up to 25 processes: 50 minutes, still under the hour.
        assert_eq!(precision_ceiling(&costs, 2, p(25), 20), None);
        // Up to 200: 400 minutes.
        let w = precision_ceiling(&costs, 2, p(200), 20).expect("past the hour");
        assert!(
            w.starts_with(
                "this run could take up to roughly 7 hours if --precision needs \
                 --max-repetitions 200 processes"
            ),
            "{w}"
        );
        // Each unit where a person would switch to it.
        let said: Vec<String> = [40.0, 1500.0, 7200.0, 9.0 * 86400.0]
            .into_iter()
            .map(rough_duration)
            .collect();
        assert_eq!(said, ["40 s", "25 min", "2 hours", "9 days"]);
        // A run already announced as planned is not announced twice.
        assert_eq!(precision_ceiling(&[hour, hour], 2, p(200), 1), None);
    }
}
