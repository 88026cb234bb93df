//! `pybench run`: workloads × allocators × repetitions, each cell in its own process; results
//! in `results/<timestamp>-<label>/` rewritten as cells are measured, and a table at the end.

use super::output::{self, OutputArgs};
use crate::alloc::{AllocOptions, AllocatorSpec};
use crate::harness::cell::CellOptions;
use crate::harness::feed::{StreamMode, StreamPolicy, DEFAULT_BUDGET_MIB};
use crate::harness::mutator::MutatorParams;
use crate::harness::plan::{Plan, RunRequest};
use crate::harness::replay::Touch;
use crate::harness::runner::Outcome;
use crate::harness::shard::Shard;
use crate::harness::throughput::Calibration;
use crate::report::precision::Precision;
use crate::workload::{Overrides, PyVersion};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Workloads to replay (default: dicts, unless --trace is given).
    ///
    /// Each is a built-in name (see `pybench list workloads`), a spec file or a trace
    /// (`trace:NAME`, FILE.pbt); repeat the flag or separate with commas (a value naming an
    /// existing file whole is that file, commas and all).
    #[arg(long, short)]
    workload: Vec<String>,
    /// Trace files to replay, after the --workload ones.
    ///
    /// Traces are recorded with `pybench record` or written by `pybench gen`; repeat the flag or
    /// separate with commas, as --workload. Only traces: a built-in's name or a spec goes to
    /// --workload.
    #[arg(long, value_name = "FILE")]
    trace: Vec<String>,
    /// Allocators to compare (default: every one available).
    ///
    /// See `pybench list allocators`. `pymalloc` alone means the engine preset of each workload's
    /// Python version. Separate names with commas or repeat the flag; a custom geometry keeps its
    /// own commas (`-a system,pymalloc:arena=512K,pool=8K`). `null`, the harness's own cost, is
    /// measured in every run and has no row; `-a null` alone measures only the harness.
    #[arg(long, short)]
    allocators: Vec<String>,
    /// Throughput processes per workload.
    ///
    /// Each process has its own address layout; the verdict's 95 % intervals run over them, so more
    /// narrow them most. Memory and latency are measured in the first --memory-repetitions. The
    /// default is pyperf's: 20 processes of 3 samples.
    #[arg(long, short, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    repetitions: u32,
    /// Repetitions that also measure memory and latency [default: 3, or -r if fewer]
    ///
    /// They are the first N of the -r repetitions: memory (RSS, fragmentation) and latency are
    /// measured in them too, each allocator in a process of its own. 3 give RSS to a page or so;
    /// for `compare` to call a latency or counter change significant it needs 4 or more in both
    /// runs (a rank test over 3 + 3 figures cannot reach p < 0.05) — 8 for one row to stand out
    /// among the hundred it judges together — and runs made interleaved (`scripts/ab.sh`): latency
    /// percentiles of runs made minutes apart differ by more than their processes do
    /// (docs/compare.md, "Four a side, and made interleaved"). At most -r.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    memory_repetitions: Option<u32>,
    /// Measure until the answer is precise to ±PCT %.
    ///
    /// After the -r processes, run more throughput processes for each workload whose ratios to the
    /// reference have a 95 % interval wider than ±PCT %, as many as their scatter says they need
    /// (at most doubling a workload's processes at a time), until every ratio is within it or
    /// --max-repetitions is reached. With one allocator its net throughput is judged; with `-a
    /// null` alone the harness's cost. The processes needed vary with the host and the hour (README
    /// "Measuring until it holds still"); the end of the run says whether it was reached.
    #[arg(long, value_name = "PCT", value_parser = parse_precision)]
    precision: Option<f64>,
    /// With --precision: the most throughput processes a workload may get.
    #[arg(long, value_name = "N", default_value_t = 200, requires = "precision", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_repetitions: u32,
    /// Allocation requests per workload (default: each spec's own).
    ///
    /// The number of requests to model; overrides the specs, whose own is the `scale` column of
    /// `pybench list workloads`. A trace replays as recorded, so a run of traces alone refuses it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    scale: Option<u64>,
    /// Seed of the workload generators (default: each spec's own).
    ///
    /// From 0 to 2^64−1. Overrides the specs; a spec that sets none uses 0. Refused by a run of
    /// traces alone, as --scale.
    #[arg(long, value_parser = super::spec_args::parse_seed)]
    seed: Option<u64>,
    /// CPython version to model (default: each spec's own).
    ///
    /// One of 3.8 … 3.13. Overrides the specs; a spec that sets none models 3.11.
    #[arg(long, value_name = "3.X")]
    python: Option<PyVersion>,
    /// How much of each new block to write.
    ///
    /// One of none, header (16 bytes, like an object's refcount and type) or full.
    #[arg(long, default_value = "header")]
    touch: Touch,
    /// Shortest throughput sample, in seconds.
    ///
    /// A sample is a pass of the stream, or as many passes as it takes (short streams). Longer
    /// samples average over more scheduler ticks; the default keeps a default `run -w dicts` within
    /// about a minute.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.02, value_parser = parse_min_time)]
    min_time: f64,
    /// Measure throughput with address-space randomisation off.
    ///
    /// Every throughput process then places code and memory at the same addresses. Some allocators'
    /// speed depends on where their memory lands (a jemalloc built for 57-bit addresses: 4.5 or 7
    /// ns/event on webapp by process, see README "Stability"); a fixed layout makes repeated runs
    /// agree, but measures that one layout, not the average over layouts a program meets. Cells'
    /// notes record it.
    #[arg(long)]
    fixed_layout: bool,
    /// Let pymalloc unmap the arenas emptied between throughput passes.
    ///
    /// With it, the engine and the real obmalloc unmap the arenas that the untimed cleanup between
    /// passes empties, as pybench did before 2026-12-04: each warm pass then starts by faulting its
    /// heap in again (800 – 2,400 faults a pass on the built-ins, a fifth of the engine's warm time
    /// on dicts), which no other allocator pays. By default the cleanup holds those arenas for the
    /// next pass. Use it to compare with results recorded before then; cells' notes record it.
    #[arg(long)]
    release_between_passes: bool,
    /// Throughput samples per allocator and repetition.
    ///
    /// They are taken in rounds: in each, every allocator (and `null`) takes one sample in turn, in
    /// one process, in a random order each round, each sample after one untimed pass of its own (so
    /// no allocator's figure depends on its place in -a). A process's figure is the median of its
    /// rounds. On a quiet 2-core VM most of a process's spread is between its rounds, so more
    /// rounds narrow the intervals too (12 rounds of 5 ms halved them at 2.3x the time);
    /// `scripts/stability.sh` shows which of rounds or repetitions a machine needs (README
    /// "Stability"). At least 2; `compare` tests throughput per process from 3 rounds on (with
    /// fewer it falls back to a rank test of one figure per repetition).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..))]
    rounds: u32,
    /// Time one operation in N during the latency pass.
    ///
    /// The throughput pass is never timed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    sample: u32,
    #[command(flatten)]
    output: OutputArgs,
    /// Seconds after which a cell is killed and reported as failed.
    ///
    /// From 1 s to 1 week.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    timeout: u64,
    /// libpython to load for `cpython:3.X` instead of searching for it.
    #[arg(long, value_name = "PATH")]
    libpython: Option<PathBuf>,
    /// Replay a trace that breaks liveness instead of refusing it.
    ///
    /// Breaking liveness is a double free, a free or realloc of a block that is not live, or an
    /// allocation into a live slot. Frees and reallocs of dead blocks are dropped, allocations into
    /// live slots leak the old block, and each cell's notes say how many events that touched.
    #[arg(long)]
    allow_malformed: bool,
    /// Measure only shard K of N (1 ≤ K ≤ N) of the run's cells.
    ///
    /// For a CI matrix; join the shards' folders with `pybench merge`. Every shard must get the
    /// same options. The unit is a (workload, repetition) group — null and every allocator, paired
    /// in one process — balanced by estimated cost; repetitions of one workload may land on
    /// different shards, which is sound only on machines of one kind (same CPU model, cores,
    /// kernel, THP mode, governor and libc: merge refuses others). Writes shard.json beside the
    /// results.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Throughput with the program's own work between allocator calls.
    ///
    /// For traces recorded with `record --pace` only: before each call the replay touches live
    /// blocks — mostly the most recently allocated, as reference counting does, sometimes any live
    /// one — for as long as the program ran since its previous call, so an allocator's placement
    /// and cache footprint cost what they cost the program. Memory and latency cells are unchanged.
    /// The stream is held in memory (not with `--stream always` or `--allow-malformed`).
    #[arg(long)]
    mutator: bool,
    /// The mutator's parameters (implies --mutator).
    ///
    /// Written `recent=0.9,ring=16,alu=8`: the share of touches to recently allocated blocks, how
    /// many of them (a power of two), and the dependent arithmetic operations per touch.
    #[arg(long, value_name = "K=V,…")]
    mutator_params: Option<MutatorParams>,
    /// How replays get their events.
    ///
    /// `never` holds the whole stream in memory (24 bytes an event), `always` streams it from a
    /// bounded read-ahead ring (memory: the slot table plus a fixed buffer; a trace is re-read
    /// every pass), `auto` streams when holding it would exceed --stream-above. Each cell's notes
    /// say which was used and why. Compare net figures only between runs of one mode: `null` reads
    /// a streamed run's fresh records faster, so its net figures come out a few per cent slower
    /// than a materialised run's.
    #[arg(long, value_name = "auto|always|never", default_value = "auto")]
    stream: StreamMode,
    /// With `--stream auto`: stream above this many MiB.
    ///
    /// A replay streams when its materialised stream would exceed this many MiB (or half the memory
    /// available).
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_BUDGET_MIB, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    stream_above: u64,
}

