//! How `libpybench_engine.so` (`preload/engine`) gets into a real CPython, without ctypes.
//!
//! The library is both an `LD_PRELOAD` library and a CPython extension module:
//!
//! 1. **Before start-up.** `engine_site.rs` preloads it; its constructor ([`boot`]) runs before
//!    the interpreter's `main`, finds `PyMem_SetAllocator` in the process and installs the
//!    engine on the MEM and OBJ domains. CPython documents this moment as the one where an
//!    allocator may be replaced outright ("PyMem_SetAllocator() … if called before
//!    Py_Initialize()", C API docs, "Customize Memory Allocators"), and no MEM or OBJ block
//!    exists yet (CPython's own pymalloc reads its per-interpreter state on every call, so
//!    CPython never calls these domains before that state exists). The engine therefore serves
//!    every small block of the run — start-up included — as obmalloc would, and the
//!    interpreter's own obmalloc maps no arena at all. The constructor then removes the
//!    library from `LD_PRELOAD`, so programs the interpreter starts run unchanged.
//! 2. **The module.** The generated `sitecustomize.py` imports the same file as the extension
//!    module `pybench_engine` ([`py_init`], exported as `PyInit_pybench_engine`): it reports in
//!    `status` whether the engine is in effect, installs it then if the constructor could not
//!    (the library was not preloaded: blocks of the start-up then stay with the interpreter's
//!    allocator, `engine_hook.rs` routes them by ownership), and offers `report()` for
//!    `atexit`.
//!
//! Measured reason for the change (README, "The engine inside a real interpreter"): loading
//! the engine through ctypes cost ≈ 0.5 MiB of peak RSS (`import ctypes`: `_ctypes`, libffi,
//! `_struct` and their Python objects) and left the start-up's blocks in the interpreter's
//! arenas next to the engine's.
//!
//! The structures below are CPython's `PyModuleDef` and `PyMethodDef` in the layout of
//! release builds (stable ABI, unchanged 3.5 – 3.13; builds with `Py_TRACE_REFS` differ and
//! are not supported). Every API function is looked up with `dlsym`, so the library links no
//! libpython and loads into any version.

use super::engine_hook::{self, python_symbol, Moment};
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_long, c_void, CStr};

/// The file name of the library (`preload/engine`).
pub const LIBRARY: &str = "libpybench_engine.so";
/// `arena,pool,keep_spare` in bytes and 0/1 (set by `engine_site.rs`).
pub const GEOMETRY_VAR: &str = "PYBENCH_ENGINE_GEOMETRY";
/// Where `report()` writes `<pid>.txt`.
pub const REPORT_DIR_VAR: &str = "PYBENCH_ENGINE_REPORT_DIR";
const GEOMETRY_VAR_C: &CStr = c"PYBENCH_ENGINE_GEOMETRY";
const REPORT_DIR_VAR_C: &CStr = c"PYBENCH_ENGINE_REPORT_DIR";

/// `status` when the engine was installed before start-up and is still in effect.
pub const STATUS_BEFORE_STARTUP: c_long = 0;
/// `status` when the module installed it (after start-up).
pub const STATUS_AFTER_STARTUP: c_long = 1;
/// `status` when the interpreter replaced its allocators after the constructor installed the
/// engine (`-X dev`, `PYTHONMALLOC=debug`).
pub const STATUS_REPLACED: c_long = -4;
/// `status` when no geometry was given.
pub const STATUS_NO_GEOMETRY: c_long = -5;

