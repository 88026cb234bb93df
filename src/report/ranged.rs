//! A figure with its 95 % interval when one can be computed ([`Ranged`]): `validate`'s
//! differences and ratios against the reference allocator.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point with its 95 % bootstrap interval `[lo, hi]`, or with none when it cannot be
/// computed: a side with fewer than two runs has no spread to resample, and the interval its
/// resampling gives is the point itself, which would claim a precision one run does not have.
/// Saved as `[point, lo, hi]`, or `[point]` without an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranged {
    pub point: f64,
    pub interval: Option<[f64; 2]>,
}

impl Ranged {
    pub fn new(point: f64, interval: Option<[f64; 2]>) -> Self {
        Ranged { point, interval }
    }
}

impl Serialize for Ranged {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.interval {
            Some([lo, hi]) => [self.point, lo, hi].serialize(s),
            None => [self.point].serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Ranged {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Vec::<f64>::deserialize(d)?[..] {
            [point] => Ok(Ranged::new(point, None)),
            [point, lo, hi] => Ok(Ranged::new(point, Some([lo, hi]))),
            ref other => Err(D::Error::invalid_length(
                other.len(),
                &"[point] or [point, lo, hi]",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_saved_as_before_with_an_interval_and_as_its_point_without() {
        let with = Ranged::new(1.5, Some([1.25, 2.0]));
        let without = Ranged::new(1.5, None);
        assert_eq!(serde_json::to_string(&with).unwrap(), "[1.5,1.25,2.0]");
        assert_eq!(serde_json::to_string(&without).unwrap(), "[1.5]");
        for r in [with, without] {
            let back: Ranged = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back, r);
        }
        assert!(serde_json::from_str::<Ranged>("[1.0, 2.0]").is_err());
        assert!(serde_json::from_str::<Ranged>("[]").is_err());
    }
}
