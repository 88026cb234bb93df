//! The replay loop (design.md §3): events applied to an allocator through a pre-allocated
//! slot table. Nothing inside the loop allocates from any heap: the slot table, histograms and
//! RSS series are sized before it starts.
//!
//! The loop is generic over the allocator so that each allocator's calls inline as far as they
//! can (the engine's fast path fully; C allocators up to their exported function).

use crate::alloc::{Allocator, SystemAllocator};
use crate::harness::timer::Timer;
use crate::workload::{Domain, Event};

mod passes;
pub use passes::{timed_pass, untimed_pass, Events, Latencies, UntimedPass};

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
        let (p, ticks) = timed::<TIMED, _>(timer, || {
            if raw {
                self.system.malloc(size as usize)
            } else {
                self.alloc.malloc(size as usize)
            }
        });
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
        let (p, ticks) = timed::<TIMED, _>(timer, || {
            if raw {
                self.system.calloc(n as usize, size as usize)
            } else {
                self.alloc.calloc(n as usize, size as usize)
            }
        });
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
        // SAFETY: a well-formed stream reallocs only live slots.
        let (p, ticks) = timed::<TIMED, _>(timer, || unsafe {
            if old.raw() {
                self.system.realloc(old.ptr, size as usize)
            } else {
                self.alloc.realloc(old.ptr, size as usize)
            }
        });
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
        // SAFETY: a well-formed stream frees only live slots.
        let ((), ticks) = timed::<TIMED, _>(timer, || unsafe {
            if old.raw() {
                self.system.free(old.ptr)
            } else {
                self.alloc.free(old.ptr)
            }
        });
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

/// Runs `call`, and with `TIMED` reads the clock on both sides of it alone: the ticks it took
/// (0 untimed, where no clock is read).
#[inline(always)]
fn timed<const TIMED: bool, R>(timer: &Timer, call: impl FnOnce() -> R) -> (R, u64) {
    let t0 = if TIMED { timer.now() } else { 0 };
    let r = call();
    let ticks = if TIMED { timer.now() - t0 } else { 0 };
    (r, ticks)
}