/// A decimal number of at most 19 digits, nothing else.
fn number(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

/// Parses [`GEOMETRY_VAR`]: `arena,pool,keep_spare`. Byte-level, like everything the
/// library runs before exit, so that Rust's string machinery stays out of the interpreter's
/// RSS (see `engine_raw.rs`).
pub fn parse_geometry(s: &[u8]) -> Option<(usize, usize, bool)> {
    let mut it = s.split(|&b| b == b',').map(number);
    let (arena, pool, keep) = (it.next()??, it.next()??, it.next()??);
    (it.next().is_none() && keep <= 1).then_some((arena, pool, keep == 1))
}

/// True for what `Py_GetVersion()` returns on an interpreter the engine can serve before its
/// start-up: CPython 3.8 or later (`PyMemAllocatorEx` and the pre-initialisation that leaves
/// a replaced allocator alone), with a GIL (free-threaded builds say so in their version).
pub fn servable(version: &[u8]) -> bool {
    let mut nums = version.split(|b| !b.is_ascii_digit()).map(number);
    let (Some(Some(major)), Some(Some(minor))) = (nums.next(), nums.next()) else {
        return false;
    };
    let free_threaded = version.windows(14).any(|w| w == b"free-threading");
    major == 3 && minor >= 8 && !free_threaded
}

/// `LD_PRELOAD` without this library, in `out` (entries are separated by colons or spaces,
/// ld.so(8)); returns the length written. `out` is at least as long as `ld_preload`.
pub fn without_engine(ld_preload: &[u8], out: &mut [u8]) -> usize {
    let mut at = 0;
    for entry in ld_preload.split(|&b| b == b':' || b == b' ') {
        let file = entry.rsplit(|&b| b == b'/').next().unwrap_or(entry);
        if entry.is_empty() || file == LIBRARY.as_bytes() {
            continue;
        }
        if at > 0 {
            out[at] = b':';
            at += 1;
        }
        out[at..at + entry.len()].copy_from_slice(entry);
        at += entry.len();
    }
    at
}

/// The environment variable `name`, as bytes (libc's `getenv`: no allocation).
unsafe fn getenv(name: &CStr) -> Option<&'static [u8]> {
    let v = libc::getenv(name.as_ptr());
    (!v.is_null()).then(|| CStr::from_ptr(v).to_bytes())
}

/// Takes this library out of `LD_PRELOAD` with libc's `setenv`/`unsetenv`.
unsafe fn leave_ld_preload() {
    let Some(value) = getenv(c"LD_PRELOAD") else {
        return;
    };
    let buf = libc::malloc(value.len() + 1).cast::<u8>();
    if buf.is_null() {
        return;
    }
    let out = std::slice::from_raw_parts_mut(buf, value.len() + 1);
    let len = without_engine(value, out);
    out[len] = 0;
    if len == 0 {
        libc::unsetenv(c"LD_PRELOAD".as_ptr());
    } else {
        libc::setenv(c"LD_PRELOAD".as_ptr(), buf.cast(), 1);
    }
    libc::free(buf.cast());
}

/// The constructor's work: installs the engine when this process is a CPython the engine can
/// serve and `pybench exec` asked for it; does nothing otherwise (a shell or `env` on the way
/// to the interpreter keeps `LD_PRELOAD` for it).
///
/// # Safety
/// Runs before `main`, single threaded (an ELF constructor).
pub unsafe fn boot() {
    let Some((arena, pool, keep)) = getenv(GEOMETRY_VAR_C).and_then(parse_geometry) else {
        return;
    };
    let (Some(version), Some(initialized)) = (
        api::<unsafe extern "C" fn() -> *const c_char>(c"Py_GetVersion"),
        api::<unsafe extern "C" fn() -> c_int>(c"Py_IsInitialized"),
    ) else {
        return;
    };
    // Loaded by `import` rather than preloaded: the start-up is over, and the module installs
    // the engine (routing the start-up's blocks back by ownership).
    if initialized() != 0 || !servable(CStr::from_ptr(version()).to_bytes()) {
        return;
    }
    if engine_hook::install(arena, pool, keep, Moment::BeforeStartup).is_ok() {
        leave_ld_preload();
    }
}

#[repr(C)]
struct ObjectHead {
    refcnt: isize,
    ty: *mut c_void,
}

#[repr(C)]
struct ModuleDefBase {
    ob_base: ObjectHead,
    m_init: *mut c_void,
    m_index: isize,
    m_copy: *mut c_void,
}

type CFunction = unsafe extern "C" fn(*mut c_void, *mut c_void) -> *mut c_void;

#[repr(C)]
struct MethodDef {
    name: *const c_char,
    meth: Option<CFunction>,
    flags: c_int,
    doc: *const c_char,
}

#[repr(C)]
struct ModuleDef {
    base: ModuleDefBase,
    name: *const c_char,
    doc: *const c_char,
    size: isize,
    methods: *mut MethodDef,
    slots: *mut c_void,
    traverse: *mut c_void,
    clear: *mut c_void,
    free: *mut c_void,
}

/// Statics CPython writes to (the module definition) or the module reads, only touched with
/// the GIL held.
struct GilStatic<T>(UnsafeCell<T>);
// SAFETY: every access happens under CPython's GIL.
unsafe impl<T> Sync for GilStatic<T> {}

/// `METH_NOARGS` (methodobject.h).
const METH_NOARGS: c_int = 0x0004;
/// `PYTHON_API_VERSION`, the same for 3.5 – 3.13 (a mismatch would only warn).
const API_VERSION: c_int = 1013;

