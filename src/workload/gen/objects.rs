//! Python objects as sequences of allocator calls: the building blocks every generator
//! uses, so each CPython rule (sizes, growth, freelists, singletons) is written once.

use crate::workload::event::Domain;
use crate::workload::heap::{Heap, Kind, Obj};
use crate::workload::python::{self as py, IntOrigin};
use std::collections::VecDeque;

/// A dict being built: its 64-byte object and its keys table, which is allocated at the
/// first insert (`{}` has none) and replaced by a larger one (alloc new, then release old)
/// when an insert finds it full — at the 6th, 11th, 22nd, 43rd and 86th insert.
#[derive(Debug, Clone, Copy)]
pub struct DictObj {
    pub obj: Obj,
    pub keys: Option<Obj>,
    pub used: u32,
    pub log2: u8,
    pub str_keys: bool,
}

impl DictObj {
    pub fn new(h: &mut Heap, str_keys: bool) -> Self {
        DictObj {
            obj: h.new_obj(Kind::Dict, py::DICT_BYTES),
            keys: None,
            used: 0,
            log2: py::DICT_MIN_LOG2,
            str_keys,
        }
    }

    fn new_keys(h: &mut Heap, log2: u8, str_keys: bool) -> Obj {
        let v = h.version;
        let bytes = py::dict_keys_bytes(v, log2, str_keys);
        let kind = if py::dict_keys_freelisted(v, log2, str_keys) {
            Kind::DictKeysMin
        } else {
            Kind::Plain
        };
        h.new_obj(kind, bytes)
    }

    /// Inserts a new key (the key and value objects are the caller's business).
    pub fn insert(&mut self, h: &mut Heap) {
        match self.keys {
            None => self.keys = Some(Self::new_keys(h, self.log2, self.str_keys)),
            Some(old) if self.used >= py::dict_usable(self.log2) => {
                self.log2 = py::dict_grow_log2(self.used);
                self.keys = Some(Self::new_keys(h, self.log2, self.str_keys));
                h.release(old);
            }
            Some(_) => {}
        }
        self.used += 1;
    }

    /// `k` inserts of keys that are the caller's business, by whole runs between the table's
    /// growth points: the events of `k` calls to [`Self::insert`] at the cost of its growths
    /// (a dict of 10 M entries that allocate nothing grows 21 times).
    pub fn insert_many(&mut self, h: &mut Heap, mut k: u32) {
        while k > 0 {
            let room = py::dict_usable(self.log2).saturating_sub(self.used);
            if self.keys.is_none() || room == 0 {
                self.insert(h);
                k -= 1;
            } else {
                let run = room.min(k);
                self.used += run;
                k -= run;
            }
        }
    }

    /// Releases the keys table, then the dict object (values must be released before).
    pub fn release(self, h: &mut Heap) {
        if let Some(k) = self.keys {
            h.release(k);
        }
        h.release(self.obj);
    }

    /// The blocks in release order (keys, then object), for a [`Group`].
    pub fn push_to(&self, g: &mut Group) {
        if let Some(k) = self.keys {
            g.push(k);
        }
        g.push(self.obj);
    }
}

/// A list: a 56-byte object plus a separate PyMem item array grown with realloc.
#[derive(Debug, Clone, Copy)]
pub struct ListObj {
    pub obj: Obj,
    pub items: Option<Obj>,
    pub len: u32,
    pub cap: u32,
}

impl ListObj {
    /// `[]`: no item array yet.
    pub fn new_empty(h: &mut Heap) -> Self {
        ListObj {
            obj: h.new_obj(Kind::List, py::LIST_BYTES),
            items: None,
            len: 0,
            cap: 0,
        }
    }

    /// A literal or `list(seq)` of known length `n`: the array is sized exactly (even-rounded
    /// from 3.10).
    pub fn with_len(h: &mut Heap, n: u32) -> Self {
        let mut l = Self::new_empty(h);
        if n > 0 {
            l.cap = py::list_exact_cap(h.version, n);
            l.items = Some(h.new_block(py::list_items_bytes(l.cap), Domain::Mem));
            l.len = n;
        }
        l
    }

