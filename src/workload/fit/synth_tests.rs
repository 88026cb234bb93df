//! Tests of the stand-in's drawing: programs built to show one property each (runs of one
//! size, echoes, cohorts, chains), fitted and drawn, the property measured on both.

use super::super::programs::{drawn, structures, Shape};
use super::*;
use crate::workload::fit::MAX_REPEAT;
use crate::workload::profile::Profile;

#[test]
fn age_stays_in_its_bin() {
    let mut rng = Rng::new(1);
    for bin in 0..(LIFE_BINS - 1) as u8 {
        for _ in 0..50 {
            assert_eq!(life_bin(age_in(bin, &mut rng)), bin as usize);
        }
    }
}

/// A program that builds containers: 16-item runs of one size that die together much
/// later, between temporaries of another size that die at once.
fn containers(n: u32) -> Vec<Event> {
    let mut ev = Vec::new();
    let mut rng = Rng::new(9);
    let (mut next, mut live) = (0u32, Vec::new());
    for c in 0..n {
        let size = 16 * (1 + rng.below(8) as u32);
        let items: Vec<u32> = (0..16).map(|k| next + k).collect();
        next += 16;
        for &slot in &items {
            ev.push(Event::Alloc {
                slot,
                size,
                domain: Domain::Obj,
                thread: 0,
            });
            let t = next;
            next += 1;
            let size = 200 + 8 * rng.below(30) as u32;
            ev.push(Event::Alloc {
                slot: t,
                size,
                domain: Domain::Mem,
                thread: 0,
            });
            ev.push(Event::Free { slot: t, thread: 0 });
        }
        live.push(items);
        if c >= 20 {
            for slot in live.remove(0) {
                ev.push(Event::Free { slot, thread: 0 });
            }
        }
    }
    ev
}

/// The profiles of `trace` and of the stand-in fitted to it, drawn with `seed`.
fn profiles(trace: Vec<Event>, seed: u64) -> (Profile, Profile) {
    let model = Model::fit(&trace).unwrap();
    (Profile::from_events(trace), drawn(&model, seed))
}

#[test]
fn a_stand_in_keeps_runs_of_one_size_and_cohorts_of_frees() {
    let (a, b) = profiles(containers(2000), 1);
    let share = |n: u64, d: u64| n as f64 / d as f64;
    let runs = (
        share(a.size_repeats, a.allocs),
        share(b.size_repeats, b.allocs),
    );
    let cohorts = (
        share(a.cohort_frees, a.long_frees),
        share(b.cohort_frees, b.long_frees),
    );
    // The trace alternates item and temporary: almost no size repeats the one before,
    // which the stand-in cannot undercut (its floor is chance); its cohorts are whole.
    assert!(runs.0 < 0.05 && runs.1 < 0.15, "{runs:?}");
    assert!(cohorts.0 > 0.9, "{cohorts:?}");
    assert!((cohorts.0 - cohorts.1).abs() < 0.15, "{cohorts:?}");
}

/// `n` allocations with the sizes `size_of(slot)` gives, each freed 40 allocations later.
fn sized(n: u32, mut size_of: impl FnMut(u32) -> u32) -> Vec<Event> {
    let mut trace = Vec::new();
    for slot in 0..n {
        trace.push(Event::Alloc {
            slot,
            size: size_of(slot),
            domain: Domain::Obj,
            thread: 0,
        });
        if slot >= 40 {
            trace.push(Event::Free {
                slot: slot - 40,
                thread: 0,
            });
        }
    }
    trace
}

#[test]
fn a_stand_in_keeps_runs_of_one_size() {
    // Runs of 8 allocations of one size among 6 sizes, each freed 40 allocations later.
    let (mut rng, mut size) = (Rng::new(4), 32);
    let trace = sized(20_000, |slot| {
        if slot % 8 == 0 {
            size = 16 * (1 + rng.below(6) as u32);
        }
        size
    });
    let (a, b) = profiles(trace.clone(), 2);
    let ra = a.size_repeats as f64 / a.allocs as f64;
    let rb = b.size_repeats as f64 / b.allocs as f64;
    // 7 of 8 repeat in the trace, plus chance at run boundaries (1/6 of 1/8).
    assert!((ra - 0.896).abs() < 0.02, "{ra}");
    // Capped at MAX_REPEAT. A loop body's draws come from different quantiles, so its
    // consecutive fresh draws rarely repeat by chance (independent draws of 6 sizes would
    // one time in six), and the share lands near the fitted excess, 0.62 here, less
    // the echoes taken instead.
    assert!(rb > 0.45 && rb <= MAX_REPEAT, "{rb}");
    // Without the repeat rate the runs are gone.
    let mut model = Model::fit(&trace).unwrap();
    for s in &mut model.segments {
        s.repeat = 0.0;
    }
    let c = drawn(&model, 2);
    assert!(
        (c.size_repeats as f64) < 0.2 * c.allocs as f64,
        "{}",
        c.size_repeats
    );
}

