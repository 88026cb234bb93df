//! Workload spec files (TOML): parsing and validation with errors that name the file, the
//! line and the key, and list what would have been valid.
//!
//! Parsing runs twice over the same text: once with `params` ignored to learn the
//! generator, then with that generator's parameter type, so every error — unknown key,
//! wrong type, impossible value — carries the span of the offending text.

use super::python::PyVersion;
use serde::Deserialize;
use std::collections::BTreeMap;

mod locate;
#[cfg(test)]
use locate::key_at;
pub(crate) use locate::{located_key, located_param, parse, parse_header};

/// Largest count or size a spec may ask for: keeps every derived size (UCS-2 strs, item
/// arrays, keys tables) inside `u32` and every window allocatable.
pub const MAX_PARAM: u32 = 10_000_000;

/// Why a spec was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}:{line}: key `{key}`: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
    /// A required top-level key is absent: it has no line to point at.
    #[error(
        "{file}: missing key `{key}` (every spec sets name, description, generator and scale)"
    )]
    Missing { file: String, key: String },
    /// An empty file: neither kind of input, and "missing key `name`" would send the user
    /// looking for a key in a file that has nothing.
    #[error(
        "{file} is empty: neither a trace (which starts with pybench's magic bytes) nor a \
         workload spec (TOML setting name, description, generator and scale)"
    )]
    Empty { file: String },
    /// Bytes that are not text (a binary, a trace of another tool): read as a spec because no
    /// trace's magic bytes start it.
    #[error(
        "{file}: neither a trace (which starts with pybench's magic bytes) nor a workload \
         spec: {reason}"
    )]
    NotText { file: String, reason: String },
    #[error("cannot read workload spec {file}: {reason}")]
    Io {
        file: String,
        reason: std::io::Error,
    },
    #[error(
        "unknown workload `{name}`{}; available workloads: {available}",
        crate::suggest::did_you_mean(.name, super::BUILTINS.iter().map(|b| b.0))
    )]
    UnknownWorkload { name: String, available: String },
    /// `-w dicts,,json`, `-w dicts,`, `-w ''`: was "unknown workload ``", which shows no name
    /// and does not say where the empty one came from.
    #[error(
        "an empty workload name (two commas in a row, a comma at an end, or an empty \
         argument): name a workload between every two commas"
    )]
    EmptyName,
}

/// The top-level keys of a spec file. Missing `python` means 3.11, missing `seed` means 0,
/// missing `loop_iterations` means 1 (no loop bodies).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpec<P> {
    #[serde(deserialize_with = "shown_name")]
    pub name: String,
    #[serde(deserialize_with = "shown_text")]
    pub description: String,
    pub generator: String,
    #[serde(default = "default_python")]
    pub python: PyVersion,
    pub scale: Scale,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub loop_iterations: LoopIterations,
    #[serde(
        default = "Option::default",
        deserialize_with = "params_table",
        bound(deserialize = "P: Deserialize<'de>")
    )]
    pub params: Option<P>,
}

/// `params` read as a table only. The parameter structs are serde-derived, and a derived
/// struct also takes a sequence, matched to its fields by position: `params = [0.9, 0.1]` in
/// a dicts spec ran as `temp_share = 0.9, str_keys = 0.1` without a word.
fn params_table<'de, D, P>(d: D) -> Result<Option<P>, D::Error>
where
    D: serde::Deserializer<'de>,
    P: Deserialize<'de>,
{
    struct Table<P>(std::marker::PhantomData<P>);
    impl<'de, P: Deserialize<'de>> serde::de::Visitor<'de> for Table<P> {
        type Value = P;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a table of the generator's parameters (`[params]`, or `params = { … }`)")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<P, A::Error> {
            P::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Table(std::marker::PhantomData)).map(Some)
}

fn default_python() -> PyVersion {
    PyVersion::V3_11
}

/// Longest `name` a spec may give: it heads tables, plots and the results folder's label.
pub const MAX_NAME_CHARS: usize = 200;

