//! `lists`, `tuples` and `instances`: containers with the version's layouts.

use super::items::{append_items, each_hit};
use super::objects::{
    new_instance, new_int, new_slots_instance, new_tuple, Group, ListObj, Window,
};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{Prob, RangeMix};
use serde::Deserialize;

/// An element that allocates: a new int from arithmetic (the others exist already).
fn new_item(h: &mut Heap, g: &mut Group) {
    let o = new_int(h, 1, IntOrigin::Arithmetic);
    g.push(o);
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListsParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Share of lists built by repeated `append` (the rest are literals / `list(seq)` of known
    /// length, whose array is sized exactly).
    pub append_share: Prob,
    /// Final length of each list.
    pub len: RangeMix,
    /// Share of elements that are newly allocated ints (the rest already exist).
    pub item_alloc_share: Prob,
    /// Lists alive at once.
    #[serde(deserialize_with = "super::positive")]
    pub live_lists: u32,
    /// Share of lists that live forever.
    pub long_lived_share: Prob,
}

impl Default for ListsParams {
    fn default() -> Self {
        ListsParams {
            temp_share: Prob(0.3),
            append_share: Prob(0.6),
            len: RangeMix::of(&[
                (0, 0, 0.1),
                (1, 4, 0.4),
                (5, 16, 0.3),
                (17, 64, 0.15),
                (65, 500, 0.05),
            ]),
            item_alloc_share: Prob(0.5),
            live_lists: 32,
            long_lived_share: Prob(0.01),
        }
    }
}

/// Lists: a 56-byte object plus an item array (MEM) that `append` grows with realloc by
/// the version's rule (4, 8, 16, 24, 32, 40, 52 … on 3.9+; 4, 8, 16, 25, 35 … on 3.8).
pub struct Lists {
    p: ListsParams,
    window: Window,
}

impl Lists {
    pub fn new(p: &ListsParams, _v: PyVersion) -> Self {
        Lists {
            window: Window::new(p.live_lists as usize),
            p: p.clone(),
        }
    }
}

impl Generator for Lists {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let n = self.p.len.sample(&mut h.rng);
        let item = self.p.item_alloc_share.0;
        let list = if h.rng.chance(self.p.append_share.0) {
            let mut l = ListObj::new_empty(h);
            append_items(h, &mut l, n, item, |h| new_item(h, &mut g));
            l
        } else {
            each_hit(h, n, item, |h| new_item(h, &mut g));
            ListObj::with_len(h, n)
        };
        list.push_to(&mut g);
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuplesParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Items per tuple (0 is the empty-tuple singleton).
    pub len: RangeMix,
    /// Share of items that are newly allocated ints.
    pub item_alloc_share: Prob,
    /// Tuples alive at once (argument tuples, multiple return values… die young).
    #[serde(deserialize_with = "super::positive")]
    pub live_tuples: u32,
    /// Share of tuples that live forever.
    pub long_lived_share: Prob,
}

impl Default for TuplesParams {
    fn default() -> Self {
        TuplesParams {
            temp_share: Prob(0.5),
            len: RangeMix::of(&[
                (0, 0, 0.02),
                (1, 1, 0.2),
                (2, 2, 0.4),
                (3, 3, 0.18),
                (4, 8, 0.15),
                (9, 40, 0.05),
            ]),
            item_alloc_share: Prob(0.3),
            live_tuples: 64,
            long_lived_share: Prob(0.01),
        }
    }
}

/// Tuples: one block of 40+8n; sizes 1–19 recycle through freelists of 2000 each, so in
/// steady state most tuple churn never reaches the allocator.
pub struct Tuples {
    p: TuplesParams,
    window: Window,
}

impl Tuples {
    pub fn new(p: &TuplesParams, _v: PyVersion) -> Self {
        Tuples {
            window: Window::new(p.live_tuples as usize),
            p: p.clone(),
        }
    }
}

impl Generator for Tuples {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let n = self.p.len.sample(&mut h.rng);
        each_hit(h, n, self.p.item_alloc_share.0, |h| new_item(h, &mut g));
        if let Some(t) = new_tuple(h, n) {
            g.push(t);
        }
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstancesParams {
    /// Share of objects that are temporaries (intermediate results) and die right away.
    pub temp_share: Prob,
    /// Share of instances of classes with 2 `__slots__` (one 48-byte block).
    pub slots_share: Prob,
    /// Share of the 3 attribute values that are newly allocated (ints or strs).
    pub attr_alloc_share: Prob,
    /// Instances alive at once.
    #[serde(deserialize_with = "super::positive")]
    pub live_instances: u32,
    /// Share of instances that live forever.
    pub long_lived_share: Prob,
}

impl Default for InstancesParams {
    fn default() -> Self {
        InstancesParams {
            temp_share: Prob(0.2),
            slots_share: Prob(0.2),
            attr_alloc_share: Prob(0.5),
            live_instances: 64,
            long_lived_share: Prob(0.02),
        }
    }
}

/// Class instances with 3 attributes in the version's layout: object + `__dict__` + values
/// (3.8–3.10), object with managed dict + values (3.11), object + values (3.12), one block
/// with inline values (3.13); `__slots__` classes are a single 48-byte object.
pub struct Instances {
    p: InstancesParams,
    window: Window,
}

impl Instances {
    pub fn new(p: &InstancesParams, _v: PyVersion) -> Self {
        Instances {
            window: Window::new(p.live_instances as usize),
            p: p.clone(),
        }
    }
}

impl Generator for Instances {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let slots = h.rng.chance(self.p.slots_share.0);
        let attrs = if slots { 2 } else { 3 };
        // Attribute values are computed before `__init__` stores them.
        for _ in 0..attrs {
            if h.rng.chance(self.p.attr_alloc_share.0) {
                super::dicts::new_value(h, &mut g);
            }
        }
        if slots {
            let o = new_slots_instance(h);
            g.push(o);
        } else {
            new_instance(h, &mut g);
        }
        self.window
            .keep(h, g, self.p.temp_share.0, self.p.long_lived_share.0);
    }
}
