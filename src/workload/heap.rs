//! The interpreter-side memory model shared by all generators: slot numbering, CPython's
//! freelists, the cyclic GC's generation counters, and the output buffer of events.
//!
//! Generators say what the Python program does ("make a float", "drop this cycle"); this
//! module turns that into the allocator calls CPython would make, so freelist and GC
//! behaviour is modelled once and identically for every workload.

use super::event::{Domain, Event};
use super::python::{self, PyVersion};
use super::rng::Rng;
use super::slots::Slots;

/// What kind of block a slot holds: decides freelist routing and GC accounting on release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not a GC container and no freelist: int, str, bytes, item arrays, value arrays.
    Plain,
    /// A float: freelist of 100.
    Float,
    /// A list object: GC container, freelist of 80.
    List,
    /// A dict object: GC container, freelist of 80.
    Dict,
    /// The smallest dict keys table that the keys freelist (80) accepts.
    DictKeysMin,
    /// A tuple of n items: GC container, freelist of 2000 for n in 1..=19.
    Tuple(u8),
    /// Any other GC container without a freelist (instances, sets).
    Container,
}

impl Kind {
    const fn is_container(self) -> bool {
        matches!(
            self,
            Kind::List | Kind::Dict | Kind::Tuple(_) | Kind::Container
        )
    }

    /// Index of this kind's freelist and its capacity, if it has one.
    const fn freelist(self) -> Option<(usize, usize)> {
        match self {
            Kind::Float => Some((0, python::FLOAT_FREELIST)),
            Kind::List => Some((1, python::LIST_FREELIST)),
            Kind::Dict => Some((2, python::DICT_FREELIST)),
            Kind::DictKeysMin => Some((3, python::DICT_KEYS_FREELIST)),
            Kind::Tuple(n) if n >= 1 && n as u32 <= python::TUPLE_FREELIST_MAX_LEN => {
                Some((3 + n as usize, python::TUPLE_FREELIST))
            }
            _ => None,
        }
    }
}

const NUM_FREELISTS: usize = 4 + python::TUPLE_FREELIST_MAX_LEN as usize;

/// A live block and how to release it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obj {
    pub slot: u32,
    pub kind: Kind,
}

/// Generation counters of the cyclic collector (cpython-patterns.md, "Garbage collection").
#[derive(Debug, Default)]
struct Gc {
    threshold0: u32,
    /// Net container allocations minus deallocations since the last collection.
    count0: u32,
    /// Generation-0 collections since the last generation-1 (or older) collection.
    count1: u32,
    /// Generation-1 collections since the last full collection.
    count2: u32,
    /// Number of collections so far; a block's stamp is this value when it was made.
    collections: u32,
    /// `collections` value at the last collection of generation ≥ 1, if any: blocks stamped
    /// at or before it were promoted to generation 2.
    last_old: Option<u32>,
    containers_live: u64,
    long_lived_total: u64,
    long_lived_pending: u64,
    /// Unreachable cycles waiting for a collection of their generation.
    garbage: [Vec<Obj>; 3],
}

/// See the module documentation.
pub struct Heap {
    pub version: PyVersion,
    pub rng: Rng,
    /// Events produced since the stream last drained the buffer.
    pub out: Vec<Event>,
    /// Python objects created so far (including freelist reuse): what `scale` counts.
    pub objects: u64,
    /// Objects after which no more events are produced (see [`Heap::limit`]).
    budget: u64,
    /// Reallocs so far: a realloc models no new object, so a step of `s += piece` repeated
    /// 10 M times would pass no object budget; [`RESIZES_PER_OBJECT`] × the budget bounds it.
    resizes: u64,
    /// Why the budget ran out, once it has: events are dropped from here on.
    closed: Option<Cut>,
    slots: Slots,
    stamps: Vec<u32>,
    freelists: [Vec<u32>; NUM_FREELISTS],
    gc: Gc,
}

/// Reallocs a stream may make per Python object of its budget before it is cut. The built-in
/// specs make at most about 31 a modelled object (a str built of 32 pieces), and the budget is
/// at least twice the scale, so none comes near it.
pub const RESIZES_PER_OBJECT: u64 = 64;

/// Which bound cut a stream short ([`Heap::limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// More Python objects than the budget.
    Objects,
    /// More reallocs than [`RESIZES_PER_OBJECT`] × the budget.
    Resizes,
}

impl Heap {
    pub fn new(version: PyVersion, seed: u64) -> Self {
        Heap {
            version,
            rng: Rng::new(seed),
            out: Vec::with_capacity(4096),
            objects: 0,
            budget: u64::MAX,
            resizes: 0,
            closed: None,
            slots: Slots::new(),
            stamps: Vec::new(),
            freelists: Default::default(),
            gc: Gc {
                threshold0: python::gc_threshold0(version),
                ..Gc::default()
            },
        }
    }

