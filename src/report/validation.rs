//! The text of a validation (`pybench validate`): both sides in two tables (time, memory),
//! medians with their 95 % intervals, differences against the same reference allocator on
//! both sides, the builds each side used, the rank agreement over significant pairs and over
//! all, and the pairs in words. Printed on the terminal and in summary.md.

use super::digits::{half_width_pct, signed};
use super::model::{Prediction, Ranged, Resolution, Validation, ValidationRow};
use super::summary::{human, human_duration};

type Pick = fn(&ValidationRow) -> (Option<f64>, Option<[f64; 2]>);
type Ratio = fn(&ValidationRow) -> Option<Ranged>;

/// What stands for an interval that could not be computed (a side with one run).
const NO_INTERVAL: &str = "[n/a]";

/// `1.26 s [1.20–1.30]`; `1.26 s [n/a]` without an interval.
fn with_ci((m, ci): (Option<f64>, Option<[f64; 2]>), show: &dyn Fn(f64) -> String) -> String {
    match (m, ci) {
        (None, _) => "–".to_string(),
        (Some(m), None) => format!("{} {NO_INTERVAL}", show(m)),
        (Some(m), Some([lo, hi])) => format!("{} [{}–{}]", show(m), show(lo), show(hi)),
    }
}

/// `−12.3 % [−15.0, −9.8]`: a ratio against the reference as a difference in percent.
fn percent(r: Option<Ranged>) -> String {
    let pc = |x: f64| signed((x - 1.0) * 100.0, 1);
    r.map_or("–".to_string(), |r| match r.interval {
        Some([lo, hi]) => format!("{} % [{}, {}]", pc(r.point), pc(lo), pc(hi)),
        None => format!("{} % {NO_INTERVAL}", pc(r.point)),
    })
}

fn build(r: &ValidationRow) -> &'static str {
    match (&r.real_version, &r.replay_version) {
        (Some(a), Some(b)) if a == b => "same",
        (Some(_), Some(_)) => "DIFFERS",
        _ => "–",
    }
}

#[allow(clippy::too_many_arguments)]
fn table(
    s: &mut String,
    v: &Validation,
    (title, replay_heading): (&str, &str),
    replay: Pick,
    real: Pick,
    ranks: fn(&ValidationRow) -> (Option<f64>, Option<f64>),
    predicted: Ratio,
    observed: Ratio,
    show: &dyn Fn(f64) -> String,
) {
    let rank = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{x}"));
    s.push_str(&format!(
        "{:<16} {:>30} {:>30} {:>9}  {:>25} {:>25}  {}\n",
        title, replay_heading, "real", "rank r/w", "Δ predicted", "Δ observed", "build"
    ));
    for r in &v.rows {
        let (a, b) = ranks(r);
        s.push_str(&format!(
            "{:<16} {:>30} {:>30} {:>9}  {:>25} {:>25}  {}\n",
            r.allocator,
            with_ci(replay(r), show),
            with_ci(real(r), show),
            format!("{}/{}", rank(a), rank(b)),
            percent(predicted(r)),
            percent(observed(r)),
            build(r),
        ));
    }
}

/// `+215 ms [+180 ms, +240 ms]`: a difference with its interval.
fn signed_delta(d: Option<Ranged>) -> String {
    let show = |x: f64| {
        let t = human_duration(x.abs() * 1e9);
        format!("{}{t}", if x < 0.0 { "−" } else { "+" })
    };
    d.map_or("–".to_string(), |d| match d.interval {
        Some([lo, hi]) => format!("{} [{}, {}]", show(d.point), show(lo), show(hi)),
        None => format!("{} {NO_INTERVAL}", show(d.point)),
    })
}

/// Predicted ÷ observed of two differences' points.
fn times(predicted: Option<Ranged>, observed: Option<Ranged>) -> String {
    match (predicted, observed) {
        (Some(p), Some(o)) if o.point != 0.0 => format!("{:.2}", p.point / o.point),
        _ => "–".to_string(),
    }
}

