//! `pybench gen --like TRACE`: a statistical model of a recorded trace, and a synthetic
//! stand-in drawn from it that matches the trace on the realism report but holds none of
//! its sequence — so a team can share a stand-in for a private program's trace.
//!
//! The model cuts the trace into [`SEGMENTS`] equal runs of allocations (its phases) and
//! keeps, per segment, only histograms: request sizes with their domain and call
//! (alloc/calloc), lifetimes in later allocations per (domain, size group), realloc rate,
//! the age of the block a realloc resizes and its growth, and GC collections per
//! generation with their burst sizes — and two figures of the order that decide how warm an
//! allocator's caches stay: how often an allocation repeats the request before it (runs of
//! one size), and how often long-lived blocks die with the block born just before them
//! (cohorts: a container's items). The stand-in draws every allocation from these, repeating
//! the previous request or joining the previous block's cohort at the fitted rates, so the
//! order of the program's calls is not in it (`shared_run` checks).

use super::event::{Domain, Event};
use super::profile::{growth_bin, life_bin, COHORT_MIN_AGE, COHORT_SPAN, LIFE_BINS};
use super::rng::Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

/// Phases the model distinguishes: sizes and lifetimes drift through a program (imports,
/// then work, then teardown), so one histogram per sixteenth of the allocations.
pub const SEGMENTS: usize = 16;
/// Allocations a segment needs for its histograms to mean anything.
pub const MIN_PER_SEGMENT: u64 = 500;
/// Allocations a trace needs to be fitted.
pub const MIN_ALLOCS: u64 = SEGMENTS as u64 * MIN_PER_SEGMENT;
/// Size groups lifetimes are conditioned on: ≤ 64 B, ≤ 512 B (pymalloc), larger.
const GROUPS: usize = 3;

/// A discrete distribution sampled by binary search over cumulative counts.
#[derive(Debug, Clone, Default)]
struct Table<T> {
    values: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Copy + Ord> Table<T> {
    fn from_counts(counts: &BTreeMap<T, u64>) -> Self {
        let mut t = Table {
            values: Vec::new(),
            cumulative: Vec::new(),
        };
        let mut total = 0;
        for (&v, &n) in counts.iter().filter(|(_, &n)| n > 0) {
            total += n;
            t.values.push(v);
            t.cumulative.push(total);
        }
        t
    }

    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    fn sample(&self, rng: &mut Rng) -> Option<T> {
        let x = rng.below(self.total().max(1));
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.values.get(i).copied()
    }
}

/// What one segment of the trace looks like.
#[derive(Debug, Clone, Default)]
struct Segment {
    allocs: u64,
    /// `(size, domain, calloc)` of allocations.
    requests: Table<(u32, u8, bool)>,
    /// Lifetime bins per (domain, size group), and over the whole segment as a fallback.
    life: Vec<Table<u8>>,
    life_all: Table<u8>,
    reallocs: u64,
    realloc_age: Table<(u8, u8)>,
    growth: Table<u8>,
    gc: [u64; 3],
    bursts: [Table<u32>; 3],
    /// Probability that an allocation repeats the previous request exactly, beyond what
    /// independent draws give (see [`repeat_excess`]).
    repeat: f64,
    /// Share of long-lived blocks (age ≥ `COHORT_MIN_AGE`) born here that die with the
    /// long-lived block born just before them.
    cohort: f64,
}

/// Ceiling on the chance that one allocation repeats the one before, whatever the trace
/// does: runs of one request then stay geometric with at most this ratio, so a run of
/// [`LONG_RUN`] identical requests (which would be "copied" from a trace that has one) has
/// a probability of 0.68^63 ≈ 3e-11 per position — below 1e-4 over a 3-million-allocation
/// stand-in.
const MAX_REPEAT: f64 = 0.68;

/// The repeat probability `q` that, mixed with independent draws from a histogram whose
/// shares are `p`, gives the trace's observed repeat share: observed = q + (1 − q)·Σp²;
/// capped so that the most common request repeats with at most [`MAX_REPEAT`].
fn repeat_excess(observed: f64, counts: &BTreeMap<(u32, u8, bool), u64>) -> f64 {
    let total = counts.values().sum::<u64>().max(1) as f64;
    let shares = counts.values().map(|&n| n as f64 / total);
    let chance: f64 = shares.clone().map(|p| p * p).sum();
    let top = shares.fold(0.0f64, f64::max);
    if chance >= 1.0 || top >= MAX_REPEAT {
        return 0.0;
    }
    let q = (observed - chance) / (1.0 - chance);
    q.clamp(0.0, (MAX_REPEAT - top) / (1.0 - top))
}

/// The chance that a long-lived block joins the cohort born just before it: the share of
/// long-lived frees that follow a block born within the span, over the share of long-lived
/// births that have one born within the span before them (`near` = (births, with one)).
fn join_rate(cohort_frees: u64, long_frees: u64, near: (u64, u64)) -> f64 {
    if long_frees == 0 || near.1 == 0 {
        return 0.0;
    }
    let share = cohort_frees as f64 / long_frees as f64;
    (share * near.0 as f64 / near.1 as f64).min(1.0)
}

/// The fitted model of a trace.
#[derive(Debug, Clone)]
pub struct Model {
    segments: Vec<Segment>,
}

/// Why a trace cannot be fitted.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(
        "trace has {allocs} allocations; fitting a stand-in needs at least {MIN_ALLOCS} \
         ({MIN_PER_SEGMENT} in each of its {SEGMENTS} segments) to estimate sizes and lifetimes"
    )]
    TooShort { allocs: u64 },
}