/// A spec's `name`: printed into titles, tables and one-line messages, so it must be one
/// line of visible text (a newline in it broke the table and the plot titles it headed).
fn shown_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = shown_text(d)?;
    if name.trim().is_empty() {
        return Err(serde::de::Error::custom("the name is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(serde::de::Error::custom(format!(
            "the name is {} characters long; the most is {MAX_NAME_CHARS}",
            name.chars().count()
        )));
    }
    Ok(name)
}

/// Text a spec gives for display (`name`, `description`): no control characters (a newline,
/// a tab, an escape sequence) and no bidirectional overrides (U+202E turns the rest of a line
/// around), which would be printed raw into tables and terminals ([`crate::trace::hostile`]).
fn shown_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    match crate::trace::hostile_in(&text) {
        Some(what) => Err(serde::de::Error::custom(format!(
            "{what} in it: it is printed into tables and titles, so it must be one line of \
             visible text"
        ))),
        None => Ok(text),
    }
}

/// The number of allocation requests to model: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Scale(pub u64);

impl TryFrom<i64> for Scale {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if v <= 0 {
            Err(format!("scale must be a positive integer, got {v}"))
        } else {
            Ok(Scale(v as u64))
        }
    }
}

/// How many consecutive steps of a generator repeat one set of random choices, on average
/// (`loop_iterations` in a spec; 1, the default, draws every step afresh). A Python program
/// runs the same loop body over and over, so its allocations and frees come in a pattern a
/// branch predictor learns (recorded traces: 0.8 – 9.9 % of allocs-or-frees mispredicted by
/// a 16-op history, see `op_order`); a generator that draws each step's shape independently
/// has no such pattern. The bound keeps a loop shorter than any built-in stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct LoopIterations(pub u32);

impl LoopIterations {
    /// The largest mean accepted: longer loops would make a stream a handful of patterns.
    pub const MAX: u32 = 10_000;
}

impl Default for LoopIterations {
    fn default() -> Self {
        LoopIterations(1)
    }
}

impl TryFrom<i64> for LoopIterations {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (1..=i64::from(Self::MAX)).contains(&v) {
            Ok(LoopIterations(v as u32))
        } else {
            Err(format!(
                "loop_iterations must be an integer from 1 to {}, got {v}",
                Self::MAX
            ))
        }
    }
}

/// A probability in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Prob(pub f64);

impl TryFrom<f64> for Prob {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&v) {
            Ok(Prob(v))
        } else {
            Err(format!("probability must be between 0 and 1, got {v}"))
        }
    }
}

/// Tolerance when checking that probabilities sum to 1.
const SUM_TOLERANCE: f64 = 1e-6;

fn check_sum(sum: f64) -> Result<(), String> {
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        // Rounded so 0.5 + 0.2 + 0.2 reads 0.9, not 0.8999999999999999.
        let shown = (sum * 1e9).round() / 1e9;
        Err(format!("probabilities must sum to 1, they sum to {shown}"))
    } else {
        Ok(())
    }
}

/// A distribution over integer ranges, written as a table whose keys are `"N"` or
/// `"LO-HI"` and whose values are probabilities summing to 1, e.g.
/// `{ "1-5" = 0.6, "6-21" = 0.3, "22-85" = 0.1 }`. A draw picks a range by weight, then a
/// value uniformly inside it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "BTreeMap<String, f64>")]
pub struct RangeMix {
    /// (cumulative probability, lo, hi), in key order.
    entries: Vec<(f64, u32, u32)>,
}

impl RangeMix {
    /// Builds a mix from `(lo, hi, p)`; for defaults written in code.
    pub fn of(parts: &[(u32, u32, f64)]) -> Self {
        let mut acc = 0.0;
        RangeMix {
            entries: parts
                .iter()
                .map(|&(lo, hi, p)| {
                    acc += p;
                    (acc, lo, hi)
                })
                .collect(),
        }
    }

