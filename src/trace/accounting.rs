//! The recorded interpreter's own obmalloc accounting (issue 14.3): what
//! `_PyObject_DebugMallocStats` printed when the hook was installed and at the end of the
//! program, and the frees of blocks the interpreter allocated before the hook, so a replay
//! started from the recorded start-up state can be checked figure by figure against the real
//! end state (`pybench fidelity --trace`).
//!
//! Stored as the optional `accounting` member of the end block's JSON (docs/trace-format.md,
//! "Accounting"): the end block's checksum covers it, readers that predate it ignore it (an
//! unknown end-block member is allowed where an unknown block kind is an error), and traces
//! without it read exactly as before ([`super::End::accounting`] is `None`).

use crate::alloc::DebugMallocStats;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Class recorded for a pre-hook free whose size class could not be told.
pub const UNKNOWN_CLASS: u8 = u8::MAX;
/// Most pre-hook frees kept (beyond, they are only counted): bounds the end block.
pub const MAX_PREHOOK_FREES: usize = 1 << 20;

/// One report, verbatim, and where in the event stream it was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// Events of the trace before the report: the state it shows is the one a replay
    /// reaches after that many events.
    pub event: u64,
    /// The text `_PyObject_DebugMallocStats` printed (`sys._debugmallocstats()`'s layout).
    pub text: String,
}

impl Snapshot {
    /// The report read into numbers.
    pub fn figures(&self) -> Result<DebugMallocStats, String> {
        DebugMallocStats::parse(&self.text).map_err(|e| e.to_string())
    }
}

/// Frees (and reallocs) of pymalloc-domain blocks the interpreter allocated before the hook,
/// between the two snapshots. The recorded events cannot name those blocks (they have no
/// slot), so they are kept here: where each happened and, when it could be told, the size
/// class of the block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrehookFrees {
    /// Event index before which each free happened, delta-coded (first one from 0).
    pub at: Vec<u64>,
    /// Size class of each (0 – 31), or [`UNKNOWN_CLASS`].
    pub class: Vec<u8>,
    /// Frees beyond [`MAX_PREHOOK_FREES`], counted but not kept.
    pub dropped: u64,
}

impl PrehookFrees {
    /// `(event index, class)` pairs in stream order; `None` for an unknown class.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Option<usize>)> + '_ {
        let mut at = 0u64;
        self.at.iter().zip(&self.class).map(move |(d, &c)| {
            at = at.saturating_add(*d);
            (at, (c != UNKNOWN_CLASS).then_some(c as usize))
        })
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Checks what a hand-edited or damaged end block could get wrong and `iter` would pass
    /// over in silence: as many classes as positions (a zip drops the longer's tail), each
    /// class one a pymalloc pool serves (a request of at most 512 bytes in 16-byte steps:
    /// 0 – 31) or [`UNKNOWN_CLASS`], every free before the end report (a later one would
    /// never be applied, nor counted as unapplied), and frees counted as not kept only once
    /// [`MAX_PREHOOK_FREES`] are (a crafted count of 2^64 − 1 was taken as the blocks
    /// figures' tolerance). The message is one line.
    pub fn check(&self, end_event: u64) -> Result<(), String> {
        if self.at.len() != self.class.len() {
            return Err(format!(
                "the pre-hook frees have {} positions but {} classes",
                self.at.len(),
                self.class.len()
            ));
        }
        let top = (crate::pymalloc::SMALL_REQUEST_THRESHOLD / 16 - 1) as u8;
        if let Some(c) = self.class.iter().find(|&&c| c > top && c != UNKNOWN_CLASS) {
            return Err(format!(
                "a pre-hook free has size class {c}, not 0 – {top} (or {UNKNOWN_CLASS} for unknown)"
            ));
        }
        if self.dropped > 0 && self.at.len() < MAX_PREHOOK_FREES {
            return Err(format!(
                "{} pre-hook frees are counted as not kept while the list of {} had room",
                self.dropped,
                self.at.len()
            ));
        }
        if let Some((at, _)) = self.iter().find(|&(at, _)| at > end_event) {
            return Err(format!(
                "a pre-hook free is placed before event {at}, after the end report at event {end_event}"
            ));
        }
        Ok(())
    }
}

