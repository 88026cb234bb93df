//! `dicts`: dict objects with keys tables that grow by alloc-new + release-old at the 6th,
//! 11th, 22nd, 43rd … insert; str-key vs other-key tables (different sizes from 3.11);
//! churn as in request handling (a window of live dicts, a few long-lived ones).

use super::objects::{new_int, new_str, DictObj, Group, ListObj, StrKind, Window};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{Prob, RangeMix};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DictsParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Share of dicts whose keys are all str (the compact 16-byte-entry table on 3.11+).
    pub str_keys: Prob,
    /// Items inserted per dict.
    pub items: RangeMix,
    /// Share of str keys that are freshly made strings (the rest are interned constants).
    pub new_key_share: Prob,
    /// Length in ASCII chars of freshly made str keys.
    pub key_len: RangeMix,
    /// Share of values that allocate a new object (an int > 256 or a str); the rest refer to
    /// existing objects or singletons.
    pub value_alloc_share: Prob,
    /// Dicts alive at once (request-scoped ones are freed when they leave this window).
    #[serde(deserialize_with = "super::positive")]
    pub live_dicts: u32,
    /// Share of dicts that live forever (module state, caches).
    pub long_lived_share: Prob,
    /// Share of values that are lists grown by appends (`d.setdefault(k, []).append(v)`,
    /// grouping): the list object is in the object domain, its item array in the MEM
    /// domain, grown with realloc (cpython-patterns.md, "Growth patterns"). 0 by default
    /// so specs written before this knob keep their streams.
    pub list_value_share: Prob,
    /// Appends per list value.
    pub list_appends: RangeMix,
}

impl Default for DictsParams {
    fn default() -> Self {
        DictsParams {
            temp_share: Prob(0.3),
            str_keys: Prob(0.8),
            items: RangeMix::of(&[
                (0, 0, 0.05),
                (1, 5, 0.55),
                (6, 10, 0.25),
                (11, 21, 0.1),
                (22, 90, 0.05),
            ]),
            new_key_share: Prob(0.3),
            key_len: RangeMix::of(&[(2, 12, 0.8), (13, 40, 0.2)]),
            value_alloc_share: Prob(0.5),
            live_dicts: 32,
            long_lived_share: Prob(0.01),
            list_value_share: Prob(0.0),
            list_appends: RangeMix::of(&[(1, 4, 0.6), (5, 16, 0.3), (17, 60, 0.1)]),
        }
    }
}

pub struct Dicts {
    p: DictsParams,
    window: Window,
}

impl Dicts {
    pub fn new(p: &DictsParams, _v: PyVersion) -> Self {
        Dicts {
            window: Window::new(p.live_dicts as usize),
            p: p.clone(),
        }
    }
}

/// A value object for a container entry: half ints from arithmetic, half short strs.
pub(crate) fn new_value(h: &mut Heap, g: &mut Group) {
    if h.rng.chance(0.5) {
        let o = new_int(h, 1, IntOrigin::Arithmetic);
        g.push(o);
    } else {
        let n = h.rng.range(2, 24);
        if let Some(o) = new_str(h, StrKind::Ascii, n) {
            g.push(o);
        }
    }
}

impl Generator for Dicts {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let str_keys = h.rng.chance(self.p.str_keys.0);
        let mut d = DictObj::new(h, str_keys);
        let n = self.p.items.sample(&mut h.rng);
        for _ in 0..n {
            if h.cut() {
                break; // the stream has ended: nothing more is seen
            }
            if str_keys {
                if h.rng.chance(self.p.new_key_share.0) {
                    let len = self.p.key_len.sample(&mut h.rng);
                    if let Some(k) = new_str(h, StrKind::Ascii, len) {
                        g.push(k);
                    }
                }
            } else if h.rng.chance(self.p.new_key_share.0) {
                let k = new_int(h, 1, IntOrigin::Arithmetic);
                g.push(k);
            }
            d.insert(h);
            if self.p.list_value_share.0 > 0.0 && h.rng.chance(self.p.list_value_share.0) {
                let mut l = ListObj::new_empty(h);
                for _ in 0..self.p.list_appends.sample(&mut h.rng) {
                    if h.cut() {
                        break; // the stream has ended: nothing more is seen
                    }
                    if h.rng.chance(self.p.value_alloc_share.0) {
                        new_value(h, &mut g);
                    }
                    l.append(h);
                }
                l.push_to(&mut g);
            } else if h.rng.chance(self.p.value_alloc_share.0) {
                new_value(h, &mut g);
            }
        }
        d.push_to(&mut g);
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}
