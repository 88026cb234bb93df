//! `pybench fidelity --trace FILE`: does the engine, started from the recorded interpreter's
//! start-up state, end where the interpreter ended? A recording stores the interpreter's own
//! obmalloc accounting when the hook was installed and at the end of the program
//! ([`crate::trace::accounting`]); this seeds the engine preset of the recorded version with
//! phantom blocks up to the first report ([`Pymalloc::seed_from`]), replays the events up to
//! the second, and compares the figures: arenas, then pools and blocks in use per class.
//!
//! Frees of blocks the interpreter allocated before the hook have no slot in the trace; the
//! recording kept where they happened and, when the pool told, their size class. Each frees
//! a phantom of that class (the one in the pool with the most phantoms left: the start-up
//! pools are mostly full, so that is where such a block most likely sat). One whose class is
//! unknown frees nothing, and is counted: it is the tolerance of the blocks figures.
//!
//! Everything runs in this process: the real figures are in the trace, no libpython is
//! loaded.

use crate::alloc::DebugMallocStats;
use crate::pymalloc::{
    class_size, seeding_bytes, Geometry, Phantoms, Preset, Pymalloc, Seed, SeedClass, NUM_CLASSES,
};
use crate::trace::accounting::Figures;
use crate::trace::TraceReader;
use crate::workload::{Domain, Event, PyVersion};
use anyhow::{anyhow, Context as _};
use serde::Serialize;

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRow {
    pub what: String,
    pub engine: i64,
    pub cpython: i64,
    /// Allowed difference either way; `None` for a figure shown but not judged.
    pub tolerance: Option<i64>,
    pub flagged: bool,
}

impl TraceRow {
    /// Figures from a file may be anything: they saturate rather than wrap (a crafted
    /// `dropped` of 2^64 − 1 made the tolerance 0 without a word).
    fn judged(what: String, engine: usize, cpython: usize, tolerance: i64) -> Self {
        let signed = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        let (engine, cpython) = (signed(engine), signed(cpython));
        TraceRow {
            what,
            engine,
            cpython,
            tolerance: Some(tolerance),
            flagged: engine.abs_diff(cpython) > tolerance.unsigned_abs(),
        }
    }
}

/// How the frees of pre-hook blocks were applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PrehookApplied {
    /// Freed a phantom of their class.
    pub applied: u64,
    /// Class unknown: nothing freed.
    pub unknown_class: u64,
    /// Class known but no phantom of it left: nothing freed.
    pub no_phantom: u64,
    /// Beyond what the recording kept: nothing freed.
    pub dropped: u64,
}

impl PrehookApplied {
    /// Frees that could not be applied: blocks a figure may be off by.
    pub fn unapplied(&self) -> u64 {
        (self.unknown_class)
            .saturating_add(self.no_phantom)
            .saturating_add(self.dropped)
    }
}

/// What `fidelity --trace` found.
#[derive(Debug, Clone, Serialize)]
pub struct TraceFidelity {
    pub trace: String,
    pub python: String,
    pub preset: String,
    /// Events replayed: those before the end report.
    pub events: u64,
    pub trace_events: u64,
    /// The seeded engine against the start report (a check of the seeding).
    pub start: Vec<TraceRow>,
    /// The engine after the replay against the end report.
    pub rows: Vec<TraceRow>,
    pub prehook: PrehookApplied,
    pub flagged: usize,
}

/// The seed that reproduces a report: its arenas and, per class, pools and blocks in use.
pub fn seed_of(s: &DebugMallocStats) -> Seed {
    let mut seed = Seed {
        arenas: s.arenas_allocated_current,
        ..Seed::default()
    };
    for (c, k) in s.classes.iter().enumerate() {
        seed.classes[c] = SeedClass {
            pools: k.pools,
            blocks: k.blocks_in_use,
        };
    }
    seed
}

/// The engine preset of a recorded version (`3.11.7` → cpython-3.11).
fn preset_of(python: &str) -> anyhow::Result<Preset> {
    let version = PyVersion::of_release(python);
    version.and_then(|v| Preset::for_python(v.name())).ok_or_else(|| {
        anyhow!("the trace was recorded with Python {python:?}, which has no engine preset (3.8 … 3.13)")
    })
}