/// The replay modes next to the real run (issue 14 item 2): each allocator's time
/// difference from the reference as the real runs show it (CPU and wall), then as each replay
/// mode predicts it — from the warm passes and from each process's cold first pass —, with
/// intervals, and predicted ÷ observed CPU (the replays measure CPU time, so CPU is the
/// like-for-like figure; wall adds the machine's scheduling). The mutator's row only when it
/// was measured.
fn modes(s: &mut String, v: &Validation, reference: &str) {
    if v.rows.iter().all(|r| r.plain_delta.is_none()) {
        return;
    }
    s.push_str(&format!(
        "\ntime difference from {reference} by replay mode (Δ [95 %]; ÷obs = predicted ÷ observed CPU;\n\
         warm: the replay's later passes, cold: each replay process's first pass, its allocator fresh as the program's)\n"
    ));
    let mutator = v.rows.iter().any(|r| r.mutator_delta.is_some());
    for r in v.rows.iter().filter(|r| r.allocator != reference) {
        s.push_str(&format!(
            "{:<16} observed CPU {:>32}  wall {:>32}\n",
            r.allocator,
            signed_delta(r.observed_cpu_delta),
            signed_delta(r.observed_wall_delta),
        ));
        let rows = [
            ("plain", r.plain_delta, r.plain_cold_delta),
            ("mutator", r.mutator_delta, r.mutator_cold_delta),
        ];
        for (mode, warm, cold) in rows.into_iter().take(1 + usize::from(mutator)) {
            s.push_str(&format!(
                "  {mode:<14} warm {:>32} {:>6}  cold {:>32} {:>6}\n",
                signed_delta(warm),
                times(warm, r.observed_cpu_delta),
                signed_delta(cold),
                times(cold, r.observed_cpu_delta),
            ));
        }
    }
}

/// Which replay figure the time verdict above used, and the time agreement with the other
/// one, so a reader sees whether the choice decides it.
fn predictor_lines(v: &Validation) -> String {
    let tau = |t: Option<f64>| t.map_or("n/a".to_string(), |t| format!("{t:+.2}"));
    let (other, figure) = match v.prediction {
        Prediction::Cold => (v.time_warm, Prediction::Warm),
        Prediction::Warm => (v.time_cold, Prediction::Cold),
    };
    let mut s = format!(
        "time predicted by the replay's {} figure (--prediction)\n",
        v.prediction.name()
    );
    if let Some(c) = other {
        s.push_str(&format!(
            "with the {} figure ({}) instead: time {} over the pairs the real runs tell apart \
             ({} agree, {} disagree), tau-b {}\n",
            figure.name(),
            figure.meaning(),
            tau(c.tau_significant),
            c.pairs[0],
            c.pairs[1],
            tau(c.tau),
        ));
    }
    s
}

/// The side-by-side tables and the verdict in words.
pub fn render(v: &Validation) -> String {
    let reference = v.reference.as_deref().unwrap_or("pymalloc");
    let mut s = heading(v, reference);
    side_by_side(&mut s, v, reference);
    s.push('\n');
    s.push_str(&agreement_lines(v));
    s.push_str(&predictor_lines(v));
    if let Some([t, m]) = v.resolution {
        s.push_str(&resolution_line(t, m));
    }
    s.push_str(&format!(
        "replay = the allocator's own time on the recorded calls ({}); real = the whole \
         program, interpreter included\n",
        v.prediction.meaning()
    ));
    s.push_str(&disagreement_lines(v));
    if !v.indistinguishable.is_empty() {
        s.push_str(
            "indistinguishable (the real runs cannot tell them apart; counted neither way):\n",
        );
        for d in &v.indistinguishable {
            s.push_str(&format!("  - {d}\n"));
        }
    }
    for r in v.rows.iter().filter(|r| r.replay_allocator.is_none()) {
        s.push_str(&format!(
            "  ({} has no in-process equivalent: real runs only)\n",
            r.allocator
        ));
    }
    s
}

/// What the tables show, and what `[n/a]` means when a side has a single run.
fn heading(v: &Validation, reference: &str) -> String {
    let mut s = format!(
        "\nvalidation of `{}`\nmedians [95 % bootstrap interval]; Δ = difference from {reference} on the same side\n",
        crate::trace::printable(&v.program)
    );
    let one_run = |m: Option<f64>, ci: Option<[f64; 2]>| m.is_some() && ci.is_none();
    if v.rows.iter().any(|r| {
        one_run(r.replay_time_s, r.replay_time_ci) || one_run(r.real_wall_s, r.real_wall_ci)
    }) {
        s.push_str("[n/a]: no interval, a side has a single run (no spread to resample)\n");
    }
    s.push('\n');
    s
}

