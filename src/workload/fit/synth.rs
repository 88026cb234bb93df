//! Drawing a stand-in from a fitted [`Model`]: every allocation drawn from its segment's
//! histograms, deaths scheduled by the drawn lifetimes (or, for a block drawn to be resized,
//! by a resized block's recorded life, its reallocs with it), collections freeing the blocks
//! due soonest.

use super::guard::{Guard, Guarded};
use super::places::Places;
use super::{cell, Buffer, Model, Request, Segment, CHAIN_SPAN};
use crate::workload::event::{Domain, Event};
use crate::workload::profile::{life_bin, COHORT_MIN_AGE, COHORT_SPAN, LIFE_BINS};
use crate::workload::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// An age in later allocations drawn uniformly from a lifetime bin.
fn age_in(bin: u8, rng: &mut Rng) -> u64 {
    match bin {
        0 => 0,
        k => {
            let lo = 1u64 << (k - 1);
            lo + rng.below(lo)
        }
    }
}

/// A realloc due: `(when, birth, step, slot, size)` — ordered by when, then by the block's
/// birth and its step, so one block's reallocs keep their order.
type Resize = (u64, u64, u32, u32, u32);

/// The stand-in's state: live blocks, their scheduled deaths, free slots.
struct Synth<'a, F: FnMut(Event) -> std::io::Result<()>> {
    rng: Rng,
    emit: &'a mut F,
    places: &'a Places,
    /// Birth (allocation index) of the block in each slot, `u64::MAX` if free.
    births: Vec<u64>,
    /// What each slot's block was allocated as (the request an echo repeats).
    requests: Vec<Request>,
    free_slots: Vec<u32>,
    /// `(death, birth, slot)`, earliest first.
    deaths: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Per (domain, size group), the current segment's resized lives not yet followed, in a
    /// shuffled order: drawn without replacement, so a few lives with many reallocs are
    /// followed as often as the trace had them, not by chance more or less.
    decks: Vec<Vec<u32>>,
    /// Reallocs due, earliest first.
    resizes: BinaryHeap<Reverse<Resize>>,
    now: u64,
    prev_request: Option<Request>,
    /// Request of the block freed last, if a free came after the last allocation.
    just_freed: Option<Request>,
    /// `(birth, death)` of the last long-lived block: the cohort a new one may join.
    last_long: Option<(u64, u64)>,
    /// Keeps the trace's long runs out of the stand-in.
    guard: Guard<'a>,
}

