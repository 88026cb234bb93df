//! The parent side of paired throughput: for the cells of one (workload, repetition), one
//! process in which every allocator takes turns with `null` and with each other (see
//! [`super::group`]), and the samples handed to each allocator's cell.
//!
//! Real interpreters are the exception: two libpythons in one process could interfere, so the
//! first `cpython:3.X` joins the others and each further one gets a process of its own (with
//! its own `null`). When a shared process fails (an allocator crashed), every allocator of it
//! is measured again alone with `null`, so one crash loses only its own figures.

use super::cell::CellSpec;
use super::group::GroupSpec;
use super::runner::run_group;
use super::throughput::{Calibration, GroupSamples};
use crate::metrics::Id;
use crate::report::model::{CellResult, CellStatus, Metric, ThroughputSamples};
use crate::stats::median;
use std::collections::HashMap;
use std::time::Duration;

/// What identifies the stream a cell replays, apart from its allocator.
type BatchKey = (
    String,
    Option<String>,
    Option<u64>,
    Option<u64>,
    u32,
    String,
);

fn key(c: &CellSpec) -> BatchKey {
    (
        c.workload.clone(),
        c.python.map(|p| p.to_string()),
        c.scale,
        c.seed,
        c.repetition,
        c.touch.name().to_string(),
    )
}

/// The throughput samples of one (workload, repetition), by allocator.
#[derive(Default)]
pub struct ThroughputBatch {
    key: Option<BatchKey>,
    workload_name: Option<String>,
    events: u64,
    /// How the throughput process got its events (materialised or streamed, and why).
    replay: Option<String>,
    per_allocator: HashMap<String, Result<ThroughputSamples, String>>,
    /// Whether the processes ran with one fixed address layout (`--fixed-layout`).
    fixed_layout: bool,
    /// Whether the groups let pymalloc release its arenas between passes (the calibration's
    /// `release_between_passes`: the child's warm faults show it took effect).
    released_between_passes: bool,
    /// Mutator mode: how each allocator's process fitted the work to the pace (a cell note).
    mutator_fits: HashMap<String, String>,
    /// The fingerprint of the stream each allocator's samples were measured on (its
    /// process's), for cells that have none of their own.
    prints: HashMap<String, u64>,
}

/// Splits allocators into process groups: everything with the first real interpreter, then
/// one group per further interpreter. `null` leads every group.
pub fn plan_groups(allocators: &[String]) -> Vec<Vec<String>> {
    let mut main = vec!["null".to_string()];
    let mut extra = Vec::new();
    let mut seen_cpython = false;
    for a in allocators.iter().filter(|a| *a != "null") {
        if a.starts_with("cpython") && seen_cpython {
            extra.push(vec!["null".to_string(), a.clone()]);
        } else {
            seen_cpython |= a.starts_with("cpython");
            if !main.contains(a) {
                main.push(a.clone());
            }
        }
    }
    std::iter::once(main).chain(extra).collect()
}

impl ThroughputBatch {
    /// Whether `spec` replays the stream these samples were measured on.
    pub fn covers(&self, spec: &CellSpec) -> bool {
        self.key.as_ref() == Some(&key(spec))
    }

    /// A batch that covers `spec`'s stream and holds no samples: the runner's tests measure
    /// nothing.
    #[cfg(test)]
    pub(super) fn stand_in(spec: &CellSpec) -> Self {
        ThroughputBatch {
            key: Some(key(spec)),
            ..Self::default()
        }
    }

    /// Measures the leading cells of `cells` that share the first one's stream.
    pub fn measure(cells: &[CellSpec], cal: Calibration, timeout: Duration) -> Self {
        let k = key(&cells[0]);
        let allocators: Vec<String> = cells
            .iter()
            .take_while(|c| key(c) == k)
            .map(|c| c.allocator.to_string())
            .collect();
        let mut batch = ThroughputBatch {
            key: Some(k),
            released_between_passes: cal.release_between_passes,
            ..Self::default()
        };
        let tag = format!("{}/rep{}", cells[0].workload, cells[0].repetition + 1);
        for (gi, group) in plan_groups(&allocators).into_iter().enumerate() {
            let spec = GroupSpec {
                workload: cells[0].clone(),
                allocators: group.clone(),
                calibration: cal,
            };
            match run_group(&spec, timeout) {
                Ok(g) => batch.record(&g, &format!("{tag}/g{gi}")),
                Err(_) if group.len() > 2 => {
                    // Find the culprit: each allocator again, alone with null.
                    for (ai, a) in group.iter().enumerate().skip(1) {
                        let alone = GroupSpec {
                            allocators: vec!["null".to_string(), a.clone()],
                            ..spec.clone()
                        };
                        match run_group(&alone, timeout) {
                            Ok(g) => batch.record(&g, &format!("{tag}/g{gi}.{ai}")),
                            Err(reason) => {
                                batch.per_allocator.insert(a.clone(), Err(reason));
                            }
                        }
                    }
                }
                Err(reason) => {
                    for a in &group {
                        batch
                            .per_allocator
                            .entry(a.clone())
                            .or_insert(Err(reason.clone()));
                    }
                }
            }
        }
        batch
    }

