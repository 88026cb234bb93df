//! Loop bodies for the built-in generators: runs of steps that repeat one set of random
//! choices, as a Python loop runs one code path over and over.
//!
//! A generator draws each step's shape (how many items, which of them allocate, whether the
//! result is a temporary) from the heap's random source. Drawn afresh every step, the
//! allocs and frees come in an order no program gives: a 16-op history mispredicts "alloc
//! or free?" on 20 – 35 % of the ops of `tuples`, `numbers` and `instances`, against
//! 0.8 – 9.9 % on recorded traces (`op_order`). With loops, a step takes its choices from
//! its loop's own seed, so every iteration of a loop makes the same choices while the heap
//! (freelists, windows, the collector) moves on; loop lengths are geometric with the
//! spec's mean and each loop's seed is new, so over many loops every choice keeps the
//! distribution the spec gives it.

use super::rng::Rng;

/// The loop a stream is in: how many iterations are left and the seed they replay.
#[derive(Debug, Clone)]
pub struct Loops {
    /// Draws loop lengths and loop seeds; never seen by the generator.
    master: Rng,
    /// Probability that an iteration is its loop's last (1 / mean length).
    end: f64,
    left: u32,
    body: Rng,
}

impl Loops {
    /// Loops of `mean` iterations on average for a stream seeded with `seed`, or `None`
    /// when `mean` is 1 (every step draws afresh: the stream is exactly what it was
    /// before loops existed).
    pub fn new(seed: u64, mean: u32) -> Option<Self> {
        if mean <= 1 {
            return None;
        }
        // A master source apart from the heap's, so loops do not shift the first loop's
        // draws and a seed's loops are the same on every machine.
        let mut master = Rng::new(seed ^ 0x6c6f_6f70_626f_6479);
        let body = Rng::new(master.next_u64());
        Some(Loops {
            master,
            end: 1.0 / f64::from(mean),
            left: 0,
            body,
        })
    }

    /// Sets `rng` to the state the next step starts from: the current loop's seed while
    /// the loop lasts, a fresh one when it ends.
    pub fn enter(&mut self, rng: &mut Rng) {
        if self.left == 0 {
            self.left = self.length();
            self.body = Rng::new(self.master.next_u64());
        }
        self.left -= 1;
        *rng = self.body.clone();
    }

    /// A geometric loop length (at least 1) with mean 1 / `end`.
    fn length(&mut self) -> u32 {
        self.master
            .geometric(self.end, super::spec::LoopIterations::MAX * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_of_one_means_no_loops() {
        assert!(Loops::new(7, 1).is_none());
    }

    #[test]
    fn iterations_of_a_loop_start_from_one_state_and_loops_differ() {
        let mut loops = Loops::new(3, 1_000).unwrap();
        let mut rng = Rng::new(0);
        let mut firsts = Vec::new();
        for _ in 0..50 {
            loops.enter(&mut rng);
            firsts.push(rng.next_u64());
        }
        // A loop of mean 1000 lasts 50 steps with probability ~0.95; the loop's draws
        // are the same each time, whatever the step did with the source.
        let same = firsts.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(
            same >= 45,
            "{same} of 49 consecutive steps repeated their draws"
        );
        let mut short = Loops::new(3, 2).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            short.enter(&mut rng);
            seen.insert(rng.next_u64());
        }
        assert!(seen.len() > 50, "only {} distinct loops", seen.len());
    }

    #[test]
    fn loop_lengths_have_the_asked_mean() {
        let mut loops = Loops::new(11, 16).unwrap();
        let n = 20_000;
        let total: u64 = (0..n).map(|_| u64::from(loops.length())).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 16.0).abs() < 0.8, "mean loop length {mean}");
    }
}
