//! Pareto-best geometries: those no other geometry beats on both figures at once. Lower is
//! better for both (mean heap RSS: memory the process holds over its run; arena churn:
//! `mmap`/`munmap` system calls and the page faults of fresh arenas). The sweep ranks on
//! the mean, not the peak, because the modelled peak hardly moves with the geometry (pools
//! are carved lazily, so a larger arena does not touch more memory until it is needed),
//! while the memory kept after the peak does.

/// For each point `(a, b)`, whether no other point has `a' ≤ a` and `b' ≤ b` with at least
/// one strictly lower. Equal points are all on the front.
pub fn front(points: &[(usize, usize)]) -> Vec<bool> {
    points
        .iter()
        .map(|&(a, b)| {
            !points
                .iter()
                .any(|&(x, y)| x <= a && y <= b && (x < a || y < b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::front;
    use proptest::prelude::*;

    #[test]
    fn dominated_points_are_off_the_front() {
        // (5, 5) is beaten by (4, 4); (4, 4), (2, 9) and (9, 1) trade one figure for the
        // other; the duplicate (2, 9) is on the front too.
        let pts = [(5, 5), (4, 4), (2, 9), (9, 1), (2, 9), (9, 2)];
        assert_eq!(front(&pts), [false, true, true, true, true, false]);
    }

    proptest! {
        #[test]
        fn the_front_is_never_empty_and_every_point_off_it_is_beaten_by_one_on_it(
            pts in proptest::collection::vec((0usize..20, 0usize..20), 1..30)
        ) {
            let f = front(&pts);
            prop_assert!(f.iter().any(|&b| b));
            for (i, &(a, b)) in pts.iter().enumerate() {
                if !f[i] {
                    let beaten = pts.iter().zip(&f).any(|(&(x, y), &on)| {
                        on && x <= a && y <= b && (x < a || y < b)
                    });
                    prop_assert!(beaten, "{:?} off the front but beaten by no front point", pts[i]);
                }
            }
        }
    }
}