    fn record(&mut self, g: &GroupSamples, group: &str) {
        self.workload_name.get_or_insert(g.workload.clone());
        if !g.replay.is_empty() {
            self.replay.get_or_insert(g.replay.clone());
        }
        self.events = g.events;
        self.fixed_layout |= g.fixed_layout;
        let Some(null) = g.contenders.first() else {
            return;
        };
        for c in &g.contenders {
            if let Some(f) = &g.mutator_fit {
                self.mutator_fits.insert(c.allocator.clone(), f.note());
            }
            let samples = ThroughputSamples {
                group: group.to_string(),
                min_time_ns: g.min_time_ns,
                passes_per_sample: c.passes_per_sample,
                cold_ns_per_op: c.cold_ns_per_op,
                ns_per_op: c.samples_ns_per_op.clone(),
                null_ns_per_op: null.samples_ns_per_op.clone(),
                warm_faults_per_pass: c.warm_faults_per_pass,
                arenas_outside_span: c.arenas_outside_span,
                streamed: Some(g.streamed),
                cold_primed_bytes: Some(g.cold_primed_bytes),
            };
            // null keeps the samples of its first group.
            let keep = match self.per_allocator.get(&c.allocator) {
                Some(Ok(_)) => c.allocator != "null",
                _ => true,
            };
            if keep {
                self.per_allocator.insert(c.allocator.clone(), Ok(samples));
                match g.stream_fingerprint {
                    Some(p) => self.prints.insert(c.allocator.clone(), p),
                    None => self.prints.remove(&c.allocator),
                };
            }
        }
    }

    /// Gives `cell` its throughput samples and the figures drawn from them, or fails it with
    /// the reason its throughput could not be measured.
    pub fn attach(&self, cell: &mut CellResult) {
        if !cell.is_ok() {
            return;
        }
        if cell.allocator == "null" {
            if let Some(name) = &self.workload_name {
                cell.workload = name.clone();
            }
        }
        match self.per_allocator.get(&cell.allocator) {
            Some(Ok(t)) => {
                if cell.events == 0 {
                    cell.events = self.events;
                }
                push_throughput_metrics(&mut cell.metrics, t);
                self.attach_fingerprint(cell);
                if let Some(r) = &self.replay {
                    cell.notes.push(format!("throughput: {r}"));
                }
                cell.throughput = Some(t.clone());
                if let Some(note) = self.mutator_fits.get(&cell.allocator) {
                    cell.notes.push(note.clone());
                }
                if self.fixed_layout {
                    cell.notes.push(
                        "throughput: measured in one fixed address layout (--fixed-layout, \
                         address-space randomisation off)"
                            .to_string(),
                    );
                }
                if self.released_between_passes {
                    cell.notes.push(
                        "throughput: the cleanup between passes let pymalloc unmap the arenas \
                         it emptied, so its warm passes fault its heap in again \
                         (--release-between-passes, as before 2026-12-04)"
                            .to_string(),
                    );
                }
            }
            Some(Err(reason)) => {
                cell.status = CellStatus::Failed {
                    reason: format!("throughput: {reason}"),
                };
            }
            None => {
                cell.status = CellStatus::Failed {
                    reason: "throughput was not measured".to_string(),
                }
            }
        }
    }
}

