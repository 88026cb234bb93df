//! The replay loop (design.md §3): events applied to an allocator through a pre-allocated
//! slot table. Nothing inside the loop allocates from any heap: the slot table, histograms and
//! RSS series are sized before it starts.
//!
//! The loop is generic over the allocator so that each allocator's calls inline as far as they
//! can (the engine's fast path fully; C allocators up to their exported function).

use crate::alloc::{Allocator, SystemAllocator};
use crate::harness::feed::Feed;
use crate::harness::timer::Timer;
use crate::sys::procfs::RssReader;
use crate::workload::{Domain, Event};
use hdrhistogram::Histogram;

/// How much of each new block the replay writes, as a Python object would be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Touch {
    /// Nothing: measures the allocator alone, but hides first-touch page faults.
    None,
    /// The first 16 bytes (refcount and type pointer), as every object is initialised.
    #[default]
    Header,
    /// Every requested byte (and the grown part after realloc).
    Full,
}

impl std::str::FromStr for Touch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Touch::None),
            "header" => Ok(Touch::Header),
            "full" => Ok(Touch::Full),
            _ => Err(format!(
                "unknown touch policy `{s}`; valid: none, header, full"
            )),
        }
    }
}

impl Touch {
    pub fn name(self) -> &'static str {
        match self {
            Touch::None => "none",
            Touch::Header => "header",
            Touch::Full => "full",
        }
    }
}

/// Operation kinds with their own latency histogram.
pub const OP_NAMES: [&str; 4] = ["malloc", "calloc", "realloc", "free"];
const MALLOC: usize = 0;
const CALLOC: usize = 1;
const REALLOC: usize = 2;
const FREE: usize = 3;

/// A replay failure that ends the cell (the process itself survives).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the allocator returned NULL for {op} of {bytes} bytes at event {index}")]
    OutOfMemory {
        op: &'static str,
        bytes: u64,
        index: u64,
    },
    /// A streamed source failed mid-pass (a read error, a malformed event).
    #[error("reading the stream: {0}")]
    Source(String),
    /// The clock that times a pass does not advance, so no figure can be taken.
    #[error("timing a pass: {0}")]
    Clock(String),
}

/// One live block: its address, requested size, and whether the system allocator holds it.
/// 16 bytes, so every event touches a single slot-table entry.
#[derive(Clone, Copy)]
struct Slot {
    ptr: *mut u8,
    /// Requested bytes in the low 63 bits; the top bit marks a RAW block held by glibc.
    meta: u64,
}

const RAW_BIT: u64 = 1 << 63;

impl Slot {
    const EMPTY: Slot = Slot {
        ptr: std::ptr::null_mut(),
        meta: 0,
    };

    #[inline(always)]
    fn new(ptr: *mut u8, size: u64, raw: bool) -> Self {
        Slot {
            ptr,
            meta: size | if raw { RAW_BIT } else { 0 },
        }
    }

    #[inline(always)]
    fn size(self) -> u64 {
        self.meta & !RAW_BIT
    }

    #[inline(always)]
    fn raw(self) -> bool {
        self.meta & RAW_BIT != 0
    }
}

/// The replay's view of the process: where every live block is. It is what the memory pass
/// and the latency passes of `run` replay through, and what a library user replays a trace
/// or a workload with, instead of keeping a slot table by hand (the crate root's example):
/// slot numbers index its table, RAW-domain events can go to the system allocator as
/// CPython sends them, and each new block is written as `touch` says.
///
/// ```
/// use pybench::alloc::PymallocAllocator;
/// use pybench::harness::{replay::{Replayer, Touch}, timer::Timer};
/// use pybench::pymalloc::Preset;
/// use pybench::trace::source::Source;
/// use pybench::workload::Overrides;
///
/// // A built-in workload, small; `Source::load("trace:pip_list")` or a .pbt path alike.
/// let small = Overrides { scale: Some(20_000), ..Overrides::default() };
/// let events = Source::load("dicts")?.materialize(small)?;
/// let mut engine = PymallocAllocator::from_preset(Preset::Cpython311);
/// let timer = Timer::calibrate();
/// let mut replay = Replayer::new(&mut engine, events.slots, true, Touch::Header);
/// for (index, event) in events.events.iter().enumerate() {
///     replay.apply::<false>(event, &timer, index as u64)?; // untimed: no clock read
/// }
/// assert!(replay.peak_live_bytes > 0);
/// replay.free_all(); // the end of a pass: every block still live is freed
/// assert_eq!(replay.live_bytes, 0);
/// // CPython 3.9+ keeps one wholly free arena rather than unmapping it.
/// assert!(engine.engine().stats().arenas_allocated_current <= 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Replayer<'a, A: Allocator> {
    alloc: &'a mut A,
    system: SystemAllocator,
    /// Send RAW-domain events to the system allocator, as CPython does when pymalloc serves
    /// the MEM and OBJ domains.
    raw_to_system: bool,
    touch: Touch,
    slots: Vec<Slot>,
    /// Requested bytes live now, and the most ever.
    pub live_bytes: u64,
    pub peak_live_bytes: u64,
}