    /// Bounds the stream whatever a spec asks for: once `objects` Python objects were
    /// modelled, further events are dropped (the generator's step runs to its end, but a
    /// prefix of a valid stream is a valid stream). A stream checks `scale` only between
    /// steps, and one step of a spec with wide ranges (a list of 10 M items) would otherwise
    /// produce tens of millions of events at any scale. Reallocs are bounded too
    /// ([`RESIZES_PER_OBJECT`] per object of the budget). Generators stop their loops once the
    /// stream is cut (nothing they do after it is seen), so the bound limits their work and
    /// memory as well as the events.
    pub fn limit(&mut self, objects: u64) {
        self.budget = objects;
    }

    /// True once the limit cut the stream short.
    pub fn cut(&self) -> bool {
        self.closed.is_some()
    }

    /// Which bound cut the stream, if one did.
    pub fn cut_by(&self) -> Option<Cut> {
        self.closed
    }

    #[inline]
    fn count_object(&mut self) {
        self.objects += 1;
        if self.objects > self.budget && self.closed.is_none() {
            self.closed = Some(Cut::Objects);
        }
    }

    #[inline]
    fn push(&mut self, e: Event) {
        if self.closed.is_none() {
            self.out.push(e);
        }
    }

    #[inline]
    fn alloc(&mut self, size: u32, domain: Domain) -> u32 {
        let slot = self.slots.take();
        let i = slot as usize;
        if i >= self.stamps.len() {
            self.stamps.resize(i + 1, 0);
        }
        self.stamps[i] = self.gc.collections;
        self.push(Event::Alloc {
            slot,
            size,
            domain,
            thread: 0,
        });
        slot
    }

    #[inline]
    fn free(&mut self, slot: u32) {
        self.push(Event::Free { slot, thread: 0 });
        self.slots.release(slot);
    }

    /// A new Python object of `kind`: taken from its freelist when one is available (no
    /// event: the allocator never sees it), else allocated. Containers allocated count
    /// towards the generation-0 threshold and may trigger a collection first.
    #[inline]
    pub fn new_obj(&mut self, kind: Kind, size: u32) -> Obj {
        self.count_object();
        if let Some((i, _)) = kind.freelist() {
            if let Some(slot) = self.freelists[i].pop() {
                self.stamps[slot as usize] = self.gc.collections;
                if kind.is_container() {
                    self.gc.containers_live += 1;
                }
                return Obj { slot, kind };
            }
        }
        if kind.is_container() {
            self.gc.count0 += 1;
            if self.gc.count0 > self.gc.threshold0 {
                self.collect_generations();
            }
            self.gc.containers_live += 1;
        }
        Obj {
            slot: self.alloc(size, Domain::Obj),
            kind,
        }
    }

    /// A non-object block (list items, instance values, buffers) in `domain`.
    #[inline]
    pub fn new_block(&mut self, size: u32, domain: Domain) -> Obj {
        Obj {
            slot: self.alloc(size, domain),
            kind: Kind::Plain,
        }
    }

    /// Counts a Python object that costs no allocation (a singleton) towards `scale`.
    #[inline]
    pub fn singleton(&mut self) {
        self.count_object();
    }

    #[inline]
    pub fn realloc(&mut self, slot: u32, size: u32) {
        self.resizes += 1;
        if self.resizes > self.budget.saturating_mul(RESIZES_PER_OBJECT) && self.closed.is_none() {
            self.closed = Some(Cut::Resizes);
        }
        self.push(Event::Realloc {
            slot,
            size,
            thread: 0,
        });
    }

    /// The object's refcount dropped to zero: it goes to its freelist if there is room,
    /// else its block is freed. Container deallocations decrement the generation-0 count.
    #[inline]
    pub fn release(&mut self, obj: Obj) {
        if obj.kind.is_container() {
            self.gc.containers_live = self.gc.containers_live.saturating_sub(1);
        }
        if let Some((i, cap)) = obj.kind.freelist() {
            if self.freelists[i].len() < cap {
                self.freelists[i].push(obj.slot);
                return;
            }
        }
        if obj.kind.is_container() {
            self.gc.count0 = self.gc.count0.saturating_sub(1);
        }
        self.free(obj.slot);
    }

