//! Tests of the mutator replay: its parameters, its work per event against the pace, and
//! that it never touches freed memory.

use super::*;
use crate::workload::event::fixture::{alloc, free};
use std::collections::HashMap;

/// Blocks of several sizes, most freed soon after, a few kept; markers in between.
fn events() -> Vec<Event> {
    let mut ev = Vec::new();
    for i in 0..2000u32 {
        ev.push(alloc(i % 50, [8, 16, 24, 40, 100, 600][i as usize % 6]));
        if i % 5 == 3 {
            ev.push(Event::Gc(0));
        }
        if i % 50 == 49 {
            // Kept: moved to a slot of its own.
            ev.push(Event::Realloc {
                slot: 49,
                size: 64,
                thread: 0,
            });
            ev.push(alloc(50 + i / 50, 32));
        }
        ev.push(free(i % 50));
    }
    ev
}

/// An allocator that never reuses memory and fills every freed block with 0xDD, so any
/// later write to a freed block shows.
struct Poisoning {
    arena: Vec<u64>,
    used: usize,
    sizes: HashMap<usize, usize>,
    freed: Vec<(usize, usize)>,
}

impl Poisoning {
    fn new() -> Self {
        Poisoning {
            arena: vec![0; 1 << 20],
            used: 0,
            sizes: HashMap::new(),
            freed: Vec::new(),
        }
    }
    fn poisoned_intact(&self) -> bool {
        self.freed.iter().all(|&(p, n)| {
            // SAFETY: the block lies inside the arena, which is never freed.
            let b = unsafe { std::slice::from_raw_parts(p as *const u8, n) };
            b.iter().all(|&x| x == 0xDD)
        })
    }
}

impl Allocator for Poisoning {
    fn name(&self) -> String {
        "poisoning".into()
    }
    fn malloc(&mut self, n: usize) -> *mut u8 {
        let words = n.div_ceil(16) * 2 + 2;
        if self.used + words > self.arena.len() {
            return std::ptr::null_mut();
        }
        let p = self.arena[self.used..].as_mut_ptr().cast::<u8>();
        self.used += words;
        self.sizes.insert(p as usize, n);
        p
    }
    fn calloc(&mut self, n: usize, size: usize) -> *mut u8 {
        self.malloc(n * size)
    }
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        let q = self.malloc(n);
        let old = self.sizes[&(p as usize)];
        std::ptr::copy_nonoverlapping(p, q, old.min(n));
        self.free(p);
        q
    }
    unsafe fn free(&mut self, p: *mut u8) {
        let n = self.sizes.remove(&(p as usize)).expect("a live block");
        std::ptr::write_bytes(p, 0xDD, n);
        self.freed.push((p as usize, n));
    }
}

fn bench(pace: u64, p: MutatorParams) -> MutatorBench<Poisoning> {
    let ev = events();
    let s = Rc::new(CompactStream::compile(&ev, false, Touch::Header).unwrap());
    let work = Rc::new(Work::from_pace(&ev, &vec![pace; ev.len()], 10.0));
    MutatorBench::new("poisoning", Poisoning::new(), s, work, p)
}

#[test]
fn work_per_event_scales_with_the_recorded_pace() {
    let ev = events();
    let records = ev.iter().filter(|e| e.slot().is_some()).count() as u64;
    let markers = ev.len() as u64 - records;
    let mut idle = bench(0, MutatorParams::default());
    idle.pass().unwrap();
    assert_eq!((idle.last_steps, idle.touches()), (0, 0));
    // 1000 cycles per event at 10 cycles per step: 100 steps per event, and the markers'
    // pace carried over to the record after them.
    let mut busy = bench(1000, MutatorParams::default());
    busy.pass().unwrap();
    assert_eq!(busy.last_steps, 100 * (records + markers));
    assert!(busy.touches() > 0);
    // Twice the pace, twice the work.
    let mut busier = bench(2000, MutatorParams::default());
    busier.pass().unwrap();
    assert_eq!(busier.last_steps, 2 * busy.last_steps);
}

#[test]
fn fractions_of_a_step_carry_over() {
    let ev: Vec<Event> = (0..10).map(|i| alloc(i, 16)).collect();
    let w = Work::from_pace(&ev, &[7; 10], 10.0);
    assert_eq!(w.total_steps(), 7);
    assert!(w.steps.iter().all(|&s| s <= 1));
}

#[test]
fn the_mutator_never_touches_a_freed_block() {
    for recent in [0.0, 0.5, 1.0] {
        let p = MutatorParams {
            recent,
            ring: 64,
            alu: 0,
        };
        let mut b = bench(1000, p);
        for _ in 0..2 {
            b.pass().unwrap();
        }
        assert!(b.touches() > 0);
        let a = b.allocator();
        assert!(a.sizes.is_empty(), "every block freed by the end of a pass");
        assert!(
            a.poisoned_intact(),
            "recent={recent}: a freed block was written"
        );
    }
}

#[test]
fn parameters_parse_and_bad_ones_say_why_in_one_line() {
    let p: MutatorParams = "recent=0.5,alu=3".parse().unwrap();
    assert_eq!((p.recent, p.ring, p.alu), (0.5, 16, 3));
    assert_eq!(p.to_string().parse::<MutatorParams>().unwrap(), p);
    for bad in ["recent=2", "ring=3", "alu=x", "speed=1", "ring"] {
        let e = bad.parse::<MutatorParams>().unwrap_err();
        assert!(
            !e.contains('\n') && e.contains(bad.split('=').next().unwrap()),
            "{e}"
        );
    }
}