/// A loop that, after each long-lived item (one of 12 sizes), releases its scratch block
/// and allocates the next one, of the same size nine times in ten: every scratch
/// allocation asks for what was just freed, though never for the request before it.
fn scratch_loop(n: u32) -> Vec<Event> {
    let mut rng = Rng::new(5);
    let mut ev = Vec::new();
    let (mut next, mut scratch_size) = (1u32, 400u32);
    let alloc = |slot, size| Event::Alloc {
        slot,
        size,
        domain: Domain::Mem,
        thread: 0,
    };
    ev.push(alloc(0, scratch_size));
    let mut scratch = 0;
    let mut items = std::collections::VecDeque::new();
    for _ in 0..n {
        ev.push(alloc(next, 16 * (1 + rng.below(12) as u32)));
        items.push_back(next);
        next += 1;
        if items.len() > 300 {
            let slot = items.pop_front().unwrap();
            ev.push(Event::Free { slot, thread: 0 });
        }
        ev.push(Event::Free {
            slot: scratch,
            thread: 0,
        });
        if rng.chance(0.1) {
            scratch_size = 208 + 16 * rng.below(12) as u32;
        }
        scratch = next;
        next += 1;
        ev.push(alloc(scratch, scratch_size));
    }
    ev
}

#[test]
fn a_stand_in_asks_again_for_what_was_just_freed() {
    let trace = scratch_loop(20_000);
    let model = Model::fit(&trace).unwrap();
    let (a, b) = (Profile::from_events(trace), drawn(&model, 3));
    let hot = |p: &Profile| p.reuse[..2].iter().sum::<u64>() as f64 / p.allocs as f64;
    // Half the trace's allocations get the block freed just before them (the scratch
    // ones, at 90 %); independent draws would give the scratch a block of its size
    // freed one time in twelve. Loop bodies replay their echo choices, so a stand-in's
    // share moves more with its seed than independent choices did: 0.44 - 0.56 over
    // seeds 1 - 6 against the trace's 0.49.
    assert!(hot(&a) > 0.45, "{}", hot(&a));
    assert!((hot(&a) - hot(&b)).abs() < 0.08, "{} {}", hot(&a), hot(&b));
    let mut without = model.clone();
    for s in &mut without.segments {
        s.echo = 0.0;
    }
    let c = drawn(&without, 3);
    assert!(hot(&c) < hot(&a) - 0.2, "{} {}", hot(&c), hot(&a));
}

#[test]
fn a_stand_in_tears_structures_down_in_the_order_they_were_built() {
    // Items born 7 allocations apart: beyond a cohort's span, within a chain's; each
    // structure freed 3,000 allocations after it was built.
    let trace = structures(Shape {
        seed: 8,
        count: 300,
        items: 40,
        temps: 6,
        temp_sizes: 32,
        keep: 10,
    });
    let model = Model::fit(&trace).unwrap();
    let near = |p: &Profile| p.long_gaps[..7].iter().sum::<u64>() as f64 / p.long_frees as f64;
    let (a, b) = (Profile::from_events(trace), drawn(&model, 4));
    // All but the first free of each structure follow a neighbour born 7 allocations
    // earlier; lifetimes drawn alone free all over the ten structures alive.
    assert!(near(&a) > 0.95, "{}", near(&a));
    assert!(near(&b) > near(&a) - 0.15, "{} {}", near(&b), near(&a));
    let mut without = model.clone();
    for s in &mut without.segments {
        s.chain = 0.0;
    }
    let c = drawn(&without, 4);
    assert!(near(&c) < near(&b) - 0.2, "{} {}", near(&c), near(&b));
}

/// A program that builds strings: small temporaries, and every 40 of them a 256-byte buffer
/// doubled by realloc every third allocation up to 32 KiB, then dropped.
fn string_builder(n: u32) -> Vec<Event> {
    let mut rng = Rng::new(5);
    let (mut ev, mut next, mut buffer) = (Vec::new(), 0u32, None::<(u32, u32)>);
    for i in 0..n {
        ev.push(Event::Alloc {
            slot: next,
            size: 16 * (1 + rng.below(4) as u32),
            domain: Domain::Obj,
            thread: 0,
        });
        ev.push(Event::Free {
            slot: next,
            thread: 0,
        });
        next += 1;
        match buffer {
            None if i % 40 == 0 => {
                ev.push(Event::Alloc {
                    slot: next,
                    size: 256,
                    domain: Domain::Mem,
                    thread: 0,
                });
                buffer = Some((next, 256));
                next += 1;
            }
            Some((slot, size)) if i % 3 == 0 && size < 32 << 10 => {
                ev.push(Event::Realloc {
                    slot,
                    size: size * 2,
                    thread: 0,
                });
                buffer = Some((slot, size * 2));
            }
            Some((slot, _)) if i % 3 == 0 => {
                ev.push(Event::Free { slot, thread: 0 });
                buffer = None;
            }
            _ => {}
        }
    }
    ev
}

