//! pybench's pymalloc engine inside a real CPython (`pybench exec -a pymalloc:PRESET`).
//!
//! This file is also compiled into `libpybench_engine.so` (`preload/engine`, with the
//! engine's sources and nothing else of pybench). [`install`] puts the engine behind the MEM
//! and OBJ domains with `PyMem_SetAllocator`: normally from the library's constructor, before
//! the interpreter's start-up, so that it serves every small block as obmalloc would; when
//! the library was not preloaded, from its module's import, after start-up, so blocks the
//! interpreter allocated before the hook stay live (`engine_module.rs`). The hook therefore
//! routes every call by ownership, as obmalloc itself does for raw blocks (pymalloc.md §4):
//!
//! - requests of 1–512 bytes are served by the engine's pools;
//! - 0-byte and larger requests go to the interpreter's own allocator, which hands them to
//!   `PyMem_RawMalloc` exactly as CPython's pymalloc would (and stays consistent with debug
//!   hooks, which expect their own headers on every block they free);
//! - `free`/`realloc` of a block the engine owns (its ownership map, which never reads
//!   foreign memory) stay in the engine; any other block — a large one passed on, or one from
//!   before a late hook — goes back to the interpreter's allocator.
//!
//! No lock: CPython requires the GIL to be held for every MEM and OBJ call (C API docs,
//! "Memory Management": "the GIL must be held when using these functions"), which is the
//! lock obmalloc itself relies on; before start-up the process is single threaded.

use super::engine_raw::Counters;
use crate::pymalloc::{Geometry, Pymalloc, SMALL_REQUEST_THRESHOLD};
use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void, CStr};
use std::mem::MaybeUninit;
use std::ptr;

/// CPython's `PyMemAllocatorEx` (stable layout since 3.5).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PyMemAllocatorEx {
    pub ctx: *mut c_void,
    pub malloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
    pub calloc: unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void,
    pub realloc: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void,
    pub free: unsafe extern "C" fn(*mut c_void, *mut c_void),
}

/// `PYMEM_DOMAIN_MEM` and `PYMEM_DOMAIN_OBJ` (pymem.h).
const DOMAINS: [c_int; 2] = [1, 2];

/// The engine and the interpreter's own allocators it falls back on.
pub struct Hook {
    pub engine: Pymalloc,
    /// The allocators the hook replaced: `[MEM, OBJ]`.
    pub orig: [PyMemAllocatorEx; 2],
    /// Requests passed to the interpreter's allocator (0 bytes, > 512 bytes).
    pub passed_on: u64,
    /// Frees and reallocs of blocks the engine does not own (from before the hook, or
    /// passed on).
    pub foreign: u64,
    /// When it was installed.
    pub moment: Moment,
}

impl Hook {
    fn orig(&self, ctx: *mut c_void) -> &PyMemAllocatorEx {
        &self.orig[(ctx as usize) & 1]
    }

