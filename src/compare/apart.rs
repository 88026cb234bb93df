//! Whether the two runs measured the same stretch of time. On a shared host a run's timings
//! move with the minutes it sampled (other tenants' use of the shared L3, the host's memory
//! speed) by more than its own processes spread: five identical runs made back to back moved an
//! allocator's own throughput by up to ±20 % and held its ratio to pymalloc within ±3 % in
//! four sittings of thirteen, where five made interleaved shard by shard held the ratios in
//! six sittings of nine (README "Stability", attempts 58 – 79). The tests `compare` runs
//! take each run's processes as independent, which holds within a run, not between runs
//! made apart; so a timing verdict between such runs gets a note saying what it may be.

use super::{Class, Row, Verdict};
use crate::report::model::RunResults;
use crate::sys::time::readable_utc;

/// When `a`'s and `b`'s pieces (a run, or the shards of a merged one) started: the first
/// start of each, when every piece of one started before the first piece of the other
/// (stretches apart). `None` when they overlap (interleaved, or the same run) or a start is
/// not recorded.
fn made_apart<'r>(a: &'r RunResults, b: &'r RunResults) -> Option<(&'r str, &'r str)> {
    let (sa, sb) = (a.start_times(), b.start_times());
    let (a_first, a_last) = (*sa.first()?, *sa.last()?);
    let (b_first, b_last) = (*sb.first()?, *sb.last()?);
    (a_last < b_first || b_last < a_first).then_some((a_first, b_first))
}

/// The note on timing rows that changed between runs made apart ([`made_apart`]); `None`
/// when no timing row changed or the runs overlapped in time.
pub(super) fn apart_note(
    baseline: &RunResults,
    current: &RunResults,
    rows: &[Row],
) -> Option<String> {
    let changed = rows
        .iter()
        .filter(|r| r.class == Class::Timing)
        .filter(|r| matches!(r.verdict, Verdict::Regressed | Verdict::Improved))
        .count();
    if changed == 0 {
        return None;
    }
    let (b, c) = made_apart(baseline, current)?;
    // Not --relative-to as a remedy: ratios between allocators drift with the sitting too
    // (ten A/A pairs of back-to-back default runs, 2026-12-06 attempt 75: 40 (workload,
    // allocator) cells judged changed absolutely, 45 relative to pymalloc).
    Some(format!(
        "{} timing row(s) changed between runs measured apart in time (the baseline started \
         {}, the current run {}), not interleaved: on a shared host a run's timings move with \
         the stretch of time it sampled by more than its own processes spread (README \
         \"Stability\"), so these may be the host's drift rather than a change; to tell them \
         apart, measure both builds interleaved shard by shard (`scripts/ab.sh`)",
        changed,
        readable_utc(b),
        readable_utc(c),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_started(starts: &[&str]) -> RunResults {
        let mut r = RunResults::of_cells(Vec::new());
        match starts {
            [one] => r.started_utc = one.to_string(),
            _ => r.shard_starts_utc = starts.iter().map(|s| s.to_string()).collect(),
        }
        r
    }

    const T1: &str = "20261206T140000Z";
    const T2: &str = "20261206T140100Z";
    const T3: &str = "20261206T140200Z";
    const T4: &str = "20261206T140300Z";

    #[test]
    fn runs_one_after_the_other_are_apart_and_interleaved_shards_are_not() {
        let (one, two) = (run_started(&[T1]), run_started(&[T3]));
        assert_eq!(made_apart(&one, &two), Some((T1, T3)));
        assert_eq!(made_apart(&two, &one), Some((T3, T1)));
        // Shards taking turns (A B A B): their stretches overlap.
        let (a, b) = (run_started(&[T1, T3]), run_started(&[T2, T4]));
        assert_eq!(made_apart(&a, &b), None);
        assert_eq!(made_apart(&b, &a), None);
        // All of one run's shards before the other's: apart, however many shards.
        let (early, late) = (run_started(&[T1, T2]), run_started(&[T3, T4]));
        assert_eq!(made_apart(&early, &late), Some((T1, T3)));
        // The same start (one run, or a copy) is not apart; a start not recorded says nothing.
        assert_eq!(made_apart(&one, &one), None);
        assert_eq!(made_apart(&one, &run_started(&[""])), None);
        // Merged before merge kept each shard's start: its first start alone says nothing.
        let mut old_merge = run_started(&[T1]);
        old_merge.command_line = ["pybench", "merge", "a", "b", "-o", "m"]
            .map(String::from)
            .to_vec();
        assert_eq!(made_apart(&old_merge, &two), None);
        old_merge.command_line[1] = "run".into();
        assert_eq!(made_apart(&old_merge, &two), Some((T1, T3)));
    }

    /// A row of `class` given `verdict` (its figures do not matter here).
    fn timing_row(verdict: Verdict, class: Class) -> Row {
        use crate::compare::verdict::{judge, RowInput};
        let input = RowInput {
            workload: "dicts",
            allocator: "jemalloc",
            metric: "ops_per_sec",
            op: None,
            unit: "ops/s",
            class,
            higher_is_better: true,
            baseline: vec![1.0; 3],
            current: vec![1.0; 3],
            tail_samples: None,
            resolution: None,
            peak_live: None,
            per_process: None,
        };
        let mut r = judge(input, &crate::compare::Settings::default(), 0);
        r.verdict = verdict;
        r
    }

    #[test]
    fn only_changed_timing_rows_of_runs_apart_get_the_note() {
        let (one, two) = (run_started(&[T1]), run_started(&[T3]));
        let regressed = [timing_row(Verdict::Regressed, Class::Timing)];
        let note = apart_note(&one, &two, &regressed).expect("a timing change, runs apart");
        assert!(
            note.starts_with("1 timing row(s) changed between runs measured apart"),
            "{note}"
        );
        assert!(
            note.contains("2026-12-06 14:00:00 UTC, the current run 2026-12-06 14:02:00 UTC"),
            "{note}"
        );
        assert!(
            note.ends_with("interleaved shard by shard (`scripts/ab.sh`)"),
            "{note}"
        );
        // Interleaved: no note.
        let (a, b) = (run_started(&[T1, T3]), run_started(&[T2, T4]));
        assert_eq!(apart_note(&a, &b, &regressed), None);
        // Nothing changed, or only memory: no note.
        let quiet = [
            timing_row(Verdict::NotSignificant, Class::Timing),
            timing_row(Verdict::Unchanged, Class::Timing),
            timing_row(Verdict::Regressed, Class::Memory),
        ];
        assert_eq!(apart_note(&one, &two, &quiet), None);
    }
}