/// What a recording stores of the real allocator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accounting {
    /// At hook installation, before the first event.
    pub start: Option<Snapshot>,
    /// From an `atexit` function registered before the program ran (so after the program's
    /// own): missing when the program ended without Python's normal shutdown.
    pub end: Option<Snapshot>,
    pub prehook_frees: PrehookFrees,
}

/// Both reports of a trace, read into numbers and checked.
#[derive(Debug, Clone)]
pub struct Figures {
    pub start: DebugMallocStats,
    pub end: DebugMallocStats,
    pub start_event: u64,
    pub end_event: u64,
}

impl Accounting {
    /// Reads and checks both reports: present, parseable, taken in order, within the
    /// trace's `events`, and of one geometry. The message is one line.
    pub fn figures(&self, events: u64) -> Result<Figures, String> {
        let (Some(s), Some(e)) = (&self.start, &self.end) else {
            let which = if self.start.is_none() { "start" } else { "end" };
            return Err(format!(
                "the recorded accounting has no {which} report (the program ended without Python's normal shutdown?)"
            ));
        };
        let start = s
            .figures()
            .map_err(|m| format!("the start accounting does not read: {m}"))?;
        let end = e
            .figures()
            .map_err(|m| format!("the end accounting does not read: {m}"))?;
        if s.event > e.event || e.event > events {
            return Err(format!(
                "the accounting is taken at events {} and {} of a {events}-event trace",
                s.event, e.event
            ));
        }
        if (start.arena_size, start.pool_size) != (end.arena_size, end.pool_size) {
            return Err("the start and end accounting disagree on the arena and pool sizes".into());
        }
        self.prehook_frees.check(e.event)?;
        Ok(Figures {
            start,
            end,
            start_event: s.event,
            end_event: e.event,
        })
    }
}

/// One line for `pybench stats`: what the trace carries of the real allocator, or that it
/// carries nothing. Its pre-hook frees are those `fidelity --trace` applies (MEM and OBJ
/// blocks, between the two reports), and the line says so: called "frees of pre-hook
/// blocks", 207 of them read as a contradiction of the recording's `unknown_frees` just above
/// (35,541 on pip_list: every domain, shutdown included).
pub fn describe(acc: Option<&Accounting>) -> String {
    let Some(a) = acc else {
        return "accounting: none recorded (`fidelity --trace` needs it: record the program again)"
            .into();
    };
    let report = |s: &Option<Snapshot>| match s.as_ref().map(|s| (s.event, s.figures())) {
        None => "missing".to_string(),
        Some((_, Err(e))) => format!("unreadable ({e})"),
        Some((at, Ok(f))) => format!(
            "before event {at}: {} arenas, {} pools, {} blocks in use",
            f.arenas_allocated_current,
            f.pools_in_use(),
            f.blocks_in_use()
        ),
    };
    // Without both reports there is no "between the two", and "end missing; 0 frees … between
    // the two" read as a finding: say what is missing and what that leaves.
    match (&a.start, &a.end) {
        (Some(_), None) => {
            return format!(
                "accounting: start {}; no end report: the program did not end through Python's \
                 normal shutdown (os._exit, a signal, exec), so `fidelity --trace` has no end \
                 state to compare with and no frees of pre-hook blocks were counted",
                report(&a.start)
            )
        }
        (None, _) => {
            return format!(
                "accounting: no start report (end {}), so `fidelity --trace` has no start-up \
                 state to replay from",
                report(&a.end)
            )
        }
        (Some(_), Some(_)) => {}
    }
    let unknown = a
        .prehook_frees
        .class
        .iter()
        .filter(|&&c| c == UNKNOWN_CLASS)
        .count();
    format!(
        "accounting: start {}; end {}; {} frees of pre-hook mem/obj blocks between the two ({unknown} of unknown class)",
        report(&a.start),
        report(&a.end),
        a.prehook_frees.len() as u64 + a.prehook_frees.dropped
    )
}