impl<F: FnMut(Event) -> std::io::Result<()>> Synth<'_, F> {
    fn put(&mut self, e: Event) -> std::io::Result<()> {
        self.guard.emitted(&e);
        (self.emit)(e)
    }

    fn free(&mut self, slot: u32, birth: u64) -> std::io::Result<bool> {
        if self.births[slot as usize] != birth {
            return Ok(false);
        }
        self.births[slot as usize] = u64::MAX;
        self.just_freed = Some(self.requests[slot as usize]);
        self.free_slots.push(slot);
        self.put(Event::Free { slot, thread: 0 })?;
        Ok(true)
    }

    /// Frees the `n` live blocks due soonest (a collection's burst).
    fn burst(&mut self, mut n: u32) -> std::io::Result<()> {
        while n > 0 {
            let Some(Reverse((_, birth, slot))) = self.deaths.pop() else {
                break;
            };
            if self.free(slot, birth)? {
                n -= 1;
            }
        }
        Ok(())
    }

    /// The next request: the one just freed asked for again (an echo), the previous one
    /// repeated, or a fresh draw, at the segment's fitted rates.
    fn request(&mut self, seg: &Segment) -> Request {
        let drawn = seg.requests.sample(&mut self.rng).unwrap_or((16, 2, false));
        let prev = self.prev_request;
        match self.just_freed.take() {
            // Echo and repeat would give the same request: one chance, the larger, so runs of
            // one request stay as rare as the repeat rate alone makes them.
            Some(f) if Some(f) == prev => {
                match self.rng.chance(seg.echo.min(seg.run_cap).max(seg.repeat)) {
                    true => f,
                    false => drawn,
                }
            }
            Some(f) if self.rng.chance(seg.echo) => f,
            _ => match prev {
                Some(p) if self.rng.chance(seg.repeat) => p,
                _ => drawn,
            },
        }
    }

    fn alloc(&mut self, seg: &Segment) -> std::io::Result<()> {
        let mut request = self.request(seg);
        let buffer = self.buffer(seg, request);
        if let Some(b) = buffer {
            request.0 = b.start;
        }
        let slot = self.free_slots.pop().unwrap_or(self.births.len() as u32);
        if self.guard.would_share(&event(slot, request)) {
            self.guard.counts.redrawn += 1;
            match buffer {
                // A resized block keeps its life: only its first size moves, by bytes.
                Some(_) => request = self.nudged(slot, request),
                None => request = self.unshared(seg, slot, request),
            }
        }
        let birth = self.now;
        let death = match buffer {
            Some(b) => {
                for (k, &(after, size)) in b.steps.iter().enumerate() {
                    self.resizes
                        .push(Reverse((birth + after, birth, k as u32, slot, size)));
                }
                b.age.map(|a| birth + 1 + a)
            }
            None => self.death(seg, request, birth),
        };
        self.prev_request = Some(request);
        if slot as usize == self.births.len() {
            self.births.push(u64::MAX);
            self.requests.push(request);
        }
        let i = slot as usize;
        self.births[i] = birth;
        self.requests[i] = request;
        self.put(event(slot, request))?;
        if let Some(death) = death {
            self.deaths.push(Reverse((death, birth, slot)));
        }
        self.now += 1;
        Ok(())
    }

    /// A request in place of `first`, which would complete a run of the trace: drawn again
    /// from the segment's sizes, or if a few draws all would (a program of one or two
    /// requests), `first` [`nudged`](Self::nudged).
    fn unshared(&mut self, seg: &Segment, slot: u32, first: Request) -> Request {
        for _ in 0..8 {
            let r = seg.requests.sample(&mut self.rng).unwrap_or(first);
            if !self.guard.would_share(&event(slot, r)) {
                return r;
            }
        }
        self.nudged(slot, first)
    }

    /// `request` a byte larger until it completes no run of the trace: the trace has
    /// finitely many runs after any 63 tokens, so this ends, within a few bytes.
    fn nudged(&self, slot: u32, mut request: Request) -> Request {
        while self.guard.would_share(&event(slot, request)) {
            request.0 = request.0.wrapping_add(1).max(1);
        }
        request
    }

    /// When a block of `request` born at `birth` dies: its lifetime drawn from its segment's
    /// table for its (domain, size group); a block drawn to outlive a stretch of the run dies
    /// where the trace's blocks born near it died ([`Places`]); long-lived ones join a cohort
    /// or chain; `None` for never freed.
    fn death(&mut self, seg: &Segment, request: Request, birth: u64) -> Option<u64> {
        let table = &seg.life[cell(request.1, u64::from(request.0))];
        let table = if table.total() > 0 {
            table
        } else {
            &seg.life_all
        };
        let bin = table.sample(&mut self.rng).unwrap_or(0);
        if usize::from(bin) == LIFE_BINS - 1 {
            return None;
        }
        let mut death = birth + 1 + age_in(bin, &mut self.rng);
        if self.places.placed(birth, death) {
            death = self.places.death(birth, &mut self.rng).unwrap_or(death);
        }
        if death - birth > COHORT_MIN_AGE {
            death = self.join(seg, birth, death);
            self.last_long = Some((birth, death));
        }
        Some(death)
    }

    /// The death of a long-lived block born at `birth` and drawn to die at `death`: the
    /// death of the long-lived block born before it if it joins that block's cohort (born
    /// within [`COHORT_SPAN`]) or chain (within [`CHAIN_SPAN`], and drawn to live about as
    /// long: the same lifetime bin, so chains order the frees without moving lifetimes).
    fn join(&mut self, seg: &Segment, birth: u64, death: u64) -> u64 {
        let Some((b, d)) = self.last_long.filter(|&(_, d)| d > birth + COHORT_MIN_AGE) else {
            return death;
        };
        if birth - b <= COHORT_SPAN && self.rng.chance(seg.cohort) {
            return d;
        }
        let alike = life_bin(d - birth) == life_bin(death - birth);
        if birth - b <= CHAIN_SPAN && alike && self.rng.chance(seg.chain) {
            return d;
        }
        death
    }

    /// Whether a block of `request` is drawn to be resized, at its (domain, size group)'s
    /// share of resized births, and if so the recorded life it follows.
    fn buffer<'s>(&mut self, seg: &'s Segment, request: Request) -> Option<&'s Buffer> {
        let c = cell(request.1, u64::from(request.0));
        let lives = &seg.buffers[c];
        if lives.is_empty() || !self.rng.chance(seg.buffer_rate[c]) {
            return None;
        }
        if self.decks[c].is_empty() {
            let deck = &mut self.decks[c];
            deck.extend(0..lives.len() as u32);
            self.rng.shuffle(deck);
        }
        lives.get(self.decks[c].pop()? as usize)
    }

    /// Emits the reallocs due by `now` of blocks still live; one that would complete a run
    /// of the trace asks for a byte more (the next size class at most: its growth stays).
    fn resize_due(&mut self, now: u64) -> std::io::Result<()> {
        while let Some(Reverse((when, birth, _, slot, mut size))) = self.resizes.peek().copied() {
            if when > now {
                break;
            }
            self.resizes.pop();
            if self.births[slot as usize] != birth {
                continue;
            }
            let realloc = |size| Event::Realloc {
                slot,
                size,
                thread: 0,
            };
            if self.guard.would_share(&realloc(size)) {
                self.guard.counts.nudged += 1;
                while self.guard.would_share(&realloc(size)) {
                    size = size.wrapping_add(1).max(1);
                }
            }
            self.put(realloc(size))?;
        }
        Ok(())
    }
}

