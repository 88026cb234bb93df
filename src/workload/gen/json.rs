//! `json`: parse- and serialise-like trees of dicts, lists, strings and numbers.

use super::objects::{new_float, new_int, new_str, DictObj, Group, ListObj, StrKind, Window};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{named_mix, Prob, RangeMix, MAX_PARAM};
use serde::Deserialize;

named_mix! {
    /// What a JSON value is: string, number, `true`/`false`/`null` (singletons), object or
    /// array (nested containers, less likely the deeper the tree).
    JsonValues { string, int, float, literal, object, array }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonParams {
    /// Kinds of values inside objects and arrays.
    pub values: JsonValues,
    /// Members per object / elements per array.
    pub fanout: RangeMix,
    /// Deepest nesting level.
    #[serde(deserialize_with = "super::depth")]
    pub max_depth: u32,
    /// Cap on the values of one document.
    #[serde(deserialize_with = "super::positive")]
    pub max_nodes: u32,
    /// Length in chars of string values.
    pub string_len: RangeMix,
    /// Share of object keys that allocate (the decoder memoises repeated keys).
    pub new_key_share: Prob,
    /// Share of documents that are then serialised (chunks appended to a list, then joined).
    pub serialise_share: Prob,
    /// Parsed documents alive at once.
    #[serde(deserialize_with = "super::positive")]
    pub live_docs: u32,
}

impl Default for JsonParams {
    fn default() -> Self {
        JsonParams {
            values: JsonValues {
                string: 0.4,
                int: 0.25,
                float: 0.1,
                literal: 0.1,
                object: 0.1,
                array: 0.05,
            },
            fanout: RangeMix::of(&[(1, 4, 0.5), (5, 12, 0.4), (13, 40, 0.1)]),
            max_depth: 5,
            max_nodes: 2000,
            string_len: RangeMix::of(&[(2, 12, 0.6), (13, 40, 0.3), (41, 300, 0.1)]),
            new_key_share: Prob(0.3),
            serialise_share: Prob(0.3),
            live_docs: 4,
        }
    }
}

/// Documents parsed like `json.loads` does (a dict per object filled by inserts, a list per
/// array filled by appends, a new str/int/float per scalar), kept for a while, optionally
/// serialised like `json.dumps` (a list of chunk strings joined into one large str).
pub struct Json {
    p: JsonParams,
    window: Window,
    nodes: u32,
    /// Chunks of the document being serialised (chars each).
    out_chars: u32,
    out_chunks: u32,
    /// Reused buffer for the serialiser's chunk strings.
    chunks: Group,
}

impl Json {
    pub fn new(p: &JsonParams, _v: PyVersion) -> Self {
        Json {
            window: Window::new(p.live_docs as usize),
            p: p.clone(),
            nodes: 0,
            out_chars: 0,
            out_chunks: 0,
            chunks: Group::default(),
        }
    }

    /// One value at `depth`; its blocks go into `g` in release order.
    fn value(&mut self, h: &mut Heap, g: &mut Group, depth: u32) {
        self.nodes += 1;
        let v = self.p.values;
        let deeper = depth < self.p.max_depth && self.nodes < self.p.max_nodes;
        // Containers become rarer with depth so trees stay bounded.
        let damp = 1.0 / f64::from(depth + 1);
        let u =
            h.rng.unit() * (v.string + v.int + v.float + v.literal + (v.object + v.array) * damp);
        if u < v.string {
            let n = self.p.string_len.sample(&mut h.rng);
            self.out_chars = self.out_chars.saturating_add(n + 2);
            if let Some(o) = new_str(h, StrKind::Ascii, n) {
                g.push(o);
            }
        } else if u < v.string + v.int {
            self.out_chars = self.out_chars.saturating_add(6);
            if h.rng.chance(0.5) {
                h.singleton();
            } else {
                let o = new_int(h, 1, IntOrigin::Parsed);
                g.push(o);
            }
        } else if u < v.string + v.int + v.float {
            self.out_chars = self.out_chars.saturating_add(10);
            let o = new_float(h);
            g.push(o);
        } else if u < v.string + v.int + v.float + v.literal || !deeper {
            self.out_chars = self.out_chars.saturating_add(4);
            h.singleton();
        } else if u < v.string + v.int + v.float + v.literal + v.object * damp {
            self.object(h, g, depth + 1);
        } else {
            let n = self.p.fanout.sample(&mut h.rng);
            let mut l = ListObj::new_empty(h);
            for _ in 0..n {
                if h.cut() {
                    break; // the stream has ended: nothing more is seen
                }
                self.value(h, g, depth + 1);
                l.append(h);
            }
            self.out_chunks = self.out_chunks.saturating_add(2);
            l.push_to(g);
        }
    }

    fn object(&mut self, h: &mut Heap, g: &mut Group, depth: u32) {
        let n = self.p.fanout.sample(&mut h.rng);
        let mut d = DictObj::new(h, true);
        for _ in 0..n {
            if h.cut() {
                break; // the stream has ended: nothing more is seen
            }
            let klen = self.p.string_len.min().max(2) + h.rng.range(0, 10);
            self.out_chars = self.out_chars.saturating_add(klen + 4);
            self.out_chunks = self.out_chunks.saturating_add(2);
            if h.rng.chance(self.p.new_key_share.0) {
                if let Some(k) = new_str(h, StrKind::Ascii, klen) {
                    g.push(k);
                }
            }
            self.value(h, g, depth);
            d.insert(h);
        }
        self.out_chunks = self.out_chunks.saturating_add(2);
        d.push_to(g);
    }
}

impl Generator for Json {
    fn step(&mut self, h: &mut Heap) {
        h.phase(0);
        let mut g = self.window.take();
        self.nodes = 0;
        self.out_chars = 0;
        self.out_chunks = 0;
        self.object(h, &mut g, 1);
        if h.rng.chance(self.p.serialise_share.0) {
            h.phase(1);
            // The encoder appends each chunk to a list and joins them at the end.
            let mut chunks = std::mem::take(&mut self.chunks);
            let mut l = ListObj::new_empty(h);
            let per = (self.out_chars / self.out_chunks.max(1)).clamp(2, MAX_PARAM);
            for _ in 0..self.out_chunks {
                if h.cut() {
                    break; // the stream has ended: nothing more is seen
                }
                if let Some(o) = new_str(h, StrKind::Ascii, per) {
                    chunks.push(o);
                }
                l.append(h);
            }
            // At most MAX_PARAM chars, as any str a spec describes: the sum of a wide
            // spec's values would overflow the size (u32) of the event.
            let out = new_str(h, StrKind::Ascii, self.out_chars.clamp(2, MAX_PARAM));
            l.push_to(&mut chunks);
            chunks.release(h);
            self.chunks = chunks;
            if let Some(o) = out {
                h.release(o);
            }
        }
        self.window.push(h, g);
    }
}