/// Works out, while converting, the size class of each pre-hook block freed between the
/// snapshots. A pool serves one class for as long as it holds a block, and a pre-hook block
/// lived in its pool from before the hook until its free, so every block the recording saw
/// allocated in that pool before the free has the pool's class: the freed block's class.
/// When none was seen yet (a pool of start-up objects only), the first allocation the
/// recording sees in that pool afterwards decides: freeing into a full pool puts it at the
/// front of its class's used list, so the class's next allocation lands there (unless the
/// free emptied the pool, which then may serve another class: the rare miss). Frees still
/// undecided at the end snapshot keep [`UNKNOWN_CLASS`].
#[derive(Debug, Default)]
pub struct PrehookTracker {
    /// log2 of the pool size; 0 = not tracking (no start report, or after the end one).
    pool_shift: u32,
    /// Pool → class of the last allocation the recording saw in it.
    pool_class: HashMap<u64, u8>,
    /// Pool → indices into `classes` of frees waiting for an allocation there.
    pending: HashMap<u64, Vec<usize>>,
    at: Vec<u64>,
    classes: Vec<u8>,
    dropped: u64,
}

impl PrehookTracker {
    /// Starts tracking with the interpreter's pool size (a power of two).
    pub fn start(&mut self, pool_size: usize) {
        if pool_size.is_power_of_two() {
            self.pool_shift = pool_size.trailing_zeros();
        }
    }

    pub fn tracking(&self) -> bool {
        self.pool_shift != 0
    }

    /// A block of `bytes` at `ptr` the recording saw pymalloc serve. The converter passes no
    /// other: a block of the C allocator (one a realloc shrank to 512 bytes or less included)
    /// sits in no pool, and its size would give a pre-hook free near it a class it never had.
    #[inline]
    pub fn allocated(&mut self, ptr: u64, bytes: u64) {
        if self.pool_shift == 0
            || bytes == 0
            || bytes > crate::pymalloc::SMALL_REQUEST_THRESHOLD as u64
        {
            return;
        }
        let class = ((bytes - 1) >> 4) as u8;
        let pool = ptr >> self.pool_shift;
        self.pool_class.insert(pool, class);
        if let Some(waiting) = self.pending.remove(&pool) {
            for i in waiting {
                self.classes[i] = class;
            }
        }
    }

    /// A free of a block the recording never saw allocated, before event `event`.
    pub fn freed(&mut self, ptr: u64, event: u64) {
        if self.pool_shift == 0 {
            return;
        }
        if self.at.len() >= MAX_PREHOOK_FREES {
            self.dropped += 1;
            return;
        }
        let pool = ptr >> self.pool_shift;
        let class = self.pool_class.get(&pool).copied();
        if class.is_none() {
            self.pending.entry(pool).or_default().push(self.at.len());
        }
        self.at.push(event);
        self.classes.push(class.unwrap_or(UNKNOWN_CLASS));
    }

