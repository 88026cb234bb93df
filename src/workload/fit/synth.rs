//! Drawing a stand-in from a fitted [`Model`]: every allocation drawn from its segment's
//! histograms, deaths scheduled by the drawn lifetimes (or, for a block drawn to be resized,
//! by a resized block's recorded life, its reallocs with it), collections freeing the blocks
//! due soonest. Small requests, their lifetimes, echoes, repeats and joins are drawn in loop
//! bodies ([`bodies`](super::bodies)); what comes from a program's data rather than its code
//! — large requests and their lifetimes, which blocks are resized, deaths placed in the run,
//! collections — is drawn apart.

use super::bodies::{Bodies, Step};
use super::deaths::Deaths;
use super::guard::{Guard, Guarded};
use super::places::Places;
use super::{
    cell, cell_domain, same_bin, Buffer, Model, Request, Segment, CHAIN_SPAN, LARGE_ABOVE,
};
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
    /// Draws what is drawn apart from loop bodies, and the bodies themselves.
    rng: Rng,
    /// What the current body step draws from.
    step: Step,
    emit: &'a mut F,
    places: &'a Places,
    /// Birth (allocation index) of the block in each slot, `u64::MAX` if free.
    births: Vec<u64>,
    /// What each slot's block was allocated as (the request an echo repeats).
    requests: Vec<Request>,
    free_slots: Vec<u32>,
    deaths: Deaths,
    /// The current segment's resized lives not yet followed, as (cell, index), in a shuffled
    /// order: drawn without replacement, so a few lives with many reallocs are followed as
    /// often as the trace had them, not by chance more or less.
    deck: Vec<(u32, u32)>,
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
            let Some((birth, slot)) = self.deaths.soonest() else {
                break;
            };
            if self.free(slot, birth)? {
                n -= 1;
            }
        }
        Ok(())
    }

    /// The next request: the one just freed asked for again (an echo), the previous one
    /// repeated, or a fresh draw with its lifetime bin, at the segment's fitted rates.
    fn request(&mut self, seg: &Segment) -> (Request, Option<u8>) {
        // A large request is drawn apart, at the segment's share; the step's own choices
        // below come from its own source either way, so every iteration makes them alike.
        let small = seg.small.quantile(self.step.request_at);
        let drawn = match self.rng.chance(seg.large_share) {
            true => seg.large.sample(&mut self.rng),
            false => small,
        };
        let prev = self.prev_request;
        let mut drawn = match drawn.or(small) {
            Some((bin, r)) => (r, Some(bin)),
            None => ((16, 2, false), None),
        };
        // A program that alternates its sizes: the body's step reads the table at other
        // quantiles (golden-ratio steps away, so they spread) until one is in another bin.
        let in_prev_bin = |r: Request| prev.is_some_and(|p| same_bin(p, r));
        if in_prev_bin(drawn.0) && seg.avoid > 0.0 && self.step.rng.chance(seg.avoid) {
            let found = (1..=8)
                .map(|k| (self.step.request_at + 0.618_034 * f64::from(k)).fract())
                .filter_map(|u| seg.small.quantile(u))
                .find(|&(_, r)| !in_prev_bin(r));
            if let Some((bin, r)) = found {
                drawn = (r, Some(bin));
            }
        }
        match self.just_freed.take() {
            // Echo and repeat would give the same request: one chance, the larger, so runs of
            // one request stay as rare as the repeat rate alone makes them.
            Some(f) if Some(f) == prev => {
                match self
                    .step
                    .rng
                    .chance(seg.echo.min(seg.run_cap).max(seg.repeat))
                {
                    true => (f, None),
                    false => drawn,
                }
            }
            Some(f) if self.step.rng.chance(seg.echo) => (f, None),
            _ => match prev {
                Some(p) if self.step.rng.chance(seg.repeat) => (p, None),
                _ => drawn,
            },
        }
    }

    fn alloc(&mut self, seg: &Segment) -> std::io::Result<()> {
        let (mut request, mut bin) = self.request(seg);
        let buffer = self.buffer(seg);
        if let Some((b, domain)) = buffer {
            request = (b.start, domain, b.calloc);
        }
        let slot = self.free_slots.pop().unwrap_or(self.births.len() as u32);
        if self.guard.would_share(&event(slot, request)) {
            self.guard.counts.redrawn += 1;
            match buffer {
                // A resized block keeps its life: only its first size moves, by bytes.
                Some(_) => request = self.nudged(slot, request),
                None => (request, bin) = (self.unshared(seg, slot, request), None),
            }
        }
        let birth = self.now;
        let death = match buffer {
            Some((b, _)) => {
                for (k, &(after, size)) in b.steps.iter().enumerate() {
                    self.resizes
                        .push(Reverse((birth + after, birth, k as u32, slot, size)));
                }
                b.age.map(|a| birth + 1 + a)
            }
            None => self.death(seg, request, bin, birth),
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
            self.deaths.push(death, birth, slot, buffer.is_some());
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

    /// `request` a byte larger until it completes no run of the trace.
    fn nudged(&self, slot: u32, request: Request) -> Request {
        let size = self.unshared_size(request.0, |size| event(slot, (size, request.1, request.2)));
        (size, request.1, request.2)
    }

    /// The smallest size from `size` up whose event (`at(size)`) completes no run of the
    /// trace: the trace has finitely many runs after any 63 tokens, so this ends, within a
    /// few bytes.
    fn unshared_size(&self, mut size: u32, at: impl Fn(u32) -> Event) -> u32 {
        while self.guard.would_share(&at(size)) {
            size = size.wrapping_add(1).max(1);
        }
        size
    }

    /// When a block of `request` born at `birth` dies: its lifetime drawn from its segment's
    /// table for its (domain, size group); a block drawn to outlive a stretch of the run dies
    /// where the trace's blocks born near it died ([`Places`]); long-lived ones join a cohort
    /// or chain; `None` for never freed.
    fn death(
        &mut self,
        seg: &Segment,
        request: Request,
        bin: Option<u8>,
        birth: u64,
    ) -> Option<u64> {
        let table = &seg.life[cell(request.1, u64::from(request.0))];
        let table = if table.total() > 0 {
            table
        } else {
            &seg.life_all
        };
        let (bin, rng) = match request.0 > LARGE_ABOVE {
            true => (bin.or_else(|| table.sample(&mut self.rng)), &mut self.rng),
            false => (
                bin.or_else(|| table.quantile(self.step.life_at)),
                &mut self.step.life,
            ),
        };
        let bin = bin.unwrap_or(0);
        if usize::from(bin) == LIFE_BINS - 1 {
            return None;
        }
        let mut death = birth + 1 + age_in(bin, rng);
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
        if birth - b <= COHORT_SPAN && self.step.rng.chance(seg.cohort) {
            return d;
        }
        let alike = life_bin(d - birth) == life_bin(death - birth);
        if birth - b <= CHAIN_SPAN && alike && self.step.rng.chance(seg.chain) {
            return d;
        }
        death
    }

    /// Whether the next block is drawn to be resized, at the segment's share of resized
    /// births, and if so the recorded life it follows and its domain.
    fn buffer<'s>(&mut self, seg: &'s Segment) -> Option<(&'s Buffer, u8)> {
        if seg.buffer_share <= 0.0 || !self.rng.chance(seg.buffer_share) {
            return None;
        }
        if self.deck.is_empty() {
            for (c, lives) in seg.buffers.iter().enumerate() {
                self.deck
                    .extend((0..lives.len() as u32).map(|i| (c as u32, i)));
            }
            self.rng.shuffle(&mut self.deck);
        }
        let (c, i) = self.deck.pop()?;
        let b = seg.buffers[c as usize].get(i as usize)?;
        Some((b, cell_domain(c as usize)))
    }

    /// Emits the reallocs due by `now` of blocks still live; one that would complete a run
    /// of the trace asks for a byte more (the next size class at most: its growth stays).
    fn resize_due(&mut self, now: u64) -> std::io::Result<()> {
        while let Some(Reverse((when, birth, _, slot, size))) = self.resizes.peek().copied() {
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
            let unshared = self.unshared_size(size, realloc);
            self.guard.counts.nudged += u64::from(unshared != size);
            self.put(realloc(unshared))?;
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
    let mut rng = Rng::new(seed);
    let bodies = Bodies::new(&mut rng);
    let mut s = Synth {
        step: bodies.opening(),
        rng,
        emit,
        places: &model.places,
        births: Vec::new(),
        requests: Vec::new(),
        free_slots: Vec::new(),
        deaths: Deaths::default(),
        deck: Vec::new(),
        resizes: BinaryHeap::new(),
        now: 0,
        prev_request: None,
        just_freed: None,
        last_long: None,
        guard: Guard::new(&model.runs),
    };
    s.run(model, bodies)?;
    // Teardown: the last reallocs, then what the program freed at exit, in the order the
    // lifetimes say.
    s.resize_due(u64::MAX)?;
    while let Some((birth, slot)) = s.deaths.soonest() {
        s.free(slot, birth)?;
    }
    Ok(s.guard.counts)
}

impl<F: FnMut(Event) -> std::io::Result<()>> Synth<'_, F> {
    /// Every segment's allocations, in loops.
    fn run(&mut self, model: &Model, mut bodies: Bodies) -> std::io::Result<()> {
        for seg in &model.segments {
            self.deck.clear();
            let mut left = seg.allocs;
            while left > 0 {
                let l = bodies.next(self.now, &mut self.rng);
                let n = u64::from(l.body.len * l.iterations).min(left);
                for (i, k) in (0..l.body.len).cycle().take(n as usize).enumerate() {
                    self.step = bodies.step(l.body, k);
                    self.step(seg, i == 0)?;
                }
                left -= n;
            }
        }
        Ok(())
    }

    /// One allocation, at the current body step, with the reallocs, deaths and collections due
    /// before it (long-lived deaths too if it starts a loop).
    fn step(&mut self, seg: &Segment, loop_start: bool) -> std::io::Result<()> {
        self.resize_due(self.now)?;
        self.free_due(loop_start)?;
        for (g, rate) in self.places.gc_rates(self.now).into_iter().enumerate() {
            if rate > 0.0 && self.rng.chance(rate) {
                self.put(Event::Gc(g as u8))?;
                let n = seg.bursts[g].sample(&mut self.rng).unwrap_or(0);
                self.burst(n)?;
            }
        }
        self.alloc(seg)
    }

    /// Frees the blocks due by now (held ones too at a loop's start).
    fn free_due(&mut self, loop_start: bool) -> std::io::Result<()> {
        while let Some((birth, slot)) = self.deaths.due(self.now, loop_start) {
            self.free(slot, birth)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "synth_tests.rs"]
mod tests;
