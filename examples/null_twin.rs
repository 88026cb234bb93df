//! The harness's resolution (`report::verdict::RESOLUTION`): two `null` contenders over one
//! shared stream, taking turns round by round (in a random order per round) in this process
//! exactly as `run`'s throughput processes do. Any gap between them is position and placement, not allocation, so its size
//! says how small a difference `run` can honestly name. A measurement, so it lives here and
//! not in a unit test (a test asserting it failed on CI's machine at 2.5 %).
//!
//! Prints one `twin ROUNDS RATIO LO HI` line per trial: second / first in speed, with the
//! 95 % interval over the trial's paired rounds.
//!
//! Run: `cargo run --release --example null_twin -- [TRIALS] [ROUNDS]`

use pybench::alloc::NullAllocator;
use pybench::harness::compact::CompactStream;
use pybench::harness::replay::Touch;
use pybench::harness::throughput::{measure_group, Bench, Calibration, ColdPrime, Contender};
use pybench::stats::LogMean;
use pybench::workload::{Domain, Event};
use std::rc::Rc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let trials: u32 = args.next().map_or(Ok(5), |t| t.parse())?;
    let rounds: u32 = args.next().map_or(Ok(30), |r| r.parse())?;
    // A dict-like churn: 100 live slots of 32 bytes, allocated and freed in turn.
    let events: Vec<Event> = (0..20_000u32)
        .flat_map(|i| {
            let slot = i % 100;
            [
                Event::Alloc {
                    slot,
                    size: 32,
                    domain: Domain::Obj,
                    thread: 0,
                },
                Event::Free { slot, thread: 0 },
            ]
        })
        .collect();
    let stream = Rc::new(CompactStream::compile(&events, false, Touch::Header)?);
    let cal = Calibration {
        min_time_ns: 1_000_000,
        rounds,
        warmup_passes: 1,
        fixed_layout: false,
        release_between_passes: false,
        arenas_side_by_side: true,
        arenas_past_pool_boundary: true,
        prime_cold_passes: false,
    };
    for trial in 0..trials {
        let null = || -> anyhow::Result<Box<dyn Contender>> {
            Ok(Box::new(Bench::new(
                "null",
                NullAllocator::new()?,
                Rc::clone(&stream),
            )?))
        };
        let mut contenders = vec![null()?, null()?];
        let g = measure_group(&mut contenders, cal, u64::from(trial), ColdPrime::default())
            .map_err(|(who, e)| anyhow::anyhow!("{who}: {e}"))?;
        let (a, b) = (&g.contenders[0], &g.contenders[1]);
        // Speed of the second relative to the first: first's time / second's, per round.
        let per_round: Vec<f64> = a
            .samples_ns_per_op
            .iter()
            .zip(&b.samples_ns_per_op)
            .map(|(x, y)| x / y)
            .collect();
        let r = LogMean::of_units(&per_round)
            .and_then(|m| m.interval(0.95))
            .ok_or_else(|| anyhow::anyhow!("no interval from {per_round:?}"))?;
        println!(
            "twin {rounds} {:.4} {:.4} {:.4}",
            r.ratio.point, r.ratio.lo, r.ratio.hi
        );
    }
    Ok(())
}