    /// `append`: grows the array by the version's rule when full. The first growth is a
    /// `realloc(NULL, …)`, i.e. an allocation.
    #[inline]
    pub fn append(&mut self, h: &mut Heap) {
        self.len += 1;
        if self.len > self.cap {
            self.cap = py::list_grow(h.version, self.len);
            let bytes = py::list_items_bytes(self.cap);
            match self.items {
                None => self.items = Some(h.new_block(bytes, Domain::Mem)),
                Some(items) => h.realloc(items.slot, bytes),
            }
        }
    }

    /// `k` appends, by whole runs up to the array's capacity: the events of `k` calls to
    /// [`Self::append`] at the cost of its growths (10 M appends grow a list 100-odd times).
    pub fn extend(&mut self, h: &mut Heap, k: u32) {
        let end = self.len + k;
        while self.len < end {
            if self.len < self.cap {
                self.len = self.cap.min(end);
            } else {
                self.append(h);
            }
        }
    }

    /// The blocks in release order (item array, then object), for a [`Group`].
    pub fn push_to(&self, g: &mut Group) {
        if let Some(i) = self.items {
            g.push(i);
        }
        g.push(self.obj);
    }

    pub fn release(self, h: &mut Heap) {
        if let Some(i) = self.items {
            h.release(i);
        }
        h.release(self.obj);
    }
}

/// How a str's characters are stored, which sets its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrKind {
    Ascii,
    Latin1,
    Ucs2,
}

/// Bytes of a str of `n` chars of `kind` on this version.
pub fn str_bytes(v: py::PyVersion, kind: StrKind, n: u32) -> u32 {
    match kind {
        StrKind::Ascii => py::str_ascii_bytes(v, n),
        StrKind::Latin1 => py::str_latin1_bytes(v, n),
        StrKind::Ucs2 => py::str_ucs2_bytes(v, n),
    }
}

/// A new str, or `None` for the singletons (empty str, one-char Latin-1 strings).
#[inline]
pub fn new_str(h: &mut Heap, kind: StrKind, n: u32) -> Option<Obj> {
    if n == 0 || (n == 1 && kind != StrKind::Ucs2) {
        h.singleton();
        return None;
    }
    let bytes = str_bytes(h.version, kind, n);
    Some(h.new_obj(Kind::Plain, bytes))
}

/// A new int of `digits` 30-bit digits, made by `origin`.
#[inline]
pub fn new_int(h: &mut Heap, digits: u32, origin: IntOrigin) -> Obj {
    let bytes = py::int_bytes(h.version, digits, origin);
    h.new_obj(Kind::Plain, bytes)
}

/// A new float (24 bytes, freelist of 100).
#[inline]
pub fn new_float(h: &mut Heap) -> Obj {
    h.new_obj(Kind::Float, py::FLOAT_BYTES)
}

/// A new tuple of `n` items, or `None` for the empty-tuple singleton.
#[inline]
pub fn new_tuple(h: &mut Heap, n: u32) -> Option<Obj> {
    if n == 0 {
        h.singleton();
        return None;
    }
    let kind = Kind::Tuple(n.min(255) as u8);
    Some(h.new_obj(kind, py::tuple_bytes(n)))
}

/// An instance of a class without `__slots__` whose `__init__` sets 3 attributes, laid out
/// as the version does; pushes its blocks onto `g` in release order (values/dict first).
pub fn new_instance(h: &mut Heap, g: &mut Group) {
    let blocks = py::instance_blocks(h.version);
    let start = g.len();
    for (i, b) in blocks.iter().enumerate() {
        let o = if i == 0 {
            h.new_obj(Kind::Container, b.bytes)
        } else if b.obj_domain {
            // The 3.8–3.10 instance `__dict__`: a dict object (with the dict freelist).
            h.new_obj(Kind::Dict, b.bytes)
        } else {
            h.new_block(b.bytes, Domain::Mem)
        };
        g.push(o);
    }
    // Allocated object-first; released values-first.
    g.reverse_from(start);
}

