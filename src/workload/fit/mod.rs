//! `pybench gen --like TRACE`: a statistical model of a recorded trace, and a synthetic
//! stand-in drawn from it that matches the trace on the realism report but holds none of
//! its sequence — so a team can share a stand-in for a private program's trace.
//!
//! The model cuts the trace into [`SEGMENTS`] equal runs of allocations (its phases) and
//! keeps, per segment, only histograms: request sizes with their domain and call
//! (alloc/calloc), lifetimes in later allocations per (domain, size group), the lives of
//! resized blocks (buffers) whole — when each realloc came and what size it asked for —, and
//! the burst sizes of GC collections per generation — and three figures of the order that decide how warm
//! an allocator's caches stay: how often an allocation repeats the request before it (runs
//! of one size), how often an allocation right after a free asks for what was just freed
//! (echoes: a loop's next temporary, which a LIFO free list serves from the block just
//! released), and how often long-lived blocks die with the block born just before them
//! (cohorts: a container's items). The stand-in draws every allocation from these, echoing,
//! repeating or joining the previous block's cohort at the fitted rates, inside loop bodies
//! replayed a few times each (`bodies`) as a program's code paths are, so the order of
//! the program's calls is not in it but an order like it is; and it never completes a
//! 64-event run of the trace (`guard`; `shared_run` checks). Where in the run
//! long-lived blocks die and collections come is kept at a finer grain, a 256th of the run
//! (`places`): a structure dropped whole must die at one moment for the live heap to peak
//! as the program's does.

use super::event::Event;
use super::profile::{life_bin, size_bin, COHORT_MIN_AGE, COHORT_SPAN, LIFE_BINS};
use std::collections::{BTreeMap, HashMap};

/// Phases the model distinguishes: sizes and lifetimes drift through a program (imports,
/// then work, then teardown), so one histogram per sixteenth of the allocations.
pub const SEGMENTS: usize = 16;
/// Allocations a segment needs for its histograms to mean anything.
pub const MIN_PER_SEGMENT: u64 = 500;
/// Allocations a trace needs to be fitted.
pub const MIN_ALLOCS: u64 = SEGMENTS as u64 * MIN_PER_SEGMENT;
/// Size groups lifetimes are conditioned on, by requested size: ≤ 64 B, ≤ 512 B (pymalloc's
/// limit), ≤ 4 KiB, larger (buffers, which live differently from 600-byte objects).
const GROUPS: usize = 4;
/// Requests above this many bytes are drawn apart from loop bodies, with their lifetimes:
/// a program's large blocks (buffers, arrays, big dicts' tables) come from its data, not
/// from the shape of a loop — drawn in bodies, repeated iterations held compileall's
/// stand-in at 18 – 21 MB against 7.7. pymalloc's own limit.
pub(crate) const LARGE_ABOVE: u32 = 512;

/// Request of an allocation: `(size, domain, calloc)`.
type Request = (u32, u8, bool);

/// What one segment of the trace looks like.
#[derive(Debug, Clone, Default)]
struct Segment {
    allocs: u64,
    /// `(size, domain, calloc)` of allocations.
    requests: Table<Request>,
    /// Requests of blocks never resized with their lifetime bins, split at [`LARGE_ABOVE`],
    /// and the share of large ones: a stand-in draws small requests in its loop bodies and
    /// large ones apart ([`bodies`]). Drawn as pairs, a request keeps the lifetimes its own
    /// size had (a tree's 48-byte nodes outlive the 48-byte temporaries around them less
    /// often than its 112-byte ones do), and a loop body's few draws, spread over the
    /// pairs' quantiles, hold long-lived blocks at the trace's share.
    small: Table<(u8, Request)>,
    large: Table<(u8, Request)>,
    large_share: f64,
    /// Lifetime bins per (domain, size group) of blocks never resized, and over the whole
    /// segment as a fallback.
    life: Vec<Table<u8>>,
    life_all: Table<u8>,
    /// Per (domain, size group): the lives of the blocks born here that were resized.
    buffers: Vec<Vec<Buffer>>,
    /// The share of all births here that were resized.
    buffer_share: f64,
    /// Burst sizes of collections per generation (when they come: [`Places`]).
    bursts: [Table<u32>; 3],
    /// Probability that an allocation repeats the previous request exactly, beyond what
    /// independent draws give (see [`repeat_excess`]).
    repeat: f64,
    /// Share of long-lived blocks (age ≥ `COHORT_MIN_AGE`) born here that die with the
    /// long-lived block born just before them.
    cohort: f64,
    /// Share of long-lived blocks born here that die right after the long-lived block born
    /// before them, within [`CHAIN_SPAN`] allocations of it (a structure torn down in the
    /// order it was built).
    chain: f64,
    /// Probability that an allocation made right after a free asks again for the request of
    /// the block just freed, beyond chance (see [`echo_excess`]).
    echo: f64,
    /// Ceiling on asking for the previous request again, by repeat or echo ([`run_cap`]).
    run_cap: f64,
    /// Chance that a fresh draw in the previous allocation's size bin is drawn again
    /// ([`repeat_deficit`]).
    avoid: f64,
}

