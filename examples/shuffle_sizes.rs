//! What a trace's order of request sizes is worth to each allocator (issue 17): writes a copy
//! of a trace whose allocations' sizes are permuted at random within each sixteenth of its
//! allocations (a stand-in's segments), keeping everything else — the order of allocations
//! and frees, the slots, every lifetime, reallocs and markers. Replaying the copy next to the
//! trace isolates the size sequence: a stand-in draws sizes per segment independently (plus
//! its repeats and echoes), so a cost that rises from the trace to its shuffled copy is a
//! cost a stand-in adds for that reason alone.
//!
//! `cargo run --release --example shuffle_sizes -- TRACE.pbt OUT.pbt [SEED]`

use pybench::trace::source::read_all;
use pybench::trace::TraceWriter;
use pybench::workload::event::Event;
use pybench::workload::fit::SEGMENTS;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: shuffle_sizes TRACE.pbt OUT.pbt [SEED]";
    let src = args.next().ok_or_else(|| anyhow::anyhow!(usage))?;
    let dst = args.next().ok_or_else(|| anyhow::anyhow!(usage))?;
    let seed: u64 = args.next().map_or(Ok(1), |s| s.parse())?;
    let (mut events, _, meta) = read_all(std::path::Path::new(&src))?;
    let allocs: Vec<usize> = (0..events.len())
        .filter(|&i| matches!(events[i], Event::Alloc { .. } | Event::Calloc { .. }))
        .collect();
    let mut rng = pybench::workload::rng::Rng::new(seed);
    for segment in allocs.chunks(allocs.len().div_ceil(SEGMENTS).max(1)) {
        let mut sizes: Vec<u32> = segment.iter().map(|&i| request_size(&events[i])).collect();
        rng.shuffle(&mut sizes);
        for (&i, s) in segment.iter().zip(sizes) {
            set_size(&mut events[i], s);
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(&dst)?);
    let mut w = TraceWriter::new(file, &meta)?;
    for e in &events {
        w.push(e)?;
    }
    w.finish(Default::default())?;
    println!(
        "wrote {} events to {dst}, sizes permuted in {SEGMENTS} segments",
        events.len()
    );
    Ok(())
}

fn request_size(e: &Event) -> u32 {
    match *e {
        Event::Alloc { size, .. } | Event::Calloc { size, .. } => size,
        _ => 0,
    }
}

fn set_size(e: &mut Event, s: u32) {
    if let Event::Alloc { size, .. } | Event::Calloc { size, .. } = e {
        *size = s;
    }
}
