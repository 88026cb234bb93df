//! The real obmalloc's arenas through an arena allocator of pybench's own, installed with
//! `PyObject_SetArenaAllocator` (CPython's public hook for where arenas come from, present in
//! every supported version), so the harness's cleanup between throughput passes can hold the
//! arenas it empties as it does the engine's (`sys/parked.rs` says why). Outside that cleanup
//! it does what CPython's default (`_PyObject_ArenaMmap` / `_PyObject_ArenaMunmap`) does —
//! one private anonymous mapping an arena, its pages returned when obmalloc frees it — but
//! side by side in a span of address space of their own, as the engine's arenas are
//! (`sys/arena_region.rs` says why).

use crate::sys::arena_region::ArenaRegion;
use crate::sys::parked::Parked;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Mutex;

/// CPython's `PyObjectArenaAllocator` (Include/cpython/objimpl.h): a context and the two
/// calls obmalloc makes for an arena.
#[repr(C)]
pub(super) struct ArenaAllocator {
    ctx: *mut c_void,
    alloc: extern "C" fn(*mut c_void, usize) -> *mut c_void,
    free: extern "C" fn(*mut c_void, *mut c_void, usize),
}

/// `PyObject_SetArenaAllocator`, which copies the struct it is given.
pub(super) type SetArenaAllocatorFn = unsafe extern "C" fn(*mut ArenaAllocator);

/// The process's held arenas (one interpreter per process: `CpythonAllocator::load`).
static PARKED: Mutex<Parked> = Mutex::new(Parked::new());

/// The address space the process's obmalloc arenas are mapped into, side by side as the
/// engine's are (`sys/arena_region.rs`), so the two are measured alike.
static REGION: Mutex<ArenaRegion> = Mutex::new(ArenaRegion::new());

fn parked() -> std::sync::MutexGuard<'static, Parked> {
    PARKED.lock().unwrap_or_else(|e| e.into_inner())
}

fn region() -> std::sync::MutexGuard<'static, ArenaRegion> {
    REGION.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn arena_alloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
    let p = parked().take(size).or_else(|| region().map(size));
    p.map_or(std::ptr::null_mut(), |p| p.as_ptr().cast())
}

extern "C" fn arena_free(_ctx: *mut c_void, ptr: *mut c_void, size: usize) {
    if let Some(p) = NonNull::new(ptr.cast::<u8>()) {
        // SAFETY: obmalloc frees an arena once, with the size it was allocated with, and
        // uses it no more; arenas made before `install` came from an mmap of that size too.
        unsafe { parked().release(p, size, &mut region()) };
    }
}

/// Makes obmalloc take its arenas from this module from now on.
///
/// # Safety
/// `set` is the loaded interpreter's `PyObject_SetArenaAllocator`, called before the
/// interpreter starts or with the GIL held.
pub(super) unsafe fn install(set: SetArenaAllocatorFn) {
    let mut a = ArenaAllocator {
        ctx: std::ptr::null_mut(),
        alloc: arena_alloc,
        free: arena_free,
    };
    set(&mut a);
}

/// Holds (or stops holding) the arenas obmalloc frees; see `Allocator::hold_releases`.
pub(super) fn hold(on: bool) {
    parked().holding = on;
}
