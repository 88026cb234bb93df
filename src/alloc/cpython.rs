//! `cpython:3.X`: the real obmalloc of an installed CPython, loaded at run time from its shared
//! libpython and called through `PyObject_Malloc/Calloc/Realloc/Free` with the GIL held, the
//! way the interpreter itself calls it (pymalloc.md §8: the OBJ domain requires the GIL).
//!
//! Facts this relies on, checked on pyenv builds 3.8.18 – 3.13.0:
//! - `Py_InitializeEx(0)` initialises without installing signal handlers and leaves the GIL
//!   held by the calling thread (`PyGILState_Check()` returns 1 right after; checked below).
//!   [`CpythonAllocator`] is therefore `!Send`: it must stay on the thread that loaded it
//!   (from 3.12 obmalloc state is per interpreter and found through the thread's state).
//! - The legacy global flags `Py_IgnoreEnvironmentFlag` and `Py_NoSiteFlag` are still read by
//!   `Py_InitializeEx` on every version up to 3.13 (deprecated since 3.12, not removed). With the
//!   first set, `PYTHONMALLOC` (and every other `PYTHON*` variable) in the environment is
//!   ignored, so what is measured is always pymalloc; the second skips `site`, so no user
//!   `.pth` file can run code or allocate in the measured process.
//! - `Py_SetPythonHome` (deprecated in 3.11, present in 3.13) points a relocated or pyenv
//!   build at its standard library.
//! - One process can hold one initialised libpython only (two would share C-level state such
//!   as signal and TLS setup); a second, different one is refused with
//!   [`CpythonError::AnotherLoaded`]. The harness runs one child process per cell anyway.
//! - A failing `Py_InitializeEx` calls `Py_FatalError`, which aborts the process: in the
//!   harness that loses only the cell's child process.
//! - `PyObject_SetArenaAllocator` (every version, callable before start-up: it only copies a
//!   struct into static or runtime state) replaces where obmalloc's arenas come from; the one
//!   installed before start-up (`cpython_arenas.rs`) maps and unmaps them as CPython's default
//!   does, but side by side in a span of their own, and lets the harness hold those its
//!   cleanup between passes empties. Installed only after start-up, as until 2026-12-05, it
//!   left the interpreter's first arenas wherever `mmap` had put them, which obmalloc then
//!   fills first (the fullest arenas come first): on webapp that made the real obmalloc 3.8
//!   – 4.3 ns an event in some processes and 4.8 – 5.3 in others, the engine beside it
//!   taking 0.88 – 0.90 of its time on average; from before start-up, 3.65 – 4.28 in every process and
//!   0.98 – 1.00× (two runs of 16 processes, model-167 Intel host).
//! - Up to 3.11 obmalloc's state (arenas, used pools) is static data of the library, and the
//!   default object allocator is pymalloc before `Py_Initialize` runs, so a freshly loaded
//!   3.8 – 3.11 serves `PyObject_Malloc` from an obmalloc that holds nothing (checked on
//!   3.8.18 – 3.11.7: millions of requests, then `_PyObject_DebugMallocStats`). From 3.12 the
//!   state belongs to the interpreter and is found through the thread's state, which does not
//!   exist before start-up (a call then crashes). [`CpythonAllocator::load_unstarted`] is the
//!   first kind, for `fidelity`, which must start the real allocator where the engine starts.

