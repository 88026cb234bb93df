//! Recomputes a saved `pybench validate` run's verdict from its cells with the current
//! analysis (medians with intervals, significance, tau over significant pairs) and prints it:
//! `cargo run --release --example revalidate -- [--warm] RESULTS_DIR…` (the time predicted
//! by the replay's cold first pass, as `validate` does by default; `--warm`: by its later
//! passes). Used by the validation study to re-read runs measured before a change of
//! analysis without measuring them again.

use pybench::exec::validate::{validate, Pairing};
use pybench::report::model::{Prediction, RunResults};
use pybench::report::validation::render;
use pybench::trace::source::Source;

fn main() -> anyhow::Result<()> {
    let mut prediction = Prediction::Cold;
    for dir in std::env::args().skip(1) {
        if dir == "--warm" {
            prediction = Prediction::Warm;
            continue;
        }
        let path = std::path::Path::new(&dir).join("results.json");
        let text = std::fs::read_to_string(&path)?;
        let mut results: RunResults = serde_json::from_str(&text)?;
        let Some(old) = results.validation.clone() else {
            anyhow::bail!("{}: not a validate run", path.display());
        };
        let pairing: Pairing = old
            .rows
            .iter()
            .map(|r| (r.allocator.clone(), r.replay_allocator.clone()))
            .collect();
        // Runs from before the manifest named the real pymalloc's version: the recorded
        // interpreter's, from the trace.
        if let Ok(Source::Trace { meta, .. }) = Source::load(&old.trace) {
            if let Some(info) = results.allocators.iter_mut().find(|a| a.name == "pymalloc") {
                info.version = format!("CPython {}", meta.python);
            }
        }
        let v = validate(&results, &old.program, &old.trace, &pairing, prediction);
        print!("{}", render(&v));
    }
    Ok(())
}
