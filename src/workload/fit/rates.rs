//! The rates of the order a stand-in reproduces beyond its histograms — repeats, echoes,
//! cohorts and chains — each the excess over what independent draws already give, so that
//! mixing them with the draws lands on the trace's observed share.

use super::Request;
use std::collections::BTreeMap;

/// Ceiling on the chance that one allocation repeats the one before, whatever the trace
/// does. It was the privacy argument before the run guard ([`guard`](super::guard)): runs
/// of one request stayed geometric with at most this ratio, so a run of
/// [`LONG_RUN`](super::LONG_RUN) identical requests had a probability of 0.68^63 ≈ 3e-11
/// per position. The guard now keeps every trace run out whatever the rates; the cap stays
/// as a limit of the fit (the shipped traces come within 2 points of their size runs).
pub(crate) const MAX_REPEAT: f64 = 0.68;

/// The repeat probability `q` that, mixed with independent draws from a histogram whose
/// shares are `p`, gives the trace's observed repeat share: observed = q + (1 − q)·Σp²;
/// capped so that the most common request repeats with at most [`MAX_REPEAT`].
pub(super) fn repeat_excess(observed: f64, counts: &BTreeMap<Request, u64>) -> f64 {
    let chance = chance_of_repeat(counts.values().copied());
    if chance >= 1.0 {
        return 0.0;
    }
    let q = (observed - chance) / (1.0 - chance);
    q.clamp(0.0, run_cap(counts))
}

/// The chance that two independent draws from a histogram (`counts`) agree: Σ p².
fn chance_of_repeat(counts: impl Iterator<Item = u64> + Clone) -> f64 {
    let total = counts.clone().sum::<u64>().max(1) as f64;
    counts.map(|n| (n as f64 / total).powi(2)).sum()
}

/// The largest chance of asking for the previous request again that keeps the commonest
/// request's repeats at most [`MAX_REPEAT`]: q + (1 − q)·top ≤ MAX_REPEAT.
pub(super) fn run_cap(counts: &BTreeMap<Request, u64>) -> f64 {
    let total = counts.values().sum::<u64>().max(1) as f64;
    let top = counts.values().copied().max().unwrap_or(0) as f64 / total;
    if top >= MAX_REPEAT {
        return 0.0;
    }
    (MAX_REPEAT - top) / (1.0 - top)
}

/// The echo probability `e` that, mixed with independent draws, gives the trace's share of
/// allocations that ask for the request of the block freed just before them: observed =
/// e + (1 − e)·chance, where chance = Σ p_alloc(r)·p_freed(r) over requests. Programs loop:
/// a temporary is released and the next iteration's allocates its twin, which a LIFO free
/// list hands the block just released — still in cache. Not capped: an echo of a request
/// other than the previous one builds no run of one request; where the two coincide the
/// stand-in holds the echo to the repeat cap ([`Segment::run_cap`](super::Segment::run_cap)).
pub(super) fn echo_excess(
    hits: u64,
    freed: &BTreeMap<Request, u64>,
    requests: &BTreeMap<Request, u64>,
) -> f64 {
    let chances = freed.values().sum::<u64>();
    let total = requests.values().sum::<u64>();
    if chances == 0 || total == 0 {
        return 0.0;
    }
    let chance: f64 = freed
        .iter()
        .map(|(r, &n)| {
            let p = requests.get(r).copied().unwrap_or(0) as f64 / total as f64;
            p * n as f64 / chances as f64
        })
        .sum();
    if chance >= 1.0 {
        return 0.0;
    }
    let e = (hits as f64 / chances as f64 - chance) / (1.0 - chance);
    e.clamp(0.0, 1.0)
}