use super::cpython_arenas::SetArenaAllocatorFn;
use super::debug_stats::{DebugMallocStats, ParseError};
use super::libpython::{dlerror, version_token, Found};
use super::Allocator;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a libpython could not be loaded or read.
#[derive(Debug, thiserror::Error)]
pub enum CpythonError {
    #[error("cannot load {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("{path} has no symbol {symbol} (not a CPython 3.8+ shared library?)")]
    MissingSymbol { path: PathBuf, symbol: &'static str },
    #[error("{path} is CPython {found}, not 3.{minor}")]
    WrongVersion {
        path: PathBuf,
        found: String,
        minor: u8,
    },
    #[error(
        "this process already runs CPython {loaded} from {path}; one libpython per process \
         (run cpython:{requested} in its own process)"
    )]
    AnotherLoaded {
        loaded: String,
        path: PathBuf,
        requested: String,
    },
    #[error("Py_InitializeEx returned without the GIL held by this thread")]
    NoGil,
    #[error(
        "CPython 3.{minor}'s obmalloc needs a started interpreter (its state lives in the \
         interpreter from 3.12); only 3.8 – 3.11 can be loaded unstarted"
    )]
    NeedsInterpreter { minor: u8 },
    #[error(
        "this process loaded {path} {how}; it cannot also be loaded {other} (one libpython \
         per process)"
    )]
    StartedOtherwise {
        path: PathBuf,
        how: &'static str,
        other: &'static str,
    },
    #[error("_PyObject_DebugMallocStats printed nothing (pymalloc not in use?)")]
    NoDebugStats,
    #[error("cannot capture _PyObject_DebugMallocStats: {0}")]
    Capture(std::io::Error),
    // Not `#[from]`: the parse error would be the source too, printed twice by `{:#}`.
    #[error("cannot read _PyObject_DebugMallocStats output: {0}")]
    Parse(ParseError),
}

impl From<ParseError> for CpythonError {
    fn from(e: ParseError) -> Self {
        CpythonError::Parse(e)
    }
}

type MallocFn = unsafe extern "C" fn(usize) -> *mut c_void;
type CallocFn = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type ReallocFn = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type StatsFn = unsafe extern "C" fn(*mut libc::FILE) -> c_int;

/// The entry points of one loaded library, its interpreter started or not. Lives for the rest
/// of the process (the library is never closed: an initialised interpreter cannot be unloaded).
struct Api {
    malloc: MallocFn,
    calloc: CallocFn,
    realloc: ReallocFn,
    free: FreeFn,
    debug_stats: StatsFn,
    version: String,
    path: PathBuf,
    /// Whether `Py_InitializeEx` ran (see [`CpythonAllocator::load_unstarted`]).
    started: bool,
}

/// How a `started` library was loaded, in words.
fn how(started: bool) -> &'static str {
    if started {
        "with its interpreter started"
    } else {
        "without starting its interpreter"
    }
}

/// The interpreter this process loaded, if any.
static LOADED: Mutex<Option<&'static Api>> = Mutex::new(None);

/// The real obmalloc of a CPython 3.X; see the module documentation.
pub struct CpythonAllocator {
    api: &'static Api,
    minor: u8,
    /// `!Send`/`!Sync`: the GIL is held by the thread that initialised the interpreter.
    _gil: PhantomData<*mut ()>,
}

impl CpythonAllocator {
    /// Loads and initialises the library `found` (once per process), checking it is 3.`minor`.
    pub fn load(found: &Found, minor: u8) -> Result<Self, CpythonError> {
        Self::load_as(found, minor, true)
    }

    /// Loads the library `found` (3.8 – 3.11) *without* starting its interpreter, so its
    /// obmalloc holds nothing when the first request arrives — the state the engine starts
    /// from (module documentation). No Python code ever runs and there is no GIL: the caller
    /// must keep to one thread, as [`CpythonAllocator`] being `!Send` makes it.
    pub fn load_unstarted(found: &Found, minor: u8) -> Result<Self, CpythonError> {
        if !serves_unstarted(minor) {
            return Err(CpythonError::NeedsInterpreter { minor });
        }
        Self::load_as(found, minor, false)
    }

    fn load_as(found: &Found, minor: u8, start: bool) -> Result<Self, CpythonError> {
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(api) = *loaded {
            if api.path == found.path {
                if api.started != start {
                    return Err(CpythonError::StartedOtherwise {
                        path: api.path.clone(),
                        how: how(api.started),
                        other: how(start),
                    });
                }
                return Ok(CpythonAllocator::wrap(api, minor));
            }
            return Err(CpythonError::AnotherLoaded {
                loaded: api.version.clone(),
                path: api.path.clone(),
                requested: format!("3.{minor}"),
            });
        }
        let api: &'static Api = Box::leak(Box::new(open_and_initialise(found, minor, start)?));
        *loaded = Some(api);
        Ok(CpythonAllocator::wrap(api, minor))
    }

