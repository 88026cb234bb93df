//! Whether the harness's own cost adds to an allocator's (issue 12's "net = gross − null"):
//! a known amount of work is added to every malloc and free — a dependent chain of
//! multiply-adds, `BUSY` steps, in a wrapper allocator — and each contender's gross time
//! with it is compared with its time without it, in one process, contenders taking turns.
//! If costs add, `busy(A) − A` is the same for `null` and for pymalloc and equals the chain's
//! own cost per event measured alone; if an allocator hides part of the loop's cost (or the
//! loop hides part of the chain), the differences part.
//!
//! A diagnosis, not a figure of `run`: medians of `PASSES` passes per trial.
//!
//! Run: `cargo run --release --example additivity -- [WORKLOAD] [TRIALS] [BUSY] [ALLOCATORS]`
//! (ALLOCATORS: comma-separated, as `run -a` names them; `null,pymalloc` by default).

use pybench::alloc::{AllocOptions, Allocator, AllocatorSpec, AllocatorVisitor};
use pybench::harness::compact::CompactStream;
use pybench::harness::replay::Touch;
use pybench::harness::throughput::{Bench, Contender};
use pybench::stats::median;
use std::hint::black_box;
use std::rc::Rc;

mod common;

const PASSES: usize = 15;

/// `A` with `steps` dependent multiply-adds before every malloc and free.
struct Busy<A> {
    a: A,
    acc: u64,
    steps: u32,
}

impl<A> Busy<A> {
    #[inline(always)]
    fn work(&mut self) {
        let mut x = self.acc;
        for _ in 0..self.steps {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        self.acc = x;
    }
}

impl<A: Allocator> Allocator for Busy<A> {
    fn name(&self) -> String {
        format!("busy({})", self.a.name())
    }
    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.work();
        self.a.malloc(n)
    }
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        self.work();
        self.a.calloc(nelem, elsize)
    }
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        self.work();
        self.a.realloc(p, n)
    }
    unsafe fn free(&mut self, p: *mut u8) {
        self.work();
        self.a.free(p)
    }
    fn hold_releases(&mut self, hold: bool) {
        self.a.hold_releases(hold)
    }
    fn has_heap(&self) -> bool {
        self.a.has_heap()
    }
}

/// ns per event of the chain alone, over as many events, median of the passes.
fn chain_alone(events: usize, steps: u32) -> f64 {
    let mut b = Busy {
        a: (),
        acc: 1,
        steps,
    };
    let v: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t0 = pybench::sys::procfs::thread_cpu_ns();
            for _ in 0..events {
                b.work();
            }
            (pybench::sys::procfs::thread_cpu_ns() - t0) as f64 / events as f64
        })
        .collect();
    black_box(b.acc);
    median(&v).unwrap_or(f64::NAN)
}

/// Builds a contender replaying `stream` with the visited allocator, wrapped in [`Busy`]
/// when `steps` is given.
struct Build {
    name: String,
    stream: Rc<CompactStream>,
    steps: Option<u32>,
}

impl AllocatorVisitor for Build {
    type Output = std::io::Result<Box<dyn Contender>>;
    fn visit<A: Allocator + 'static>(self, a: A) -> Self::Output {
        Ok(match self.steps {
            None => Box::new(Bench::new(&self.name, a, self.stream)?),
            Some(steps) => {
                let busy = Busy { a, acc: 1, steps };
                Box::new(Bench::new(
                    &format!("busy({})", self.name),
                    busy,
                    self.stream,
                )?)
            }
        })
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "dicts".to_string());
    let trials: u32 = args.next().map_or(Ok(5), |t| t.parse())?;
    let steps: u32 = args.next().map_or(Ok(4), |t| t.parse())?;
    let names = args.next().unwrap_or_else(|| "null,pymalloc".to_string());
    let events = common::events_311(&workload)?;
    let plain = Rc::new(CompactStream::compile(&events, false, Touch::Header)?);
    let raw = Rc::new(CompactStream::compile(&events, true, Touch::Header)?);
    // Each allocator, then the same with the chain: pairs side by side.
    let mut contenders: Vec<Box<dyn Contender>> = Vec::new();
    for name in names.split(',') {
        let spec: AllocatorSpec = name.parse()?;
        let stream = if spec.is_pymalloc_like() {
            &raw
        } else {
            &plain
        };
        for busy in [None, Some(steps)] {
            let build = Build {
                name: name.to_string(),
                stream: Rc::clone(stream),
                steps: busy,
            };
            contenders.push(spec.visit(&AllocOptions::default(), build)??);
        }
    }
    let ops = contenders[0].ops() as usize;
    println!(
        "# {workload}: {ops} allocator events; {steps} chain steps per call; ns/event, medians \
         of {PASSES} passes; per allocator: alone, with the chain, and what the chain added"
    );
    let header: Vec<String> = names
        .split(',')
        .map(|n| format!("{n} (+chain, Δ)"))
        .collect();
    println!("trial  chain alone  {}", header.join("  "));
    for c in contenders.iter_mut() {
        c.pass().map_err(|e| anyhow::anyhow!("{e}"))?; // cold, untimed
    }
    for trial in 0..trials {
        let mut samples = vec![Vec::with_capacity(PASSES); contenders.len()];
        for _ in 0..PASSES {
            for (c, s) in contenders.iter_mut().zip(samples.iter_mut()) {
                c.pass().map_err(|e| anyhow::anyhow!("{e}"))?; // switch-in, untimed
                s.push(c.pass().map_err(|e| anyhow::anyhow!("{e}"))? as f64 / ops as f64);
            }
        }
        let m: Vec<f64> = (samples.iter())
            .map(|s| median(s).unwrap_or(f64::NAN))
            .collect();
        let cells: Vec<String> = (m.chunks(2))
            .map(|p| format!("{:.2} ({:.2}, {:+.2})", p[0], p[1], p[1] - p[0]))
            .collect();
        let chain = chain_alone(ops, steps);
        println!("{trial:>5}  {chain:.2}  {}", cells.join("  "));
    }
    Ok(())
}
