//! `churn` and `arena_thrash`: the two memory stories of cpython-patterns.md.

use super::objects::{
    new_float, new_instance, new_int, new_str, new_tuple, Group, ListObj, StrKind,
};
use super::Generator;
use crate::workload::heap::{Heap, Obj};
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{named_mix, Prob};
use serde::Deserialize;

named_mix! {
    /// Kinds of the small objects a churn round makes.
    ChurnKinds { int, float, str, tuple, instance }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnParams {
    /// Objects made per round (held in one list, then dropped).
    #[serde(deserialize_with = "super::positive")]
    pub round_objects: u32,
    /// Share of a round's objects that survive forever, scattered among the rest.
    pub survivor_share: Prob,
    /// Object kinds.
    pub kinds: ChurnKinds,
}

impl Default for ChurnParams {
    fn default() -> Self {
        ChurnParams {
            round_objects: 20_000,
            survivor_share: Prob(0.02),
            kinds: ChurnKinds {
                int: 0.3,
                float: 0.2,
                str: 0.3,
                tuple: 0.1,
                instance: 0.1,
            },
        }
    }
}

/// "Python never gives memory back": each round builds many small objects (in a list),
/// then drops the list; a few survivors scattered through the round stay alive and each
/// pins its pool and arena.
pub struct Churn {
    p: ChurnParams,
    holder: Option<ListObj>,
    /// The round's objects; each entry is one Python object's blocks.
    round: Group,
    /// Where each object's blocks start in `round`.
    starts: Vec<u32>,
    made: u32,
    survivors: Vec<Obj>,
}

impl Churn {
    pub fn new(p: &ChurnParams, _v: PyVersion) -> Self {
        Churn {
            p: p.clone(),
            holder: None,
            round: Group::default(),
            starts: Vec::new(),
            made: 0,
            survivors: Vec::new(),
        }
    }

    fn make_one(&mut self, h: &mut Heap) {
        let k = self.p.kinds;
        let u = h.rng.unit();
        self.starts.push(self.round.len() as u32);
        if u < k.int {
            let o = new_int(h, 1, IntOrigin::Arithmetic);
            self.round.push(o);
        } else if u < k.int + k.float {
            let o = new_float(h);
            self.round.push(o);
        } else if u < k.int + k.float + k.str {
            let n = h.rng.range(2, 40);
            if let Some(o) = new_str(h, StrKind::Ascii, n) {
                self.round.push(o);
            }
        } else if u < k.int + k.float + k.str + k.tuple {
            let n = h.rng.range(1, 4);
            if let Some(o) = new_tuple(h, n) {
                self.round.push(o);
            }
        } else {
            new_instance(h, &mut self.round);
        }
    }
}

impl Generator for Churn {
    fn step(&mut self, h: &mut Heap) {
        append_to_holder(&mut self.holder, h);
        self.make_one(h);
        self.made += 1;
        if self.made < self.p.round_objects {
            return;
        }
        // Drop the list: its items die in order, except the survivors.
        h.phase(1);
        self.starts.push(self.round.len() as u32);
        let objs = self.round.as_slice();
        for w in self.starts.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            let survive = h.rng.chance(self.p.survivor_share.0);
            for &o in &objs[a..b] {
                if survive {
                    self.survivors.push(o);
                } else {
                    h.release(o);
                }
            }
        }
        self.round.clear();
        self.starts.clear();
        self.made = 0;
        if let Some(l) = self.holder.take() {
            l.release(h);
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArenaThrashParams {
    /// Objects allocated (then all freed) per round.
    #[serde(deserialize_with = "super::positive")]
    pub round_objects: u32,
    /// Share of ints that need 2 digits (32/36 bytes instead of 28/32).
    pub two_digit_share: Prob,
}

impl Default for ArenaThrashParams {
    fn default() -> Self {
        ArenaThrashParams {
            round_objects: 50_000,
            two_digit_share: Prob(0.05),
        }
    }
}

/// Allocate-all then free-all rounds (`xs = [i * k for i in range(n)]; del xs`): 3.8
/// maps and unmaps arenas every round, 3.9+ keeps one spare arena.
pub struct ArenaThrash {
    p: ArenaThrashParams,
    holder: Option<ListObj>,
    objs: Vec<Obj>,
}

impl ArenaThrash {
    pub fn new(p: &ArenaThrashParams, _v: PyVersion) -> Self {
        ArenaThrash {
            p: p.clone(),
            holder: None,
            objs: Vec::new(),
        }
    }
}

impl Generator for ArenaThrash {
    fn step(&mut self, h: &mut Heap) {
        append_to_holder(&mut self.holder, h);
        let digits = if h.rng.chance(self.p.two_digit_share.0) {
            2
        } else {
            1
        };
        let o = new_int(h, digits, IntOrigin::Arithmetic);
        self.objs.push(o);
        if self.objs.len() < self.p.round_objects as usize {
            return;
        }
        h.phase(1);
        for o in self.objs.drain(..) {
            h.release(o);
        }
        if let Some(l) = self.holder.take() {
            l.release(h);
        }
    }
}

/// Appends to the list that holds a round's objects, creating it (and opening phase 0) on the
/// first call: both generators keep their objects in one growing Python list.
fn append_to_holder(holder: &mut Option<ListObj>, h: &mut Heap) {
    let list = match holder {
        Some(l) => l,
        None => {
            h.phase(0);
            holder.insert(ListObj::new_empty(h))
        }
    };
    list.append(h);
}