impl<'a, A: Allocator> Replayer<'a, A> {
    /// A replay into `alloc` with a table of `slots` slots (the most slot numbers the
    /// events use: a trace's end block or a workload stream says how many). With
    /// `raw_to_system`, RAW-domain events go to the system allocator, as CPython's
    /// `PyMem_RawMalloc` does whatever serves the other domains.
    pub fn new(alloc: &'a mut A, slots: usize, raw_to_system: bool, touch: Touch) -> Self {
        Replayer {
            alloc,
            system: SystemAllocator,
            raw_to_system,
            touch,
            slots: vec![Slot::EMPTY; slots],
            live_bytes: 0,
            peak_live_bytes: 0,
        }
    }

    /// The allocator under test.
    pub fn allocator(&mut self) -> &mut A {
        self.alloc
    }

    #[inline(always)]
    fn write_new(&self, p: *mut u8, from: u64, to: u64) {
        let (from, to) = (from as usize, to as usize);
        match self.touch {
            Touch::None => {}
            // SAFETY: the block holds at least `to` bytes.
            Touch::Header => unsafe {
                if from == 0 && to >= 16 {
                    // The common case, as two plain stores rather than a memset call.
                    p.cast::<[u64; 2]>()
                        .write_unaligned([0xA5A5_A5A5_A5A5_A5A5; 2]);
                } else {
                    let n = to.min(16);
                    if n > from {
                        std::ptr::write_bytes(p.add(from), 0xA5, n - from)
                    }
                }
            },
            // SAFETY: as above.
            Touch::Full => unsafe {
                if to > from {
                    std::ptr::write_bytes(p.add(from), 0xA5, to - from)
                }
            },
        }
    }

    #[inline(always)]
    fn account(&mut self, add: u64, remove: u64) {
        self.live_bytes = self.live_bytes + add - remove;
        if self.live_bytes > self.peak_live_bytes {
            self.peak_live_bytes = self.live_bytes;
        }
    }

    /// Applies one event; `clock` brackets only the allocator call. Returns the op kind index
    /// and the ticks it took (0 when `TIMED` is false), or `None` for a marker.
    #[inline(always)]
    pub fn apply<const TIMED: bool>(
        &mut self,
        ev: &Event,
        timer: &Timer,
        index: u64,
    ) -> Result<Option<(usize, u64)>, ReplayError> {
        let oom = |op, bytes| ReplayError::OutOfMemory { op, bytes, index };
        let done = match *ev {
            Event::Alloc {
                slot, size, domain, ..
            } => self
                .malloc::<TIMED>(slot, size, domain, timer)
                .ok_or_else(|| oom("malloc", size as u64))?,
            Event::Calloc {
                slot,
                n,
                size,
                domain,
                ..
            } => self
                .calloc::<TIMED>(slot, n, size, domain, timer)
                .ok_or_else(|| oom("calloc", n as u64 * size as u64))?,
            Event::Realloc { slot, size, .. } => self
                .realloc::<TIMED>(slot, size, timer)
                .ok_or_else(|| oom("realloc", size as u64))?,
            Event::Free { slot, .. } => self.free::<TIMED>(slot, timer),
            Event::Phase(_) | Event::Gc(_) => return Ok(None),
        };
        Ok(Some(done))
    }

    /// [`Self::apply`]'s malloc: the op kind and its ticks, or None when it failed.
    #[inline(always)]
    fn malloc<const TIMED: bool>(
        &mut self,
        slot: u32,
        size: u32,
        domain: Domain,
        timer: &Timer,
    ) -> Option<(usize, u64)> {
        let raw = self.raw_to_system && domain == Domain::Raw;
        let t0 = if TIMED { timer.now() } else { 0 };
        let p = if raw {
            self.system.malloc(size as usize)
        } else {
            self.alloc.malloc(size as usize)
        };
        let ticks = if TIMED { timer.now() - t0 } else { 0 };
        if p.is_null() {
            return None;
        }
        self.write_new(p, 0, size as u64);
        self.slots[slot as usize] = Slot::new(p, size as u64, raw);
        self.account(size as u64, 0);
        Some((MALLOC, ticks))
    }