fn group(bytes: u64) -> usize {
    match bytes {
        0..=64 => 0,
        65..=512 => 1,
        _ => 2,
    }
}

fn cell(domain: u8, bytes: u64) -> usize {
    domain as usize * GROUPS + group(bytes)
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<(u32, u8, bool), u64>,
    life: Vec<BTreeMap<u8, u64>>,
    life_all: BTreeMap<u8, u64>,
    reallocs: u64,
    realloc_age: BTreeMap<(u8, u8), u64>,
    growth: BTreeMap<u8, u64>,
    gc: [u64; 3],
    bursts: [BTreeMap<u32, u64>; 3],
    repeats: u64,
    long_frees: u64,
    cohort_frees: u64,
}

#[derive(Clone, Copy)]
struct Block {
    bytes: u64,
    birth: u64,
    domain: u8,
    live: bool,
}

impl Model {
    /// Fits the model to a trace's events.
    pub fn fit(events: &[Event]) -> Result<Model, FitError> {
        let total = events
            .iter()
            .filter(|e| matches!(e, Event::Alloc { .. } | Event::Calloc { .. }))
            .count() as u64;
        if total < MIN_ALLOCS {
            return Err(FitError::TooShort { allocs: total });
        }
        let seg_of = |alloc: u64| ((alloc * SEGMENTS as u64) / total) as usize;
        let mut c: Vec<Counts> = (0..SEGMENTS)
            .map(|_| Counts {
                life: vec![BTreeMap::new(); 3 * GROUPS],
                ..Counts::default()
            })
            .collect();
        let mut blocks: Vec<Block> = Vec::new();
        let mut allocs = 0u64;
        let mut prev_request = None;
        let mut prev_long_birth: Option<u64> = None;
        // Births of the blocks freed old, to learn how often one is born near another.
        let mut long_births: Vec<u64> = Vec::new();
        let mut burst: Option<(u8, u32)> = None;
        let end_burst = |burst: &mut Option<(u8, u32)>, c: &mut Vec<Counts>, allocs: u64| {
            if let Some((g, n)) = burst.take() {
                let s = seg_of(allocs.min(total - 1));
                *c[s].bursts[g as usize].entry(n).or_default() += 1;
            }
        };
        let record_life = |c: &mut Vec<Counts>, b: &Block, bin: u8| {
            let s = &mut c[seg_of(b.birth)];
            *s.life[cell(b.domain, b.bytes)].entry(bin).or_default() += 1;
            *s.life_all.entry(bin).or_default() += 1;
        };
        for &e in events {
            if !matches!(e, Event::Free { .. }) {
                end_burst(&mut burst, &mut c, allocs);
            }
            match e {
                Event::Alloc { slot, domain, .. } | Event::Calloc { slot, domain, .. } => {
                    let bytes = e.bytes().unwrap_or(0);
                    let i = slot as usize;
                    if i >= blocks.len() {
                        blocks.resize(
                            i + 1,
                            Block {
                                bytes: 0,
                                birth: 0,
                                domain: 0,
                                live: false,
                            },
                        );
                    }
                    let size = bytes.min(u64::from(u32::MAX)) as u32;
                    let calloc = matches!(e, Event::Calloc { .. });
                    let request = (size, domain as u8, calloc);
                    let s = &mut c[seg_of(allocs)];
                    *s.requests.entry(request).or_default() += 1;
                    s.repeats += u64::from(prev_request == Some(request));
                    prev_request = Some(request);
                    blocks[i] = Block {
                        bytes,
                        birth: allocs,
                        domain: domain as u8,
                        live: true,
                    };
                    allocs += 1;
                }
                Event::Realloc { slot, size, .. } => {
                    if let Some(b) = blocks.get_mut(slot as usize).filter(|b| b.live) {
                        let s = &mut c[seg_of(allocs.min(total - 1))];
                        s.reallocs += 1;
                        let age = life_bin(allocs - b.birth - 1) as u8;
                        *s.realloc_age.entry((age, b.domain)).or_default() += 1;
                        *s.growth
                            .entry(growth_bin(b.bytes, u64::from(size)) as u8)
                            .or_default() += 1;
                        b.bytes = u64::from(size);
                    }
                }
                Event::Free { slot, .. } => {
                    if let Some(b) = blocks.get_mut(slot as usize).filter(|b| b.live) {
                        b.live = false;
                        let b = *b;
                        let age = allocs - b.birth - 1;
                        record_life(&mut c, &b, life_bin(age) as u8);
                        if age >= COHORT_MIN_AGE {
                            let s = &mut c[seg_of(b.birth)];
                            s.long_frees += 1;
                            let near =
                                prev_long_birth.is_some_and(|p| p.abs_diff(b.birth) <= COHORT_SPAN);
                            s.cohort_frees += u64::from(near);
                            prev_long_birth = Some(b.birth);
                            long_births.push(b.birth);
                        }
                        if let Some((_, n)) = burst.as_mut() {
                            *n += 1;
                        }
                    }
                }
                Event::Gc(g) if g < 3 => {
                    c[seg_of(allocs.min(total - 1))].gc[g as usize] += 1;
                    burst = Some((g, 0));
                }
                Event::Gc(_) | Event::Phase(_) => {}
            }
        }
        end_burst(&mut burst, &mut c, allocs);
        for b in blocks.iter().filter(|b| b.live) {
            record_life(&mut c, b, (LIFE_BINS - 1) as u8);
        }
        // A stand-in block can join only a cohort born within the span before it: scale the
        // cohort share by how often that chance exists, so the stand-in's share matches.
        long_births.sort_unstable();
        let mut near = vec![(0u64, 0u64); SEGMENTS];
        for (i, &b) in long_births.iter().enumerate() {
            let n = &mut near[seg_of(b)];
            n.0 += 1;
            n.1 += u64::from(i > 0 && b - long_births[i - 1] <= COHORT_SPAN);
        }
        let segments = c
            .into_iter()
            .enumerate()
            .map(|(i, k)| Segment {
                allocs: (i as u64 + 1) * total / SEGMENTS as u64
                    - i as u64 * total / SEGMENTS as u64,
                repeat: repeat_excess(
                    k.repeats as f64 / k.requests.values().sum::<u64>().max(1) as f64,
                    &k.requests,
                ),
                cohort: join_rate(k.cohort_frees, k.long_frees, near[i]),
                requests: Table::from_counts(&k.requests),
                life: k.life.iter().map(Table::from_counts).collect(),
                life_all: Table::from_counts(&k.life_all),
                reallocs: k.reallocs,
                realloc_age: Table::from_counts(&k.realloc_age),
                growth: Table::from_counts(&k.growth),
                gc: k.gc,
                bursts: k.bursts.each_ref().map(Table::from_counts),
            })
            .collect();
        Ok(Model { segments })
    }

