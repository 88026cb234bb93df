//! perf_event counters around a measured loop. Software counters (page faults, task clock,
//! context switches) open on any Linux that allows perf_event_open for the process; hardware
//! counters (cycles, instructions, cache and dTLB misses) often fail inside VMs. A counter that
//! cannot be opened is reported as absent — never as zero.

use perf_event::events::{Cache, CacheId, CacheOp, CacheResult, Event, Hardware, Software};
use perf_event::{Builder, Counter};
use std::collections::BTreeMap;

fn open<E: Event + 'static>(event: E) -> Option<Counter> {
    Builder::new(event).build().ok()
}

/// The counters pybench asks for, by their CSV metric name, each opened if possible.
fn open_wanted() -> Vec<(&'static str, Option<Counter>)> {
    let dtlb_misses = Cache {
        which: CacheId::DTLB,
        operation: CacheOp::READ,
        result: CacheResult::MISS,
    };
    vec![
        ("minor_faults", open(Software::PAGE_FAULTS_MIN)),
        ("major_faults", open(Software::PAGE_FAULTS_MAJ)),
        ("task_clock_ns", open(Software::TASK_CLOCK)),
        ("context_switches", open(Software::CONTEXT_SWITCHES)),
        ("cycles", open(Hardware::CPU_CYCLES)),
        ("instructions", open(Hardware::INSTRUCTIONS)),
        ("cache_misses", open(Hardware::CACHE_MISSES)),
        ("dtlb_load_misses", open(dtlb_misses)),
    ]
}

/// A set of counters on this process, each opened if the machine allows it.
pub struct Counters {
    counters: Vec<(&'static str, Option<Counter>)>,
}

impl Counters {
    /// Opens every wanted counter (disabled). Failures are remembered, not raised.
    pub fn open() -> Self {
        Counters {
            counters: open_wanted(),
        }
    }

    pub fn enable(&mut self) {
        for c in self.counters.iter_mut().filter_map(|(_, c)| c.as_mut()) {
            let _ = c.enable();
        }
    }

    pub fn disable(&mut self) {
        for c in self.counters.iter_mut().filter_map(|(_, c)| c.as_mut()) {
            let _ = c.disable();
        }
    }

    /// Counts by metric name; `None` for a counter this machine does not provide.
    pub fn read(&mut self) -> BTreeMap<String, Option<u64>> {
        self.counters
            .iter_mut()
            .map(|(name, c)| (name.to_string(), c.as_mut().and_then(|c| c.read().ok())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_reported_present_or_absent() {
        let mut c = Counters::open();
        c.enable();
        let v: Vec<u8> = vec![1; 8 << 20];
        std::hint::black_box(&v);
        c.disable();
        let counts = c.read();
        assert_eq!(counts.len(), 8);
        // Where the kernel lets us count page faults at all, touching 8 MiB faulted.
        if let Some(Some(faults)) = counts.get("minor_faults") {
            assert!(*faults > 0);
        }
    }
}
