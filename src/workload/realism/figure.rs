//! The realism report's figures: one type for what `--figures` names, so every name the
//! report accepts has its distance, and a name it does not know is refused where it is parsed
//! (the distance used to be chosen by matching strings, with "as far as it gets" for a name
//! no arm knew).

use super::{
    churn, curve_distance, head, human, ks, magnitude, op_miss_rate, ratio, share_distance, tvd,
};
use crate::workload::profile::{shares, Profile};

/// One figure of the realism report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    SizeClasses,
    LifetimeAllocs,
    LifetimeBytes,
    PeakLiveBlocks,
    PeakLiveBytes,
    MeanLiveBlocks,
    MeanLiveBytes,
    DomainMix,
    CallocShare,
    ReallocShare,
    ReallocGrowth,
    GcBursts,
    PhaseShape,
    SizeRuns,
    FreeCohorts,
    BlockReuse,
    FreeGaps,
    PoolChurn,
    OpOrder,
}

impl Figure {
    /// Every figure the report knows, in report order.
    pub const ALL: [Figure; 19] = [
        Figure::SizeClasses,
        Figure::LifetimeAllocs,
        Figure::LifetimeBytes,
        Figure::PeakLiveBlocks,
        Figure::PeakLiveBytes,
        Figure::MeanLiveBlocks,
        Figure::MeanLiveBytes,
        Figure::DomainMix,
        Figure::CallocShare,
        Figure::ReallocShare,
        Figure::ReallocGrowth,
        Figure::GcBursts,
        Figure::PhaseShape,
        Figure::SizeRuns,
        Figure::FreeCohorts,
        Figure::BlockReuse,
        Figure::FreeGaps,
        Figure::PoolChurn,
        Figure::OpOrder,
    ];

    /// The figure's name, as `--figures` takes it and the report prints it.
    pub fn name(self) -> &'static str {
        match self {
            Figure::SizeClasses => "size_classes",
            Figure::LifetimeAllocs => "lifetime_allocs",
            Figure::LifetimeBytes => "lifetime_bytes",
            Figure::PeakLiveBlocks => "peak_live_blocks",
            Figure::PeakLiveBytes => "peak_live_bytes",
            Figure::MeanLiveBlocks => "mean_live_blocks",
            Figure::MeanLiveBytes => "mean_live_bytes",
            Figure::DomainMix => "domain_mix",
            Figure::CallocShare => "calloc_share",
            Figure::ReallocShare => "realloc_share",
            Figure::ReallocGrowth => "realloc_growth",
            Figure::GcBursts => "gc_bursts",
            Figure::PhaseShape => "phase_shape",
            Figure::SizeRuns => "size_runs",
            Figure::FreeCohorts => "free_cohorts",
            Figure::BlockReuse => "block_reuse",
            Figure::FreeGaps => "free_gaps",
            Figure::PoolChurn => "pool_churn",
            Figure::OpOrder => "op_order",
        }
    }

    fn all_names() -> String {
        Self::ALL.map(Figure::name).join(", ")
    }
}

/// Parses a comma-separated figure list; `None` means all figures.
pub fn parse_figures(list: Option<&str>) -> Result<Vec<Figure>, String> {
    let Some(list) = list else {
        return Ok(Figure::ALL.to_vec());
    };
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if names.is_empty() {
        // Given but naming nothing: not a request for every figure.
        return Err(format!(
            "--figures is empty: name at least one of {}, or leave it out for all",
            Figure::all_names()
        ));
    }
    names
        .into_iter()
        .map(|f| {
            Figure::ALL
                .into_iter()
                .find(|k| k.name() == f)
                .ok_or_else(|| format!("unknown figure `{f}`; figures: {}", Figure::all_names()))
        })
        .collect()
}

/// The distance of one figure, and a short readable value for each side.
pub fn figure(name: Figure, a: &Profile, b: &Profile) -> (f64, String, String) {
    (distance(name, a, b), value(name, a), value(name, b))
}

/// How far apart two profiles are on one figure: 0 alike, larger further apart (each
/// figure's measure is the one its shape calls for: a distribution's TVD or KS distance, a
/// magnitude's log ratio, a share's difference).
fn distance(name: Figure, a: &Profile, b: &Profile) -> f64 {
    let shares = |f: &dyn Fn(&Profile) -> f64| share_distance(f(a), f(b));
    match name {
        Figure::SizeClasses => tvd(&a.sizes, &b.sizes),
        Figure::LifetimeAllocs => ks(&a.life_blocks, &b.life_blocks),
        Figure::LifetimeBytes => ks(&a.life_bytes, &b.life_bytes),
        Figure::PeakLiveBlocks => magnitude(a.peak_live_blocks as f64, b.peak_live_blocks as f64),
        Figure::PeakLiveBytes => magnitude(a.peak_live_bytes as f64, b.peak_live_bytes as f64),
        Figure::MeanLiveBlocks => magnitude(a.mean_live_blocks, b.mean_live_blocks),
        Figure::MeanLiveBytes => magnitude(a.mean_live_bytes, b.mean_live_bytes),
        Figure::DomainMix => tvd(&a.domains, &b.domains),
        Figure::CallocShare => shares(&|p| ratio(p.callocs, p.requests())),
        Figure::ReallocShare => shares(&|p| ratio(p.reallocs, p.requests())),
        Figure::ReallocGrowth => ks(&a.growth, &b.growth),
        Figure::GcBursts => ks(&a.bursts, &b.bursts),
        Figure::PhaseShape => curve_distance(&a.curve, &b.curve),
        Figure::SizeRuns => shares(&|p| ratio(p.size_repeats, p.allocs)),
        Figure::FreeCohorts => shares(&|p| ratio(p.cohort_frees, p.long_frees)),
        Figure::BlockReuse => ks(&a.reuse, &b.reuse),
        Figure::FreeGaps => ks(&a.long_gaps, &b.long_gaps),
        Figure::PoolChurn => magnitude(churn(a), churn(b)),
        Figure::OpOrder => share_distance(op_miss_rate(a), op_miss_rate(b)),
    }
}

