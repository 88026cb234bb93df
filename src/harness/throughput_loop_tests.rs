//! Tests of the throughput loop: errors name their event, and the loop calls the allocator
//! once per event, in order.

use super::*;
use crate::workload::event::fixture::alloc;
use crate::workload::{Domain, Event};

/// glibc's allocator until `left` allocations have been served, then NULL for every one.
struct FailAfter {
    left: u32,
}

impl FailAfter {
    fn serve(&mut self, p: impl FnOnce() -> *mut u8) -> *mut u8 {
        if self.left == 0 {
            return std::ptr::null_mut();
        }
        self.left -= 1;
        p()
    }
}

impl Allocator for FailAfter {
    fn name(&self) -> String {
        "fail-after".into()
    }
    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.serve(|| SystemAllocator.malloc(n))
    }
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        self.serve(|| SystemAllocator.calloc(nelem, elsize))
    }
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        self.serve(|| SystemAllocator.realloc(p, n))
    }
    unsafe fn free(&mut self, p: *mut u8) {
        SystemAllocator.free(p)
    }
}

/// The error names the failing event's operation, size and place in the stream, whether
/// it failed in the loop's common path or out of line: the loop counts no index, so this
/// checks the one worked out from the record's address.
#[test]
fn a_failed_event_is_named_by_its_index_and_operation() {
    let events = [
        alloc(0, 32),
        alloc(1, 48),
        Event::Free { slot: 0, thread: 0 },
        Event::Realloc {
            slot: 1,
            size: 96,
            thread: 0,
        },
        Event::Calloc {
            slot: 2,
            n: 4,
            size: 8,
            domain: Domain::Obj,
            thread: 0,
        },
        alloc(3, 1024),
    ];
    let stream = Rc::new(CompactStream::compile(&events, false, Touch::Header).unwrap());
    let expect = [
        (1, "malloc", 48, 1),
        (2, "realloc", 96, 3),
        (3, "calloc", 32, 4),
        (4, "malloc", 1024, 5),
    ];
    for (left, op, bytes, index) in expect {
        let mut bench = Bench::new("f", FailAfter { left }, Rc::clone(&stream)).unwrap();
        match bench.pass() {
            Err(ReplayError::OutOfMemory {
                op: o,
                bytes: b,
                index: i,
            }) => assert_eq!((o, b, i), (op, bytes, index), "after {left} served"),
            other => panic!("after {left} served: {other:?}"),
        }
    }
    let mut whole = Bench::new("f", FailAfter { left: 5 }, stream).unwrap();
    assert!(whole.pass().is_ok(), "five allocations serve the stream");
}

/// One allocator call as [`Logger`] saw it: a malloc of a size, or a free of the block the
/// n-th malloc handed out.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Malloc(usize),
    Free(usize),
}

/// glibc's allocator, logging every call; the malloc numbered `fail_at` (from 0) gets NULL.
struct Logger {
    calls: Vec<Call>,
    /// Address → the number of the malloc that returned it, for blocks still live.
    given: std::collections::HashMap<usize, usize>,
    mallocs: usize,
    fail_at: Option<usize>,
}

impl Allocator for Logger {
    fn name(&self) -> String {
        "logger".into()
    }
    fn malloc(&mut self, n: usize) -> *mut u8 {
        let k = self.mallocs;
        self.mallocs += 1;
        if self.fail_at == Some(k) {
            return std::ptr::null_mut();
        }
        let p = SystemAllocator.malloc(n);
        self.given.insert(p as usize, k);
        self.calls.push(Call::Malloc(n));
        p
    }
    fn calloc(&mut self, _: usize, _: usize) -> *mut u8 {
        unreachable!("the streams of this test hold only malloc and free")
    }
    unsafe fn realloc(&mut self, _: *mut u8, _: usize) -> *mut u8 {
        unreachable!("the streams of this test hold only malloc and free")
    }
    unsafe fn free(&mut self, p: *mut u8) {
        let k = self.given.remove(&(p as usize)).expect("a live block");
        self.calls.push(Call::Free(k));
        SystemAllocator.free(p)
    }
}

impl Logger {
    fn new(fail_at: Option<usize>) -> Self {
        Logger {
            calls: Vec::new(),
            given: Default::default(),
            mallocs: 0,
            fail_at,
        }
    }
}