    /// Allocations the stand-in makes (as many as the trace).
    pub fn allocs(&self) -> u64 {
        self.segments.iter().map(|s| s.allocs).sum()
    }
}

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
    /// Birth (allocation index) of the block in each slot, `u64::MAX` if free.
    births: Vec<u64>,
    bytes: Vec<u64>,
    domains: Vec<u8>,
    free_slots: Vec<u32>,
    /// `(death, birth, slot)`, earliest first.
    deaths: BinaryHeap<Reverse<(u64, u64, u32)>>,
    ring: Vec<(u32, u64)>,
    now: u64,
    prev_request: Option<(u32, u8, bool)>,
    /// `(birth, death)` of the last long-lived block: the cohort a new one may join.
    last_long: Option<(u64, u64)>,
}

impl<F: FnMut(Event) -> std::io::Result<()>> Synth<'_, F> {
    fn free(&mut self, slot: u32, birth: u64) -> std::io::Result<bool> {
        if self.births[slot as usize] != birth {
            return Ok(false);
        }
        self.births[slot as usize] = u64::MAX;
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

    fn alloc(&mut self, seg: &Segment) -> std::io::Result<()> {
        let drawn = seg.requests.sample(&mut self.rng).unwrap_or((16, 2, false));
        let request = match self.prev_request {
            Some(p) if self.rng.chance(seg.repeat) => p,
            _ => drawn,
        };
        self.prev_request = Some(request);
        let (size, domain, calloc) = request;
        let slot = self.free_slots.pop().unwrap_or(self.births.len() as u32);
        if slot as usize == self.births.len() {
            self.births.push(u64::MAX);
            self.bytes.push(0);
            self.domains.push(0);
        }
        let i = slot as usize;
        let birth = self.now;
        self.births[i] = birth;
        self.bytes[i] = u64::from(size);
        self.domains[i] = domain;
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
        let table = &seg.life[cell(domain as u8, u64::from(size))];
        let table = if table.total() > 0 {
            table
        } else {
            &seg.life_all
        };
        let bin = table.sample(&mut self.rng).unwrap_or(0);
        if usize::from(bin) != LIFE_BINS - 1 {
            let mut death = birth + 1 + age_in(bin, &mut self.rng);
            if death - birth > COHORT_MIN_AGE {
                if let Some((b, d)) = self.last_long {
                    let joinable = birth - b <= COHORT_SPAN && d > birth + COHORT_MIN_AGE;
                    if joinable && self.rng.chance(seg.cohort) {
                        death = d;
                    }
                }
                self.last_long = Some((birth, death));
            }
            self.deaths.push(Reverse((death, birth, slot)));
        }
        self.now += 1;
        Ok(())
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
        births: Vec::new(),
        bytes: Vec::new(),
        domains: Vec::new(),
        free_slots: Vec::new(),
        deaths: BinaryHeap::new(),
        ring: vec![(0, u64::MAX); RING],
        now: 0,
        prev_request: None,
        last_long: None,
    };
    for seg in &model.segments {
        let realloc_rate = seg.reallocs as f64 / seg.allocs.max(1) as f64;
        let gc_rate = seg.gc.map(|n| n as f64 / seg.allocs.max(1) as f64);
        for _ in 0..seg.allocs {
            while let Some(&Reverse((death, birth, slot))) = s.deaths.peek() {
                if death > s.now {
                    break;
                }
                s.deaths.pop();
                s.free(slot, birth)?;
            }
            for (g, &rate) in gc_rate.iter().enumerate() {
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

/// Tokens of the allocating events (op, domain or 0 for realloc, size): what "the program's
/// sequence" means for a stand-in. Slots and frees carry no program information of their
/// own once the sizes and order of requests are gone.
pub fn tokens(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Alloc { size, domain, .. } => {
                Some((1 << 40) | (domain as u64) << 36 | u64::from(size))
            }
            Event::Calloc {
                n, size, domain, ..
            } => Some(
                (2 << 40) | (domain as u64) << 36 | (u64::from(n) * u64::from(size)).min(1 << 35),
            ),
            Event::Realloc { size, .. } => Some((3 << 40) | u64::from(size)),
            _ => None,
        })
        .collect()
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
    use crate::workload::profile::Profile;

    #[test]
    fn table_samples_in_proportion() {
        let mut counts = BTreeMap::new();
        counts.insert(1u8, 1u64);
        counts.insert(2u8, 3u64);
        let t = Table::from_counts(&counts);
        let mut rng = Rng::new(3);
        let twos = (0..4000).filter(|_| t.sample(&mut rng) == Some(2)).count();
        assert!((2800..3200).contains(&twos), "{twos}");
    }

    #[test]
    fn age_stays_in_its_bin() {
        let mut rng = Rng::new(1);
        for bin in 0..(LIFE_BINS - 1) as u8 {
            for _ in 0..50 {
                assert_eq!(life_bin(age_in(bin, &mut rng)), bin as usize);
            }
        }
    }

    #[test]
    fn shared_runs_are_found() {
        let a: Vec<u64> = (0..200).collect();
        let mut b: Vec<u64> = (1000..1100).collect();
        assert!(!shared_run(&a, &b, 10));
        b.extend(50..60);
        assert!(shared_run(&a, &b, 10));
        assert!(!shared_run(&a, &b, 11));
    }

    #[test]
    fn repeat_excess_inverts_the_mixture_and_is_capped() {
        let mut counts = BTreeMap::new();
        counts.insert((32u32, 2u8, false), 1u64);
        counts.insert((64u32, 2u8, false), 1u64);
        // Independent draws repeat half the time: no excess needed for 50 %, all of it for
        // 100 % (capped so the commonest request repeats at most MAX_REPEAT of the time).
        assert_eq!(repeat_excess(0.5, &counts), 0.0);
        assert_eq!(
            repeat_excess(0.2, &counts),
            0.0,
            "below chance cannot be made"
        );
        assert!((repeat_excess(0.6, &counts) - 0.2).abs() < 1e-12);
        let q = repeat_excess(1.0, &counts);
        assert!((q + (1.0 - q) * 0.5 - MAX_REPEAT).abs() < 1e-12, "{q}");
        assert_eq!(join_rate(30, 60, (100, 50)), 1.0);
        assert!((join_rate(30, 60, (100, 80)) - 0.625).abs() < 1e-12);
        assert_eq!(join_rate(0, 0, (0, 0)), 0.0);
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
        let mut synth = Vec::new();
        synthesize(&model, seed, &mut |e| {
            synth.push(e);
            Ok(())
        })
        .unwrap();
        (Profile::from_events(trace), Profile::from_events(synth))
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
}
