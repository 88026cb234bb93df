//! Caveats about what a run's throughput passes did besides the replay, which make one
//! allocator's figures unlike the others' or unlike another run's: warm passes that fault
//! memory in again, and pymalloc arenas that could not sit in their reserved span. `run`
//! prints them with the other caveats (`super::caveats`).

use super::model::RunResults;
use crate::stats::median;
use std::collections::BTreeMap;

/// Warm passes taking at least one minor fault per this many events get a warning: pymalloc's
/// took one per 1,080 on dicts before the cleanup held its arenas (17 – 25 % of its warm
/// time there), jemalloc's one per 29,000 or fewer (its decay purging: its own policy).
pub const FAULTING_PASS_EVENTS: f64 = 10_000.0;

/// One warning per workload × allocator whose warm passes fault in memory again (the median
/// over its throughput processes of `warm_faults_per_pass`, at least one fault per
/// [`FAULTING_PASS_EVENTS`] events): its throughput then includes the kernel's cost of
/// faulting in memory it had been given before, which allocators whose warm passes fault
/// nothing do not pay, so the ratio between them is partly the kernel's.
pub fn warm_fault_lines(results: &RunResults) -> Vec<String> {
    let mut per: BTreeMap<(&str, &str), (Vec<f64>, u64)> = BTreeMap::new();
    for c in &results.cells {
        if let Some(f) = c.throughput.as_ref().and_then(|t| t.warm_faults_per_pass) {
            let e = per.entry((&c.workload, &c.allocator)).or_default();
            e.0.push(f);
            e.1 = e.1.max(c.events);
        }
    }
    per.into_iter()
        .filter_map(|((w, a), (faults, events))| {
            let f = median(&faults)?;
            let every = events as f64 / f;
            (f >= 1.0 && every <= FAULTING_PASS_EVENTS).then(|| {
                format!(
                    "warning: {a}'s warm passes on {w} took {f:.0} page faults each (median \
                     over {} process(es); one per {every:.0} events): its throughput includes \
                     the kernel's cost of faulting in memory it had been given before, which \
                     allocators whose warm passes fault nothing do not pay{}",
                    faults.len(),
                    why_pymalloc_faults(a)
                )
            })
        })
        .collect()
}

/// What the warm-fault warning adds for a pymalloc: the cleanup between passes holds its
/// arenas, so its faults come from arenas the stream itself empties — a recorded program's
/// own teardown does, at the end of every pass (json_tool's empties 18 of its 20 arenas:
/// 4,509 faults a warm pass, one per 966 events, in one run of two processes, 2026-12-06) —
/// which it unmaps as CPython does.
fn why_pymalloc_faults(allocator: &str) -> &'static str {
    if crate::alloc::spec::AllocatorSpec::named_pymalloc_like(allocator) {
        " (the stream itself empties arenas — a recorded program's teardown does — and \
         pymalloc unmaps them as CPython does, so the next pass maps them again)"
    } else {
        ""
    }
}

/// One warning per workload × allocator whose passes mapped pymalloc arenas outside the
/// span reserved for them (`sys/arena_region.rs`) in any throughput process: the address
/// space was refused (an address-space limit such as `ulimit -v`) or the heap outgrew the
/// span. Those arenas lay wherever `mmap` found room, often between other contenders'
/// memory, as every arena did before 2026-12-05 — when that alone moved the engine's
/// figure on webapp by up to 10 % from process to process.
pub fn arena_span_lines(results: &RunResults) -> Vec<String> {
    let mut per: BTreeMap<(&str, &str), (u64, usize, usize)> = BTreeMap::new();
    for c in &results.cells {
        if let Some(t) = &c.throughput {
            let e = per.entry((&c.workload, &c.allocator)).or_default();
            e.0 += t.arenas_outside_span;
            e.1 += usize::from(t.arenas_outside_span > 0);
            e.2 += 1;
        }
    }
    per.into_iter()
        .filter(|(_, (arenas, ..))| *arenas > 0)
        .map(|((w, a), (arenas, hit, processes))| {
            format!(
                "warning: {a} on {w}: {arenas} arena(s) in {hit} of {processes} throughput \
                 process(es) were mapped outside the span reserved for them (address space \
                 refused — `ulimit -v`? — or a heap larger than the span): they lay wherever \
                 mmap found room, so its figures are not like a run's whose arenas sat side by \
                 side (README \"Arenas side by side\")"
            )
        })
        .collect()
}

