//! Results: the schema of result files and the exporters that write them.

pub mod caveats;
pub mod checks;
pub mod digits;
pub mod export;
pub mod markdown;
pub mod merge;
pub mod model;
pub mod outliers;
pub mod pass_caveats;
pub mod per_process;
pub mod precision;
pub mod ranged;
pub mod store;
pub mod summary;
pub mod table;
pub mod tidy_json;
pub mod validation;
pub mod verdict;
pub mod verdict_table;

/// Distinct items in the order they first appear: the order a run's workloads and allocators
/// are shown in everywhere (tables, plots, heatmaps, comparisons), which is the order the
/// user named them.
pub fn first_seen<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen: Vec<T> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_seen_keeps_each_name_once_where_it_first_came() {
        assert_eq!(
            super::first_seen(["json", "dicts", "json", "webapp", "dicts"]),
            ["json", "dicts", "webapp"]
        );
        assert!(super::first_seen::<&str>([]).is_empty());
    }
}
