//! Loop bodies for stand-ins: the order of a program's calls comes from a few code paths run
//! again and again, so a stand-in draws its small requests, their lifetimes and its echoes
//! inside loop bodies that it replays.
//!
//! Drawn afresh at every allocation, a stand-in's allocs and frees come in an order no
//! program makes: a 16-op history mispredicts "alloc or free?" for 32 – 40 % of its ops,
//! against 0.8 – 9.9 % on the shipped traces (`op_order`), and that order decides how warm
//! an allocator's free lists stay — json_tool's stand-in ranked jemalloc ahead of pymalloc
//! where its trace ranks it behind. A body here is a seed and a length: its k-th step draws
//! from a source seeded by (body, k), so every iteration of a loop asks for the same sizes
//! with the same lifetimes while the heap moves on. A segment alternates between two bodies
//! (programs call the same few paths in turn) and draws a new pair every [`RENEW_EVERY`]
//! allocations, so over the run every draw keeps the distribution the model fitted.
//!
//! A pair of bodies holds about eight draws, and they make 4,096 allocations: drawn
//! independently, one pair may hold long-lived blocks at twice the table's share, and the
//! live set grew lumpy (a tree-dropping program's stand-in peaked at 2.4× its peak). So a
//! vocabulary's request sizes and lifetimes are drawn at spread quantiles (stratified: each
//! of its n steps from its own n-th of the table, in a shuffled order), which keeps the
//! table's shares in every pair.

use crate::workload::rng::Rng;

/// Bodies a stand-in alternates between at a time.
const VOCABULARY: usize = 2;
/// Allocations after which a stand-in draws new bodies: a program moves from one kind of
/// work to the next. 512 – 32,768 were tried; 4,096 kept json_tool's op order and peak.
pub(super) const RENEW_EVERY: u64 = 4096;
/// Mean allocations in a body beyond its first: bodies hold 2 or more (a one-allocation
/// body repeats one size, runs of which are the `size_runs` figure's, not the order's).
const EXTRA_STEPS_MEAN: f64 = 3.0;
/// Mean iterations of a loop.
const ITERATIONS_MEAN: f64 = 8.0;
/// Most allocations in one loop: a loop longer than the op-order figure's history and the
/// lifetimes it cuts short (long-lived frees wait for a loop's end) would stop being one.
pub(super) const MAX_LOOP: u32 = 63;
/// Salt of the lifetime source beside a step's choices, so a choice made or not does not
/// shift the age drawn after it.
const LIFE_SALT: u64 = 0x6c69_6665_7469_6d65;

/// A body: its seed, allocations per iteration, and where its steps' quantiles start in
/// its vocabulary's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Body {
    seed: u64,
    pub(super) len: u32,
    first: u32,
}

/// What the `k`-th allocation of a body draws from — the same for every iteration.
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// Its echo, repeat and join choices.
    pub(super) rng: Rng,
    /// Its age within the lifetime bin.
    pub(super) life: Rng,
    /// The quantiles its small request and its lifetime bin are read at.
    pub(super) request_at: f64,
    pub(super) life_at: f64,
}

/// A loop: a body and how many times it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Loop {
    pub(super) body: Body,
    pub(super) iterations: u32,
}

/// `n` quantiles, one in each n-th of [0, 1), in a random order.
fn stratified(n: u32, rng: &mut Rng) -> Vec<f64> {
    let mut order: Vec<u32> = (0..n).collect();
    rng.shuffle(&mut order);
    (order.into_iter())
        .map(|i| (f64::from(i) + rng.unit()) / f64::from(n))
        .collect()
}

/// The bodies a stand-in is drawing from.
#[derive(Debug, Clone)]
pub(super) struct Bodies {
    vocabulary: [Body; VOCABULARY],
    /// `(request, lifetime)` quantiles of the vocabulary's steps, body after body.
    quantiles: Vec<(f64, f64)>,
    last: usize,
    renew_at: u64,
}

impl Bodies {
    pub(super) fn new(rng: &mut Rng) -> Self {
        let mut b = Bodies {
            vocabulary: [Body {
                seed: 0,
                len: 2,
                first: 0,
            }; VOCABULARY],
            quantiles: Vec::new(),
            last: 0,
            renew_at: 0,
        };
        b.renew(0, rng);
        b
    }

