//! What "the program's sequence" means for a stand-in, and the check that a stand-in holds
//! none of it.

use crate::workload::event::Event;
use std::collections::HashSet;

/// The token of an allocating event (op, domain or 0 for realloc, size), `None` for frees,
/// collections and phases: what "the program's sequence" means for a stand-in. Slots and
/// frees carry no program information of their own once the sizes and order of requests are
/// gone.
pub fn token(e: &Event) -> Option<u64> {
    match *e {
        Event::Alloc { size, domain, .. } => {
            Some((1 << 40) | (domain as u64) << 36 | u64::from(size))
        }
        Event::Calloc {
            n, size, domain, ..
        } => {
            Some((2 << 40) | (domain as u64) << 36 | (u64::from(n) * u64::from(size)).min(1 << 35))
        }
        Event::Realloc { size, .. } => Some((3 << 40) | u64::from(size)),
        _ => None,
    }
}

/// The tokens of a stream's allocating events ([`token`]).
pub fn tokens(events: &[Event]) -> Vec<u64> {
    events.iter().filter_map(token).collect()
}

/// Length of a "long run": this many consecutive allocating events (same calls, domains and
/// sizes, in the same order) found in both streams. An independent draw from the model
/// repeats a given run of 64 with probability far below 1e-20 for any real size mix, so a
/// shared one means the stand-in copied the program.
pub const LONG_RUN: usize = 64;

fn window_hash(w: &[u64]) -> u64 {
    w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &t| {
        (h ^ t).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5)
    })
}

/// True when `a` and `b` share a run of `len` consecutive tokens.
pub fn shared_run(a: &[u64], b: &[u64], len: usize) -> bool {
    if a.len() < len || b.len() < len {
        return false;
    }
    let seen: HashSet<u64> = a.windows(len).map(window_hash).collect();
    b.windows(len)
        .any(|w| seen.contains(&window_hash(w)) && a.windows(len).any(|x| x == w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_runs_are_found() {
        let a: Vec<u64> = (0..200).collect();
        let mut b: Vec<u64> = (1000..1100).collect();
        assert!(!shared_run(&a, &b, 10));
        b.extend(50..60);
        assert!(shared_run(&a, &b, 10));
        assert!(!shared_run(&a, &b, 11));
    }
}
