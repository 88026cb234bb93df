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
mod tests {
    use super::*;
    use crate::workload::fit::MAX_REPEAT;
    use crate::workload::profile::Profile;

    #[test]
    fn age_stays_in_its_bin() {
        let mut rng = Rng::new(1);
        for bin in 0..(LIFE_BINS - 1) as u8 {
            for _ in 0..50 {
                assert_eq!(life_bin(age_in(bin, &mut rng)), bin as usize);
            }
        }
    }

    /// A program that builds containers: 16-item runs of one size that die together much
    /// later, between temporaries of another size that die at once.
    fn containers(n: u32) -> Vec<Event> {
        let mut ev = Vec::new();
        let mut rng = Rng::new(9);
        let (mut next, mut live) = (0u32, Vec::new());
        for c in 0..n {
            let size = 16 * (1 + rng.below(8) as u32);
            let items: Vec<u32> = (0..16).map(|k| next + k).collect();
            next += 16;
            for &slot in &items {
                ev.push(Event::Alloc {
                    slot,
                    size,
                    domain: Domain::Obj,
                    thread: 0,
                });
                let t = next;
                next += 1;
                let size = 200 + 8 * rng.below(30) as u32;
                ev.push(Event::Alloc {
                    slot: t,
                    size,
                    domain: Domain::Mem,
                    thread: 0,
                });
                ev.push(Event::Free { slot: t, thread: 0 });
            }
            live.push(items);
            if c >= 20 {
                for slot in live.remove(0) {
                    ev.push(Event::Free { slot, thread: 0 });
                }
            }
        }
        ev
    }

    /// The profiles of `trace` and of the stand-in fitted to it, drawn with `seed`.
    fn profiles(trace: Vec<Event>, seed: u64) -> (Profile, Profile) {
        let model = Model::fit(&trace).unwrap();
        (Profile::from_events(trace), drawn(&model, seed))
    }

    /// The profile of the stand-in drawn from `model` with `seed`.
    fn drawn(model: &Model, seed: u64) -> Profile {
        let mut synth = Vec::new();
        synthesize(model, seed, &mut |e| {
            synth.push(e);
            Ok(())
        })
        .unwrap();
        Profile::from_events(synth)
    }

    #[test]
    fn a_stand_in_keeps_runs_of_one_size_and_cohorts_of_frees() {
        let (a, b) = profiles(containers(2000), 1);
        let share = |n: u64, d: u64| n as f64 / d as f64;
        let runs = (
            share(a.size_repeats, a.allocs),
            share(b.size_repeats, b.allocs),
        );
        let cohorts = (
            share(a.cohort_frees, a.long_frees),
            share(b.cohort_frees, b.long_frees),
        );
        // The trace alternates item and temporary: almost no size repeats the one before,
        // which the stand-in cannot undercut (its floor is chance); its cohorts are whole.
        assert!(runs.0 < 0.05 && runs.1 < 0.15, "{runs:?}");
        assert!(cohorts.0 > 0.9, "{cohorts:?}");
        assert!((cohorts.0 - cohorts.1).abs() < 0.15, "{cohorts:?}");
    }

    #[test]
    fn a_stand_in_keeps_runs_of_one_size() {
        // Runs of 8 allocations of one size among 6 sizes, each freed 40 allocations later.
        let mut rng = Rng::new(4);
        let mut trace = Vec::new();
        let mut size = 32;
        for slot in 0..20_000u32 {
            if slot % 8 == 0 {
                size = 16 * (1 + rng.below(6) as u32);
            }
            trace.push(Event::Alloc {
                slot,
                size,
                domain: Domain::Obj,
                thread: 0,
            });
            if slot >= 40 {
                trace.push(Event::Free {
                    slot: slot - 40,
                    thread: 0,
                });
            }
        }
        let (a, b) = profiles(trace, 2);
        let ra = a.size_repeats as f64 / a.allocs as f64;
        let rb = b.size_repeats as f64 / b.allocs as f64;
        // 7 of 8 repeat in the trace, plus chance at run boundaries (1/6 of 1/8).
        assert!((ra - 0.896).abs() < 0.02, "{ra}");
        // Capped at MAX_REPEAT + (1 - q)·chance; independent draws would give 1/6.
        assert!(rb > 0.6 && rb <= MAX_REPEAT + 0.03, "{rb}");
    }

