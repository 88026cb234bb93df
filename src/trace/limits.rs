//! Bounds on what a trace may make a reader allocate: every size a file declares is checked
//! against a stated limit (format.rs) and against the memory the machine has available
//! before anything is allocated for it, with one line naming the figure.

use super::format::{MAX_EVENTS, MAX_SLOTS};
use super::{End, TraceError};

/// Bytes a reader may need per slot of the table: `stats` keeps 24 bytes of state a slot,
/// a replay 8 bytes of pointer, the liveness check one bit.
pub const SLOT_COST: u64 = 32;
/// Bytes a materialised replay needs per event (`Event` is 16 bytes).
pub const EVENT_COST: u64 = 16;

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30))
}

/// Fails when `bytes` exceed half the memory the machine has available (the rest is left
/// to the allocator under test and the other processes), or half the address space the
/// process may still map under `ulimit -v`, whichever is less; passes when neither is known.
pub fn check_memory(bytes: u64, what: &str) -> Result<(), String> {
    let machine = crate::sys::procfs::mem_available();
    let process = crate::sys::procfs::address_space_left();
    let (avail, whose) = match (machine, process) {
        (Some(m), Some(p)) if p < m => (p, "this process may still map (ulimit -v)"),
        (Some(m), _) => (m, "this machine has available"),
        (None, Some(p)) => (p, "this process may still map (ulimit -v)"),
        (None, None) => return Ok(()),
    };
    if bytes > avail / 2 {
        return Err(format!(
            "{what} needs {}, more than half of the {} {whose}",
            gib(bytes),
            gib(avail)
        ));
    }
    Ok(())
}

/// Checks the totals an end block declares (read before any event is decoded) against the
/// stated limits and the machine's memory.
pub fn check_declared(end: &End, at: u64) -> Result<(), TraceError> {
    if end.events > MAX_EVENTS {
        return Err(TraceError::corrupt(
            at,
            format!(
                "end block declares {} events (limit {MAX_EVENTS})",
                end.events
            ),
        ));
    }
    if end.slots > MAX_SLOTS {
        return Err(TraceError::corrupt(
            at,
            format!(
                "end block declares {} slots (limit {MAX_SLOTS} blocks live at once)",
                end.slots
            ),
        ));
    }
    let what = format!("a trace declaring {} slots", end.slots);
    check_memory(u64::from(end.slots) * SLOT_COST, &what).map_err(|m| TraceError::corrupt(at, m))
}

/// Checks that a materialised replay of `end`'s events fits in memory.
pub fn check_materialise(end: &End) -> Result<(), String> {
    let bytes = end.events * EVENT_COST + u64::from(end.slots) * SLOT_COST;
    check_memory(bytes, &format!("replaying {} events", end.events))
}