/// A stream for [`Logger`] and what the loop must do with it.
struct Script {
    events: Vec<Event>,
    /// The calls the events map to, in order.
    calls: Vec<Call>,
    /// The numbers of the mallocs whose blocks the stream leaves live, ascending.
    left_live: Vec<usize>,
}

/// A stream of mallocs and frees from `(free?, pick, size)` steps: a free names a live block
/// chosen by `pick`, slots are reused LIFO as a recorder's are.
fn stream_of(steps: &[(bool, usize, u32)]) -> Script {
    let (mut events, mut calls) = (Vec::new(), Vec::new());
    let mut live: Vec<(u32, usize)> = Vec::new(); // (slot, malloc number)
    let (mut free_slots, mut next_slot, mut mallocs) = (Vec::new(), 0u32, 0usize);
    for &(free, pick, size) in steps {
        if free && !live.is_empty() {
            let (slot, k) = live.swap_remove(pick % live.len());
            events.push(crate::workload::event::fixture::free(slot));
            calls.push(Call::Free(k));
            free_slots.push(slot);
        } else {
            let slot = free_slots.pop().unwrap_or_else(|| {
                next_slot += 1;
                next_slot - 1
            });
            events.push(alloc(slot, size));
            calls.push(Call::Malloc(size as usize));
            live.push((slot, mallocs));
            mallocs += 1;
        }
    }
    let mut left_live: Vec<usize> = live.into_iter().map(|(_, k)| k).collect();
    left_live.sort_unstable();
    Script {
        events,
        calls,
        left_live,
    }
}

/// Longest stream the loop tests build.
const MAX_STEPS: usize = 48;

/// Steps for [`stream_of`]: streams of `min` to [`MAX_STEPS`] events.
fn steps(min: usize) -> impl proptest::strategy::Strategy<Value = Vec<(bool, usize, u32)>> {
    proptest::collection::vec((proptest::bool::ANY, 0usize..64, 1u32..600), min..MAX_STEPS)
}

proptest::proptest! {
    /// Whatever the stream, every event reaches the allocator once and in order, each free
    /// gets the block its slot's malloc returned, and whatever the pass left live is freed
    /// after it.
    #[test]
    fn every_event_reaches_the_allocator_once_in_order(steps in steps(0)) {
        let script = stream_of(&steps);
        let stream = Rc::new(CompactStream::compile(&script.events, false, Touch::Header).unwrap());
        let mut bench = Bench::new("log", Logger::new(None), stream).unwrap();
        bench.pass().unwrap();
        let (during, after) = bench.a.calls.split_at(script.calls.len());
        proptest::prop_assert_eq!(during, &script.calls[..]);
        // After the pass: one free for each block left live, each once.
        let mut freed = Vec::new();
        for c in after {
            match c {
                Call::Free(k) => freed.push(*k),
                Call::Malloc(n) => proptest::prop_assert!(false, "a malloc of {} after the pass", n),
            }
        }
        freed.sort_unstable();
        proptest::prop_assert_eq!(freed, script.left_live);
        proptest::prop_assert!(bench.a.given.is_empty(), "nothing leaked");
    }

    /// A malloc that fails anywhere in the stream is reported with its own index in it.
    #[test]
    fn a_failed_malloc_is_named_by_its_index(steps in steps(1), fail in 0usize..MAX_STEPS) {
        let script = stream_of(&steps);
        let allocs: Vec<(usize, u32)> = script.events.iter().enumerate().filter_map(|(i, e)| match e {
            Event::Alloc { size, .. } => Some((i, *size)),
            _ => None,
        }).collect();
        let stream = Rc::new(CompactStream::compile(&script.events, false, Touch::Header).unwrap());
        let mut bench = Bench::new("log", Logger::new(Some(fail)), stream).unwrap();
        match (bench.pass(), allocs.get(fail)) {
            (Ok(_), None) => {}
            (Err(ReplayError::OutOfMemory { op, bytes, index }), Some(&(i, size))) => {
                proptest::prop_assert_eq!((op, bytes, index), ("malloc", size as u64, i as u64));
            }
            (other, want) => proptest::prop_assert!(false, "got {:?}, wanted a failure at {:?}", other, want),
        }
    }
}
