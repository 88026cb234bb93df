//! `pybench validate`: put the replay's verdict next to the real program's. Given a run's
//! cells — replay cells of the program's recorded trace and exec cells of the program itself —
//! it pairs each allocator's figures, reports medians with 95 % bootstrap intervals on both
//! sides, ranks allocators by time and by peak RSS, and judges every pair by the real runs'
//! significance (`agreement.rs`): pairs the real runs cannot tell apart are listed apart, the
//! others agree or disagree, in words with both sides' intervals.

use super::agreement::{agreement, ranks, resolution, Agreement, Verdict, ALPHA};
use crate::harness::mutator_fit::is_mutator_cell;
use crate::metrics::Id;
use crate::report::model::{
    CellKind, CellResult, Prediction, PredictorAgreement, Ranged, RunResults, Validation,
    ValidationRow,
};
use crate::stats::{median, median_interval, ratio_of_medians, seed_for, Bootstrap};

/// What each exec allocator was replayed with (`None`: no in-process equivalent).
pub type Pairing = Vec<(String, Option<String>)>;

/// The reference allocator of both sides' differences: the interpreter as shipped. When it is
/// not among the allocators, the first one measured on both sides stands in, so the
/// differences are still taken against one allocator, the same on both sides.
pub const REFERENCE: &str = "pymalloc";

/// Index of the reference: [`REFERENCE`] if present, else the first allocator with samples
/// on both sides.
fn reference_of(pairing: &Pairing, all: &[Samples]) -> Option<usize> {
    pairing
        .iter()
        .position(|(n, _)| n == REFERENCE)
        .or_else(|| {
            all.iter()
                .position(|s| !s.replay_warm.is_empty() && !s.real_time.is_empty())
        })
}

fn samples(results: &RunResults, kind: CellKind, allocator: &str, metric: &str) -> Vec<f64> {
    results
        .cells
        .iter()
        .filter(|c| c.kind == kind && c.allocator == allocator && c.is_ok())
        .filter_map(|c| c.metric(metric, None))
        .collect()
}

/// One allocator's repetitions: replay time (the whole trace's allocator time in the untimed
/// pass, events ÷ throughput), real wall time, and peak RSS on both sides.
#[derive(Default)]
struct Samples {
    /// The untimed pass's figure from the warm passes.
    replay_warm: Vec<f64>,
    /// The mutator replay's time for the whole trace (issue 14 item 2).
    mutator_time: Vec<f64>,
    /// Each replay process's first pass over the trace, on its fresh allocator: the real
    /// program also runs its stream once from a fresh heap, so its first-use costs (page
    /// faults, arenas and thread caches set up) are in this pass and in no warm one. On a
    /// quiet machine it predicted more of every significant observed difference than the
    /// warm passes, in both modes (README, "The mutator replay").
    replay_cold: Vec<f64>,
    mutator_cold: Vec<f64>,
    real_time: Vec<f64>,
    real_cpu: Vec<f64>,
    replay_rss: Vec<f64>,
    real_rss: Vec<f64>,
}

fn collect(results: &RunResults, name: &str, replay: Option<&str>) -> Samples {
    let mut s = Samples {
        real_time: samples(results, CellKind::Exec, name, "wall_ns")
            .into_iter()
            .map(|ns| ns / 1e9)
            .collect(),
        real_cpu: samples(results, CellKind::Exec, name, "cpu_ns")
            .into_iter()
            .map(|ns| ns / 1e9)
            .collect(),
        real_rss: samples(results, CellKind::Exec, name, "peak_rss_bytes"),
        ..Samples::default()
    };
    if let Some(r) = replay {
        // Both replay modes' cells are replay cells of the same allocator; the mutator's
        // carry its fit's note.
        let time = |mutator: bool, of: fn(&CellResult) -> Option<f64>| -> Vec<f64> {
            results
                .cells
                .iter()
                .filter(|c| c.kind == CellKind::Replay && c.allocator == r && c.is_ok())
                .filter(|c| is_mutator_cell(c) == mutator)
                .filter_map(of)
                .filter(|t| t.is_finite())
                .collect()
        };
        let warm = |c: &CellResult| Some(c.events as f64 / c.metric(Id::OpsPerSec.name(), None)?);
        let cold =
            |c: &CellResult| Some(c.events as f64 * c.metric(Id::ColdNsPerOp.name(), None)? / 1e9);
        s.replay_warm = time(false, warm);
        s.mutator_time = time(true, warm);
        s.replay_cold = time(false, cold);
        s.mutator_cold = time(true, cold);
        s.replay_rss = results
            .cells
            .iter()
            .filter(|c| c.kind == CellKind::Replay && c.allocator == r && c.is_ok())
            .filter(|c| !is_mutator_cell(c))
            .filter_map(|c| c.metric("peak_rss_bytes", None))
            .collect();
    }
    s
}