impl RunArgs {
    /// `--memory-repetitions`, or its default when fewer repetitions are asked for.
    fn memory_repetitions(&self) -> anyhow::Result<u32> {
        let default = crate::harness::runner::MEMORY_REPETITIONS;
        match self.memory_repetitions {
            None => Ok(default.min(self.repetitions)),
            Some(m) if m > self.repetitions => anyhow::bail!(
                "--memory-repetitions {m} is more than the {} repetition(s) asked for (-r); \
                 memory and latency are measured in the first repetitions",
                self.repetitions
            ),
            Some(m) => Ok(m),
        }
    }

    /// The request these arguments make (called once `--trace` has joined `--workload`).
    fn request(&self) -> anyhow::Result<RunRequest> {
        // Parsed here rather than by clap so a bad K/N is one line, like every other bad input.
        let shard: Option<Shard> = self.shard.as_deref().map(str::parse).transpose()?;
        Ok(RunRequest {
            workloads: self.workload.clone(),
            allocators: AllocatorSpec::parse_list(&self.allocators)?,
            repetitions: self.repetitions,
            memory_repetitions: self.memory_repetitions()?,
            cell: CellOptions {
                overrides: Overrides {
                    python: self.python,
                    scale: self.scale,
                    seed: self.seed,
                    allow_malformed: self.allow_malformed,
                },
                touch: self.touch,
                sample_every: self.sample,
                libpython: self.libpython.clone(),
                mutator: self
                    .mutator_params
                    .or(self.mutator.then(MutatorParams::default)),
                stream: StreamPolicy {
                    mode: self.stream,
                    budget_bytes: self.stream_above << 20,
                },
            },
            alloc: AllocOptions {
                libpython: self.libpython.clone(),
            },
            timeout: Duration::from_secs(self.timeout),
            throughput: Calibration {
                min_time_ns: (self.min_time * 1e9) as u64,
                rounds: self.rounds,
                warmup_passes: 1,
                fixed_layout: self.fixed_layout,
                release_between_passes: self.release_between_passes,
                arenas_side_by_side: true,
                arenas_past_pool_boundary: true,
                prime_cold_passes: true,
            },
            shard,
            precision: self.precision.map(|pct| Precision {
                half_width: pct / 100.0,
                max_repetitions: self.max_repetitions,
            }),
        })
    }
}

