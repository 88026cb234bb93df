//! A small deterministic PRNG written here (xoshiro256** seeded through splitmix64), so a
//! spec and seed give the same stream on every machine and with every crate version.

#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0), by the multiply-shift method (bias < n / 2^64).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A geometric count of at least 1 and at most `max`: one more while a draw at `end`
    /// (the chance of stopping, 1 / mean) fails — loop lengths, body lengths.
    pub fn geometric(&mut self, end: f64, max: u32) -> u32 {
        let mut n = 1;
        while n < max && !self.chance(end) {
            n += 1;
        }
        n
    }

    /// Puts `v` in a uniformly random order (Fisher–Yates, from the last place down: one
    /// `below(i + 1)` per place `i`, so a seed gives the same order everywhere).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r8 = Rng::new(8);
        assert_eq!(a, b);
        assert_ne!(a[0], r8.next_u64());
    }

    #[test]
    fn splitmix_reference_value() {
        // splitmix64 from state 0: first output 0xe220a8397b1dcdaf (published reference).
        let mut x = 0u64;
        assert_eq!(splitmix64(&mut x), 0xe220_a839_7b1d_cdaf);
    }

    proptest::proptest! {
        /// A shuffle is a permutation of its input, and the same for the same seed.
        #[test]
        fn shuffle_permutes_deterministically(v in proptest::collection::vec(0u32..50, 0..40), seed in 0u64..1000) {
            let (mut a, mut b) = (v.clone(), v.clone());
            Rng::new(seed).shuffle(&mut a);
            Rng::new(seed).shuffle(&mut b);
            proptest::prop_assert_eq!(&a, &b);
            let (mut sorted, mut orig) = (a, v);
            sorted.sort_unstable();
            orig.sort_unstable();
            proptest::prop_assert_eq!(sorted, orig);
        }
    }

    #[test]
    fn shuffle_moves_things() {
        let mut v: Vec<u32> = (0..100).collect();
        Rng::new(3).shuffle(&mut v);
        assert_ne!(
            v,
            (0..100).collect::<Vec<u32>>(),
            "a hundred items left in place"
        );
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
        }
    }
}