    fn renew(&mut self, now: u64, rng: &mut Rng) {
        let mut first = 0;
        for body in &mut self.vocabulary {
            let len = (1 + rng.geometric(1.0 / EXTRA_STEPS_MEAN, u32::MAX)).min(MAX_LOOP);
            *body = Body {
                seed: rng.next_u64(),
                len,
                first,
            };
            first += len;
        }
        let (a, b) = (stratified(first, rng), stratified(first, rng));
        self.quantiles = a.into_iter().zip(b).collect();
        self.renew_at = now + RENEW_EVERY;
    }

    /// A step to start from, before the first loop sets one.
    pub(super) fn opening(&self) -> Step {
        self.step(self.vocabulary[0], 0)
    }

    /// What `body`'s `k`-th allocation draws from.
    pub(super) fn step(&self, body: Body, k: u32) -> Step {
        let s = body.seed ^ u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let (request_at, life_at) = self.quantiles[(body.first + k % body.len) as usize];
        Step {
            rng: Rng::new(s),
            life: Rng::new(s ^ LIFE_SALT),
            request_at,
            life_at,
        }
    }

    /// The loop starting at allocation `now`: a body other than the last loop's (new ones
    /// once [`RENEW_EVERY`] allocations passed) run a geometric number of times, at most
    /// [`MAX_LOOP`] allocations in all.
    pub(super) fn next(&mut self, now: u64, rng: &mut Rng) -> Loop {
        if now >= self.renew_at {
            self.renew(now, rng);
        }
        let i = (self.last + 1 + rng.below(VOCABULARY as u64 - 1) as usize) % VOCABULARY;
        self.last = i;
        let body = self.vocabulary[i];
        let iterations = rng
            .geometric(1.0 / ITERATIONS_MEAN, u32::MAX)
            .min((MAX_LOOP / body.len).max(1));
        Loop { body, iterations }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::rng::Rng;
    use proptest::prelude::*;

    proptest! {
        /// Loops stay within their bound, never repeat the last body, and a body's steps
        /// give the same draws every time they are asked for.
        #[test]
        fn loops_are_bounded_alternating_and_replayable(seed in 0u64..10_000) {
            let mut rng = Rng::new(seed);
            let mut bodies = Bodies::new(&mut rng);
            let (mut now, mut prev): (u64, Option<Body>) = (0, None);
            for _ in 0..200 {
                let l = bodies.next(now, &mut rng);
                prop_assert!(l.body.len >= 2 && l.iterations >= 1);
                prop_assert!(l.body.len * l.iterations <= MAX_LOOP);
                prop_assert_ne!(Some(l.body), prev);
                let (mut a, mut b) = (bodies.step(l.body, 1), bodies.step(l.body, 1));
                prop_assert_eq!(a.rng.next_u64(), b.rng.next_u64());
                prop_assert_eq!(a.life_at, b.life_at);
                prev = Some(l.body);
                now += u64::from(l.body.len * l.iterations);
            }
        }
    }

    #[test]
    fn loops_and_bodies_have_their_means() {
        let mut rng = Rng::new(5);
        let mut bodies = Bodies::new(&mut rng);
        let (mut now, mut lens, mut iters, n) = (0u64, 0u64, 0u64, 20_000);
        for _ in 0..n {
            let l = bodies.next(now, &mut rng);
            lens += u64::from(l.body.len);
            iters += u64::from(l.iterations);
            now += u64::from(l.body.len * l.iterations);
        }
        let (len, it) = (lens as f64 / n as f64, iters as f64 / n as f64);
        // 1 + geometric(3): mean 4 (a little less, from the cap at 63). Iterations: mean 8
        // before the cap of 63 allocations a loop; with bodies of 4 on average the cap cuts
        // the long tail, to about 6.
        assert!((3.6..4.4).contains(&len), "{len}");
        assert!((4.5..7.5).contains(&it), "{it}");
        // New bodies every RENEW_EVERY allocations.
        let first = Bodies::new(&mut Rng::new(5)).vocabulary;
        assert_ne!(bodies.vocabulary, first);
    }

    proptest! {
        /// Each n-th of [0, 1) holds exactly one of a vocabulary's n quantiles.
        #[test]
        fn quantiles_are_stratified(n in 1u32..64, seed in 0u64..1000) {
            let q = stratified(n, &mut Rng::new(seed));
            let mut cells: Vec<u32> = q.iter().map(|u| (u * f64::from(n)) as u32).collect();
            cells.sort_unstable();
            prop_assert_eq!(cells, (0..n).collect::<Vec<u32>>());
        }
    }
}
