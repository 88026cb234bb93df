//! The text of a validation (`pybench validate`): the two sides in one table, the rank
//! agreement, and the disagreements in words. Printed on the terminal and in summary.md.

use super::model::Validation;
use super::summary::{human, human_duration};

/// The side-by-side table and the verdict in words.
pub fn render(v: &Validation) -> String {
    let mut s = String::new();
    let f = |x: Option<f64>, show: &dyn Fn(f64) -> String| x.map_or("–".to_string(), show);
    let dur = |x: f64| human_duration(x * 1e9);
    let bytes = |x: f64| human(x, true);
    let rank = |x: f64| format!("{x}");
    let delta = |x: f64| format!("{:+.1} ms", x * 1e3);
    s.push_str(&format!("\nvalidation of `{}`\n", v.program));
    s.push_str(&format!(
        "{:<10} {:>11} {:>11} {:>9}   {:>11} {:>11} {:>9}   {:>12} {:>12}\n",
        "allocator",
        "replay",
        "real wall",
        "rank r/w",
        "replay RSS",
        "real RSS",
        "rank r/w",
        "Δ predicted",
        "Δ observed"
    ));
    for r in &v.rows {
        let ranks_t = format!(
            "{}/{}",
            f(r.replay_time_rank, &rank),
            f(r.real_time_rank, &rank)
        );
        let ranks_m = format!(
            "{}/{}",
            f(r.replay_memory_rank, &rank),
            f(r.real_memory_rank, &rank)
        );
        s.push_str(&format!(
            "{:<10} {:>11} {:>11} {:>9}   {:>11} {:>11} {:>9}   {:>12} {:>12}\n",
            r.allocator,
            f(r.replay_time_s, &dur),
            f(r.real_wall_s, &dur),
            ranks_t,
            f(r.replay_peak_rss, &bytes),
            f(r.real_peak_rss, &bytes),
            ranks_m,
            f(r.predicted_delta_s, &delta),
            f(r.observed_delta_s, &delta),
        ));
    }
    let tau = |t: Option<f64>| t.map_or("n/a".to_string(), |t| format!("{t:+.2}"));
    s.push_str(&format!(
        "\nrank agreement (Kendall's tau-b, +1 = same order): time {}, memory {}\n",
        tau(v.tau_time),
        tau(v.tau_memory)
    ));
    s.push_str(
        "replay = the allocator's own time on the recorded calls (untimed pass); real wall = the \
         whole program, interpreter included; Δ = difference from pymalloc\n",
    );
    if v.disagreements.is_empty() {
        s.push_str("the replay and the real runs rank every pair of allocators the same way\n");
    } else {
        s.push_str("where they disagree:\n");
        for d in &v.disagreements {
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
