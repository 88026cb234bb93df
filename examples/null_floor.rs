//! How much of the harness's own cost (`null`, issue 12's ≤ 2 ns/event) is the workload's
//! order of mallocs and frees rather than the loop. Per trial, four medians of 30 passes:
//!
//! - `null`: the throughput loop as `run` measures it (`Bench` with the no-work allocator);
//! - `branch`: a loop over the same records that does nothing but branch on "is this a
//!   malloc" — the least any replay that dispatches per event pays for the order;
//! - the same two over a stream of equal length whose mallocs and frees strictly alternate
//!   in one slot, so every branch is predicted.
//!
//! `null − null(alternating)` is what the workload's op order costs the loop (mispredicted
//! branches); `branch` shows how much of it a loop with nothing else in it still pays. Two
//! more columns: `runs`, the same records dispatched by runs (an inner loop over each run of
//! mallocs, then of frees — an alternative to the per-event branch), and `null 100k`, `null`
//! over the first 100 000 events only, whose records and slot table stay in cache (is the
//! loop bound by memory?).
//!
//! Run: `cargo run --release --example null_floor -- [WORKLOAD] [TRIALS]`

use pybench::alloc::NullAllocator;
use pybench::harness::compact::{CompactStream, Record};
use pybench::harness::replay::Touch;
use pybench::harness::throughput::{Bench, Contender};
use pybench::stats::median;
use pybench::workload::{Domain, Event};
use std::rc::Rc;

mod common;

const PASSES: usize = 30;

/// ns/event of `null` through the throughput loop, median of the passes.
fn null_loop(s: &Rc<CompactStream>) -> anyhow::Result<f64> {
    let mut b = Bench::new("null", NullAllocator::new()?, Rc::clone(s))?;
    let ops = b.ops() as f64;
    let mut v = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        v.push(b.pass().map_err(|e| anyhow::anyhow!("{e}"))? as f64 / ops);
    }
    median(&v).ok_or_else(|| anyhow::anyhow!("no passes"))
}

/// ns/event of a loop that only branches on each record's op, median of the passes.
fn branch_only(records: &[Record]) -> f64 {
    let v: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t0 = std::time::Instant::now();
            for r in records {
                // black_box keeps the branch: the compiler cannot turn it into a select.
                // Code 0 is a plain malloc (`compact::MALLOC`).
                if r.code() == 0 {
                    std::hint::black_box(r);
                }
            }
            t0.elapsed().as_nanos() as f64 / records.len() as f64
        })
        .collect();
    median(&v).unwrap_or(f64::NAN)
}

/// ns/event of the same records dispatched by runs of one kind (malloc or not), median.
fn by_runs(records: &[Record]) -> f64 {
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for r in records {
        let malloc = r.code() == 0;
        match runs.last_mut() {
            Some((kind, n)) if *kind == malloc => *n += 1,
            _ => runs.push((malloc, 1)),
        }
    }
    let v: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t0 = std::time::Instant::now();
            let mut at = 0;
            for &(malloc, n) in &runs {
                let run = &records[at..at + n];
                if malloc {
                    run.iter().for_each(|r| {
                        std::hint::black_box(r);
                    });
                } else {
                    run.iter().for_each(|r| {
                        std::hint::black_box(r.slot);
                    });
                }
                at += n;
            }
            t0.elapsed().as_nanos() as f64 / records.len() as f64
        })
        .collect();
    median(&v).unwrap_or(f64::NAN)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "dicts".to_string());
    let trials: u32 = args.next().map_or(Ok(5), |t| t.parse())?;
    let events = common::events_311(&workload)?;
    let stream = Rc::new(CompactStream::compile(&events, false, Touch::Header)?);
    let pairs = stream.records.len() / 2;
    let alternating: Vec<Event> = (0..pairs)
        .flat_map(|_| {
            let (slot, thread) = (0, 0);
            let domain = Domain::Obj;
            [
                Event::Alloc {
                    slot,
                    size: 32,
                    domain,
                    thread,
                },
                Event::Free { slot, thread },
            ]
        })
        .collect();
    let predicted = Rc::new(CompactStream::compile(&alternating, false, Touch::Header)?);
    let head = &events[..events.len().min(100_000)];
    let in_cache = Rc::new(CompactStream::compile(head, false, Touch::Header)?);
    println!(
        "# {workload}: {} records; ns/event, medians of {PASSES} passes",
        stream.records.len()
    );
    println!("trial  null  branch  null(alternating)  branch(alternating)  runs  null 100k");
    for trial in 0..trials {
        println!(
            "{trial:>5}  {:.2}  {:.2}  {:.2}  {:.2}  {:.2}  {:.2}",
            null_loop(&stream)?,
            branch_only(stream.records.as_slice()),
            null_loop(&predicted)?,
            branch_only(predicted.records.as_slice()),
            by_runs(stream.records.as_slice()),
            null_loop(&in_cache)?,
        );
    }
    Ok(())
}