/// An instance of a class with 2 `__slots__`: one 48-byte GC object.
pub fn new_slots_instance(h: &mut Heap) -> Obj {
    h.new_obj(Kind::Container, py::SLOTS_INSTANCE_BYTES)
}

/// Blocks that die together, kept in release order (children before their container).
#[derive(Debug, Default, Clone)]
pub struct Group {
    objs: Vec<Obj>,
    /// When the group dies it becomes cyclic garbage (freed by the collector), not freed
    /// by reference counting.
    pub cyclic: bool,
}

impl Group {
    #[inline]
    pub fn push(&mut self, o: Obj) {
        self.objs.push(o);
    }

    /// Takes back the last block pushed (one that turns out to outlive the group).
    pub fn pop(&mut self) -> Option<Obj> {
        self.objs.pop()
    }

    pub fn len(&self) -> usize {
        self.objs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objs.is_empty()
    }

    fn reverse_from(&mut self, start: usize) {
        self.objs[start..].reverse();
    }

    /// Drops every block by reference counting, in order.
    pub fn release(&mut self, h: &mut Heap) {
        for o in self.objs.drain(..) {
            h.release(o);
        }
    }

    /// The group became unreachable cyclic garbage: the collector will free it.
    pub fn drop_cycle(&mut self, h: &mut Heap) {
        h.drop_cycle(&self.objs);
        self.objs.clear();
    }

    /// Dies as its `cyclic` flag says: by the collector or by reference counting.
    pub fn die(&mut self, h: &mut Heap) {
        if self.cyclic {
            self.drop_cycle(h);
        } else {
            self.release(h);
        }
        self.cyclic = false;
    }

    /// Forgets the blocks without releasing them (the caller took care of them).
    pub fn clear(&mut self) {
        self.objs.clear();
    }

    pub fn as_slice(&self) -> &[Obj] {
        &self.objs
    }
}

/// A FIFO of live groups: the last `cap` units of work stay alive; older ones die. Group
/// buffers are recycled so steady-state generation allocates nothing.
#[derive(Debug, Default)]
pub struct Window {
    live: VecDeque<Group>,
    pool: Vec<Group>,
    cap: usize,
    /// Groups that never die (module state, caches).
    forever: Vec<Group>,
}

impl Window {
    pub fn new(cap: usize) -> Self {
        Window {
            live: VecDeque::with_capacity(cap + 1),
            pool: Vec::new(),
            cap,
            forever: Vec::new(),
        }
    }

    /// Decides a finished group's lifetime: with probability `temp` it is a temporary that
    /// dies at once (most Python objects die young: cpython-patterns.md measured 36–51 %
    /// freed within 4 later allocations in json- and string-heavy programs); otherwise with
    /// probability `long_lived` it lives forever; otherwise it stays for the window.
    pub fn keep(&mut self, h: &mut Heap, mut g: Group, temp: f64, long_lived: f64) {
        if h.rng.chance(temp) {
            g.die(h);
            self.pool.push(g);
        } else if h.rng.chance(long_lived) {
            self.forever.push(g);
        } else {
            self.push(h, g);
        }
    }

    /// An empty group to fill.
    pub fn take(&mut self) -> Group {
        self.pool.pop().unwrap_or_default()
    }

    /// Keeps `g` alive; if more than `cap` groups are alive, the oldest dies.
    pub fn push(&mut self, h: &mut Heap, g: Group) {
        self.live.push_back(g);
        while self.live.len() > self.cap {
            self.pop_oldest(h);
        }
    }

    /// Kills the oldest group (see [`Group::die`]); false if none is alive.
    pub fn pop_oldest(&mut self, h: &mut Heap) -> bool {
        match self.live.pop_front() {
            Some(mut g) => {
                g.die(h);
                self.pool.push(g);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}
