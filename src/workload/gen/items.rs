//! The items of a container, of which a share allocates: a list's elements, a tuple's, a
//! dict's keys and values. Most items of a Python container are objects that exist already
//! (interned strs, small ints, shared references), which no allocator sees and no budget
//! counts — so a step looping over every item did work that `--scale` did not bound: a spec
//! of 10 M-item tuples whose items allocate nothing took 39 s at `--scale 1000` and would have
//! taken hours at a built-in's scale, producing 2 events a step. Here the items that allocate
//! are found by drawing the gaps between them, so a step's work follows its events.

use super::objects::ListObj;
use crate::workload::heap::Heap;
use crate::workload::rng::Rng;

/// Items drawn one chance each, as the generators always drew them, before the gaps take over.
/// Every built-in's container is shorter (lists of up to 500 items, dict entries up to 90,
/// tuples up to 40), so their streams are the ones they were; past it a step costs at most
/// this many draws beyond its events.
pub const DRAWN_ONE_BY_ONE: u32 = 512;

/// The indices among `n` items whose chance `p` comes true, in order. The first
/// [`DRAWN_ONE_BY_ONE`] are drawn item by item (one `chance(p)` each, the draws the loops
/// made); past them the gap to the next hit is drawn at once, geometric with parameter `p` —
/// the same distribution (a run of independent chances), at one draw a hit.
#[derive(Debug, Clone)]
pub struct Hits {
    next: u32,
    n: u32,
    p: f64,
}

impl Hits {
    pub fn new(n: u32, p: f64) -> Self {
        Self::starting(0, n, p)
    }

    /// Hits among items `from..n` (the items before `from` were drawn by the caller).
    pub fn starting(from: u32, n: u32, p: f64) -> Self {
        Hits { next: from, n, p }
    }

    /// The next item whose chance comes true, or `None` once none of the rest does.
    pub fn next(&mut self, rng: &mut Rng) -> Option<u32> {
        while self.next < self.n.min(DRAWN_ONE_BY_ONE) {
            let i = self.next;
            self.next += 1;
            if rng.chance(self.p) {
                return Some(i);
            }
        }
        if self.next >= self.n {
            return None;
        }
        let at = u64::from(self.next).saturating_add(failures(rng, self.p));
        if at >= u64::from(self.n) {
            self.next = self.n;
            return None;
        }
        self.next = at as u32 + 1;
        Some(at as u32)
    }
}

/// Failed chances before the first that comes true: P(≥ k) = (1 − p)^k, drawn by inverting it.
fn failures(rng: &mut Rng, p: f64) -> u64 {
    if p <= 0.0 {
        return u64::MAX;
    }
    if p >= 1.0 {
        return 0;
    }
    // In (0, 1], so its logarithm is finite; the quotient saturates in the cast.
    let u = 1.0 - rng.unit();
    (u.ln() / (-p).ln_1p()).floor() as u64
}

/// `item` for each of `n` items whose chance `p` comes true (elements built before the
/// container that holds them: a tuple, a list of known length), until the stream is cut.
pub fn each_hit(h: &mut Heap, n: u32, p: f64, mut item: impl FnMut(&mut Heap)) {
    let mut hits = Hits::new(n, p);
    while hits.next(&mut h.rng).is_some() {
        if h.cut() {
            return; // the stream has ended: nothing more is seen
        }
        item(h);
    }
}

/// `n` appends to `l`, each item made first by `item` when its chance `p` comes true; the
/// appends between two such items only grow the array, at its growth points.
pub fn append_items(
    h: &mut Heap,
    l: &mut ListObj,
    n: u32,
    p: f64,
    mut item: impl FnMut(&mut Heap),
) {
    let mut hits = Hits::new(n, p);
    let mut done = 0;
    while let Some(i) = hits.next(&mut h.rng) {
        l.extend(h, i - done);
        if h.cut() {
            return; // the stream has ended: nothing more is seen
        }
        item(h);
        l.append(h);
        done = i + 1;
    }
    l.extend(h, n - done);
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;