    fn wrap(api: &'static Api, minor: u8) -> Self {
        CpythonAllocator {
            api,
            minor,
            _gil: PhantomData,
        }
    }

    /// The library this allocator calls.
    pub fn library_path(&self) -> &std::path::Path {
        &self.api.path
    }

    /// The raw text `_PyObject_DebugMallocStats` prints, captured through `open_memstream`.
    pub fn debug_stats_text(&self) -> Result<String, CpythonError> {
        let mut buf: *mut c_char = std::ptr::null_mut();
        let mut len: usize = 0;
        // SAFETY: open_memstream writes the buffer pointer and size at fclose.
        let file = unsafe { libc::open_memstream(&mut buf, &mut len) };
        if file.is_null() {
            return Err(CpythonError::Capture(std::io::Error::last_os_error()));
        }
        // SAFETY: the GIL is held by this thread (CpythonAllocator is !Send); file is a valid
        // stream, closed once; buf then holds len bytes allocated with malloc.
        let (printed, text) = unsafe {
            let printed = (self.api.debug_stats)(file);
            libc::fclose(file);
            let text = if buf.is_null() {
                String::new()
            } else {
                let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len);
                let s = String::from_utf8_lossy(bytes).into_owned();
                libc::free(buf.cast());
                s
            };
            (printed, text)
        };
        if printed == 0 || text.is_empty() {
            return Err(CpythonError::NoDebugStats);
        }
        Ok(text)
    }

    /// The real allocator's figures, read through its debug-stats entry point.
    pub fn debug_stats(&self) -> Result<DebugMallocStats, CpythonError> {
        Ok(DebugMallocStats::parse(&self.debug_stats_text()?)?)
    }
}

/// Whether CPython 3.`minor`'s obmalloc serves requests before its interpreter starts
/// (module documentation: 3.8 – 3.11).
pub fn serves_unstarted(minor: u8) -> bool {
    (8..=11).contains(&minor)
}

/// Opens the library, resolves every entry point, and, when `start`, sets the start-up flags
/// and initialises.
fn open_and_initialise(found: &Found, minor: u8, start: bool) -> Result<Api, CpythonError> {
    let path = found.path.clone();
    let handle = open_local(&path)?;
    let sym = |symbol: &'static str| -> Result<*mut c_void, CpythonError> {
        let c = CString::new(symbol).expect("symbol names have no NUL");
        // SAFETY: handle is a live dlopen handle.
        let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
        if p.is_null() {
            Err(CpythonError::MissingSymbol {
                path: found.path.clone(),
                symbol,
            })
        } else {
            Ok(p)
        }
    };
    // SAFETY (all transmutes below): each symbol has the C signature documented in CPython's
    // headers (Include/objimpl.h, pylifecycle.h, pystate.h) that the target type spells out.
    unsafe {
        let get_version: extern "C" fn() -> *const c_char =
            std::mem::transmute(sym("Py_GetVersion")?);
        let version = version_token(&CStr::from_ptr(get_version()).to_string_lossy());
        if !super::libpython::is_minor(&version, minor) {
            return Err(CpythonError::WrongVersion {
                path,
                found: version,
                minor,
            });
        }
        let api = Api {
            malloc: std::mem::transmute::<*mut c_void, MallocFn>(sym("PyObject_Malloc")?),
            calloc: std::mem::transmute::<*mut c_void, CallocFn>(sym("PyObject_Calloc")?),
            realloc: std::mem::transmute::<*mut c_void, ReallocFn>(sym("PyObject_Realloc")?),
            free: std::mem::transmute::<*mut c_void, FreeFn>(sym("PyObject_Free")?),
            debug_stats: std::mem::transmute::<*mut c_void, StatsFn>(sym(
                "_PyObject_DebugMallocStats",
            )?),
            version,
            path: path.clone(),
            started: start,
        };
        let set_arenas = std::mem::transmute::<*mut c_void, SetArenaAllocatorFn>(sym(
            "PyObject_SetArenaAllocator",
        )?);
        // Before start-up, so the interpreter's own first arenas — the ones obmalloc fills
        // first, being the fullest — sit in the same span as every later one (module
        // documentation); again after it, in case a start-up ever reset the hook (none of
        // 3.8 – 3.13 does: with the first call alone every arena mapping was ours, strace,
        // 2026-12-05).
        super::cpython_arenas::install(set_arenas);
        if start {
            start_interpreter(&sym, found)?;
        }
        super::cpython_arenas::install(set_arenas);
        Ok(api)
    }
}