#[test]
fn a_stand_in_grows_buffers_as_the_program_did() {
    let trace = string_builder(40_000);
    let model = Model::fit(&trace).unwrap();
    let mut synth = Vec::new();
    synthesize(&model, 6, &mut |e| {
        synth.push(e);
        Ok(())
    })
    .unwrap();
    let large = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::Realloc { size, .. } if *size > 4096))
            .count() as f64
    };
    let (a, b) = (large(&trace), large(&synth));
    // Every buffer passes 8, 16 and 32 KiB; reallocs of random blocks by a drawn growth
    // ratio would start from a 16 – 64-byte temporary and never get there.
    assert!(a > 1000.0, "{a}");
    assert!((b - a).abs() < 0.1 * a, "stand-in {b}, trace {a}");
    // The same lives, so the same bytes held on average; not the same peak: the program
    // starts a buffer only once the last is dropped, the stand-in's births are independent
    // and sometimes overlap (one of the model's limits).
    let (pa, pb) = (
        Profile::from_events(trace).mean_live_bytes,
        Profile::from_events(synth).mean_live_bytes,
    );
    assert!(
        (pb - pa).abs() < 0.15 * pa,
        "mean live bytes: stand-in {pb}, trace {pa}"
    );
}

/// A program of one shape only: each iteration allocates a 48-byte block, grows it twice
/// (to 96 and 192 bytes) and frees it — every 64-run of it is the same run, and an honest
/// stand-in cannot avoid drawing it.
fn one_shape(n: u32) -> Vec<Event> {
    let mut ev = Vec::new();
    for i in 0..n {
        let slot = i % 7;
        ev.push(Event::Calloc {
            slot,
            n: 1,
            size: 48,
            domain: Domain::Obj,
            thread: 0,
        });
        for size in [96, 192] {
            ev.push(Event::Realloc {
                slot,
                size,
                thread: 0,
            });
        }
        ev.push(Event::Free { slot, thread: 0 });
    }
    ev
}

#[test]
fn a_stand_in_of_a_one_shape_program_completes_none_of_its_runs() {
    use crate::workload::fit::{shared_run, tokens, LONG_RUN};
    let trace = one_shape(20_000);
    let model = Model::fit(&trace).unwrap();
    let mut synth = Vec::new();
    let guarded = synthesize(&model, 3, &mut |e| {
        synth.push(e);
        Ok(())
    })
    .unwrap();
    assert!(!shared_run(&tokens(&trace), &tokens(&synth), LONG_RUN));
    assert!(guarded.redrawn > 0 && guarded.nudged > 0, "{guarded:?}");
    // Breaking the runs costs little: nearly every allocation still asks for the one
    // request, and every realloc is made.
    let asks = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::Calloc { size: 48, .. }))
            .count()
    };
    assert!(
        asks(&synth) as f64 > 0.95 * asks(&trace) as f64,
        "{}",
        asks(&synth)
    );
    let reallocs = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::Realloc { .. }))
            .count()
    };
    assert_eq!(reallocs(&synth), reallocs(&trace));
}

#[test]
fn a_stand_in_alternates_where_the_program_does() {
    // An object then its __dict__, again and again: 48 and 112 bytes in turn (with a third
    // size now and then), each freed 40 allocations later. Almost no allocation falls in
    // the bin of the one before; independent draws would put 42 % there, loop bodies
    // without avoiding 17 %.
    let mut rng = Rng::new(8);
    let trace = sized(20_000, |slot| match (slot % 2, rng.chance(0.1)) {
        (_, true) => 304,
        (0, _) => 48,
        _ => 112,
    });
    let (a, b) = profiles(trace.clone(), 4);
    let share = |p: &Profile| p.size_repeats as f64 / p.allocs as f64;
    assert!(share(&a) < 0.02, "{}", share(&a));
    assert!(
        share(&b) < 0.08,
        "stand-in {} against {}",
        share(&b),
        share(&a)
    );
    let mut model = Model::fit(&trace).unwrap();
    for s in &mut model.segments {
        s.avoid = 0.0;
    }
    let c = drawn(&model, 4);
    assert!(share(&c) > 0.12, "without avoiding: {}", share(&c));
}
