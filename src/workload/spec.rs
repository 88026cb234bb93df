//! Workload spec files (TOML): parsing and validation with errors that name the file, the
//! line and the key, and list what would have been valid.
//!
//! Parsing runs twice over the same text: once with `params` ignored to learn the
//! generator, then with that generator's parameter type, so every error — unknown key,
//! wrong type, impossible value — carries the span of the offending text.

use super::python::PyVersion;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use std::collections::BTreeMap;

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
    pub params: Option<P>,
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
/// a tab, an escape sequence), which would be printed raw into tables and terminals.
fn shown_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(serde::de::Error::custom(format!(
            "a control character ({:?}) in it: it is printed into tables and titles, so \
             it must be one line of visible text",
            c
        ))),
        None => Ok(text),
    }
}

/// Parses `src` with `params` left unparsed.
pub(crate) fn parse_header(file: &str, src: &str) -> Result<RawSpec<IgnoredAny>, SpecError> {
    parse(file, src)
}

/// Parses `src` fully with the parameter type `P`.
pub(crate) fn parse<T: DeserializeOwned>(file: &str, src: &str) -> Result<T, SpecError> {
    toml::from_str(src).map_err(|e| {
        // A field missing from the top level is reported over the whole document, so the
        // line-and-key form would name line 1 and whatever key stands there.
        let whole = e.span().map_or(true, |s| s.start == 0);
        match e.message().strip_prefix("missing field `") {
            Some(rest) if whole => SpecError::Missing {
                file: file.to_string(),
                key: rest.split('`').next().unwrap_or(rest).to_string(),
            },
            _ => not_toml_said(located(file, src, e.span(), e.message()), src),
        }
    })
}

/// `err` with a word on what the file is, when it is not TOML at all: `stats /etc/passwd`
/// read as a spec whose line 1 lacked an `=`, which said nothing of what was expected.
fn not_toml_said(err: SpecError, src: &str) -> SpecError {
    match err {
        SpecError::Invalid {
            file,
            line,
            key,
            message,
        } if src.parse::<toml::Table>().is_err() => SpecError::Invalid {
            file,
            line,
            key,
            message: format!(
                "{message} (not TOML, so neither a workload spec nor a trace, which starts \
                 with pybench's magic bytes)"
            ),
        },
        other => other,
    }
}

/// An error at byte offset range `span` of `src`, with the key found on that line.
pub(crate) fn located(
    file: &str,
    src: &str,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> SpecError {
    let start = span.map_or(0, |s| s.start.min(src.len()));
    let line = src[..start].matches('\n').count() + 1;
    let key = key_at(src, start);
    SpecError::Invalid {
        file: file.to_string(),
        line,
        message: plain(&key, message.trim()),
        key,
    }
}

/// The TOML reader's words for a wrong type in the spec's words: `expected i64`, `as
/// i128` and `expected u64` are Rust's type names, and `python = 3.11` (a number) was
/// answered "wanted string or table".
fn plain(key: &str, message: &str) -> String {
    if key == "python" && message.contains("wanted string or table") {
        return "python must be a string such as \"3.11\" (quoted: 3.10 as a number is 3.1)"
            .to_string();
    }
    message
        .replace(
            " as i128, expected i64",
            ", too large: expected an integer up to 2^63 - 1",
        )
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected an integer from 0 to 2^63 - 1")
        .replace("expected f64", "expected a number")
}

/// An error about top-level `key`, located at its first assignment in `src`.
pub(crate) fn located_key(file: &str, src: &str, key: &str, message: &str) -> SpecError {
    located(file, src, assignment(src, None, key).map(|o| o..o), message)
}

/// An error about `key` of the `[params]` table, located at its assignment there (or at the
/// table's header when the key is not written, i.e. a default is at fault).
pub(crate) fn located_param(file: &str, src: &str, key: &str, message: &str) -> SpecError {
    let at = assignment(src, Some("params"), key).or_else(|| {
        let header = src.find("[params]")?;
        Some(header)
    });
    located(file, src, at.map(|o| o..o), message)
}

/// Byte offset of the first line assigning `key` in `table` (`None`: the top level).
fn assignment(src: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut offset = 0;
    let mut current: Option<String> = None;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            let name = t.split(']').next().unwrap_or("").trim_matches(['[', ' ']);
            current = Some(name.trim().to_string());
        } else if current.as_deref() == table {
            if let Some((k, _)) = t.split_once('=') {
                if k.trim().trim_matches('"') == key {
                    return Some(offset + (line.len() - t.len()));
                }
            }
        }
        offset += line.len();
    }
    None
}

/// The dotted key written on the line holding `offset`: the text before `=` (inside the
/// table header in force there), or the header itself for a `[table]` line.
fn key_at(src: &str, offset: usize) -> String {
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let raw = &src[line_start..line_end];
    let line = raw.trim();
    let header = |l: &str| l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
    if line.starts_with('[') {
        return header(line);
    }
    let table = src[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(header);
    let mut key = match line.split_once('=') {
        Some((k, _)) => k.trim().trim_matches('"').to_string(),
        None => line.to_string(),
    };
    // Inside an inline table `k = { a = 1 }`, name the inner key the offset points at.
    if let Some(brace) = raw.find('{') {
        if offset > line_start + brace {
            let inner = src[offset..line_end]
                .split(['=', ',', '}'])
                .next()
                .map(|s| s.trim().trim_matches('"'))
                .unwrap_or("");
            if !inner.is_empty() && !inner.contains(char::is_whitespace) {
                key = format!("{key}.{inner}");
            }
        }
    }
    match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
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