    /// A loop that, after each long-lived item (one of 12 sizes), releases its scratch block
    /// and allocates the next one, of the same size nine times in ten: every scratch
    /// allocation asks for what was just freed, though never for the request before it.
    fn scratch_loop(n: u32) -> Vec<Event> {
        let mut rng = Rng::new(5);
        let mut ev = Vec::new();
        let (mut next, mut scratch_size) = (1u32, 400u32);
        let alloc = |slot, size| Event::Alloc {
            slot,
            size,
            domain: Domain::Mem,
            thread: 0,
        };
        ev.push(alloc(0, scratch_size));
        let mut scratch = 0;
        let mut items = std::collections::VecDeque::new();
        for _ in 0..n {
            ev.push(alloc(next, 16 * (1 + rng.below(12) as u32)));
            items.push_back(next);
            next += 1;
            if items.len() > 300 {
                let slot = items.pop_front().unwrap();
                ev.push(Event::Free { slot, thread: 0 });
            }
            ev.push(Event::Free {
                slot: scratch,
                thread: 0,
            });
            if rng.chance(0.1) {
                scratch_size = 208 + 16 * rng.below(12) as u32;
            }
            scratch = next;
            next += 1;
            ev.push(alloc(scratch, scratch_size));
        }
        ev
    }

    #[test]
    fn a_stand_in_asks_again_for_what_was_just_freed() {
        let trace = scratch_loop(20_000);
        let model = Model::fit(&trace).unwrap();
        let (a, b) = (Profile::from_events(trace), drawn(&model, 3));
        let hot = |p: &Profile| p.reuse[..2].iter().sum::<u64>() as f64 / p.allocs as f64;
        // Half the trace's allocations get the block freed just before them (the scratch
        // ones, at 90 %); independent draws would give the scratch a block of its size
        // freed one time in twelve.
        assert!(hot(&a) > 0.45, "{}", hot(&a));
        assert!((hot(&a) - hot(&b)).abs() < 0.05, "{} {}", hot(&a), hot(&b));
        let mut without = model.clone();
        for s in &mut without.segments {
            s.echo = 0.0;
        }
        let c = drawn(&without, 3);
        assert!(hot(&c) < hot(&a) - 0.2, "{} {}", hot(&c), hot(&a));
    }

    /// Structures of 40 long-lived items, each item followed by six temporaries (so items
    /// are born 7 allocations apart: beyond a cohort's span, within a chain's), each
    /// structure freed whole, in the order it was built, 3,000 allocations later.
    fn structures(n: u32) -> Vec<Event> {
        let mut rng = Rng::new(8);
        let (mut ev, mut next, mut built) = (Vec::new(), 0u32, std::collections::VecDeque::new());
        let alloc = |slot, size| Event::Alloc {
            slot,
            size,
            domain: Domain::Obj,
            thread: 0,
        };
        for _ in 0..n {
            let mut items = Vec::new();
            for _ in 0..40 {
                ev.push(alloc(next, 16 * (1 + rng.below(8) as u32)));
                items.push(next);
                next += 1;
                for _ in 0..6 {
                    ev.push(alloc(next, 16 * (1 + rng.below(32) as u32)));
                    ev.push(Event::Free {
                        slot: next,
                        thread: 0,
                    });
                    next += 1;
                }
            }
            built.push_back(items);
            if built.len() > 10 {
                for slot in built.pop_front().unwrap() {
                    ev.push(Event::Free { slot, thread: 0 });
                }
            }
        }
        ev
    }

    #[test]
    fn a_stand_in_tears_structures_down_in_the_order_they_were_built() {
        let trace = structures(300);
        let model = Model::fit(&trace).unwrap();
        let near = |p: &Profile| p.long_gaps[..7].iter().sum::<u64>() as f64 / p.long_frees as f64;
        let (a, b) = (Profile::from_events(trace), drawn(&model, 4));
        // All but the first free of each structure follow a neighbour born 7 allocations
        // earlier; lifetimes drawn alone free all over the ten structures alive.
        assert!(near(&a) > 0.95, "{}", near(&a));
        assert!(near(&b) > near(&a) - 0.15, "{} {}", near(&b), near(&a));
        let mut without = model.clone();
        for s in &mut without.segments {
            s.chain = 0.0;
        }
        let c = drawn(&without, 4);
        assert!(near(&c) < near(&b) - 0.2, "{} {}", near(&c), near(&b));
    }
}