pub fn run(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    // Until the results folder is made: a stop says that nothing was saved, and exits.
    crate::harness::runner::exit_before_results();
    // Split at commas here, not by clap: a file whose name holds one stays whole.
    let (workload, trace) = (
        std::mem::take(&mut args.workload),
        std::mem::take(&mut args.trace),
    );
    args.workload = super::guard::workloads_then_traces(workload, trace)?;
    if args.workload.is_empty() {
        args.workload.push("dicts".to_string());
    }
    args.output
        .check(&super::guard::workload_inputs(&args.workload))?;
    let request = args.request()?;
    let shard = request.shard;
    // Everything is checked before anything is measured.
    let plan = Plan::new(&request).map_err(|e| super::suggest_allow_malformed(e, "replays"))?;
    if let Some(r) = &args.output.reference {
        crate::report::verdict::check_reference(r, &plan.parameters)?;
    }
    for line in &plan.warnings {
        crate::stderr_line!("warning: {line}");
    }
    if !args.output.quiet {
        for line in plan.skipped.iter().chain(&plan.shard_line()) {
            crate::stderr_line!("{line}");
        }
    }
    let mut label = output::auto_label(&args.workload);
    if let Some(k) = shard {
        label = format!("{label}-shard{}of{}", k.index, k.count);
    }
    let (store, mut results) = output::start(
        &args.output,
        &label,
        plan.parameters.clone(),
        plan.infos.clone(),
    )?;
    output::warn_about_noise(&results.machine);
    output::warn_if_not_release(&results.machine);
    let outcome = plan.run(
        !args.output.quiet,
        args.output.reference.as_deref(),
        &store,
        &mut results,
    )?;
    output::finish(
        &args.output,
        &store,
        &mut results,
        outcome == Outcome::Interrupted,
    )
}

/// `--precision`: a percentage above 0 and at most 50 (an interval of ±50 % answers nothing
/// worth the processes), with or without its `%`.
fn parse_precision(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 50.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a percentage above 0 and at most 50 (e.g. 2.5 for ±2.5 %)"
        )),
    }
}

/// `--min-time`: from one microsecond (below it the nanosecond figure the calibration keeps
/// would round to nothing) to a minute. The message gives the range it checks, so `0` is not
/// told it lies outside "0 to 60".
fn parse_min_time(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1e-6..=60.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a duration in seconds from 0.000001 to 60 (the default is 0.02)"
        )),
    }
}