/// dlopens the libpython at `path` with its symbols kept local: RTLD_LOCAL keeps them out
/// of the global namespace, and with `site` off and the environment ignored, start-up
/// imports only built-in and frozen modules, so no extension module needs to find them there.
fn open_local(path: &Path) -> Result<*mut c_void, CpythonError> {
    let load_error = |reason| CpythonError::Load {
        path: path.to_path_buf(),
        reason,
    };
    let c_path = super::libpython::dlopen_name(path).map_err(load_error)?;
    // SAFETY: dlopen with a valid C string.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(load_error(dlerror()));
    }
    Ok(handle)
}

/// Sets the start-up flags and starts the interpreter (unless something already did), then
/// checks this thread holds the GIL (module documentation).
///
/// # Safety
/// `sym` resolves symbols of a loaded CPython 3.8+ library.
unsafe fn start_interpreter(
    sym: &dyn Fn(&'static str) -> Result<*mut c_void, CpythonError>,
    found: &Found,
) -> Result<(), CpythonError> {
    let is_initialized: extern "C" fn() -> c_int = std::mem::transmute(sym("Py_IsInitialized")?);
    let gil_check: extern "C" fn() -> c_int = std::mem::transmute(sym("PyGILState_Check")?);
    if is_initialized() == 0 {
        *sym("Py_IgnoreEnvironmentFlag")?.cast::<c_int>() = 1;
        *sym("Py_NoSiteFlag")?.cast::<c_int>() = 1;
        if let Some(home) = &found.home {
            let set_home: extern "C" fn(*const libc::wchar_t) =
                std::mem::transmute(sym("Py_SetPythonHome")?);
            // CPython keeps the pointer, so the wide string must live forever: leak it.
            // wchar_t is UTF-32 on Linux.
            let wide: Vec<libc::wchar_t> = home
                .to_string_lossy()
                .chars()
                .map(|c| c as libc::wchar_t)
                .chain([0])
                .collect();
            set_home(Box::leak(wide.into_boxed_slice()).as_ptr());
        }
        let initialize: extern "C" fn(c_int) = std::mem::transmute(sym("Py_InitializeEx")?);
        initialize(0);
    }
    if gil_check() != 1 {
        return Err(CpythonError::NoGil);
    }
    Ok(())
}

impl Allocator for CpythonAllocator {
    fn name(&self) -> String {
        format!("cpython:3.{}", self.minor)
    }

    fn version(&self) -> String {
        format!("CPython {}", self.api.version)
    }

    #[inline]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        // SAFETY: the library is loaded and only this thread calls it: it holds the GIL of the
        // started interpreter, or no interpreter exists (`load_unstarted`).
        unsafe { (self.api.malloc)(n).cast() }
    }

    #[inline]
    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        // SAFETY: as above; PyObject_Calloc checks the product for overflow.
        unsafe { (self.api.calloc)(nelem, elsize).cast() }
    }

    #[inline]
    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        (self.api.realloc)(p.cast(), n).cast()
    }

    #[inline]
    unsafe fn free(&mut self, p: *mut u8) {
        (self.api.free)(p.cast())
    }

    fn hold_releases(&mut self, hold: bool) {
        super::cpython_arenas::hold(hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_is_printed_once_in_the_chain() {
        let e = CpythonError::from(ParseError::Missing("# arenas allocated total"));
        let text = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(text.matches("arenas allocated total").count(), 1, "{text}");
        assert!(text.starts_with("cannot read _PyObject_DebugMallocStats output"));
    }
}
