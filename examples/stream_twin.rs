//! Streamed against materialised replay of one trace in ONE process (issue 15's "within
//! 5 %"): pymalloc replaying the stream held in memory and pymalloc replaying it from a
//! feed take turns round by round, like `run`'s contenders, so the host's drift and the
//! process's layout are shared and only the source of the records differs.
//!
//! Prints, per trial, the streamed replay's speed relative to the materialised one, gross
//! and net of each source's own `null` (as `run` reports it), with 95 % intervals over the
//! paired rounds, and the four contenders' median ns/event.
//!
//! Run: `cargo run --release --example stream_twin -- FILE.pbt [TRIALS] [ROUNDS]`

use pybench::alloc::{NullAllocator, PymallocAllocator};
use pybench::harness::compact::CompactStream;
use pybench::harness::feed::{Content, Feed};
use pybench::harness::replay::Touch;
use pybench::harness::throughput::{
    measure_group, Bench, Calibration, ColdPrime, Contender, StreamBench,
};
use pybench::pymalloc::Preset;
use pybench::stats::LogMean;
use pybench::trace::source::{read_all, Origin};
use pybench::workload::Overrides;
use std::cell::RefCell;
use std::rc::Rc;

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("usage: stream_twin FILE.pbt"));
    let trials: u32 = args.next().map_or(Ok(3), |t| t.parse())?;
    let rounds: u32 = args.next().map_or(Ok(20), |r| r.parse())?;
    let touch = Touch::Header;
    let (events, _, _) = read_all(&path)?;
    let stream = Rc::new(CompactStream::compile(&events, true, touch)?);
    drop(events);
    let content = Content::Compact {
        raw_to_system: true,
        touch,
    };
    let feed = Rc::new(RefCell::new(Feed::open(
        &Origin::Trace(path.clone()),
        Overrides::default(),
        content,
    )?));
    let cal = Calibration {
        min_time_ns: 20_000_000,
        rounds,
        warmup_passes: 1,
        fixed_layout: false,
        release_between_passes: false,
        arenas_side_by_side: true,
        arenas_past_pool_boundary: true,
        prime_cold_passes: false,
    };
    let engine = || PymallocAllocator::from_preset(Preset::Cpython311);
    for trial in 0..trials {
        let mut contenders: Vec<Box<dyn Contender>> = vec![
            Box::new(Bench::new(
                "null",
                NullAllocator::new()?,
                Rc::clone(&stream),
            )?),
            Box::new(Bench::new("materialised", engine(), Rc::clone(&stream))?),
            Box::new(StreamBench::new(
                "streamed",
                engine(),
                Rc::clone(&feed),
                touch,
            )?),
            Box::new(StreamBench::new(
                "null, streamed",
                NullAllocator::new()?,
                Rc::clone(&feed),
                touch,
            )?),
        ];
        let g = measure_group(&mut contenders, cal, u64::from(trial), ColdPrime::default())
            .map_err(|(who, e)| anyhow::anyhow!("{who}: {e}"))?;
        let c = &g.contenders;
        let (n, m, s, ns) = (&c[0], &c[1], &c[2], &c[3]);
        // Gross: materialised time / streamed time, round by round; net: each less its own
        // source's `null` in the same round, as `run` reports it.
        let ratios = |net: bool| -> anyhow::Result<(f64, f64, f64)> {
            let per_round: Vec<f64> = (0..m.samples_ns_per_op.len())
                .map(|i| {
                    let (mut a, mut b) = (m.samples_ns_per_op[i], s.samples_ns_per_op[i]);
                    if net {
                        a -= n.samples_ns_per_op[i];
                        b -= ns.samples_ns_per_op[i];
                    }
                    a / b
                })
                .collect();
            let r = LogMean::of_units(&per_round)
                .and_then(|l| l.interval(0.95))
                .ok_or_else(|| anyhow::anyhow!("no interval"))?;
            Ok((r.ratio.point, r.ratio.lo, r.ratio.hi))
        };
        let (g, n_) = (ratios(false)?, ratios(true)?);
        println!(
            "twin {rounds} gross {:.3} ({:.3} - {:.3}) net {:.3} ({:.3} - {:.3})  ns/event: null {:.2} / {:.2}, pymalloc {:.2} / {:.2} (materialised / streamed)",
            g.0,
            g.1,
            g.2,
            n_.0,
            n_.1,
            n_.2,
            median(&n.samples_ns_per_op),
            median(&ns.samples_ns_per_op),
            median(&m.samples_ns_per_op),
            median(&s.samples_ns_per_op)
        );
    }
    Ok(())
}
