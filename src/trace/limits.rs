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

/// Makes room in `v` for `more` items just decoded (and checksummed), growing toward the
/// `declared` total without trusting it. A reader's totals come from the end block, read
/// before any block's payload is checked: `Vec::with_capacity(declared)` let a 6 KB file
/// whose block headers claimed 2^20 events each ask for 5 GB before the first checksum
/// failed. Growth doubles, as `Vec` does, but stops at `declared` while the file keeps to
/// it, so an honest trace's buffer ends exactly its size (a replay's memory check counts
/// 16 bytes an event, not the up to 32 plain doubling can leave); capacity never exceeds
/// twice what was decoded. Room the allocator refuses is an error (`try_reserve`), for the
/// caller to report in one line rather than abort.
pub fn reserve_toward<T>(
    v: &mut Vec<T>,
    more: usize,
    declared: u64,
) -> Result<(), std::collections::TryReserveError> {
    let need = v.len().saturating_add(more);
    if need <= v.capacity() {
        return Ok(());
    }
    let doubled = need.max(v.capacity().saturating_mul(2));
    let target = match usize::try_from(declared) {
        Ok(d) if need <= d => doubled.min(d),
        _ => doubled,
    };
    v.try_reserve_exact(target - v.len())
}

#[cfg(test)]
mod tests {
    use super::reserve_toward;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the file declares, the buffer never holds more than twice the items
        /// decoded, and grows a logarithmic number of times; when the blocks add up to the
        /// declared total, it ends exactly that size.
        #[test]
        fn room_follows_what_was_decoded_not_what_was_declared(
            batches in prop::collection::vec(0usize..5000, 0..60),
            declared in prop_oneof![Just(None), (0u64..1 << 40).prop_map(Some)],
        ) {
            let total: usize = batches.iter().sum();
            let declared = declared.unwrap_or(total as u64);
            let mut v: Vec<u64> = Vec::new();
            let mut growths = 0u32;
            for &n in &batches {
                let before = v.capacity();
                reserve_toward(&mut v, n, declared).unwrap();
                growths += u32::from(v.capacity() != before);
                v.resize(v.len() + n, 0);
                prop_assert!(v.capacity() <= 2 * v.len().max(1), "{} for {}", v.capacity(), v.len());
            }
            prop_assert!(growths <= 2 + 2 * (usize::BITS - total.leading_zeros()));
            if declared == total as u64 {
                prop_assert_eq!(v.capacity(), total);
            }
        }
    }

    /// The shape of the bomb: blocks claiming 2^20 events each, a total of 300 × 2^20, and a
    /// first block that turns out to hold 10: room for 10, not for the claim.
    #[test]
    fn a_declared_total_is_no_reservation() {
        let mut v: Vec<u64> = Vec::new();
        reserve_toward(&mut v, 10, 300 << 20).unwrap();
        assert_eq!(v.capacity(), 10);
    }
}
