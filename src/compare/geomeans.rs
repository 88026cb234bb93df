//! The geometric-mean rows of a comparison: per allocator, its headline figures' ratios
//! (current ÷ baseline) over the workloads, one number for "did this allocator get faster or
//! leaner overall".

use super::Row;
use crate::metrics::Id;
use serde::Serialize;

/// Metrics of the geometric-mean rows: the headline figure for speed and for memory.
const GEOMEAN_METRICS: [Id; 2] = [Id::OpsPerSec, Id::PeakRssBytes];

/// Geometric mean over workloads of one allocator's ratios for one metric.
#[derive(Debug, Clone, Serialize)]
pub struct GeoMean {
    pub allocator: String,
    pub metric: String,
    pub workloads: usize,
    pub ratio: f64,
}

/// Per allocator and headline metric: the geometric mean over workloads of current/baseline.
pub(super) fn geomeans(rows: &[Row]) -> Vec<GeoMean> {
    let mut out: Vec<GeoMean> = Vec::new();
    let allocators = crate::report::first_seen(rows.iter().map(|r| r.allocator.as_str()));
    for a in allocators {
        for m in GEOMEAN_METRICS {
            let ratios: Vec<f64> = rows
                .iter()
                .filter(|r| r.allocator == a && r.metric == m.name() && r.op.is_none())
                .filter_map(|r| r.ratio)
                .filter(|r| *r > 0.0 && r.is_finite())
                .collect();
            let Some(ratio) = crate::stats::geomean(&ratios) else {
                continue;
            };
            out.push(GeoMean {
                allocator: a.to_string(),
                metric: m.to_string(),
                workloads: ratios.len(),
                ratio,
            });
        }
    }
    out
}