/// Seeds the engine of the recorded version (`name`: a trace file or `trace:NAME`), replays the trace to its end report and
/// compares. Errors (no accounting, an unreadable trace, a geometry the preset does not have)
/// are one line each.
pub fn measure(name: &str) -> anyhow::Result<TraceFidelity> {
    let path = &crate::trace::source::trace_path(name)?;
    let shown = path.display();
    let mut reader = TraceReader::open(path).with_context(|| format!("{shown}"))?;
    let end = reader.declared().cloned().unwrap_or_default();
    let Some(acc) = end.accounting.as_ref() else {
        anyhow::bail!(
            "{shown}: the trace carries no accounting of the recorded interpreter (generated, recorded by an older pybench, or recorded without pymalloc); record it again with `pybench record`"
        );
    };
    let fig = acc
        .figures(end.events)
        .map_err(|m| anyhow!("{shown}: {m}"))?;
    let meta = reader.meta().clone();
    let (preset, geometry) = replayable(&meta, &fig).map_err(|m| anyhow!("{shown}: {m}"))?;
    let (mut engine, mut phantoms) =
        seeded_engine(&fig, geometry).map_err(|m| anyhow!("{shown}: {m}"))?;
    let seeded = DebugMallocStats::from(&engine.stats());
    let mut prehook = acc.prehook_frees.iter().peekable();
    let mut applied = PrehookApplied {
        dropped: acc.prehook_frees.dropped,
        ..PrehookApplied::default()
    };
    let mut slots: Vec<*mut u8> = vec![std::ptr::null_mut(); end.slots as usize];
    let mut at = 0u64;
    let mut ended = false;
    while let Some(batch) = reader.next_batch().with_context(|| format!("{shown}"))? {
        // Past the end report the events are still read, not applied: reading is what checks
        // the rest of the file (each block's checksum and events, the end block's totals),
        // and a trace damaged there was judged as if whole, where every other command
        // refuses it.
        for ev in batch.iter().take_while(|_| !ended) {
            free_prehook(&mut prehook, at, &mut engine, &mut phantoms, &mut applied);
            if at == fig.end_event {
                ended = true;
                break;
            }
            // SAFETY: the reader checked liveness, so every slot freed or resized holds a
            // live block of this engine (or null for the RAW domain, which is skipped).
            unsafe { apply(&mut engine, &mut slots, ev) };
            at += 1;
        }
    }
    free_prehook(&mut prehook, at, &mut engine, &mut phantoms, &mut applied);
    let after = DebugMallocStats::from(&engine.stats());
    // The process ends soon: the replayed blocks and the phantoms are left to the OS.
    std::mem::forget(engine);
    let rows = end_rows(
        &seeded,
        &after,
        &fig,
        geometry,
        i64::try_from(applied.unapplied()).unwrap_or(i64::MAX),
    );
    Ok(TraceFidelity {
        trace: path.display().to_string(),
        python: meta.python.clone(),
        preset: preset.to_string(),
        events: at,
        trace_events: end.events,
        start: start_rows(&seeded, &fig),
        flagged: rows.iter().filter(|r| r.flagged).count(),
        rows,
        prehook: applied,
    })
}

/// The preset whose replay the trace's accounting can be held to, or why it cannot: recorded
/// under a debug allocator (whose padding is in the accounting), without the domains pymalloc
/// serves, with another geometry than its version's preset, or with the start accounting
/// taken after the first event.
fn replayable(meta: &crate::trace::Meta, fig: &Figures) -> anyhow::Result<(Preset, Geometry)> {
    if let Some(a) = meta.extra.get(crate::trace::record::ALLOCATORS_KEY) {
        let under = match a.as_str().unwrap_or("?") {
            "debug(dev-mode)" => "-X dev (Python's development mode)".to_string(),
            other => format!("PYTHONMALLOC={}", crate::trace::printable(other)),
        };
        anyhow::bail!(
            "recorded under {under}: the interpreter's accounting in it is that allocator's (debug hooks pad every block), not of the requests the engine replays; record it again without that"
        );
    }
    for d in ["mem", "obj"] {
        if !meta.domains.iter().any(|x| x == d) {
            anyhow::bail!("the trace lacks the `{d}` domain, which pymalloc serves; record it with `--domains obj,mem,raw`");
        }
    }
    let preset = preset_of(&meta.python)?;
    let geometry = preset.geometry();
    if (fig.start.arena_size, fig.start.pool_size) != (geometry.arena_size(), geometry.pool_size())
    {
        anyhow::bail!(
            "the recorded interpreter has {} B arenas and {} B pools, the {preset} preset {} and {}",
            fig.start.arena_size, fig.start.pool_size, geometry.arena_size(), geometry.pool_size()
        );
    }
    if fig.start_event != 0 {
        anyhow::bail!(
            "the start accounting was taken after event {}, not before the first",
            fig.start_event
        );
    }
    Ok((preset, geometry))
}

/// An engine holding the recorded start state, and the phantom blocks that stand for the
/// interpreter's own. Seeding maps and writes that state: a report claiming more than the
/// machine holds is refused in one line rather than left to the kernel's OOM killer.
fn seeded_engine(fig: &Figures, geometry: Geometry) -> anyhow::Result<(Pymalloc, Phantoms)> {
    let seed = seed_of(&fig.start);
    let mut engine = Pymalloc::new(geometry);
    engine
        .check_seed(&seed)
        .map_err(|e| anyhow!("the start accounting cannot be seeded: {e}"))?;
    let arena_bytes = (seed.arenas as u64).saturating_mul(geometry.arena_size() as u64);
    let bytes = arena_bytes.saturating_add(seeding_bytes(&seed, geometry));
    let what = format!("seeding the recorded start state of {} arenas", seed.arenas);
    crate::trace::limits::check_memory(bytes, &what).map_err(|m| anyhow!("{m}"))?;
    let phantoms = engine
        .seed_from(&seed)
        .map_err(|e| anyhow!("the start accounting cannot be seeded: {e}"))?;
    Ok((engine, phantoms))
}