/// The chance `d` that a fresh draw in the previous allocation's size bin is drawn again,
/// for a trace whose consecutive allocations share a bin *less* often than independent
/// draws would: observed = (1 − d)·chance, chance = Σ p² over the bins' shares (`counts`).
/// test_json alternates an object and its `__dict__`: 4 % of its allocations fall in the
/// bin of the one before, where draws from its histogram would put 15 – 19 % there. 0
/// unless the trace repeats less than half as often as chance: loop bodies already repeat
/// less than independent draws (different quantiles), and json_tool, a little under chance
/// in some segments, lost 4 points of `size_runs` below its trace when avoided there.
pub(super) fn repeat_deficit(observed: f64, counts: impl Iterator<Item = u64> + Clone) -> f64 {
    let chance = chance_of_repeat(counts);
    if chance <= 0.0 || observed >= chance / 2.0 {
        return 0.0;
    }
    1.0 - observed / chance
}

/// The chance that a long-lived block joins the cohort born just before it: the share of
/// long-lived frees that follow a block born within the span, over the share of long-lived
/// births that have one born within the span before them (`near` = (births, with one)).
pub(super) fn join_rate(cohort_frees: u64, long_frees: u64, near: (u64, u64)) -> f64 {
    if long_frees == 0 || near.1 == 0 {
        return 0.0;
    }
    let share = cohort_frees as f64 / long_frees as f64;
    (share * near.0 as f64 / near.1 as f64).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_excess_inverts_the_mixture_and_is_capped() {
        let mut counts = BTreeMap::new();
        counts.insert((32u32, 2u8, false), 1u64);
        counts.insert((64u32, 2u8, false), 1u64);
        // Independent draws repeat half the time: no excess needed for 50 %, all of it for
        // 100 % (capped so the commonest request repeats at most MAX_REPEAT of the time).
        assert_eq!(repeat_excess(0.5, &counts), 0.0);
        assert_eq!(
            repeat_excess(0.2, &counts),
            0.0,
            "below chance cannot be made"
        );
        assert!((repeat_excess(0.6, &counts) - 0.2).abs() < 1e-12);
        let q = repeat_excess(1.0, &counts);
        assert!((q + (1.0 - q) * 0.5 - MAX_REPEAT).abs() < 1e-12, "{q}");
        assert_eq!(join_rate(30, 60, (100, 50)), 1.0);
        assert!((join_rate(30, 60, (100, 80)) - 0.625).abs() < 1e-12);
        assert_eq!(join_rate(0, 0, (0, 0)), 0.0);
        // The other side: repeating a quarter as often as chance (0.5) avoids 3 in 4.
        assert!((repeat_deficit(0.125, counts.values().copied()) - 0.75).abs() < 1e-12);
        assert_eq!(repeat_deficit(0.6, counts.values().copied()), 0.0);
        assert_eq!(
            repeat_deficit(0.3, counts.values().copied()),
            0.0,
            "a mild deficit"
        );
    }

    #[test]
    fn echo_excess_inverts_the_mixture() {
        let (a, b) = ((32u32, 2u8, false), (64u32, 2u8, false));
        let requests = BTreeMap::from([(a, 1u64), (b, 1u64)]);
        // Every chance follows a free of `a`, which an independent draw matches half the time.
        let freed = BTreeMap::from([(a, 10u64)]);
        assert_eq!(echo_excess(5, &freed, &requests), 0.0);
        assert_eq!(echo_excess(2, &freed, &requests), 0.0, "below chance");
        assert!((echo_excess(8, &freed, &requests) - 0.6).abs() < 1e-12);
        assert_eq!(echo_excess(10, &freed, &requests), 1.0, "not capped");
        assert_eq!(echo_excess(3, &BTreeMap::new(), &requests), 0.0);
        // A request drawn three times in four may repeat only so far (0.68 - 0.75 < 0).
        let lopsided = BTreeMap::from([(a, 3u64), (b, 1u64)]);
        assert_eq!(run_cap(&lopsided), 0.0);
        assert!((run_cap(&requests) - 0.36).abs() < 1e-12);
    }
}