/// The life of a resized block, kept whole: a program grows a buffer through its sizes (a
/// string built by `+=`, a list appended to, a bytearray read into) and drops it. Drawn as
/// independent reallocs of random blocks, the growth never compounded: compileall's stand-in
/// made 119 reallocs ending over 4 KiB where the trace made 511, and held 3.95 MB of such
/// blocks at its peak against 4.87 MB.
#[derive(Debug, Clone, Default)]
struct Buffer {
    /// The size it was allocated with (the stand-in's block asks for it too, so the first
    /// realloc grows it as the program's did).
    start: u32,
    /// Whether it was a calloc.
    calloc: bool,
    /// Each realloc: allocations since the block's birth, and the size it asked for (as
    /// recorded: a ratio to a drawn first size compounds into sizes the program never asked
    /// for — pip_list's stand-in peaked at 40 MB live where the trace holds 28 MB).
    steps: Vec<(u64, u32)>,
    /// Its age at its free, `None` if it lived to the end.
    age: Option<u64>,
}

/// Births this close make a chain: a long-lived block born within this many allocations of
/// the long-lived block before it may die with it. Programs tear a structure down in the
/// order they built it, so 77 – 97 % of the shipped traces' long-lived frees come within
/// 64 allocations (in birth) of the one before, against 55 – 77 % for lifetimes drawn alone.
pub(crate) const CHAIN_SPAN: u64 = 64;

/// The fitted model of a trace.
#[derive(Debug, Clone)]
pub struct Model {
    segments: Vec<Segment>,
    /// Where long-lived blocks die by where they were born ([`places`]).
    places: Places,
    /// The trace's long runs, which the stand-in must not complete ([`guard`]).
    runs: Runs,
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
        513..=4096 => 2,
        _ => 3,
    }
}

fn cell(domain: u8, bytes: u64) -> usize {
    domain as usize * GROUPS + group(bytes)
}

/// Whether two requests fall in one size bin of the realism report's (16 bytes up to 512).
fn same_bin(a: Request, b: Request) -> bool {
    size_bin(u64::from(a.0)) == size_bin(u64::from(b.0))
}

/// Allocations per size bin.
fn bins(requests: &BTreeMap<Request, u64>) -> BTreeMap<usize, u64> {
    let mut out = BTreeMap::new();
    for (r, &n) in requests {
        *out.entry(size_bin(u64::from(r.0))).or_default() += n;
    }
    out
}

/// The domain of a [`cell`].
fn cell_domain(cell: usize) -> u8 {
    (cell / GROUPS) as u8
}

/// The requests above [`LARGE_ABOVE`] (`large`) or the others, with their lifetime bins.
fn split(counts: &BTreeMap<(u8, Request), u64>, large: bool) -> BTreeMap<(u8, Request), u64> {
    (counts.iter())
        .filter(|((_, r), _)| (r.0 > LARGE_ABOVE) == large)
        .map(|(&r, &n)| (r, n))
        .collect()
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<Request, u64>,
    life: Vec<BTreeMap<u8, u64>>,
    life_all: BTreeMap<u8, u64>,
    /// `(lifetime bin, request)` of blocks never resized: lifetime first, so that draws at
    /// spread quantiles spread over lifetimes before sizes.
    joint: BTreeMap<(u8, Request), u64>,
    /// Per (domain, size group), the lives of the blocks born here that were resized.
    buffers: Vec<Vec<Buffer>>,
    bursts: [BTreeMap<u32, u64>; 3],
    repeats: u64,
    /// Allocations in the size bin of the allocation before (the `size_runs` figure's
    /// measure).
    bin_repeats: u64,
    /// Requests of the blocks freed just before an allocation, and how often that
    /// allocation asked for the same.
    echo_freed: BTreeMap<Request, u64>,
    echo_hits: u64,
    long_frees: u64,
    cohort_frees: u64,
    /// Long-lived frees born within [`CHAIN_SPAN`] of the previous long-lived free's block.
    chain_frees: u64,
}

#[derive(Clone, Copy, Default)]
struct Block {
    birth: u64,
    /// What its allocation asked for (an echo asks for it again).
    request: Request,
    live: bool,
}