    /// # Safety
    /// As `PyObject_Malloc`; `ctx` is 0 (MEM) or 1 (OBJ).
    pub unsafe fn malloc(&mut self, ctx: *mut c_void, n: usize) -> *mut c_void {
        if n.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
            let p = self.engine.alloc_small((n - 1) >> 4);
            if !p.is_null() {
                return p.cast();
            }
        }
        self.passed_on += 1;
        let o = self.orig(ctx);
        (o.malloc)(o.ctx, n)
    }

    /// # Safety
    /// As `PyObject_Calloc`.
    pub unsafe fn calloc(&mut self, ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
        if let Some(n) = nelem.checked_mul(elsize) {
            if n.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
                let p = self.engine.alloc_small((n - 1) >> 4);
                if !p.is_null() {
                    ptr::write_bytes(p, 0, n);
                    return p.cast();
                }
            }
        }
        self.passed_on += 1;
        let o = self.orig(ctx);
        (o.calloc)(o.ctx, nelem, elsize)
    }

    /// # Safety
    /// As `PyObject_Realloc`.
    pub unsafe fn realloc(&mut self, ctx: *mut c_void, p: *mut c_void, n: usize) -> *mut c_void {
        if p.is_null() {
            return self.malloc(ctx, n);
        }
        let Some(size) = self.engine.owned_block_size(p.cast()) else {
            self.foreign += 1;
            let o = self.orig(ctx);
            return (o.realloc)(o.ctx, p, n);
        };
        if n.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
            return self.engine.realloc(p.cast(), n).cast();
        }
        // Leaving the small range: as pymalloc does, a new block from the general path, the
        // contents copied, the old block freed.
        let q = self.malloc(ctx, n);
        if !q.is_null() {
            ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), size.min(n));
            self.engine.free_small(p.cast());
        }
        q
    }

    /// # Safety
    /// As `PyObject_Free`.
    pub unsafe fn free(&mut self, ctx: *mut c_void, p: *mut c_void) {
        if self.engine.owns(p.cast()) {
            self.engine.free_small(p.cast());
        } else if !p.is_null() {
            self.foreign += 1;
            let o = self.orig(ctx);
            (o.free)(o.ctx, p);
        }
    }

    /// The hook's counters.
    pub fn counters(&self) -> Counters {
        Counters {
            moment: self.moment,
            passed_on: self.passed_on,
            foreign: self.foreign,
        }
    }

    /// The accounting in `sys._debugmallocstats()`'s layout, and the hook's own counters.
    pub fn report(&self) -> String {
        super::engine_raw::text(&self.engine.stats(), &self.counters())
    }

    /// Writes the accounting as numbers ([`super::engine_raw`]) to the NUL-terminated `path`
    /// with `open`/`write` only, so no formatting code enters the interpreter's RSS.
    /// Returns false when the file cannot be written.
    ///
    /// # Safety
    /// `path` is NUL-terminated.
    pub unsafe fn write_raw(&self, path: &[u8]) -> bool {
        use super::engine_raw::{encode, render, LEN};
        let mut buf = [0u8; 21 * LEN + 16];
        let Some(len) = render(&encode(&self.engine.stats(), &self.counters()), &mut buf) else {
            return false;
        };
        let fd = libc::open(
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o600,
        );
        if fd < 0 {
            return false;
        }
        let mut done = 0;
        while done < len {
            let n = libc::write(fd, buf[done..len].as_ptr().cast(), len - done);
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        libc::close(fd) == 0 && done == len
    }
}

/// The one hook of this process. Only touched with the GIL held (see the module docs).
struct GilCell(UnsafeCell<MaybeUninit<Hook>>, UnsafeCell<bool>);

// SAFETY: every access happens under CPython's GIL, which serialises them.
unsafe impl Sync for GilCell {}

static HOOK: GilCell = GilCell(
    UnsafeCell::new(MaybeUninit::uninit()),
    UnsafeCell::new(false),
);

/// # Safety
/// The hook is installed and the GIL is held.
#[inline(always)]
unsafe fn hook() -> &'static mut Hook {
    (*HOOK.0.get()).assume_init_mut()
}

unsafe extern "C" fn h_malloc(ctx: *mut c_void, n: usize) -> *mut c_void {
    hook().malloc(ctx, n)
}
unsafe extern "C" fn h_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    hook().calloc(ctx, nelem, elsize)
}
unsafe extern "C" fn h_realloc(ctx: *mut c_void, p: *mut c_void, n: usize) -> *mut c_void {
    hook().realloc(ctx, p, n)
}
unsafe extern "C" fn h_free(ctx: *mut c_void, p: *mut c_void) {
    hook().free(ctx, p)
}

type AllocatorFn = unsafe extern "C" fn(c_int, *mut PyMemAllocatorEx);

/// Resolves a symbol of the interpreter (libpython or the executable) in this process.
pub(crate) unsafe fn python_symbol(name: &CStr) -> *mut c_void {
    libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr())
}