    /// Stops tracking (the end report was taken) and returns what was found.
    pub fn finish(&mut self) -> PrehookFrees {
        self.pool_shift = 0;
        self.pending.clear();
        self.pool_class.clear();
        let mut last = 0;
        let at = std::mem::take(&mut self.at)
            .into_iter()
            .map(|e| {
                let d = e - last;
                last = e;
                d
            })
            .collect();
        PrehookFrees {
            at,
            class: std::mem::take(&mut self.classes),
            dropped: std::mem::take(&mut self.dropped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prehook_free_takes_its_pools_class_before_or_after() {
        let mut t = PrehookTracker::default();
        t.freed(0x1000, 1); // not tracking yet: ignored
        t.start(4096);
        t.allocated(0x10_0010, 64); // pool 0x100, class 3
        t.freed(0x10_0100, 5); // same pool: class 3
        t.freed(0x20_0040, 7); // pool 0x200: nothing seen yet
        t.freed(0x30_0040, 7); // pool 0x300: never decided
        t.allocated(0x20_0200, 500); // class 31 decides pool 0x200
        t.allocated(0x40_0000, 600); // not a pymalloc size: ignored
        let f = t.finish();
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![(5, Some(3)), (7, Some(31)), (7, None)]
        );
        assert_eq!(f.at, vec![5, 2, 0]);
        assert!(!t.tracking());
    }

    /// A recording without its end report printed `end missing; 0 frees of pre-hook mem/obj
    /// blocks between the two`: a count between a report and nothing.
    #[test]
    fn a_recording_without_its_end_report_says_so_plainly() {
        let text = include_str!("../../tests/fixtures/debugmallocstats-3.11.7.txt");
        let mut a = Accounting {
            start: Some(Snapshot {
                event: 0,
                text: text.to_string(),
            }),
            ..Accounting::default()
        };
        let line = describe(Some(&a));
        assert!(
            line.starts_with("accounting: start before event 0: "),
            "{line}"
        );
        assert!(
            line.contains(
                "; no end report: the program did not end through Python's normal shutdown"
            ) && line.contains("no frees of pre-hook blocks were counted")
                && !line.contains("between the two")
                && !line.contains('\n'),
            "{line}"
        );
        a.end = a.start.take();
        let line = describe(Some(&a));
        assert!(
            line.starts_with("accounting: no start report (end before event 0: "),
            "{line}"
        );
        a.start = a.end.clone();
        assert!(describe(Some(&a)).contains("0 frees of pre-hook mem/obj blocks between the two"));
    }

    #[test]
    fn missing_or_disordered_reports_are_one_line_errors() {
        let text = include_str!("../../tests/fixtures/debugmallocstats-3.11.7.txt");
        let snap = |event| Snapshot {
            event,
            text: text.to_string(),
        };
        let mut a = Accounting {
            start: Some(snap(0)),
            ..Accounting::default()
        };
        assert!(a.figures(10).unwrap_err().contains("no end report"));
        a.end = Some(snap(11));
        assert!(a.figures(10).unwrap_err().contains("10-event trace"));
        a.end = Some(snap(10));
        let f = a.figures(10).unwrap();
        assert_eq!(f.end.arena_size, 1 << 20);
        a.end = Some(Snapshot {
            event: 10,
            text: "garbage".into(),
        });
        let e = a.figures(10).unwrap_err();
        assert!(e.starts_with("the end accounting does not read") && !e.contains('\n'));
    }

    /// A hand-edited end block: `fidelity --trace` dropped a longer `class` list's tail, took
    /// class 200 for "no phantom", and never applied (nor counted) a free placed after the
    /// end report. Each is now refused in one line, and a sound list still passes.
    #[test]
    fn damaged_prehook_frees_are_refused_in_one_line() {
        let text = include_str!("../../tests/fixtures/debugmallocstats-3.11.7.txt");
        let snap = |event| Snapshot {
            event,
            text: text.to_string(),
        };
        let with = |at: Vec<u64>, class: Vec<u8>| Accounting {
            start: Some(snap(0)),
            end: Some(snap(10)),
            prehook_frees: PrehookFrees {
                at,
                class,
                dropped: 0,
            },
        };
        let refused = |a: Accounting, needle: &str| {
            let e = a.figures(12).unwrap_err();
            assert!(e.contains(needle) && !e.contains('\n'), "{e}");
        };
        refused(with(vec![1, 2], vec![3]), "2 positions but 1 classes");
        refused(with(vec![1], vec![32]), "size class 32, not 0 – 31");
        refused(
            with(vec![4, 7], vec![0, 1]),
            "before event 11, after the end report at event 10",
        );
        assert!(with(vec![4, 6], vec![31, UNKNOWN_CLASS])
            .figures(12)
            .is_ok());
        // Frees counted as not kept while the list had room: a crafted 2^64 − 1 there was
        // the blocks figures' tolerance.
        let mut dropped = with(vec![4], vec![UNKNOWN_CLASS]);
        dropped.prehook_frees.dropped = u64::MAX;
        refused(dropped, "counted as not kept while the list of 1 had room");
    }

    proptest::proptest! {
        /// Whatever a recording sees, the tracker's own list passes the check at the end
        /// report: the check refuses only what conversion cannot write.
        #[test]
        fn a_tracked_list_always_passes_its_check(
            ops in proptest::collection::vec((proptest::bool::ANY, 0u64..8, 1u64..700, 0u64..3), 0..200)
        ) {
            let mut t = PrehookTracker::default();
            t.start(4096);
            let mut event = 0;
            for (alloc, pool, bytes, step) in ops {
                event += step;
                let ptr = (pool << 12) | 0x40;
                if alloc { t.allocated(ptr, bytes) } else { t.freed(ptr, event) }
            }
            proptest::prop_assert!(t.finish().check(event).is_ok());
        }
    }
}
