//! What `compare` left out of its rows, said in its notes: nothing is dropped silently.

use super::verdict::MIN_SAMPLES_PER_PROCESS;

/// Metrics left out of the rows, for the notes: nothing is dropped silently.
#[derive(Default)]
pub(super) struct Skipped {
    /// Names this version does not know.
    pub unknown: Vec<String>,
    /// Metrics measured on one side only, labelled with that side.
    pub one_sided: Vec<String>,
    /// Whether throughput was compared per repetition because the baseline (0) or the
    /// current run (1) had no per-pass samples.
    pub no_samples: [bool; 2],
    /// With `--relative-to`: per `workload × allocator`, the throughput figures no process
    /// paired with the reference's, so not judged.
    pub unpaired: Vec<(String, Vec<String>)>,
}

impl Skipped {
    /// Records that `metric` of `cell` could not be paired with the reference.
    pub fn unpaired(&mut self, cell: String, metric: &str) {
        match self.unpaired.iter_mut().find(|(c, _)| *c == cell) {
            Some((_, metrics)) => metrics.push(metric.to_string()),
            None => self.unpaired.push((cell, vec![metric.to_string()])),
        }
    }

    pub fn notes(self) -> impl Iterator<Item = String> {
        let unknown = (!self.unknown.is_empty()).then(|| {
            format!(
                "not compared (unknown to this pybench version): {}",
                self.unknown.join(", ")
            )
        });
        let one_sided = (!self.one_sided.is_empty())
            .then(|| format!("not compared: {}", self.one_sided.join(", ")));
        let sides: Vec<&str> = ["baseline", "current run"]
            .into_iter()
            .zip(self.no_samples)
            .filter_map(|(side, lacks)| lacks.then_some(side))
            .collect();
        let fallback = (!sides.is_empty()).then(|| {
            format!(
                "the {} {} no per-pass throughput samples (written before issue 12, or fewer \
                 than {MIN_SAMPLES_PER_PROCESS} a process): throughput was compared on one \
                 figure per repetition with the rank test",
                sides.join(" and the "),
                if sides.len() > 1 { "have" } else { "has" }
            )
        });
        let unpaired = (!self.unpaired.is_empty()).then(|| {
            let cells: Vec<String> = (self.unpaired.iter())
                .map(|(cell, metrics)| format!("{cell} ({})", metrics.join(", ")))
                .collect();
            format!(
                "not judged relative to the reference (no process measured both with enough \
                 paired rounds on each side): {}",
                cells.join("; ")
            )
        });
        unknown
            .into_iter()
            .chain(one_sided)
            .chain(fallback)
            .chain(unpaired)
    }
}
