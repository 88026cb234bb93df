//! `dicts`: dict objects with keys tables that grow by alloc-new + release-old at the 6th,
//! 11th, 22nd, 43rd … insert; str-key vs other-key tables (different sizes from 3.11);
//! churn as in request handling (a window of live dicts, a few long-lived ones).

use super::items::{append_items, Hits, DRAWN_ONE_BY_ONE};
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
        let drawn = n.min(DRAWN_ONE_BY_ONE);
        for _ in 0..drawn {
            if h.cut() {
                break; // the stream has ended: nothing more is seen
            }
            self.entry(h, &mut g, &mut d);
        }
        if n > drawn && !h.cut() {
            self.sparse_entries(h, &mut g, &mut d, drawn, n);
        }
        d.push_to(&mut g);
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}

impl Dicts {
    /// One entry, its chances drawn one by one: a new key object or an existing one, the
    /// insert, then a list value, a new value object or an existing one.
    fn entry(&self, h: &mut Heap, g: &mut Group, d: &mut DictObj) {
        if h.rng.chance(self.p.new_key_share.0) {
            self.new_key(h, g, d.str_keys);
        }
        d.insert(h);
        let lists = self.p.list_value_share.0;
        if lists > 0.0 && h.rng.chance(lists) {
            self.list_value(h, g);
        } else if h.rng.chance(self.p.value_alloc_share.0) {
            new_value(h, g);
        }
    }

    /// Entries `from..n` with the same chances as [`Self::entry`], the entries whose key and
    /// value both exist already inserted in runs: a dict of 10 M such entries costs its
    /// growths, not 10 M steps ([`super::items`]).
    fn sparse_entries(&self, h: &mut Heap, g: &mut Group, d: &mut DictObj, from: u32, n: u32) {
        let lists = self.p.list_value_share.0;
        let values = lists + (1.0 - lists) * self.p.value_alloc_share.0;
        let mut key_hits = Hits::starting(from, n, self.p.new_key_share.0);
        let mut value_hits = Hits::starting(from, n, values);
        let mut key = key_hits.next(&mut h.rng);
        let mut value = value_hits.next(&mut h.rng);
        let mut done = from;
        loop {
            let i = key.unwrap_or(n).min(value.unwrap_or(n));
            d.insert_many(h, i - done);
            if i >= n || h.cut() {
                return;
            }
            if key == Some(i) {
                self.new_key(h, g, d.str_keys);
                key = key_hits.next(&mut h.rng);
            }
            d.insert(h);
            if value == Some(i) {
                // A list with probability `lists`, else a new value object.
                if lists > 0.0 && h.rng.unit() * values < lists {
                    self.list_value(h, g);
                } else {
                    new_value(h, g);
                }
                value = value_hits.next(&mut h.rng);
            }
            done = i + 1;
        }
    }

    /// A key that is a new object: a str of `key_len` chars, or an int.
    fn new_key(&self, h: &mut Heap, g: &mut Group, str_keys: bool) {
        if str_keys {
            let len = self.p.key_len.sample(&mut h.rng);
            if let Some(k) = new_str(h, StrKind::Ascii, len) {
                g.push(k);
            }
        } else {
            let k = new_int(h, 1, IntOrigin::Arithmetic);
            g.push(k);
        }
    }

    /// A value that is a list grown by `list_appends` appends, each item a new value object
    /// with probability `value_alloc_share`.
    fn list_value(&self, h: &mut Heap, g: &mut Group) {
        let mut l = ListObj::new_empty(h);
        let appends = self.p.list_appends.sample(&mut h.rng);
        append_items(h, &mut l, appends, self.p.value_alloc_share.0, |h| {
            new_value(h, g)
        });
        l.push_to(g);
    }
}
