//! The model's histograms: discrete distributions sampled at random or read at a quantile.

use crate::workload::rng::Rng;
use std::collections::BTreeMap;

/// A discrete distribution sampled by binary search over cumulative counts.
#[derive(Debug, Clone, Default)]
pub(super) struct Table<T> {
    values: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Copy + Ord> Table<T> {
    pub(super) fn from_counts(counts: &BTreeMap<T, u64>) -> Self {
        let mut t = Table {
            values: Vec::new(),
            cumulative: Vec::new(),
        };
        let mut total = 0;
        for (&v, &n) in counts.iter().filter(|(_, &n)| n > 0) {
            total += n;
            t.values.push(v);
            t.cumulative.push(total);
        }
        t
    }

    pub(super) fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    pub(super) fn sample(&self, rng: &mut Rng) -> Option<T> {
        self.at(rng.below(self.total().max(1)))
    }

    /// The value at quantile `u` in [0, 1): what a draw gives when it lands there, so that
    /// draws at spread quantiles keep the table's shares in a handful of draws.
    pub(super) fn quantile(&self, u: f64) -> Option<T> {
        let x = (u.clamp(0.0, 1.0) * self.total() as f64) as u64;
        self.at(x.min(self.total().saturating_sub(1)))
    }

    fn at(&self, x: u64) -> Option<T> {
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.values.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::rng::Rng;
    use proptest::prelude::*;

    #[test]
    fn table_samples_in_proportion() {
        let mut counts = BTreeMap::new();
        counts.insert(1u8, 1u64);
        counts.insert(2u8, 3u64);
        let t = Table::from_counts(&counts);
        let mut rng = Rng::new(3);
        let twos = (0..4000).filter(|_| t.sample(&mut rng) == Some(2)).count();
        assert!((2800..3200).contains(&twos), "{twos}");
    }

    proptest! {
        /// A value's quantiles span its share: n evenly spread quantiles give each value
        /// its count (to one), and the ends of [0, 1) give the first and last values.
        #[test]
        fn quantiles_give_each_value_its_share(counts in proptest::collection::btree_map(0u8..40, 1u64..50, 1..10)) {
            let t = Table::from_counts(&counts);
            let n = t.total();
            let mut got = BTreeMap::new();
            for i in 0..n {
                let v = t.quantile((i as f64 + 0.5) / n as f64).unwrap();
                *got.entry(v).or_insert(0u64) += 1;
            }
            for (v, c) in &counts {
                prop_assert!(got.get(v).copied().unwrap_or(0).abs_diff(*c) <= 1);
            }
            prop_assert_eq!(t.quantile(0.0), counts.keys().next().copied());
            prop_assert_eq!(t.quantile(0.999_999), counts.keys().last().copied());
        }
    }
}