/// One pass over the trace, counting per segment what the model keeps.
struct Fitter {
    total: u64,
    c: Vec<Counts>,
    blocks: Vec<Block>,
    allocs: u64,
    prev_request: Option<Request>,
    /// Request of the block freed last, if a free came after the last allocation.
    just_freed: Option<Request>,
    prev_long_birth: Option<u64>,
    /// Births of the blocks freed old, to learn how often one is born near another.
    long_births: Vec<u64>,
    /// The collection whose burst of frees is being counted: (generation, frees so far).
    burst: Option<(u8, u32)>,
    places: PlaceCounts,
    /// The reallocs so far of each live block that was resized, by slot.
    resized: HashMap<u32, Vec<(u64, u32)>>,
}

impl Fitter {
    fn seg_of(&self, alloc: u64) -> usize {
        ((alloc.min(self.total - 1) * SEGMENTS as u64) / self.total) as usize
    }

    /// The segment of the current point of the trace.
    fn here(&mut self) -> &mut Counts {
        let s = self.seg_of(self.allocs);
        &mut self.c[s]
    }

    fn end_burst(&mut self) {
        if let Some((g, n)) = self.burst.take() {
            *self.here().bursts[g as usize].entry(n).or_default() += 1;
        }
    }

    fn record_life(&mut self, b: &Block, bin: u8) {
        let s = self.seg_of(b.birth);
        let s = &mut self.c[s];
        *s.life[cell(b.request.1, u64::from(b.request.0))]
            .entry(bin)
            .or_default() += 1;
        *s.life_all.entry(bin).or_default() += 1;
        *s.joint.entry((bin, b.request)).or_default() += 1;
    }

    fn alloc(&mut self, slot: u32, request: Request) {
        let i = slot as usize;
        if i >= self.blocks.len() {
            self.blocks.resize(i + 1, Block::default());
        }
        let (prev, freed) = (self.prev_request, self.just_freed.take());
        let s = self.here();
        *s.requests.entry(request).or_default() += 1;
        s.repeats += u64::from(prev == Some(request));
        s.bin_repeats += u64::from(prev.is_some_and(|p| same_bin(p, request)));
        if let Some(f) = freed {
            *s.echo_freed.entry(f).or_default() += 1;
            s.echo_hits += u64::from(f == request);
        }
        self.prev_request = Some(request);
        self.blocks[i] = Block {
            birth: self.allocs,
            request,
            live: true,
        };
        self.allocs += 1;
    }

    fn realloc(&mut self, slot: u32, size: u32) {
        let Some(b) = self.blocks.get(slot as usize).copied().filter(|b| b.live) else {
            return;
        };
        let steps = self.resized.entry(slot).or_default();
        steps.push((self.allocs - b.birth, size));
    }

    /// Where a block that died at `age` (`None`: lived to the end) is kept: its lifetime,
    /// or, if it was resized, its whole life.
    fn record_death(&mut self, slot: u32, b: &Block, age: Option<u64>) {
        let Some(steps) = self.resized.remove(&slot) else {
            let bin = age.map_or(LIFE_BINS - 1, life_bin);
            return self.record_life(b, bin as u8);
        };
        let s = self.seg_of(b.birth);
        let (start, domain, calloc) = b.request;
        self.c[s].buffers[cell(domain, u64::from(start))].push(Buffer {
            start,
            calloc,
            steps,
            age,
        });
    }

    fn free(&mut self, slot: u32) {
        let Some(b) = self.blocks.get(slot as usize).copied().filter(|b| b.live) else {
            return;
        };
        self.blocks[slot as usize].live = false;
        self.just_freed = Some(b.request);
        let age = self.allocs - b.birth - 1;
        self.record_death(slot, &b, Some(age));
        self.places.free(b.birth, self.allocs);
        if age >= COHORT_MIN_AGE {
            let gap = self.prev_long_birth.map(|p| p.abs_diff(b.birth));
            let s = self.seg_of(b.birth);
            self.c[s].long_frees += 1;
            self.c[s].cohort_frees += u64::from(gap.is_some_and(|g| g <= COHORT_SPAN));
            self.c[s].chain_frees += u64::from(gap.is_some_and(|g| g <= CHAIN_SPAN));
            self.prev_long_birth = Some(b.birth);
            self.long_births.push(b.birth);
        }
        if let Some((_, n)) = self.burst.as_mut() {
            *n += 1;
        }
    }

    fn event(&mut self, e: Event) {
        if !matches!(e, Event::Free { .. }) {
            self.end_burst();
        }
        match e {
            Event::Alloc { slot, domain, .. } | Event::Calloc { slot, domain, .. } => {
                let size = e.bytes().unwrap_or(0).min(u64::from(u32::MAX)) as u32;
                let calloc = matches!(e, Event::Calloc { .. });
                self.alloc(slot, (size, domain as u8, calloc));
            }
            Event::Realloc { slot, size, .. } => self.realloc(slot, size),
            Event::Free { slot, .. } => self.free(slot),
            Event::Gc(g) if g < 3 => {
                self.places.collection(g, self.allocs);
                self.burst = Some((g, 0));
            }
            Event::Gc(_) | Event::Phase(_) => {}
        }
    }

