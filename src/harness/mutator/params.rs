//! The mutator's parameters: what they mean, their defaults, and the `--mutator-params`
//! syntax.

use serde::{Deserialize, Serialize};

/// The mutator's few parameters (`run --mutator-params recent=0.9,ring=16,alu=8`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MutatorParams {
    /// Share of steps that touch one of the most recently allocated blocks (0 – 1).
    pub recent: f64,
    /// How many recently allocated blocks those touches spread over (a power of two,
    /// 1 – 4096).
    pub ring: u32,
    /// Dependent arithmetic operations per step (0 – 1000): more means fewer touches per
    /// recorded cycle, a program less bound by memory.
    pub alu: u32,
}

impl Default for MutatorParams {
    /// Chosen by hand and checked on the programs of `scripts/mutator-calibrate.sh` (README,
    /// "The mutator replay": how far they are from the ±25 % target).
    fn default() -> Self {
        MutatorParams {
            recent: 0.9,
            ring: 16,
            alu: 8,
        }
    }
}

impl std::str::FromStr for MutatorParams {
    type Err = String;
    /// `recent=0.9,ring=16,alu=8`; keys left out keep their default.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut p = MutatorParams::default();
        for item in s.split(',').filter(|i| !i.trim().is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected KEY=VALUE (keys: recent, ring, alu)"))?;
            let bad = |what: &str| format!("`{item}`: {k} must be {what}");
            match k.trim() {
                "recent" => {
                    p.recent = v.trim().parse().map_err(|_| bad("a number"))?;
                    if !(0.0..=1.0).contains(&p.recent) {
                        return Err(bad("between 0 and 1"));
                    }
                }
                "ring" => {
                    // One message for a bad word and a number out of range (too large to
                    // parse included): "a whole number" said nothing of the range.
                    let range = "a power of two from 1 to 4096";
                    p.ring = v.trim().parse().map_err(|_| bad(range))?;
                    if !p.ring.is_power_of_two() || p.ring > 4096 {
                        return Err(bad(range));
                    }
                }
                "alu" => {
                    let range = "a whole number from 0 to 1000";
                    p.alu = v.trim().parse().map_err(|_| bad(range))?;
                    if p.alu > 1000 {
                        return Err(bad(range));
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown mutator parameter `{k}`; valid: recent, ring, alu"
                    ))
                }
            }
        }
        Ok(p)
    }
}

impl std::fmt::Display for MutatorParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recent={},ring={},alu={}",
            self.recent, self.ring, self.alu
        )
    }
}

#[cfg(test)]
mod tests {
    use super::MutatorParams;

    #[test]
    fn a_value_too_large_to_parse_names_the_range() {
        let err = "alu=100000000000".parse::<MutatorParams>().unwrap_err();
        assert!(
            err.ends_with("alu must be a whole number from 0 to 1000"),
            "{err}"
        );
        let err = "ring=99999999999999999999"
            .parse::<MutatorParams>()
            .unwrap_err();
        assert!(
            err.ends_with("ring must be a power of two from 1 to 4096"),
            "{err}"
        );
        assert!("alu=1000,ring=4096".parse::<MutatorParams>().is_ok());
    }
}