    /// [`Self::apply`]'s calloc of `n` elements of `size` bytes.
    #[inline(always)]
    fn calloc<const TIMED: bool>(
        &mut self,
        slot: u32,
        n: u32,
        size: u32,
        domain: Domain,
        timer: &Timer,
    ) -> Option<(usize, u64)> {
        let raw = self.raw_to_system && domain == Domain::Raw;
        let bytes = n as u64 * size as u64;
        let t0 = if TIMED { timer.now() } else { 0 };
        let p = if raw {
            self.system.calloc(n as usize, size as usize)
        } else {
            self.alloc.calloc(n as usize, size as usize)
        };
        let ticks = if TIMED { timer.now() - t0 } else { 0 };
        if p.is_null() {
            return None;
        }
        // calloc already zeroed the block; the object header is still written.
        if self.touch != Touch::None {
            self.write_new(p, 0, bytes.min(16));
        }
        self.slots[slot as usize] = Slot::new(p, bytes, raw);
        self.account(bytes, 0);
        Some((CALLOC, ticks))
    }

    /// [`Self::apply`]'s realloc: the block stays in the domain it was allocated in.
    #[inline(always)]
    fn realloc<const TIMED: bool>(
        &mut self,
        slot: u32,
        size: u32,
        timer: &Timer,
    ) -> Option<(usize, u64)> {
        let old = self.slots[slot as usize];
        let old_size = old.size();
        let t0 = if TIMED { timer.now() } else { 0 };
        // SAFETY: a well-formed stream reallocs only live slots.
        let p = unsafe {
            if old.raw() {
                self.system.realloc(old.ptr, size as usize)
            } else {
                self.alloc.realloc(old.ptr, size as usize)
            }
        };
        let ticks = if TIMED { timer.now() - t0 } else { 0 };
        if p.is_null() {
            return None;
        }
        self.write_new(p, old_size, size as u64);
        self.slots[slot as usize] = Slot::new(p, size as u64, old.raw());
        self.account(size as u64, old_size);
        Some((REALLOC, ticks))
    }

    /// [`Self::apply`]'s free (cannot fail).
    #[inline(always)]
    fn free<const TIMED: bool>(&mut self, slot: u32, timer: &Timer) -> (usize, u64) {
        let old = std::mem::replace(&mut self.slots[slot as usize], Slot::EMPTY);
        let t0 = if TIMED { timer.now() } else { 0 };
        // SAFETY: a well-formed stream frees only live slots.
        unsafe {
            if old.raw() {
                self.system.free(old.ptr)
            } else {
                self.alloc.free(old.ptr)
            }
        }
        let ticks = if TIMED { timer.now() - t0 } else { 0 };
        self.account(0, old.size());
        (FREE, ticks)
    }

    /// Frees every live block (the end of a pass), returning how many there were.
    pub fn free_all(&mut self) -> usize {
        let mut n = 0;
        for i in 0..self.slots.len() {
            let old = std::mem::replace(&mut self.slots[i], Slot::EMPTY);
            if old.ptr.is_null() {
                continue;
            }
            // SAFETY: every non-null slot is live.
            unsafe {
                if old.raw() {
                    self.system.free(old.ptr)
                } else {
                    self.alloc.free(old.ptr)
                }
            }
            n += 1;
        }
        self.live_bytes = 0;
        n
    }
}

/// What the untimed pass measured.
#[derive(Debug, Clone, Default)]
pub struct UntimedPass {
    pub ops: u64,
    pub elapsed_ns: u64,
    pub peak_live_bytes: u64,
    pub baseline_rss: u64,
    pub peak_rss: u64,
    pub final_rss: u64,
    /// (ops done, RSS − baseline).
    pub rss_series: Vec<(u64, u64)>,
}

