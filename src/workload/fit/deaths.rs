//! A stand-in's scheduled deaths: short-lived blocks die when their lifetime says, long-lived
//! ones are held to the start of a loop.
//!
//! A program frees a container's items where its code drops the container — between loop
//! iterations, not in the middle of one. Freed at their drawn moment, long-lived blocks
//! broke every loop body's pattern of allocs and frees: with loop bodies but deaths at their
//! drawn moment json_tool's stand-in mispredicted 16 – 30 % of its ops, with long-lived ones
//! held to the next loop's start 14 – 25 % (bodies alone, before vocabularies).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Blocks that live longer than this many allocations are held to a loop's start.
pub(super) const HOLD_ABOVE: u64 = 16;

/// `(death, birth, slot)`, earliest first.
type Heap = BinaryHeap<Reverse<(u64, u64, u32)>>;

/// Scheduled deaths, short and held.
#[derive(Debug, Default)]
pub(super) struct Deaths {
    short: Heap,
    held: Heap,
}

impl Deaths {
    /// Schedules the death at `death` of the block born at `birth` in `slot`; `exact` keeps
    /// it at that moment whatever its age (a resized block's recorded life).
    pub(super) fn push(&mut self, death: u64, birth: u64, slot: u32, exact: bool) {
        let heap = match exact || death - birth <= HOLD_ABOVE {
            true => &mut self.short,
            false => &mut self.held,
        };
        heap.push(Reverse((death, birth, slot)));
    }

    /// The next death due by `now`, `(birth, slot)`: short ones only, or held ones too at a
    /// loop's start.
    pub(super) fn due(&mut self, now: u64, loop_start: bool) -> Option<(u64, u32)> {
        for (heap, open) in [(&mut self.short, true), (&mut self.held, loop_start)] {
            if let Some(&Reverse((death, birth, slot))) = heap.peek() {
                if open && death <= now {
                    heap.pop();
                    return Some((birth, slot));
                }
            }
        }
        None
    }

    /// The death due soonest of all, held or not (a collection's burst, the teardown).
    pub(super) fn soonest(&mut self) -> Option<(u64, u32)> {
        let s = self.short.peek().map(|r| r.0);
        let h = self.held.peek().map(|r| r.0);
        let heap = match (s, h) {
            (Some(a), Some(b)) if b < a => &mut self.held,
            (Some(_), _) => &mut self.short,
            (None, Some(_)) => &mut self.held,
            (None, None) => return None,
        };
        heap.pop().map(|Reverse((_, birth, slot))| (birth, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lives_wait_for_a_loop_start() {
        let mut d = Deaths::default();
        d.push(20, 0, 1, false); // 20 allocations: held
        d.push(5, 0, 2, false);
        d.push(30, 0, 3, true); // exact: never held
        assert_eq!(d.due(25, false), Some((0, 2)));
        assert_eq!(d.due(25, false), None);
        assert_eq!(d.due(25, true), Some((0, 1)));
        assert_eq!(d.due(29, true), None);
        d.push(40, 21, 4, false);
        assert_eq!(d.soonest(), Some((0, 3)));
        assert_eq!(d.soonest(), Some((21, 4)));
        assert_eq!(d.soonest(), None);
    }
}