static METHODS: GilStatic<[MethodDef; 2]> = GilStatic(UnsafeCell::new([
    MethodDef {
        name: c"report".as_ptr(),
        meth: Some(report),
        flags: METH_NOARGS,
        doc: c"report() -> int: write the engine's accounting to $PYBENCH_ENGINE_REPORT_DIR/<pid>.txt (0: written, -1: not installed, -2: cannot write)".as_ptr(),
    },
    MethodDef {
        name: std::ptr::null(),
        meth: None,
        flags: 0,
        doc: std::ptr::null(),
    },
]));

static MODULE: GilStatic<ModuleDef> = GilStatic(UnsafeCell::new(ModuleDef {
    base: ModuleDefBase {
        ob_base: ObjectHead {
            refcnt: 1,
            ty: std::ptr::null_mut(),
        },
        m_init: std::ptr::null_mut(),
        m_index: 0,
        m_copy: std::ptr::null_mut(),
    },
    name: c"pybench_engine".as_ptr(),
    doc: c"pybench's pymalloc engine serving this interpreter's MEM and OBJ domains".as_ptr(),
    size: -1,
    methods: METHODS.0.get() as *mut MethodDef,
    slots: std::ptr::null_mut(),
    traverse: std::ptr::null_mut(),
    clear: std::ptr::null_mut(),
    free: std::ptr::null_mut(),
}));

/// `<dir>/`, NUL-padded: where `report()` writes (copied at import, before sitecustomize
/// removes the variable).
static REPORT_DIR: GilStatic<[u8; REPORT_DIR_MAX]> =
    GilStatic(UnsafeCell::new([0; REPORT_DIR_MAX]));
/// Longest report directory served (`PATH_MAX`, with room for `/<pid>.txt`).
const REPORT_DIR_MAX: usize = 4096;

/// A CPython function looked up by name.
unsafe fn api<F: Copy>(name: &CStr) -> Option<F> {
    let f = python_symbol(name);
    (!f.is_null()).then(|| std::mem::transmute_copy::<*mut c_void, F>(&f))
}

unsafe fn long(v: c_long) -> *mut c_void {
    match api::<unsafe extern "C" fn(c_long) -> *mut c_void>(c"PyLong_FromLong") {
        Some(f) => f(v),
        None => std::ptr::null_mut(),
    }
}

/// `<dir>/<pid>.txt\0` in `out`, from the directory copied at import; false when there is none
/// or it does not fit.
fn report_path(dir: &[u8], pid: u32, out: &mut [u8]) -> bool {
    let dir = &dir[..dir.iter().position(|&b| b == 0).unwrap_or(dir.len())];
    let mut buf = [0u8; 20];
    let digits = super::engine_raw::decimal(pid as usize, &mut buf);
    let len = dir.len() + 1 + digits.len() + 5;
    if dir.is_empty() || len > out.len() {
        return false;
    }
    out[..dir.len()].copy_from_slice(dir);
    out[dir.len()] = b'/';
    out[dir.len() + 1..len - 5].copy_from_slice(digits);
    out[len - 5..len].copy_from_slice(b".txt\0");
    true
}

/// `pybench_engine.report()`: writes the accounting to `<dir>/<pid>.txt` (the pid of the
/// process exiting, so a forked child does not overwrite its parent's report).
unsafe extern "C" fn report(_module: *mut c_void, _args: *mut c_void) -> *mut c_void {
    let mut path = [0u8; REPORT_DIR_MAX + 32];
    let rc = if engine_hook::installed().is_none()
        || !report_path(&*REPORT_DIR.0.get(), libc::getpid() as u32, &mut path)
    {
        -1
    } else if engine_hook::write_report(&path) {
        0
    } else {
        -2
    };
    long(rc)
}

/// What `status` says: the engine in effect since before start-up (0), installed now (1), or
/// why not (negative: [`engine_hook::InstallError`], [`STATUS_REPLACED`],
/// [`STATUS_NO_GEOMETRY`]).
unsafe fn status() -> c_long {
    match engine_hook::installed() {
        Some(Moment::BeforeStartup) if engine_hook::in_effect() => STATUS_BEFORE_STARTUP,
        Some(Moment::BeforeStartup) => STATUS_REPLACED,
        Some(Moment::AfterStartup) => engine_hook::InstallError::Twice as c_long,
        None => match getenv(GEOMETRY_VAR_C).and_then(parse_geometry) {
            None => STATUS_NO_GEOMETRY,
            Some((arena, pool, keep)) => {
                match engine_hook::install(arena, pool, keep, Moment::AfterStartup) {
                    Ok(()) => STATUS_AFTER_STARTUP,
                    Err(e) => e as c_long,
                }
            }
        },
    }
}

