//! `webapp`: a request loop — request-scoped objects all freed at the end of the request,
//! occasional cyclic garbage left for the collector, and a slowly growing cache that never
//! shrinks (its dict's keys table eventually grows beyond pymalloc's 512-byte limit).

use super::objects::{new_instance, new_int, new_str, new_tuple, DictObj, Group, ListObj, StrKind};
use super::Generator;
use crate::workload::heap::Heap;
use crate::workload::python::{IntOrigin, PyVersion};
use crate::workload::spec::{Prob, RangeMix};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebappParams {
    /// Header lines per request (a str-key dict of str values).
    pub headers: RangeMix,
    /// Query parameters per request (a list of `(name, value)` tuples).
    pub query_params: RangeMix,
    /// Model instances loaded per request.
    pub models: RangeMix,
    /// Chunks of the response body, joined into one str at the end.
    pub response_chunks: RangeMix,
    /// Share of requests that add an entry to the long-lived cache.
    pub cache_insert_share: Prob,
    /// Share of requests that leave a reference cycle behind (e.g. a caught exception whose
    /// traceback references the frame holding it).
    pub cycle_share: Prob,
    /// Share of cache entries that keep the joined response body too (a page cache, as
    /// `functools.lru_cache` on a view does): the long-lived strs that give a running
    /// service its resident heap. 0 by default, so older specs keep their streams.
    pub cache_response_share: Prob,
}

impl Default for WebappParams {
    fn default() -> Self {
        WebappParams {
            headers: RangeMix::of(&[(6, 20, 1.0)]),
            query_params: RangeMix::of(&[(0, 0, 0.4), (1, 8, 0.6)]),
            models: RangeMix::of(&[(1, 5, 0.8), (6, 30, 0.2)]),
            response_chunks: RangeMix::of(&[(4, 40, 1.0)]),
            cache_insert_share: Prob(0.05),
            cycle_share: Prob(0.3),
            cache_response_share: Prob(0.0),
        }
    }
}

/// See the module documentation.
pub struct Webapp {
    p: WebappParams,
    req: Group,
    cycle: Group,
    cache: Option<DictObj>,
    cache_entries: Vec<Group>,
}

impl Webapp {
    pub fn new(p: &WebappParams, _v: PyVersion) -> Self {
        Webapp {
            p: p.clone(),
            req: Group::default(),
            cycle: Group::default(),
            cache: None,
            cache_entries: Vec::new(),
        }
    }
}

fn ascii(h: &mut Heap, g: &mut Group, lo: u32, hi: u32) {
    let n = h.rng.range(lo, hi);
    if let Some(o) = new_str(h, StrKind::Ascii, n) {
        g.push(o);
    }
}

impl Generator for Webapp {
    fn step(&mut self, h: &mut Heap) {
        h.phase(0);
        let g = &mut self.req;
        parse_request(&self.p, h, g);
        load_models(&self.p, h, g);
        let body = respond(&self.p, h, g);
        // Something outlives the request: a cache entry (key str + (value, timestamp)).
        if h.rng.chance(self.p.cache_insert_share.0) {
            let e = cache_entry(&self.p, h, g, body);
            let cache = self.cache.get_or_insert_with(|| DictObj::new(h, true));
            cache.insert(h);
            self.cache_entries.push(e);
        }
        if h.rng.chance(self.p.cycle_share.0) {
            leave_cycle(h, &mut self.cycle);
        }
        // End of request: everything request-scoped dies by reference counting.
        self.req.release(h);
    }
}

/// The raw request line, the parsed headers (a str-key dict) and the query parameters (a
/// list of 2-tuples of strs, built by append).
fn parse_request(p: &WebappParams, h: &mut Heap, g: &mut Group) {
    ascii(h, g, 40, 200);
    let mut headers = DictObj::new(h, true);
    for _ in 0..p.headers.sample(&mut h.rng) {
        if h.cut() {
            break; // the stream has ended: nothing more is seen
        }
        ascii(h, g, 4, 20);
        ascii(h, g, 2, 120);
        headers.insert(h);
    }
    headers.push_to(g);
    let mut query = ListObj::new_empty(h);
    for _ in 0..p.query_params.sample(&mut h.rng) {
        if h.cut() {
            break; // the stream has ended: nothing more is seen
        }
        ascii(h, g, 2, 12);
        ascii(h, g, 1, 40);
        if let Some(t) = new_tuple(h, 2) {
            g.push(t);
        }
        query.append(h);
    }
    query.push_to(g);
}

/// Models loaded from the database: instances with an int id, in a list.
fn load_models(p: &WebappParams, h: &mut Heap, g: &mut Group) {
    let mut rows = ListObj::new_empty(h);
    for _ in 0..p.models.sample(&mut h.rng) {
        if h.cut() {
            break; // the stream has ended: nothing more is seen
        }
        let id = new_int(h, 1, IntOrigin::Parsed);
        g.push(id);
        ascii(h, g, 4, 60);
        new_instance(h, g);
        rows.append(h);
    }
    rows.push_to(g);
}

/// The response: chunks appended to a list and joined into one str. Returns whether the
/// joined body was allocated (it is then the request group's last block).
fn respond(p: &WebappParams, h: &mut Heap, g: &mut Group) -> bool {
    let mut body = ListObj::new_empty(h);
    let chunks = p.response_chunks.sample(&mut h.rng);
    let mut len = 0;
    for _ in 0..chunks {
        if h.cut() {
            break; // the stream has ended: nothing more is seen
        }
        let n = h.rng.range(8, 80);
        len += n;
        if let Some(o) = new_str(h, StrKind::Ascii, n) {
            g.push(o);
        }
        body.append(h);
    }
    body.push_to(g);
    let body_str = new_str(h, StrKind::Ascii, len);
    if let Some(o) = body_str {
        g.push(o);
    }
    body_str.is_some()
}

/// A cache entry's blocks: its key str, a timestamp int and the (value, timestamp) tuple,
/// and for a share of entries (`cache_response_share`) the response body, moved out of the
/// request group `g` when `body` was allocated.
fn cache_entry(p: &WebappParams, h: &mut Heap, g: &mut Group, body: bool) -> Group {
    let mut e = Group::default();
    let keep = p.cache_response_share.0;
    if body && keep > 0.0 && h.rng.chance(keep) {
        if let Some(o) = g.pop() {
            e.push(o);
        }
    }
    ascii(h, &mut e, 10, 40);
    let ts = new_int(h, 2, IntOrigin::Arithmetic);
    e.push(ts);
    if let Some(t) = new_tuple(h, 2) {
        e.push(t);
    }
    e
}

/// A reference cycle left behind for the collector: an object graph with back references
/// (a model instance, its related-objects list and a dict pointing back at it).
fn leave_cycle(h: &mut Heap, cycle: &mut Group) {
    new_instance(h, cycle);
    let mut l = ListObj::new_empty(h);
    l.append(h);
    l.push_to(cycle);
    let mut d = DictObj::new(h, true);
    d.insert(h);
    d.push_to(cycle);
    cycle.drop_cycle(h);
}
