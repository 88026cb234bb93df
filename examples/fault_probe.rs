//! Page faults inside measured passes (issue 12): for each allocator, the minor faults a warm
//! throughput pass of a workload takes (the harness's `Bench`, cleanup between passes
//! included, after two passes untimed) and its ns/event, gross, over PASSES passes. Before
//! the cleanup held what pymalloc unmaps (2026-12-04), the engine and `cpython:3.11` took
//! 2,390 faults a pass on dicts and mimalloc none.
//!
//! Run: `cargo run --release --example fault_probe -- WORKLOAD PASSES ALLOCATOR...`

use pybench::alloc::{AllocOptions, Allocator, AllocatorSpec, AllocatorVisitor};
use pybench::harness::compact::CompactStream;
use pybench::harness::replay::Touch;
use pybench::harness::throughput::{Bench, Contender};
use pybench::sys::procfs::thread_minor_faults;
use std::rc::Rc;

mod common;

struct Probe {
    stream: Rc<CompactStream>,
    passes: usize,
}

impl AllocatorVisitor for Probe {
    type Output = anyhow::Result<(f64, f64)>;
    fn visit<A: Allocator + 'static>(self, a: A) -> Self::Output {
        let mut b = Bench::new("x", a, Rc::clone(&self.stream))?;
        for _ in 0..2 {
            b.pass().map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let (f0, mut ns) = (thread_minor_faults(), 0u64);
        for _ in 0..self.passes {
            ns += b.pass().map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let faults = (thread_minor_faults() - f0) as f64 / self.passes as f64;
        Ok((faults, ns as f64 / (self.passes as f64 * b.ops() as f64)))
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "dicts".into());
    let passes: usize = args.next().map_or(Ok(10), |p| p.parse())?;
    let events = common::events_311(&workload)?;
    let stream = Rc::new(CompactStream::compile(&events, false, Touch::Header)?);
    for name in args {
        let spec: AllocatorSpec = name.parse()?;
        let probe = Probe {
            stream: Rc::clone(&stream),
            passes,
        };
        let (faults, ns) = spec.visit(&AllocOptions::default(), probe)??;
        println!(
            "{workload} {name:12} faults/pass {faults:9.1}  per 1000 events {:6.3}  ns/event {ns:6.2}",
            faults * 1000.0 / stream.ops() as f64
        );
    }
    Ok(())
}