/// Applies the pre-hook frees that happened before event `at`.
fn free_prehook(
    prehook: &mut std::iter::Peekable<impl Iterator<Item = (u64, Option<usize>)>>,
    at: u64,
    engine: &mut Pymalloc,
    phantoms: &mut Phantoms,
    applied: &mut PrehookApplied,
) {
    while let Some((_, class)) = prehook.next_if(|&(when, _)| when <= at) {
        match class.map(|c| phantoms.take(c)) {
            Some(Some(p)) => {
                // SAFETY: a live phantom of this engine, handed out once.
                unsafe { engine.free(p.as_ptr()) };
                applied.applied += 1;
            }
            Some(None) => applied.no_phantom += 1,
            None => applied.unknown_class += 1,
        }
    }
}

/// One event into the engine. RAW-domain blocks are the system allocator's in CPython, not
/// pymalloc's: their slots stay null and every later event on them is skipped.
///
/// # Safety
/// The stream is live-checked: frees and reallocs name live slots.
unsafe fn apply(engine: &mut Pymalloc, slots: &mut [*mut u8], ev: &Event) {
    match *ev {
        Event::Alloc {
            slot, size, domain, ..
        } => {
            slots[slot as usize] = if domain == Domain::Raw {
                std::ptr::null_mut()
            } else {
                engine.malloc(size as usize)
            };
        }
        Event::Calloc {
            slot,
            n,
            size,
            domain,
            ..
        } => {
            slots[slot as usize] = if domain == Domain::Raw {
                std::ptr::null_mut()
            } else {
                engine.calloc(n as usize, size as usize)
            };
        }
        Event::Realloc { slot, size, .. } => {
            let p = slots[slot as usize];
            if !p.is_null() {
                let q = engine.realloc(p, size as usize);
                if !q.is_null() {
                    slots[slot as usize] = q;
                }
            }
        }
        Event::Free { slot, .. } => {
            let p = std::mem::replace(&mut slots[slot as usize], std::ptr::null_mut());
            engine.free(p);
        }
        Event::Phase(_) | Event::Gc(_) => {}
    }
}

/// The seeded engine against the start report: exact by construction, but for arenas the
/// engine's own alignment may cost one.
fn start_rows(seeded: &DebugMallocStats, fig: &Figures) -> Vec<TraceRow> {
    let s = &fig.start;
    vec![
        TraceRow::judged(
            "arenas".into(),
            seeded.arenas_allocated_current,
            s.arenas_allocated_current,
            1,
        ),
        TraceRow::judged(
            "pools in use".into(),
            seeded.pools_in_use(),
            s.pools_in_use(),
            0,
        ),
        TraceRow::judged(
            "blocks in use".into(),
            seeded.blocks_in_use(),
            s.blocks_in_use(),
            0,
        ),
        TraceRow {
            what: "unused pools".into(),
            engine: seeded.unused_pools as i64,
            cpython: s.unused_pools as i64,
            tolerance: None,
            flagged: false,
        },
    ]
}

/// The end figures: arenas ±1, pools per class ±1, blocks per class within the pre-hook
/// frees that could not be applied; arenas mapped during the run are shown, not judged.
fn end_rows(
    seeded: &DebugMallocStats,
    after: &DebugMallocStats,
    fig: &Figures,
    g: Geometry,
    unapplied: i64,
) -> Vec<TraceRow> {
    let (s, e) = (&fig.start, &fig.end);
    let mut rows = vec![
        TraceRow::judged(
            "arenas".into(),
            after.arenas_allocated_current,
            e.arenas_allocated_current,
            1,
        ),
        TraceRow {
            what: "arenas mapped".into(),
            engine: (after.arenas_allocated_total - seeded.arenas_allocated_total) as i64,
            cpython: e.arenas_allocated_total as i64 - s.arenas_allocated_total as i64,
            tolerance: None,
            flagged: false,
        },
    ];
    for c in 0..NUM_CLASSES {
        let (a, r) = (after.class(c), e.class(c));
        if a.pools == 0 && r.pools == 0 {
            continue;
        }
        let size = class_size(c);
        debug_assert!(g.blocks_per_pool(c) > 0);
        rows.push(TraceRow::judged(
            format!("pools {size:>3} B"),
            a.pools,
            r.pools,
            1,
        ));
        rows.push(TraceRow::judged(
            format!("blocks {size:>3} B"),
            a.blocks_in_use,
            r.blocks_in_use,
            unapplied,
        ));
    }
    rows
}

/// The largest pool difference over the classes, with its class size: the "worst class" of
/// docs/fidelity.md's table of the shipped traces.
pub fn worst_class(rows: &[TraceRow]) -> Option<(String, i64)> {
    rows.iter()
        .filter(|r| r.what.starts_with("pools"))
        .map(|r| {
            (
                r.what.trim_start_matches("pools").trim().to_string(),
                r.engine - r.cpython,
            )
        })
        .max_by_key(|(_, d)| d.abs())
}