/// A pass's events: all in memory, or streamed chunk by chunk from a [`Feed`].
pub enum Events<'a> {
    Slice(&'a [Event]),
    Feed(&'a mut Feed),
}

impl Events<'_> {
    /// Calls `f` on each chunk of one pass with the index of its first event. Waiting for a
    /// streamed chunk happens between calls, never inside one.
    pub fn each_chunk(
        &mut self,
        mut f: impl FnMut(&[Event], u64) -> Result<(), ReplayError>,
    ) -> Result<(), ReplayError> {
        match self {
            Events::Slice(e) => f(e, 0),
            Events::Feed(feed) => {
                feed.begin().map_err(ReplayError::Source)?;
                while let Some(c) = feed.next_chunk().map_err(ReplayError::Source)? {
                    let r = f(&c.events, c.first);
                    feed.give_back(c);
                    r?;
                }
                Ok(())
            }
        }
    }
}

/// Replays `events` (`total` of them, for sizing the RSS series) without timing individual
/// operations: memory. RSS is read every `rss_every` allocator events and at phase markers;
/// the baseline when the first chunk is in hand (a streamed source's read-ahead buffers
/// are then in place, so they count as baseline, not as the allocator's).
pub fn untimed_pass<A: Allocator>(
    r: &mut Replayer<'_, A>,
    events: &mut Events<'_>,
    total: u64,
    rss: &RssReader,
    rss_every: u64,
    timer: &Timer,
) -> Result<UntimedPass, ReplayError> {
    let mut out = UntimedPass {
        rss_series: Vec::with_capacity(1100 + (total / rss_every.max(1)) as usize),
        ..UntimedPass::default()
    };
    let sample = |ops: u64, out: &mut UntimedPass| {
        let now = rss.read().unwrap_or(0);
        out.peak_rss = out.peak_rss.max(now);
        if out.rss_series.len() < out.rss_series.capacity() {
            out.rss_series
                .push((ops, now.saturating_sub(out.baseline_rss)));
        }
    };
    let mut next_sample = rss_every;
    let mut started = false;
    let start = std::time::Instant::now();
    events.each_chunk(|chunk, first| {
        if !started {
            started = true;
            out.baseline_rss = rss.read().unwrap_or(0);
            out.peak_rss = out.baseline_rss;
        }
        for (i, ev) in chunk.iter().enumerate() {
            match r.apply::<false>(ev, timer, first + i as u64)? {
                Some(_) => {
                    out.ops += 1;
                    if out.ops == next_sample {
                        next_sample += rss_every;
                        sample(out.ops, &mut out);
                    }
                }
                None => {
                    if matches!(ev, Event::Phase(_) | Event::Gc(2)) {
                        sample(out.ops, &mut out);
                    }
                }
            }
        }
        Ok(())
    })?;
    out.elapsed_ns = start.elapsed().as_nanos() as u64;
    if !started {
        out.baseline_rss = rss.read().unwrap_or(0);
        out.peak_rss = out.baseline_rss;
    }
    sample(out.ops, &mut out);
    out.final_rss = out
        .rss_series
        .last()
        .map_or(out.baseline_rss, |s| s.1 + out.baseline_rss);
    out.peak_live_bytes = r.peak_live_bytes;
    Ok(out)
}

/// Latency histograms (in timer ticks) per operation kind.
pub struct Latencies {
    pub per_op: Vec<Histogram<u64>>,
    pub timed_ops: u64,
}

impl Latencies {
    pub fn new() -> Self {
        // 1 tick … 10¹¹ ticks (~30 s at 3 GHz), 3 significant digits; sized up front so
        // recording never allocates.
        let h = || Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid bounds");
        Latencies {
            per_op: (0..OP_NAMES.len()).map(|_| h()).collect(),
            timed_ops: 0,
        }
    }

    /// All kinds merged.
    pub fn all(&self) -> Histogram<u64> {
        let mut all = self.per_op[0].clone();
        for h in &self.per_op[1..] {
            all.add(h).expect("same bounds");
        }
        all
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

/// Replays `events` timing one operation in `sample_every` with the timer.
pub fn timed_pass<A: Allocator>(
    r: &mut Replayer<'_, A>,
    events: &mut Events<'_>,
    timer: &Timer,
    sample_every: u64,
    lat: &mut Latencies,
) -> Result<(), ReplayError> {
    let mut countdown = sample_every.max(1);
    events.each_chunk(|chunk, first| {
        for (i, ev) in chunk.iter().enumerate() {
            let index = first + i as u64;
            countdown -= 1;
            if countdown == 0 {
                countdown = sample_every.max(1);
                if let Some((op, ticks)) = r.apply::<true>(ev, timer, index)? {
                    lat.per_op[op].saturating_record(ticks.max(1));
                    lat.timed_ops += 1;
                }
            } else {
                r.apply::<false>(ev, timer, index)?;
            }
        }
        Ok(())
    })
}