/// Whether two samples can give an interval: one value has no spread to resample (its
/// bootstrap interval would be the point itself, a precision one run does not have).
fn resamplable(a: &[f64], b: &[f64]) -> bool {
    a.len() >= 2 && b.len() >= 2
}

/// median(`x`) − median(`reference`), two independent samples, with a 95 % percentile
/// bootstrap interval (each side resampled on its own, as `ratio_of_medians` does), widened
/// to contain the point; no interval when a side has a single value. `None` when a side is
/// empty.
pub fn difference_of_medians(x: &[f64], reference: &[f64], b: &Bootstrap) -> Option<Ranged> {
    let point = median(x)? - median(reference)?;
    if !resamplable(x, reference) {
        return Some(Ranged::new(point, None));
    }
    let mut rng = crate::stats::SplitMix64::new(b.seed);
    let mut draw = |v: &[f64]| -> f64 {
        let r: Vec<f64> = (0..v.len())
            .map(|_| v[rng.below(v.len() as u64) as usize])
            .collect();
        median(&r).unwrap_or(f64::NAN)
    };
    let mut d: Vec<f64> = (0..b.resamples)
        .map(|_| draw(x) - draw(reference))
        .filter(|d| d.is_finite())
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d[((q * (d.len() - 1) as f64).round() as usize).min(d.len() - 1)];
    let alpha = (1.0 - b.level) / 2.0;
    let interval = [at(alpha).min(point), at(1.0 - alpha).max(point)];
    Some(Ranged::new(point, Some(interval)))
}

/// median(`current`) ÷ median(`baseline`) with its interval ([`ratio_of_medians`]); no
/// interval when a side has a single value. `None` when a side is empty or the baseline's
/// median is zero.
fn ratio(baseline: &[f64], current: &[f64], b: &Bootstrap) -> Option<Ranged> {
    if !resamplable(baseline, current) {
        let (mb, mc) = (median(baseline)?, median(current)?);
        return (mb != 0.0).then(|| Ranged::new(mc / mb, None));
    }
    ratio_of_medians(baseline, current, b).map(|e| Ranged::new(e.point, Some([e.lo, e.hi])))
}

/// The interval of a median; `None` from fewer than two values (no spread to resample).
fn ci(values: &[f64], b: &Bootstrap) -> Option<[f64; 2]> {
    if values.len() < 2 {
        return None;
    }
    median_interval(values, b).map(|e| [e.lo, e.hi])
}

fn version_of(results: &RunResults, name: &str) -> Option<String> {
    results
        .allocators
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.version.clone())
}

/// The samples of one allocator's replay time.
type Figure = fn(&Samples) -> &Vec<f64>;

/// The prediction `asked` for, if every allocator replayed has its figures (cold ones are
/// missing in runs saved before they were measured), else the warm one; and its samples.
fn choose_prediction(asked: Prediction, all: &[Samples]) -> (Prediction, Figure) {
    let mut replayed = all.iter().filter(|s| !s.replay_warm.is_empty());
    if asked == Prediction::Cold && replayed.all(|s| !s.replay_cold.is_empty()) {
        (Prediction::Cold, |s| &s.replay_cold)
    } else {
        (Prediction::Warm, |s| &s.replay_warm)
    }
}