    /// The objects became unreachable cyclic garbage: reference counting cannot free them,
    /// so they stay allocated until a collection of the oldest generation among them.
    pub fn drop_cycle(&mut self, objs: &[Obj]) {
        let mut gen = 0;
        for o in objs {
            let stamp = self.stamps[o.slot as usize];
            let g = if stamp == self.gc.collections {
                0
            } else if self.gc.last_old.is_some_and(|old| stamp <= old) {
                2
            } else {
                1
            };
            gen = gen.max(g);
        }
        self.gc.garbage[gen].extend_from_slice(objs);
    }

    /// Emits a zero-cost phase marker.
    pub fn phase(&mut self, id: u16) {
        self.push(Event::Phase(id));
    }

    /// Picks the generation to collect as CPython does: the oldest whose count exceeds its
    /// threshold — generation 1 after 10 generation-0 collections, generation 2 after 10
    /// generation-1 collections but only while pending long-lived objects exceed a quarter
    /// of the long-lived total.
    fn collect_generations(&mut self) {
        let older = python::GC_THRESHOLD_OLDER;
        let gen = if self.gc.count2 >= older
            && self.gc.long_lived_pending > self.gc.long_lived_total / 4
        {
            2
        } else if self.gc.count1 >= older {
            1
        } else {
            0
        };
        self.collect(gen);
    }

    /// One collection of generation `gen` (and the younger ones): a `Gc` marker, then the
    /// burst of frees of the unreachable cycles in those generations.
    pub fn collect(&mut self, gen: u8) {
        self.push(Event::Gc(gen));
        let g = gen as usize;
        self.gc.count0 = 0;
        if g >= 1 {
            self.gc.count1 = 0;
        }
        if g >= 2 {
            self.gc.count2 = 0;
        }
        match g {
            0 => self.gc.count1 += 1,
            1 => self.gc.count2 += 1,
            _ => {}
        }
        for i in 0..=g {
            let mut list = std::mem::take(&mut self.gc.garbage[i]);
            for o in list.drain(..) {
                self.release(o);
            }
            // Keep the (empty) buffer's capacity for the next burst.
            if self.gc.garbage[i].is_empty() {
                self.gc.garbage[i] = list;
            }
        }
        if g >= 1 {
            self.gc.last_old = Some(self.gc.collections);
            // Every container still live and not yet counted was promoted to generation 2.
            self.gc.long_lived_pending = self
                .gc
                .containers_live
                .saturating_sub(self.gc.long_lived_total);
        }
        if g == 2 {
            self.gc.long_lived_total = self.gc.containers_live;
            self.gc.long_lived_pending = 0;
            // A full collection empties the freelists, returning their blocks at once.
            for i in 0..NUM_FREELISTS {
                while let Some(slot) = self.freelists[i].pop() {
                    self.free(slot);
                }
            }
        }
        self.gc.collections += 1;
    }

    /// Live blocks right now (including those parked on freelists or awaiting the GC).
    pub fn live_blocks(&self) -> usize {
        self.slots.live()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_freelist_hides_reuse() {
        let mut h = Heap::new(PyVersion::V3_11, 1);
        let a = h.new_obj(Kind::Float, 24);
        h.release(a);
        let b = h.new_obj(Kind::Float, 24);
        assert_eq!(a.slot, b.slot);
        assert_eq!(
            h.out.len(),
            1,
            "one Alloc, no Free, no second Alloc: {:?}",
            h.out
        );
    }

    #[test]
    fn freelist_overflow_frees() {
        let mut h = Heap::new(PyVersion::V3_11, 1);
        let objs: Vec<Obj> = (0..101).map(|_| h.new_obj(Kind::Float, 24)).collect();
        h.out.clear();
        for o in objs {
            h.release(o);
        }
        assert_eq!(h.out.len(), 1, "only the 101st float is freed");
    }

    #[test]
    fn gen0_collection_after_threshold_frees_young_cycles() {
        let mut h = Heap::new(PyVersion::V3_11, 1);
        let a = h.new_obj(Kind::Container, 48);
        let b = h.new_obj(Kind::Container, 48);
        h.drop_cycle(&[a, b]);
        // Two containers so far; 698 more bring the count to 700, not above the threshold.
        for _ in 0..698 {
            h.new_obj(Kind::Container, 48);
        }
        assert!(!h.out.iter().any(|e| matches!(e, Event::Gc(_))));
        h.new_obj(Kind::Container, 48);
        let gc = h
            .out
            .iter()
            .position(|e| *e == Event::Gc(0))
            .expect("gc ran");
        assert_eq!(
            h.out[gc + 1],
            Event::Free {
                slot: a.slot,
                thread: 0
            }
        );
        assert_eq!(
            h.out[gc + 2],
            Event::Free {
                slot: b.slot,
                thread: 0
            }
        );
    }
}