/// The body of `PyInit_pybench_engine`: a module with `status` and `report()`. NULL without
/// an exception set when the API cannot be found (the import then fails with SystemError).
///
/// # Safety
/// Called by CPython's import machinery, with the GIL held.
pub unsafe fn py_init() -> *mut c_void {
    type Create = unsafe extern "C" fn(*mut ModuleDef, c_int) -> *mut c_void;
    type AddInt = unsafe extern "C" fn(*mut c_void, *const c_char, c_long) -> c_int;
    type DecRef = unsafe extern "C" fn(*mut c_void);
    let (Some(create), Some(add_int), Some(decref)) = (
        api::<Create>(c"PyModule_Create2"),
        api::<AddInt>(c"PyModule_AddIntConstant"),
        api::<DecRef>(c"Py_DecRef"),
    ) else {
        return std::ptr::null_mut();
    };
    let status = status();
    if let Some(dir) = getenv(REPORT_DIR_VAR_C).filter(|d| d.len() < REPORT_DIR_MAX) {
        (&mut *REPORT_DIR.0.get())[..dir.len()].copy_from_slice(dir);
    }
    let m = create(MODULE.0.get(), API_VERSION);
    if !m.is_null() && add_int(m, c"status".as_ptr(), status) < 0 {
        decref(m);
        return std::ptr::null_mut();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_is_three_numbers() {
        assert_eq!(
            parse_geometry(b"1048576,16384,1"),
            Some((1 << 20, 16 << 10, true))
        );
        assert_eq!(
            parse_geometry(b"262144,4096,0"),
            Some((256 << 10, 4 << 10, false))
        );
        for bad in [
            "",
            "1,2",
            "1,2,3",
            "1,2,1,4",
            "a,2,1",
            "1M,16K,1",
            " 1,2,1",
            "1,,1",
            "99999999999999999999,1,1",
        ] {
            assert_eq!(parse_geometry(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn only_gil_cpython_3_8_and_later_is_served_before_start_up() {
        for ok in [
            "3.8.18 (default, Nov 29 2026, 10:00:00) \n[GCC 12.2.0]",
            "3.11.7 (main, Nov 29 2026) [GCC 12.2.0]",
            "3.13.0 (main, Oct 8 2024) [GCC 12.2.0]",
        ] {
            assert!(servable(ok.as_bytes()), "{ok}");
        }
        for no in [
            "3.7.16 (default) [GCC]",
            "2.7.18 (default) [GCC]",
            "3.13.0 experimental free-threading build (main) [GCC]",
            "4.0.0",
            "garbage",
        ] {
            assert!(!servable(no.as_bytes()), "{no}");
        }
    }

    fn without(v: &str) -> String {
        let mut out = vec![0u8; v.len()];
        let n = without_engine(v.as_bytes(), &mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn the_engine_leaves_ld_preload_and_nothing_else_does() {
        let ours = "/x/target/release/deps/libpybench_engine.so";
        assert_eq!(without(ours), "");
        assert_eq!(
            without(&format!("{ours}:/usr/lib/libfoo.so")),
            "/usr/lib/libfoo.so"
        );
        assert_eq!(
            without(&format!("/a.so {ours} /b.so /c/my_libpybench_engine.so")),
            "/a.so:/b.so:/c/my_libpybench_engine.so"
        );
        assert_eq!(without("libpybench_engine.so::/a.so"), "/a.so");
    }

    #[test]
    fn the_report_goes_to_the_exiting_process_s_own_file() {
        let mut out = [0xffu8; 64];
        let mut dir = [0u8; 16];
        dir[..8].copy_from_slice(b"/tmp/rep");
        assert!(report_path(&dir, 4242, &mut out));
        assert_eq!(&out[..18], b"/tmp/rep/4242.txt\0");
        assert_eq!(out[18], 0xff, "nothing written past the NUL");
        assert!(report_path(&dir, 0, &mut out));
        assert_eq!(&out[..15], b"/tmp/rep/0.txt\0");
        assert!(!report_path(&[0u8; 4], 1, &mut out), "no directory");
        assert!(!report_path(&dir, 4242, &mut out[..12]), "too long");
    }
}