/// Builds the validation from a run holding both kinds of cells, the program's time
/// predicted by the replay's `prediction` figure (the warm one when the run has no cold
/// figures).
pub fn validate(
    results: &RunResults,
    program: &str,
    trace: &str,
    pairing: &Pairing,
    prediction: Prediction,
) -> Validation {
    let b = Bootstrap::new(seed_for(program));
    let all: Vec<Samples> = pairing
        .iter()
        .map(|(name, replay)| collect(results, name, replay.as_deref()))
        .collect();
    let (prediction, predicted) = choose_prediction(prediction, &all);
    let reference = reference_of(pairing, &all);
    let base = reference.map(|i| &all[i]);
    let mut rows: Vec<ValidationRow> = pairing
        .iter()
        .zip(&all)
        .map(|((name, replay), s)| row(results, name, replay.as_deref(), s, predicted, base, &b))
        .collect();

    // Rank and judge only the allocators measured on both sides, so the rankings compare.
    let both = measured_on_both_sides(&all);
    let pick = |f: Figure| -> Vec<Vec<f64>> { both.iter().map(|&i| f(&all[i]).clone()).collect() };
    let (real_time, real_rss) = (pick(|s| &s.real_time), pick(|s| &s.real_rss));
    let time = agreement(&pick(predicted), &real_time, ALPHA);
    let by = |times: Vec<Vec<f64>>| {
        (!times.iter().any(Vec::is_empty)).then(|| agreement(&times, &real_time, ALPHA))
    };
    let (time_cold, time_warm) = (by(pick(|s| &s.replay_cold)), by(pick(|s| &s.replay_warm)));
    let memory = agreement(&pick(|s| &s.replay_rss), &real_rss, ALPHA);
    assign_ranks(&mut rows, &both);

    let judged: Vec<&ValidationRow> = both.iter().map(|&i| &rows[i]).collect();
    let (disagreements, indistinguishable) = pairs_in_words(&time, &memory, &judged);
    let counts = |g: &Agreement| {
        [
            g.count(Verdict::Agree),
            g.count(Verdict::Disagree),
            g.count(Verdict::Indistinguishable),
        ]
    };
    Validation {
        program: program.to_string(),
        trace: trace.to_string(),
        tau_time: time.tau_raw,
        tau_memory: memory.tau_raw,
        rows,
        disagreements,
        tau_time_significant: time.tau_significant,
        tau_memory_significant: memory.tau_significant,
        indistinguishable,
        pair_counts: Some([counts(&time), counts(&memory)]),
        resolution: Some([resolution(&real_time), resolution(&real_rss)]),
        reference: reference.map(|i| pairing[i].0.clone()),
        prediction,
        time_cold: time_cold.map(|g| summarise(&g, counts)),
        time_warm: time_warm.map(|g| summarise(&g, counts)),
    }
}

/// The allocators (indices into `all`) with both a replay and a real figure of time and of
/// memory.
fn measured_on_both_sides(all: &[Samples]) -> Vec<usize> {
    (0..all.len())
        .filter(|&i| {
            let s = &all[i];
            [&s.replay_warm, &s.real_time, &s.replay_rss, &s.real_rss]
                .iter()
                .all(|v| !v.is_empty())
        })
        .collect()
}

/// The pairs the replay ranks against the program's runs, in sentences: those it orders the
/// other way (disagreements) and those the runs cannot tell apart, for time then memory.
fn pairs_in_words(
    time: &Agreement,
    memory: &Agreement,
    judged: &[&ValidationRow],
) -> (Vec<String>, Vec<String>) {
    let mut disagreements = Vec::new();
    let mut indistinguishable = Vec::new();
    let time_words = Words {
        what: "time",
        better: "faster",
        show: |v| format!("{v:.3} s"),
        replay: |r| (r.replay_time_s, r.replay_time_ci),
        real: |r| (r.real_wall_s, r.real_wall_ci),
    };
    let memory_words = Words {
        what: "memory",
        better: "leaner",
        show: |v| crate::report::summary::human(v, true),
        replay: |r| (r.replay_peak_rss, r.replay_rss_ci),
        real: |r| (r.real_peak_rss, r.real_rss_ci),
    };
    for (g, words) in [(time, &time_words), (memory, &memory_words)] {
        words.describe(g, judged, &mut disagreements, &mut indistinguishable);
    }
    (disagreements, indistinguishable)
}

fn summarise(g: &Agreement, counts: impl Fn(&Agreement) -> [usize; 3]) -> PredictorAgreement {
    PredictorAgreement {
        tau_significant: g.tau_significant,
        tau: g.tau_raw,
        pairs: counts(g),
    }
}