/// Resolves a CPython API function in this process.
unsafe fn python_api(name: &CStr) -> Option<AllocatorFn> {
    let f = python_symbol(name);
    (!f.is_null()).then(|| std::mem::transmute::<*mut c_void, AllocatorFn>(f))
}

/// When the hook went in: before CPython's start-up (from the library's constructor, so the
/// engine serves every MEM and OBJ block, as obmalloc does) or after it (from the module's
/// import, so blocks of the start-up stay with the interpreter's own allocator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    BeforeStartup,
    AfterStartup,
}

/// Why the hook could not be installed; the numbers are what `status` shows in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// This process has no `PyMem_SetAllocator` (not CPython).
    NotCpython = -1,
    /// Installed already.
    Twice = -2,
    /// The geometry cannot serve (see `Geometry::custom`).
    Geometry = -3,
}

/// Installs the engine with `geometry` on the MEM and OBJ domains, remembering `moment`.
///
/// # Safety
/// Called with the GIL held, or before CPython's start-up (single threaded, and CPython
/// allows `PyMem_SetAllocator` before `Py_Initialize`: C API docs, "Customize Memory
/// Allocators").
pub unsafe fn install(
    arena: usize,
    pool: usize,
    keep_spare: bool,
    moment: Moment,
) -> Result<(), InstallError> {
    let (Some(get), Some(set)) = (
        python_api(c"PyMem_GetAllocator"),
        python_api(c"PyMem_SetAllocator"),
    ) else {
        return Err(InstallError::NotCpython);
    };
    if *HOOK.1.get() {
        return Err(InstallError::Twice);
    }
    let geometry = Geometry::custom(arena, pool, keep_spare).map_err(|_| InstallError::Geometry)?;
    let mut orig = [MaybeUninit::<PyMemAllocatorEx>::uninit(); 2];
    for (o, d) in orig.iter_mut().zip(DOMAINS) {
        get(d, o.as_mut_ptr());
    }
    (*HOOK.0.get()).write(Hook {
        engine: Pymalloc::new(geometry),
        orig: orig.map(|o| o.assume_init()),
        passed_on: 0,
        foreign: 0,
        moment,
    });
    *HOOK.1.get() = true;
    for (i, d) in DOMAINS.into_iter().enumerate() {
        let mut ours = PyMemAllocatorEx {
            ctx: i as *mut c_void,
            malloc: h_malloc,
            calloc: h_calloc,
            realloc: h_realloc,
            free: h_free,
        };
        set(d, &mut ours);
    }
    Ok(())
}

/// When the hook was installed, or `None` if it was not.
///
/// # Safety
/// The GIL is held (or the process is single threaded).
pub unsafe fn installed() -> Option<Moment> {
    (*HOOK.1.get()).then(|| hook().moment)
}

/// True when both domains still call the engine: the interpreter replaces its allocators
/// during start-up when asked to (`-X dev`, `PYTHONMALLOC=debug`), which would silently undo
/// a hook installed before it.
///
/// # Safety
/// As [`installed`].
pub unsafe fn in_effect() -> bool {
    let Some(get) = python_api(c"PyMem_GetAllocator") else {
        return false;
    };
    (*HOOK.1.get())
        && DOMAINS.into_iter().all(|d| {
            let mut now = MaybeUninit::<PyMemAllocatorEx>::uninit();
            get(d, now.as_mut_ptr());
            now.assume_init().malloc as *const () == h_malloc as *const ()
        })
}

