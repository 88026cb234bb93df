//! Charts are drawn only from finite numbers: an infinite or NaN value has no place on an
//! axis, and an axis sized by one never ends its ticks (`pybench plot` once ran out of memory
//! on a median of two pool counts near `f64::MAX`). A chart with such a value is left out,
//! with one line saying which, and the others are drawn.

use super::svg::Group;
use super::Figure;

/// A chart, or the line saying why it is left out; `None` when the results have nothing
/// for it.
pub(super) type Drawn = Option<Result<Figure, String>>;

/// Refuses chart `file` when one of `values` (what it plots and its axes' ends) is not finite.
pub(super) fn drawable(file: &str, values: impl IntoIterator<Item = f64>) -> Result<(), String> {
    match values.into_iter().find(|v| !v.is_finite()) {
        None => Ok(()),
        Some(v) => Err(format!(
            "plots/{file} not drawn: it would plot {v}, which is not a finite number"
        )),
    }
}

/// Every value of bar groups, error bars included.
pub(super) fn bar_values(groups: &[Group]) -> impl Iterator<Item = f64> + '_ {
    let bars = groups.iter().flat_map(|g| &g.bars);
    bars.flat_map(|b| {
        [b.value]
            .into_iter()
            .chain(b.error.into_iter().flat_map(|(l, h)| [l, h]))
    })
}

#[cfg(test)]
mod tests {
    use crate::metrics::Id;
    use crate::report::model::{CellKind, CellResult, Metric, RunResults};

    /// Two repetitions of one engine cell with these throughputs and pool counts.
    fn run(ops: [f64; 2], pools: [f64; 2]) -> RunResults {
        let cells = (0..2)
            .map(|rep| {
                let mut c = CellResult::new("dicts", "pymalloc", rep, CellKind::Replay);
                c.metrics = vec![
                    Metric::of(Id::OpsPerSec, ops[rep as usize]),
                    Metric::of_op(Id::ClassPools, "32", pools[rep as usize]),
                ];
                c
            })
            .collect();
        RunResults::of_cells(cells)
    }

    fn files(r: &RunResults) -> (Vec<String>, Vec<String>) {
        let (drawn, skipped) = super::super::figures(r);
        (drawn.into_iter().map(|f| f.file).collect(), skipped)
    }

    #[test]
    fn a_chart_with_a_value_that_is_not_finite_is_left_out_and_named() {
        let (drawn, skipped) = files(&run([f64::INFINITY, 1e6], [3.0, 4.0]));
        assert_eq!(drawn, ["pools-dicts.svg"]);
        assert_eq!(
            skipped,
            ["plots/ops_per_sec.svg not drawn: it would plot inf, which is not a finite number"]
        );
        let (drawn, skipped) = files(&run([1e6, 2e6], [f64::NAN, 4.0]));
        assert_eq!(drawn, ["ops_per_sec.svg"]);
        assert!(
            skipped[0].starts_with("plots/pools-dicts.svg not drawn"),
            "{skipped:?}"
        );
    }

    #[test]
    fn counts_near_the_largest_float_are_drawn() {
        // Their median's sum used to overflow to infinity and the pool axis to never end.
        let (drawn, skipped) = files(&run([1e6, 2e6], [1e308, 1e308]));
        assert_eq!(drawn, ["ops_per_sec.svg", "pools-dicts.svg"]);
        assert!(skipped.is_empty(), "{skipped:?}");
    }
}
