//! Drawing a stand-in from a fitted [`Model`]: every allocation drawn from its segment's
//! histograms, deaths scheduled by the drawn lifetimes, collections freeing the blocks due
//! soonest.

use super::places::Places;
use super::{cell, Model, Request, Segment, CHAIN_SPAN};
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

/// Ring of recent allocations, to find a realloc's target by its age.
const RING: usize = 1 << 16;

/// The stand-in's state: live blocks, their scheduled deaths, free slots.
struct Synth<'a, F: FnMut(Event) -> std::io::Result<()>> {
    rng: Rng,
    emit: &'a mut F,
    places: &'a Places,
    /// Birth (allocation index) of the block in each slot, `u64::MAX` if free.
    births: Vec<u64>,
    bytes: Vec<u64>,
    domains: Vec<u8>,
    /// What each slot's block was allocated as (the request an echo repeats).
    requests: Vec<Request>,
    free_slots: Vec<u32>,
    /// `(death, birth, slot)`, earliest first.
    deaths: BinaryHeap<Reverse<(u64, u64, u32)>>,
    ring: Vec<(u32, u64)>,
    now: u64,
    prev_request: Option<Request>,
    /// Request of the block freed last, if a free came after the last allocation.
    just_freed: Option<Request>,
    /// `(birth, death)` of the last long-lived block: the cohort a new one may join.
    last_long: Option<(u64, u64)>,
}

impl<F: FnMut(Event) -> std::io::Result<()>> Synth<'_, F> {
    fn free(&mut self, slot: u32, birth: u64) -> std::io::Result<bool> {
        if self.births[slot as usize] != birth {
            return Ok(false);
        }
        self.births[slot as usize] = u64::MAX;
        self.just_freed = Some(self.requests[slot as usize]);
        self.free_slots.push(slot);
        (self.emit)(Event::Free { slot, thread: 0 })?;
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
        let request = self.request(seg);
        self.prev_request = Some(request);
        let (size, domain, calloc) = request;
        let birth = self.now;
        let death = self.death(seg, request, birth);
        let slot = self.free_slots.pop().unwrap_or(self.births.len() as u32);
        if slot as usize == self.births.len() {
            self.births.push(u64::MAX);
            self.bytes.push(0);
            self.domains.push(0);
            self.requests.push(request);
        }
        let i = slot as usize;
        self.births[i] = birth;
        self.bytes[i] = u64::from(size);
        self.domains[i] = domain;
        self.requests[i] = request;
        let domain = Domain::ALL[domain as usize % 3];
        (self.emit)(match calloc {
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
        })?;
        self.ring[(birth as usize) % RING] = (slot, birth);
        if let Some(death) = death {
            self.deaths.push(Reverse((death, birth, slot)));
        }
        self.now += 1;
        Ok(())
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

    fn realloc(&mut self, seg: &Segment) -> std::io::Result<()> {
        let (age, domain) = seg.realloc_age.sample(&mut self.rng).unwrap_or((0, 1));
        let want = self.now.saturating_sub(1 + age_in(age, &mut self.rng));
        // The block born at that age if it lives, else the nearest younger live block of the
        // wanted domain, else the youngest live one.
        let mut target = None;
        for k in 0..64u64 {
            let Some(at) = want.checked_add(k).filter(|&a| a < self.now) else {
                break;
            };
            let (slot, birth) = self.ring[(at as usize) % RING];
            if birth == at && self.births[slot as usize] == birth {
                if self.domains[slot as usize] == domain || target.is_none() {
                    target = Some(slot);
                }
                if self.domains[slot as usize] == domain {
                    break;
                }
            }
        }
        let Some(slot) = target else {
            return Ok(());
        };
        let old = self.bytes[slot as usize];
        let bin = seg.growth.sample(&mut self.rng).unwrap_or(16) as f64;
        let jitter = self.rng.unit() - 0.5;
        let ratio = 2f64.powf((bin - 16.0 + jitter) / 4.0);
        let size = ((old.max(1) as f64 * ratio).round() as u64).clamp(1, 1 << 30) as u32;
        self.bytes[slot as usize] = u64::from(size);
        (self.emit)(Event::Realloc {
            slot,
            size,
            thread: 0,
        })
    }
}

/// Writes a stand-in drawn from `model` with `seed` to `emit`; returns the events written.
pub fn synthesize<F: FnMut(Event) -> std::io::Result<()>>(
    model: &Model,
    seed: u64,
    emit: &mut F,
) -> std::io::Result<()> {
    let mut s = Synth {
        rng: Rng::new(seed),
        emit,
        places: &model.places,
        births: Vec::new(),
        bytes: Vec::new(),
        domains: Vec::new(),
        requests: Vec::new(),
        free_slots: Vec::new(),
        deaths: BinaryHeap::new(),
        ring: vec![(0, u64::MAX); RING],
        now: 0,
        prev_request: None,
        just_freed: None,
        last_long: None,
    };
    for seg in &model.segments {
        let realloc_rate = seg.reallocs as f64 / seg.allocs.max(1) as f64;
        for _ in 0..seg.allocs {
            while let Some(&Reverse((death, birth, slot))) = s.deaths.peek() {
                if death > s.now {
                    break;
                }
                s.deaths.pop();
                s.free(slot, birth)?;
            }
            for (g, rate) in s.places.gc_rates(s.now).into_iter().enumerate() {
                if rate > 0.0 && s.rng.chance(rate) {
                    (s.emit)(Event::Gc(g as u8))?;
                    let n = seg.bursts[g].sample(&mut s.rng).unwrap_or(0);
                    s.burst(n)?;
                }
            }
            s.alloc(seg)?;
            // Several reallocs per allocation when the rate exceeds 1.
            let mut r = realloc_rate;
            while r > 0.0 && s.rng.chance(r.min(1.0)) {
                s.realloc(seg)?;
                r -= 1.0;
            }
        }
    }
    // Teardown: what the program freed at exit, in the order the lifetimes say.
    while let Some(Reverse((_, birth, slot))) = s.deaths.pop() {
        s.free(slot, birth)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "synth_tests.rs"]
mod tests;
