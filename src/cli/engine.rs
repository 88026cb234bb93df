//! `pybench engine`: run a built-in scenario on the pymalloc engine and print its accounting in
//! the layout of `sys._debugmallocstats()`, optionally timing the system allocator on the same
//! stream for comparison.

use crate::alloc::{Allocator, PymallocAllocator, SystemAllocator};
use crate::pymalloc::{Geometry, Preset};
use crate::scenario::{self, Scenario, ScenarioRun};
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Engine preset (cpython-3.8 … cpython-3.13) or geometry (arena=512K,pool=8K).
    #[arg(long, short, default_value = "cpython-3.11")]
    preset: String,
    /// Scenario to run: `mixed` or `thrash`.
    ///
    /// `mixed`: Python-like sizes over 200,000 slots; `thrash`: allocate-all/free-all rounds of
    /// 30,000 16-byte blocks.
    #[arg(long, short, default_value = "mixed", value_parser = parse_scenario)]
    scenario: Scenario,
    /// Steps (default: 5,000,000 calls for mixed, 200 rounds for thrash).
    ///
    /// A step is an allocator call in mixed, a round in thrash; at least 1.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    steps: Option<u64>,
    /// Seed of the mixed scenario's random choices.
    #[arg(long, default_value_t = 42, value_parser = super::spec_args::parse_seed)]
    seed: u64,
    /// Also run the same stream on the system allocator and print the time ratio.
    #[arg(long)]
    compare_system: bool,
}

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    s.parse()
}

pub fn run(args: EngineArgs) -> anyhow::Result<ExitCode> {
    let mut engine = match args.preset.parse::<Preset>() {
        Ok(p) => PymallocAllocator::from_preset(p),
        Err(_) => PymallocAllocator::new(args.preset.parse::<Geometry>()?),
    };
    let steps = match args.steps {
        Some(n) => usize::try_from(n)?,
        None => args.scenario.default_steps(),
    };
    // The accounting is printed as it stands at the end of the scenario, blocks still live.
    let mut stats = None;
    let on_engine = run_scenario(&mut engine, &args, steps, |e| {
        stats = Some(e.engine().stats())
    });
    if let Some(stats) = stats {
        write!(std::io::stdout().lock(), "{stats}")?;
        if stats.arena_failures > 0 {
            crate::stderr_line!(
                "warning: {} small request(s) went to the system allocator because an arena \
                 of {} could not be mapped here (address space or memory: `ulimit -v`?): the \
                 accounting above is not this geometry's own",
                stats.arena_failures,
                crate::pymalloc::format_size(stats.geometry.arena_size())
            );
        }
    }
    if args.compare_system {
        let on_system = run_scenario(&mut SystemAllocator, &args, steps, |_| {});
        crate::stderr_line!(
            "pymalloc / system time ratio: {:.2} (below 1 means the engine is faster)",
            on_engine.ns_per_call() / on_system.ns_per_call()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_scenario<A: Allocator>(
    a: &mut A,
    args: &EngineArgs,
    steps: usize,
    inspect: impl FnOnce(&A),
) -> ScenarioRun {
    let r = scenario::run_inspect(args.scenario, a, steps, args.seed, inspect);
    crate::stderr_line!(
        "pybench engine: {} on {}: {} calls in {:.3} s, {:.1} ns/call",
        args.scenario,
        a.name(),
        r.calls,
        r.elapsed.as_secs_f64(),
        r.ns_per_call()
    );
    r
}