/// One profile's figure as a short readable value for the report's columns.
fn value(name: Figure, p: &Profile) -> String {
    let percent = |share: f64, what: &str| format!("{:.0}% {what}", 100.0 * share);
    match name {
        // Requests of at most 64 B (the 16–64 B classes are 2/3 to 90 % of Python's).
        Figure::SizeClasses => format!("{:.0}% <=64B", 100.0 * head(&p.sizes, 5)),
        // Blocks freed within 128 later allocations (bins 0..=8 hold ages 0..=255; 8 bins
        // hold 0..=127).
        Figure::LifetimeAllocs => percent(head(&p.life_blocks, 8), "<128"),
        Figure::LifetimeBytes => format!("{:.0}%B <128", 100.0 * head(&p.life_bytes, 8)),
        Figure::PeakLiveBlocks => human(p.peak_live_blocks as f64, ""),
        Figure::PeakLiveBytes => human(p.peak_live_bytes as f64, "B"),
        Figure::MeanLiveBlocks => human(p.mean_live_blocks, ""),
        Figure::MeanLiveBytes => human(p.mean_live_bytes, "B"),
        Figure::DomainMix => {
            let s = shares(&p.domains);
            format!(
                "{:.0}/{:.0}/{:.0}",
                s[0] * 100.0,
                s[1] * 100.0,
                s[2] * 100.0
            )
        }
        Figure::CallocShare => format!("{:.1}%", 100.0 * ratio(p.callocs, p.requests())),
        Figure::ReallocShare => format!("{:.1}%", 100.0 * ratio(p.reallocs, p.requests())),
        // Share of reallocs that grow the block by more than 1/8 (bin 16 is "unchanged").
        Figure::ReallocGrowth => match p.reallocs {
            0 => "none".to_string(),
            _ => percent(1.0 - head(&p.growth, 17), "grow"),
        },
        Figure::GcBursts => format!("{} gcs", p.collections),
        Figure::PhaseShape => {
            let at = |i: usize| p.curve.get(i).copied().unwrap_or(0.0) * 100.0;
            format!("{:.0}>{:.0}>{:.0}%", at(4), at(9), at(19))
        }
        Figure::SizeRuns => percent(ratio(p.size_repeats, p.allocs), "same"),
        Figure::FreeCohorts => percent(ratio(p.cohort_frees, p.long_frees), "cohort"),
        // Allocations that get a block of their size freed within the last 16 allocations
        // (bins 0..=4 hold ages 0..=15): memory still in cache.
        Figure::BlockReuse => percent(head(&p.reuse, 5), "<16"),
        // Long-lived frees whose block was born within 64 allocations of the previous one's
        // (bins 0..=6 hold gaps 0..=63).
        Figure::FreeGaps => percent(head(&p.long_gaps, 7), "<64"),
        Figure::PoolChurn => format!("{:.1}/1000 full", churn(p)),
        Figure::OpOrder => format!("{:.1}% missed", 100.0 * op_miss_rate(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_parses_back_from_its_name_and_names_are_unique() {
        for f in Figure::ALL {
            assert_eq!(parse_figures(Some(f.name())), Ok(vec![f]));
        }
        let mut names: Vec<&str> = Figure::ALL.map(Figure::name).to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Figure::ALL.len());
    }

    #[test]
    fn a_list_keeps_its_order_and_unknown_or_empty_lists_are_refused() {
        assert_eq!(
            parse_figures(Some("op_order, size_classes")),
            Ok(vec![Figure::OpOrder, Figure::SizeClasses])
        );
        let unknown = parse_figures(Some("size_classes,sizes")).unwrap_err();
        assert!(
            unknown.starts_with("unknown figure `sizes`; figures: size_classes, "),
            "{unknown}"
        );
        for empty in ["", " , "] {
            let e = parse_figures(Some(empty)).unwrap_err();
            assert!(e.starts_with("--figures is empty"), "{e}");
        }
        assert_eq!(parse_figures(None).unwrap(), Figure::ALL.to_vec());
    }
}