/// The allocating event of `request` into `slot`.
fn event(slot: u32, (size, domain, calloc): Request) -> Event {
    let domain = Domain::ALL[domain as usize % 3];
    match calloc {
        true => Event::Calloc {
            slot,
            n: 1,
            size,
            domain,
            thread: 0,
        },
        false => Event::Alloc {
            slot,
            size,
            domain,
            thread: 0,
        },
    }
}

/// Writes a stand-in drawn from `model` with `seed` to `emit`; returns what keeping the
/// trace's long runs out of it changed.
pub fn synthesize<F: FnMut(Event) -> std::io::Result<()>>(
    model: &Model,
    seed: u64,
    emit: &mut F,
) -> std::io::Result<Guarded> {
    let mut s = Synth {
        rng: Rng::new(seed),
        emit,
        places: &model.places,
        births: Vec::new(),
        requests: Vec::new(),
        free_slots: Vec::new(),
        deaths: BinaryHeap::new(),
        decks: Vec::new(),
        resizes: BinaryHeap::new(),
        now: 0,
        prev_request: None,
        just_freed: None,
        last_long: None,
        guard: Guard::new(&model.runs),
    };
    for seg in &model.segments {
        s.decks = vec![Vec::new(); seg.buffers.len()];
        for _ in 0..seg.allocs {
            s.resize_due(s.now)?;
            while let Some(&Reverse((death, birth, slot))) = s.deaths.peek() {
                if death > s.now {
                    break;
                }
                s.deaths.pop();
                s.free(slot, birth)?;
            }
            for (g, rate) in s.places.gc_rates(s.now).into_iter().enumerate() {
                if rate > 0.0 && s.rng.chance(rate) {
                    s.put(Event::Gc(g as u8))?;
                    let n = seg.bursts[g].sample(&mut s.rng).unwrap_or(0);
                    s.burst(n)?;
                }
            }
            s.alloc(seg)?;
        }
    }
    // Teardown: the last reallocs, then what the program freed at exit, in the order the
    // lifetimes say.
    s.resize_due(u64::MAX)?;
    while let Some(Reverse((_, birth, slot))) = s.deaths.pop() {
        s.free(slot, birth)?;
    }
    Ok(s.guard.counts)
}

#[cfg(test)]
#[path = "synth_tests.rs"]
mod tests;