    /// Draws a value.
    #[inline]
    pub fn sample(&self, rng: &mut super::rng::Rng) -> u32 {
        let u = rng.unit();
        let last = self.entries.len() - 1;
        let i = self.entries.iter().position(|e| u < e.0).unwrap_or(last);
        let (_, lo, hi) = self.entries[i];
        rng.range(lo, hi)
    }

    /// Largest value the mix can produce.
    pub fn max(&self) -> u32 {
        self.entries.iter().map(|e| e.2).max().unwrap_or(0)
    }

    /// Smallest value the mix can produce.
    pub fn min(&self) -> u32 {
        self.entries.iter().map(|e| e.1).min().unwrap_or(0)
    }
}

/// One end of a range key: a whole number, any run of digits too long for a `u64` read as
/// the largest (it is past the limit either way).
fn range_bound(text: &str) -> Result<u64, ()> {
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(n) => Ok(n),
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Ok(u64::MAX),
        Err(_) => Err(()),
    }
}

impl TryFrom<BTreeMap<String, f64>> for RangeMix {
    type Error = String;
    fn try_from(map: BTreeMap<String, f64>) -> Result<Self, String> {
        if map.is_empty() {
            return Err("a range mix needs at least one entry such as \"1-5\" = 1.0".into());
        }
        let mut parts = Vec::with_capacity(map.len());
        let mut sum = 0.0;
        for (k, p) in map {
            let bad =
                || format!("bad range `{k}`: valid keys are \"N\" or \"LO-HI\" with 0 <= LO <= HI");
            // Read wider than the values kept, so a number past the limit is named as such
            // (`1-99999999999` said "bad range").
            let (lo, hi) = match k.split_once('-') {
                Some((a, b)) => (range_bound(a), range_bound(b)),
                None => (range_bound(&k), range_bound(&k)),
            };
            let (lo, hi) = match (lo, hi) {
                (Ok(lo), Ok(hi)) if lo <= hi => (lo, hi),
                _ => return Err(bad()),
            };
            let max = MAX_PARAM;
            if hi > u64::from(max) {
                return Err(format!("range `{k}`: values above {max} are not supported"));
            }
            let (lo, hi) = (lo as u32, hi as u32);
            let p = Prob::try_from(p)
                .map_err(|e| format!("range `{k}`: {e}"))?
                .0;
            sum += p;
            parts.push((lo, hi, p));
        }
        check_sum(sum)?;
        Ok(RangeMix::of(&parts))
    }
}

/// Defines a named distribution: a table whose keys are the listed names (each a
/// probability, missing ones 0) summing to 1, with the checks built into deserialisation.
macro_rules! named_mix {
    ($(#[$m:meta])* $name:ident { $($field:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
        #[serde(try_from = "std::collections::BTreeMap<String, f64>")]
        pub struct $name { $(pub $field: f64),+ }

        impl TryFrom<std::collections::BTreeMap<String, f64>> for $name {
            type Error = String;
            fn try_from(map: std::collections::BTreeMap<String, f64>) -> Result<Self, String> {
                const KEYS: &[&str] = &[$(stringify!($field)),+];
                let values = $crate::workload::spec::named_values(&map, KEYS)?;
                let mut it = values.into_iter();
                Ok($name { $($field: it.next().unwrap_or(0.0)),+ })
            }
        }
    };
}
pub(crate) use named_mix;

/// The values of a named mix in `keys` order: unknown names are refused with the valid
/// ones listed, each value must be a probability and together they must sum to 1.
pub(crate) fn named_values(map: &BTreeMap<String, f64>, keys: &[&str]) -> Result<Vec<f64>, String> {
    if let Some(k) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{k}`; valid keys: {}",
            keys.join(", ")
        ));
    }
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let v = map.get(*k).copied().unwrap_or(0.0);
        Prob::try_from(v).map_err(|e| format!("`{k}`: {e}"))?;
        out.push(v);
    }
    check_sum(out.iter().sum())?;
    Ok(out)
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
