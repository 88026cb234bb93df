//! `strings` and `numbers`: the non-container objects.

use super::objects::{new_float, new_int, new_str, str_bytes, StrKind, Window};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{named_mix, Prob, RangeMix, MAX_PARAM};
use serde::Deserialize;

named_mix! {
    /// Share of strings by storage kind.
    StrKinds { ascii, latin1, ucs2 }
}

impl StrKinds {
    pub(crate) fn sample(&self, h: &mut Heap) -> StrKind {
        let u = h.rng.unit();
        if u < self.ascii {
            StrKind::Ascii
        } else if u < self.ascii + self.latin1 {
            StrKind::Latin1
        } else {
            StrKind::Ucs2
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StringsParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Storage kinds: ASCII 49+n (41+n from 3.12), Latin-1 73+n (57+n), UCS-2 74+2n (58+2n).
    pub kinds: StrKinds,
    /// Length in chars of strings made in one go.
    pub len: RangeMix,
    /// Share of strings built piece by piece with `s += piece` (resized in place by realloc).
    pub build_share: Prob,
    /// Number of pieces appended to a built string.
    pub build_pieces: RangeMix,
    /// Chars per appended piece.
    pub piece_len: RangeMix,
    /// Strings alive at once.
    #[serde(deserialize_with = "super::positive")]
    pub live_strings: u32,
    /// Share of strings that live forever (interned names, module constants).
    pub long_lived_share: Prob,
}

impl Default for StringsParams {
    fn default() -> Self {
        StringsParams {
            temp_share: Prob(0.5),
            kinds: StrKinds {
                ascii: 0.9,
                latin1: 0.07,
                ucs2: 0.03,
            },
            len: RangeMix::of(&[(0, 1, 0.1), (2, 16, 0.5), (17, 64, 0.3), (65, 1000, 0.1)]),
            build_share: Prob(0.03),
            build_pieces: RangeMix::of(&[(2, 8, 0.9), (9, 32, 0.1)]),
            piece_len: RangeMix::of(&[(1, 16, 1.0)]),
            live_strings: 64,
            long_lived_share: Prob(0.01),
        }
    }
}

impl StringsParams {
    /// A built string is `build_pieces` pieces of `piece_len` chars: at most
    /// [`MAX_PARAM`] chars, as any length a spec gives (10 M pieces of 10 M chars would
    /// overflow every size derived from it).
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        let longest = u64::from(self.build_pieces.max()) * u64::from(self.piece_len.max());
        if longest > u64::from(MAX_PARAM) {
            return Err((
                "build_pieces",
                format!(
                    "a built string could reach {longest} chars ({} pieces of up to {} chars, \
                     build_pieces × piece_len); the most is {MAX_PARAM}",
                    self.build_pieces.max(),
                    self.piece_len.max()
                ),
            ));
        }
        Ok(())
    }
}

/// Strings of the three storage kinds, some built by repeated `+=`, which CPython does in
/// place with realloc when the string has no other reference.
pub struct Strings {
    p: StringsParams,
    window: Window,
}

impl Strings {
    pub fn new(p: &StringsParams, _v: PyVersion) -> Self {
        Strings {
            window: Window::new(p.live_strings as usize),
            p: p.clone(),
        }
    }
}

impl Generator for Strings {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let kind = self.p.kinds.sample(h);
        if h.rng.chance(self.p.build_share.0) {
            let pieces = self.p.build_pieces.sample(&mut h.rng);
            let mut len = self.p.piece_len.sample(&mut h.rng);
            let mut s = new_str(h, kind, len);
            for _ in 1..pieces {
                if h.cut() {
                    break; // the stream has ended: nothing more is seen
                }
                len += self.p.piece_len.sample(&mut h.rng);
                s = match s {
                    Some(o) => {
                        h.realloc(o.slot, str_bytes(h.version, kind, len));
                        Some(o)
                    }
                    // A singleton cannot be resized: concatenation makes a new string.
                    None => new_str(h, kind, len),
                };
            }
            if let Some(o) = s {
                g.push(o);
            }
        } else {
            let len = self.p.len.sample(&mut h.rng);
            if let Some(o) = new_str(h, kind, len) {
                g.push(o);
            }
        }
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NumbersParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Share of numbers that are floats (24 bytes, freelist of 100).
    pub float_share: Prob,
    /// Share of ints in −5..=256: preallocated singletons that never allocate.
    pub small_int_share: Prob,
    /// Share of allocated ints that need 2 digits (≥ 2^30).
    pub two_digit_share: Prob,
    /// Share of allocated ints made by `int(str)` (28 bytes) rather than arithmetic.
    pub parsed_share: Prob,
    /// Numbers alive at once (temporaries of an expression die almost immediately).
    #[serde(deserialize_with = "super::positive")]
    pub live_numbers: u32,
    /// Share of numbers that live forever.
    pub long_lived_share: Prob,
}

impl Default for NumbersParams {
    fn default() -> Self {
        NumbersParams {
            temp_share: Prob(0.6),
            float_share: Prob(0.4),
            small_int_share: Prob(0.3),
            two_digit_share: Prob(0.1),
            parsed_share: Prob(0.1),
            live_numbers: 8,
            long_lived_share: Prob(0.001),
        }
    }
}

/// Ints and floats as numeric code makes them: small ints are singletons, floats recycle
/// through their freelist, ints allocate 28/32/36 bytes depending on version and origin.
pub struct Numbers {
    p: NumbersParams,
    window: Window,
}

impl Numbers {
    pub fn new(p: &NumbersParams, _v: PyVersion) -> Self {
        Numbers {
            window: Window::new(p.live_numbers as usize),
            p: p.clone(),
        }
    }
}

impl Generator for Numbers {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        if h.rng.chance(self.p.float_share.0) {
            let o = new_float(h);
            g.push(o);
        } else if h.rng.chance(self.p.small_int_share.0) {
            h.singleton();
        } else {
            let digits = if h.rng.chance(self.p.two_digit_share.0) {
                2
            } else {
                1
            };
            let origin = if h.rng.chance(self.p.parsed_share.0) {
                IntOrigin::Parsed
            } else {
                IntOrigin::Arithmetic
            };
            let o = new_int(h, digits, origin);
            g.push(o);
        }
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}
