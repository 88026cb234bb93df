//! `gc_cycles`: reference cycles that reference counting cannot free. They stay allocated
//! until a collection of their generation runs (`Heap::collect_generations`: generation 0
//! when the net container allocations pass the threshold, 700 or 2000 on 3.13; older ones
//! every 10 collections of the younger) and are then freed in a burst. A group alive across
//! a collection is promoted, so how long groups live (`live_groups`) decides which
//! generation's bursts free them: with the shipped spec's 14,000, only full collections.

use super::objects::{new_instance, DictObj, Group, ListObj, Window};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::PyVersion;
use crate::workload::spec::{Prob, RangeMix};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcCyclesParams {
    /// Share of object groups that form a cycle (the rest die by reference counting).
    pub cycle_share: Prob,
    /// Container objects per group (instances, with a dict or list between some of them).
    pub group_objects: RangeMix,
    /// Groups alive at once: a group becomes garbage when it leaves this window.
    #[serde(deserialize_with = "super::positive")]
    pub live_groups: u32,
    /// Share of groups that stay reachable forever.
    pub long_lived_share: Prob,
}

impl Default for GcCyclesParams {
    fn default() -> Self {
        GcCyclesParams {
            cycle_share: Prob(0.5),
            group_objects: RangeMix::of(&[(2, 4, 0.7), (5, 20, 0.3)]),
            live_groups: 64,
            long_lived_share: Prob(0.005),
        }
    }
}

/// See the module documentation.
pub struct GcCycles {
    p: GcCyclesParams,
    window: Window,
    forever: Vec<Group>,
}

impl GcCycles {
    pub fn new(p: &GcCyclesParams, _v: PyVersion) -> Self {
        GcCycles {
            window: Window::new(p.live_groups as usize),
            p: p.clone(),
            forever: Vec::new(),
        }
    }
}

impl Generator for GcCycles {
    fn step(&mut self, h: &mut Heap) {
        let mut g = self.window.take();
        let n = self.p.group_objects.sample(&mut h.rng);
        // Nodes (instances) linked through a dict or list now and then: parent/child trees
        // with back references, doubly linked lists, objects holding bound methods of
        // themselves…
        for i in 0..n {
            if h.cut() {
                break; // the stream has ended: nothing more is seen
            }
            match i % 4 {
                3 => {
                    let mut d = DictObj::new(h, true);
                    d.insert(h);
                    d.insert(h);
                    d.push_to(&mut g);
                }
                2 => {
                    let mut l = ListObj::new_empty(h);
                    l.append(h);
                    l.append(h);
                    l.push_to(&mut g);
                }
                _ => new_instance(h, &mut g),
            }
        }
        g.cyclic = h.rng.chance(self.p.cycle_share.0);
        if h.rng.chance(self.p.long_lived_share.0) {
            g.cyclic = false;
            self.forever.push(g);
        } else {
            self.window.push(h, g);
        }
    }
}