/// The time and peak-RSS tables, replay beside real, and a line for each allocator whose two
/// sides ran different builds.
fn side_by_side(s: &mut String, v: &Validation, reference: &str) {
    let dur = |x: f64| human_duration(x * 1e9);
    let bytes = |x: f64| human(x, true);
    table(
        s,
        v,
        ("time", &format!("replay ({})", v.prediction.name())),
        |r| (r.replay_time_s, r.replay_time_ci),
        |r| (r.real_wall_s, r.real_wall_ci),
        |r| (r.replay_time_rank, r.real_time_rank),
        |r| r.predicted_time_ratio,
        |r| r.observed_time_ratio,
        &dur,
    );
    modes(s, v, reference);
    s.push('\n');
    table(
        s,
        v,
        ("peak RSS", "replay"),
        |r| (r.replay_peak_rss, r.replay_rss_ci),
        |r| (r.real_peak_rss, r.real_rss_ci),
        |r| (r.replay_memory_rank, r.real_memory_rank),
        |r| r.predicted_memory_ratio,
        |r| r.observed_memory_ratio,
        &bytes,
    );
    for r in v.rows.iter().filter(|r| build(r) == "DIFFERS") {
        s.push_str(&format!(
            "  {}: the real run used {}, the replay {} — not the same build\n",
            r.allocator,
            r.real_version.as_deref().unwrap_or("?"),
            r.replay_version.as_deref().unwrap_or("?"),
        ));
    }
}

/// The verdict alone, what `validate -q` prints: the rank agreement, the pairs counted, and
/// every disagreement (or that there is none).
pub fn render_verdict(v: &Validation) -> String {
    agreement_lines(v) + &disagreement_lines(v)
}

/// Kendall's tau over the significant pairs and over all, and the pairs each way.
fn agreement_lines(v: &Validation) -> String {
    let tau = |t: Option<f64>| t.map_or("n/a".to_string(), |t| format!("{t:+.2}"));
    let mut s = format!(
        "rank agreement (Kendall's tau, +1 = same order) over the pairs the real runs tell apart: \
         time {}, memory {}   (all pairs, tau-b: time {}, memory {})\n",
        tau(v.tau_time_significant),
        tau(v.tau_memory_significant),
        tau(v.tau_time),
        tau(v.tau_memory),
    );
    if let Some([t, m]) = v.pair_counts {
        s.push_str(&format!(
            "pairs: time {} agree, {} disagree, {} indistinguishable; memory {} agree, {} disagree, {} indistinguishable\n",
            t[0], t[1], t[2], m[0], m[1], m[2]
        ));
    }
    s
}

/// Every pair the replay ranks against a significant real difference, in words.
fn disagreement_lines(v: &Validation) -> String {
    if v.disagreements.is_empty() {
        return "no pair the real runs tell apart is ranked the other way by the replay\n".into();
    }
    let mut s = "where they disagree (real difference significant, p < 0.05):\n".to_string();
    for d in &v.disagreements {
        s.push_str(&format!("  - {d}\n"));
    }
    s
}

/// "real runs resolve (about 4 times in 5, p < 0.05): time ±12.3 % a run, so differences over
/// ~25.4 % at 5 runs a side (5 % needs -r 101); memory ±0.1 % a run, so differences over
/// ~0.2 % at 5 runs a side".
fn resolution_line(time: Option<Resolution>, memory: Option<Resolution>) -> String {
    let one = |what: &str, r: Option<Resolution>| match r {
        // Only the allocators compared (measured on both sides) count: "fewer than two
        // runs" was said of a run whose only allocator with two runs had no replay.
        None => format!("{what} not estimated (no allocator compared on both sides has two runs)"),
        Some(r) => {
            let more = if r.runs_for_5_percent == u64::MAX {
                " (5 % needs more than a million runs)".to_string()
            } else if r.detectable > 0.05 {
                format!(" (5 % needs -r {})", r.runs_for_5_percent)
            } else {
                String::new()
            };
            format!(
                "{what} ±{} % a run, so differences over ~{} % at {} runs a side{more}",
                half_width_pct(r.spread),
                half_width_pct(r.detectable),
                r.runs
            )
        }
    };
    format!(
        "real runs resolve (about 4 times in 5, p < 0.05): {}; {}\n",
        one("time", time),
        one("memory", memory)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scatter far under a percent keeps its digits: one decimal printed memory that
    /// varied by 0.03 % a run as "±0.0 %", a spread of nothing.
    #[test]
    fn a_tiny_scatter_is_not_printed_as_zero() {
        let r = |spread, detectable| Resolution {
            spread,
            runs: 5,
            detectable,
            runs_for_5_percent: 2,
        };
        let line = resolution_line(Some(r(0.123, 0.254)), Some(r(0.0003, 0.0006)));
        assert!(
            line.contains("time ±12.3 % a run, so differences over ~25.4 % at 5 runs a side"),
            "{line}"
        );
        assert!(
            line.contains("memory ±0.03 % a run, so differences over ~0.06 % at 5 runs a side"),
            "{line}"
        );
        let none = resolution_line(None, Some(r(0.0003, 0.0006)));
        assert!(
            none.contains("time not estimated (no allocator compared on both sides has two runs)"),
            "{none}"
        );
    }
}