impl ThroughputBatch {
    /// Gives `cell` the fingerprint of the stream its throughput process replayed when it
    /// has none (a cell of throughput alone, `null` beside allocators); a memory cell whose
    /// own differs (the trace changed between the two processes) says so in a note.
    fn attach_fingerprint(&self, cell: &mut CellResult) {
        let Some(print) = self.prints.get(&cell.allocator) else {
            return;
        };
        let print = crate::workload::fingerprint_hex(*print);
        match &cell.stream_fingerprint {
            None => cell.stream_fingerprint = Some(print),
            Some(own) if *own != print => cell.notes.push(format!(
                "throughput: its process replayed a stream of another fingerprint ({print}) than \
                 the memory and latency pass ({own}): the trace changed between them?"
            )),
            Some(_) => {}
        }
    }
}

/// The figures a cell's throughput samples give: medians over rounds (gross, `null`, net of
/// `null` pair by pair) and the cold pass.
pub fn push_throughput_metrics(mx: &mut Vec<Metric>, t: &ThroughputSamples) {
    let gross = median(&t.ns_per_op).unwrap_or(f64::NAN);
    let null = median(&t.null_ns_per_op).unwrap_or(f64::NAN);
    let net = median(&t.net_ns_per_op()).unwrap_or(f64::NAN);
    mx.push(Metric::of(Id::OpsPerSec, 1e9 / gross));
    mx.push(Metric::of(Id::LoopNsPerOp, gross));
    mx.push(Metric::of(Id::HarnessNsPerOp, null));
    mx.push(Metric::of(Id::NetLoopNsPerOp, net));
    if net > 0.0 {
        mx.push(Metric::of(Id::NetOpsPerSec, 1e9 / net));
    }
    mx.push(Metric::of(Id::ColdNsPerOp, t.cold_ns_per_op));
    mx.push(Metric::of(Id::ThroughputSamples, t.ns_per_op.len() as f64));
    if let Some(f) = t.warm_faults_per_pass {
        mx.push(Metric::of(Id::WarmFaultsPerPass, f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch whose process measured `allocators` on the stream of fingerprint `print`.
    fn batch(allocators: &[&str], print: u64) -> ThroughputBatch {
        let mut b = ThroughputBatch::default();
        for a in allocators {
            let samples = ThroughputSamples {
                group: "w/rep4/g0".into(),
                min_time_ns: 1,
                passes_per_sample: 1,
                cold_ns_per_op: 1.0,
                ns_per_op: vec![2.0],
                null_ns_per_op: vec![1.0],
                warm_faults_per_pass: None,
                arenas_outside_span: 0,
                streamed: None,
                cold_primed_bytes: None,
            };
            b.per_allocator.insert(a.to_string(), Ok(samples));
            b.prints.insert(a.to_string(), print);
        }
        b
    }

    /// A cell of throughput alone (and `null` beside allocators) had no fingerprint, so
    /// `compare` and `merge` could not tell which stream it replayed: it takes its process's.
    /// A memory cell keeps its own, and says so where the two differ.
    #[test]
    fn every_cell_gets_the_fingerprint_of_the_stream_its_process_replayed() {
        use crate::report::model::CellKind;
        let b = batch(&["null", "system"], 0xf601_8840_25df_f181);
        for a in ["null", "system"] {
            let mut only = CellResult::new("w", a, 4, CellKind::Replay);
            b.attach(&mut only);
            assert!(only.is_ok());
            assert_eq!(only.stream_fingerprint.as_deref(), Some("f601884025dff181"));
        }
        let mut same = CellResult::new("w", "system", 0, CellKind::Replay);
        same.stream_fingerprint = Some("f601884025dff181".into());
        b.attach(&mut same);
        assert!(same.notes.iter().all(|n| !n.contains("fingerprint")));
        let mut other = CellResult::new("w", "system", 0, CellKind::Replay);
        other.stream_fingerprint = Some("00000000000000aa".into());
        b.attach(&mut other);
        assert_eq!(
            other.stream_fingerprint.as_deref(),
            Some("00000000000000aa")
        );
        assert!(
            other
                .notes
                .iter()
                .any(|n| n.contains("(f601884025dff181)") && n.contains("(00000000000000aa)")),
            "{:?}",
            other.notes
        );
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_interpreter_per_process_and_null_leads_each() {
        let g = plan_groups(&names(&[
            "null",
            "pymalloc:cpython-3.11",
            "cpython:3.11",
            "jemalloc",
            "cpython:3.12",
        ]));
        assert_eq!(
            g,
            vec![
                names(&["null", "pymalloc:cpython-3.11", "cpython:3.11", "jemalloc"]),
                names(&["null", "cpython:3.12"]),
            ]
        );
    }
}