/// One allocator's row: its medians and intervals on both sides, and its ratios and
/// differences to the reference's samples (`base`; `None` when there is no reference); its
/// replay time is the `predicted` figure.
fn row(
    results: &RunResults,
    name: &str,
    replay: Option<&str>,
    s: &Samples,
    predicted: Figure,
    base: Option<&Samples>,
    b: &Bootstrap,
) -> ValidationRow {
    let against = |pick: Figure| ratio(pick(base?), pick(s), b);
    let delta = |pick: Figure| Some(median(pick(s))? - median(pick(base?))?);
    let delta_ci = |pick: Figure| difference_of_medians(pick(s), pick(base?), b);
    ValidationRow {
        allocator: name.to_string(),
        replay_allocator: replay.map(str::to_string),
        replay_time_s: median(predicted(s)),
        real_wall_s: median(&s.real_time),
        replay_peak_rss: median(&s.replay_rss),
        real_peak_rss: median(&s.real_rss),
        replay_time_rank: None,
        real_time_rank: None,
        replay_memory_rank: None,
        real_memory_rank: None,
        predicted_delta_s: delta(predicted),
        observed_delta_s: delta(|s| &s.real_time),
        replay_time_ci: ci(predicted(s), b),
        real_wall_ci: ci(&s.real_time, b),
        replay_rss_ci: ci(&s.replay_rss, b),
        real_rss_ci: ci(&s.real_rss, b),
        predicted_time_ratio: against(predicted),
        observed_time_ratio: against(|s| &s.real_time),
        predicted_memory_ratio: against(|s| &s.replay_rss),
        observed_memory_ratio: against(|s| &s.real_rss),
        real_version: version_of(results, name),
        replay_version: replay.and_then(|r| version_of(results, &format!("{r} (replay)"))),
        mutator_time_s: median(&s.mutator_time),
        mutator_time_ci: ci(&s.mutator_time, b),
        plain_delta: delta_ci(|s| &s.replay_warm),
        mutator_delta: delta_ci(|s| &s.mutator_time),
        plain_cold_delta: delta_ci(|s| &s.replay_cold),
        mutator_cold_delta: delta_ci(|s| &s.mutator_cold),
        observed_wall_delta: delta_ci(|s| &s.real_time),
        observed_cpu_delta: delta_ci(|s| &s.real_cpu),
    }
}

/// Ranks the rows measured on both sides (`both`), by each side's median time and memory.
fn assign_ranks(rows: &mut [ValidationRow], both: &[usize]) {
    let ranked = |f: fn(&ValidationRow) -> Option<f64>| -> Vec<f64> {
        ranks(
            &both
                .iter()
                .map(|&i| f(&rows[i]).unwrap_or(f64::NAN))
                .collect::<Vec<_>>(),
        )
    };
    let (rt, wt, rm, wm) = (
        ranked(|r| r.replay_time_s),
        ranked(|r| r.real_wall_s),
        ranked(|r| r.replay_peak_rss),
        ranked(|r| r.real_peak_rss),
    );
    for (k, &i) in both.iter().enumerate() {
        rows[i].replay_time_rank = Some(rt[k]);
        rows[i].real_time_rank = Some(wt[k]);
        rows[i].replay_memory_rank = Some(rm[k]);
        rows[i].real_memory_rank = Some(wm[k]);
    }
}

/// A row's median and interval on one side.
type SideOf = fn(&ValidationRow) -> (Option<f64>, Option<[f64; 2]>);

/// How one figure's pairs are put in words.
struct Words {
    what: &'static str,
    better: &'static str,
    show: fn(f64) -> String,
    replay: SideOf,
    real: SideOf,
}

impl Words {
    /// `0.128 s [0.120–0.131]`: a median with its interval.
    fn value(&self, (m, ci): (Option<f64>, Option<[f64; 2]>)) -> String {
        let m = m.map_or("–".to_string(), self.show);
        match ci {
            Some([lo, hi]) => format!("{m} [{}–{}]", (self.show)(lo), (self.show)(hi)),
            None => m,
        }
    }

    fn describe(
        &self,
        g: &Agreement,
        rows: &[&ValidationRow],
        disagreements: &mut Vec<String>,
        indistinguishable: &mut Vec<String>,
    ) {
        for pair in &g.pairs {
            let (a, b) = (rows[pair.a], rows[pair.b]);
            match pair.verdict {
                Verdict::Disagree => {
                    let (win, lose) = if (self.replay)(a).0 < (self.replay)(b).0 {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    disagreements.push(format!(
                        "{}: the replay finds {} {} than {} ({} vs {}), the real run the opposite ({} vs {}, p = {:.3})",
                        self.what,
                        win.allocator,
                        self.better,
                        lose.allocator,
                        self.value((self.replay)(win)),
                        self.value((self.replay)(lose)),
                        self.value((self.real)(win)),
                        self.value((self.real)(lose)),
                        pair.p.unwrap_or(f64::NAN),
                    ));
                }
                Verdict::Indistinguishable => indistinguishable.push(format!(
                    "{}: {} and {} ({} vs {}{})",
                    self.what,
                    a.allocator,
                    b.allocator,
                    self.value((self.real)(a)),
                    self.value((self.real)(b)),
                    pair.p.map_or(String::new(), |p| format!(", p = {p:.2}")),
                )),
                Verdict::Agree | Verdict::ReplayTie => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