/// Writes the engine's accounting as numbers to the NUL-terminated `path`
/// ([`Hook::write_raw`]); false when the hook is not installed or the file cannot be written.
///
/// # Safety
/// The GIL is held; `path` is NUL-terminated.
pub unsafe fn write_report(path: &[u8]) -> bool {
    (*HOOK.1.get()) && hook().write_raw(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pymalloc::Preset;
    use std::cell::RefCell;

    thread_local! {
        /// What the stand-in for the interpreter's allocator was asked to do.
        static CALLS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }
    fn log(what: &'static str) {
        CALLS.with(|c| c.borrow_mut().push(what));
    }
    unsafe extern "C" fn o_malloc(_: *mut c_void, n: usize) -> *mut c_void {
        log("malloc");
        libc::malloc(n.max(1))
    }
    unsafe extern "C" fn o_calloc(_: *mut c_void, a: usize, b: usize) -> *mut c_void {
        log("calloc");
        libc::calloc(a.max(1), b.max(1))
    }
    unsafe extern "C" fn o_realloc(_: *mut c_void, p: *mut c_void, n: usize) -> *mut c_void {
        log("realloc");
        libc::realloc(p, n.max(1))
    }
    unsafe extern "C" fn o_free(_: *mut c_void, p: *mut c_void) {
        log("free");
        libc::free(p)
    }

    fn hook() -> Hook {
        let o = PyMemAllocatorEx {
            ctx: ptr::null_mut(),
            malloc: o_malloc,
            calloc: o_calloc,
            realloc: o_realloc,
            free: o_free,
        };
        CALLS.with(|c| c.borrow_mut().clear());
        Hook {
            engine: Pymalloc::new(Preset::Cpython311.geometry()),
            orig: [o, o],
            passed_on: 0,
            foreign: 0,
            moment: Moment::AfterStartup,
        }
    }
    fn calls() -> Vec<&'static str> {
        CALLS.with(|c| c.borrow().clone())
    }

    #[test]
    fn blocks_from_before_the_hook_go_back_to_the_interpreter() {
        let mut h = hook();
        unsafe {
            // A block the interpreter allocated before the hook was installed.
            let before = libc::malloc(40);
            let small = h.malloc(ptr::null_mut(), 40);
            assert!(h.engine.owns(small.cast()) && !h.engine.owns(before.cast()));
            h.free(ptr::null_mut(), before);
            assert_eq!(calls(), ["free"], "the interpreter frees its own block");
            let before = libc::malloc(24);
            let grown = h.realloc(1 as *mut c_void, before, 48);
            assert_eq!(calls(), ["free", "realloc"]);
            h.free(ptr::null_mut(), grown);
            h.free(ptr::null_mut(), small);
            assert_eq!(h.engine.stats().blocks_in_use(), 0);
            assert_eq!(h.foreign, 3);
        }
    }

    #[test]
    fn small_requests_are_the_engines_and_the_rest_is_passed_on() {
        let mut h = hook();
        unsafe {
            let a = h.malloc(ptr::null_mut(), 512);
            let z = h.calloc(ptr::null_mut(), 4, 8);
            assert!(h.engine.owns(a.cast()) && h.engine.owns(z.cast()));
            assert!(std::slice::from_raw_parts(z.cast::<u8>(), 32)
                .iter()
                .all(|&b| b == 0));
            assert!(calls().is_empty());
            let big = h.malloc(ptr::null_mut(), 513);
            let zero = h.malloc(ptr::null_mut(), 0);
            assert!(!h.engine.owns(big.cast()) && !h.engine.owns(zero.cast()));
            assert_eq!(calls(), ["malloc", "malloc"]);
            // Growing past 512 bytes leaves the engine, contents kept.
            a.cast::<u8>().write_bytes(7, 512);
            let moved = h.realloc(ptr::null_mut(), a, 2000);
            assert!(!h.engine.owns(moved.cast()));
            assert!(std::slice::from_raw_parts(moved.cast::<u8>(), 512)
                .iter()
                .all(|&b| b == 7));
            // Shrinking a little inside the engine keeps the block (the 25 % rule).
            let z2 = h.realloc(ptr::null_mut(), z, 30);
            assert_eq!(z2, z);
            for p in [moved, big, zero, z2] {
                h.free(ptr::null_mut(), p);
            }
            assert_eq!(h.engine.stats().blocks_in_use(), 0);
            assert_eq!(h.passed_on, 3);
        }
    }
}