    fn finish(mut self, runs: Runs) -> Model {
        self.end_burst();
        let blocks = std::mem::take(&mut self.blocks);
        for (slot, b) in blocks.iter().enumerate().filter(|(_, b)| b.live) {
            self.record_death(slot as u32, b, None);
        }
        // A stand-in block can join only a cohort born within the span before it: scale the
        // cohort share by how often that chance exists, so the stand-in's share matches.
        self.long_births.sort_unstable();
        // (births, with one born within COHORT_SPAN before, within CHAIN_SPAN before)
        let mut near = vec![(0u64, 0u64, 0u64); SEGMENTS];
        for (i, &b) in self.long_births.iter().enumerate() {
            let gap = (i > 0).then(|| b - self.long_births[i - 1]);
            let n = &mut near[self.seg_of(b)];
            n.0 += 1;
            n.1 += u64::from(gap.is_some_and(|g| g <= COHORT_SPAN));
            n.2 += u64::from(gap.is_some_and(|g| g <= CHAIN_SPAN));
        }
        let total = self.total;
        let segments = self
            .c
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                let allocs =
                    (i as u64 + 1) * total / SEGMENTS as u64 - i as u64 * total / SEGMENTS as u64;
                segment(k, allocs, near[i])
            })
            .collect();
        Model {
            segments,
            places: self.places.finish(),
            runs,
        }
    }
}

/// A segment's model from its counts: `allocs` it is to draw, and its long-lived births
/// `near` = (all, with one born within [`COHORT_SPAN`] before, within [`CHAIN_SPAN`] before).
fn segment(k: Counts, allocs: u64, near: (u64, u64, u64)) -> Segment {
    let born = k.requests.values().sum::<u64>().max(1) as f64;
    let (small, large) = (split(&k.joint, false), split(&k.joint, true));
    Segment {
        allocs,
        repeat: repeat_excess(k.repeats as f64 / born, &k.requests),
        echo: echo_excess(k.echo_hits, &k.echo_freed, &k.requests),
        run_cap: run_cap(&k.requests),
        avoid: repeat_deficit(
            k.bin_repeats as f64 / born,
            bins(&k.requests).values().copied(),
        ),
        cohort: join_rate(k.cohort_frees, k.long_frees, (near.0, near.1)),
        chain: join_rate(k.chain_frees, k.long_frees, (near.0, near.2)),
        large_share: large.values().sum::<u64>() as f64
            / k.joint.values().sum::<u64>().max(1) as f64,
        small: Table::from_counts(&small),
        large: Table::from_counts(&large),
        buffer_share: k.buffers.iter().map(Vec::len).sum::<usize>() as f64 / born,
        requests: Table::from_counts(&k.requests),
        life: k.life.iter().map(Table::from_counts).collect(),
        life_all: Table::from_counts(&k.life_all),
        buffers: k.buffers,
        bursts: k.bursts.each_ref().map(Table::from_counts),
    }
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
        let mut f = Fitter {
            total,
            c: (0..SEGMENTS)
                .map(|_| Counts {
                    life: vec![BTreeMap::new(); 3 * GROUPS],
                    buffers: vec![Vec::new(); 3 * GROUPS],
                    ..Counts::default()
                })
                .collect(),
            blocks: Vec::new(),
            allocs: 0,
            prev_request: None,
            just_freed: None,
            prev_long_birth: None,
            long_births: Vec::new(),
            burst: None,
            places: PlaceCounts::new(total),
            resized: HashMap::new(),
        };
        for &e in events {
            f.event(e);
        }
        Ok(f.finish(Runs::of(events)))
    }

    /// Allocations the stand-in makes (as many as the trace).
    pub fn allocs(&self) -> u64 {
        self.segments.iter().map(|s| s.allocs).sum()
    }
}

mod bodies;
mod deaths;
mod guard;
mod places;
#[cfg(test)]
mod programs;
mod rates;
mod synth;
mod table;
mod tokens;

use guard::Runs;
use places::{PlaceCounts, Places};
#[cfg(test)]
pub(crate) use rates::MAX_REPEAT;
use rates::{echo_excess, join_rate, repeat_deficit, repeat_excess, run_cap};
use table::Table;

pub use guard::Guarded;
pub use synth::synthesize;
pub use tokens::{shared_run, token, tokens, LONG_RUN};