/// One warning per workload × engine allocator whose memory cells could not map an arena
/// (`arena_failures`): the small requests that found no pool went to the system allocator,
/// as CPython's do, so the engine's figures were partly another allocator's — silently,
/// until 2026-12-07 (`-a pymalloc:arena=1G,pool=256M` under `ulimit -v`).
pub fn arena_failure_lines(results: &RunResults) -> Vec<String> {
    let mut per: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for c in &results.cells {
        if let Some(n) = c.metric(crate::metrics::Id::ArenaFailures, None) {
            *per.entry((&c.workload, &c.allocator)).or_default() += n;
        }
    }
    per.into_iter()
        .filter(|(_, n)| *n > 0.0)
        .map(|((w, a), n)| {
            format!(
                "warning: {a} on {w}: {n:.0} small request(s) went to the system allocator \
                 because an arena could not be mapped (address space or memory: `ulimit -v`?): \
                 its figures are not this geometry's own"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes `0..processes` of workload `w` with pymalloc and jemalloc, 10 rounds each.
    fn run(processes: u32) -> RunResults {
        let mut cells = Vec::new();
        for p in 0..processes {
            for a in ["null", "pymalloc", "jemalloc"] {
                cells.push(RunResults::sampled_cell(
                    "w",
                    a,
                    p,
                    vec![5.0; 10],
                    vec![1.0; 10],
                ));
            }
        }
        RunResults::of_cells(cells)
    }

    /// Warm passes that fault once per 1,000 events are named; jemalloc-like rare faults
    /// (one per 50,000) and none are not.
    #[test]
    fn warm_passes_that_fault_in_memory_again_are_named() {
        let mut r = run(3);
        for c in &mut r.cells {
            c.events = 100_000;
            let per_pass = match c.allocator.as_str() {
                "pymalloc" => 100.0 + f64::from(c.repetition),
                "jemalloc" => 2.0,
                _ => 0.0,
            };
            c.throughput.as_mut().unwrap().warm_faults_per_pass = Some(per_pass);
        }
        let lines = warm_fault_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("warning: pymalloc's warm passes on w took 101 page faults each")
                && lines[0].contains("(median over 3 process(es); one per 990 events)")
                && lines[0].ends_with("so the next pass maps them again)"),
            "{}",
            lines[0]
        );
        for c in &mut r.cells {
            let t = c.throughput.as_mut().unwrap();
            t.warm_faults_per_pass = Some(if c.allocator == "jemalloc" {
                200.0
            } else {
                0.0
            });
        }
        let lines = warm_fault_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("warning: jemalloc's warm passes")
                && lines[0].ends_with("do not pay"),
            "{}",
            lines[0]
        );
    }

    /// Arenas outside the span are named per allocator, with the processes they were in;
    /// a run without any says nothing.
    #[test]
    fn arenas_outside_their_span_are_named() {
        let mut r = run(4);
        assert_eq!(arena_span_lines(&r), Vec::<String>::new());
        for c in &mut r.cells {
            if c.allocator == "pymalloc" && c.repetition < 2 {
                c.throughput.as_mut().unwrap().arenas_outside_span = 3 + u64::from(c.repetition);
            }
        }
        let lines = arena_span_lines(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("warning: pymalloc on w: 7 arena(s) in 2 of 4 throughput"),
            "{}",
            lines[0]
        );
    }
}
