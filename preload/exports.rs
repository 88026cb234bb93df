// Shared by the three preload crates (`include!`d): the C allocation API a process expects
// from `malloc`'s provider, each entry forwarding to one prefixed function of the allocator
// crate the replay links, so the real run and the replay use the very same build.
//
// Every function is `extern "C"` and never unwinds; alignment arguments are checked the way
// POSIX and C11 require (a power of two; for posix_memalign also a multiple of the pointer
// size), since the prefixed calls take them on trust.

/// The page size for `valloc`/`pvalloc`; 4 KiB unless the kernel says otherwise.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn set_errno(e: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// # Safety
/// The C contract of `malloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    let p = imp::malloc(size);
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// # Safety
/// The C contract of `calloc`.
#[no_mangle]
pub unsafe extern "C" fn calloc(nelem: usize, elsize: usize) -> *mut c_void {
    if nelem.checked_mul(elsize).is_none() {
        set_errno(libc::ENOMEM);
        return std::ptr::null_mut();
    }
    let p = imp::calloc(nelem, elsize);
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// # Safety
/// The C contract of `realloc`.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let p = imp::realloc(ptr, size);
    if p.is_null() && size != 0 {
        set_errno(libc::ENOMEM);
    }
    p
}

/// # Safety
/// The C contract of `reallocarray` (glibc's own would call its internal realloc on our block).
#[no_mangle]
pub unsafe extern "C" fn reallocarray(ptr: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => realloc(ptr, total),
        None => {
            set_errno(libc::ENOMEM);
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// The C contract of `free`.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if !ptr.is_null() {
        imp::free(ptr);
    }
}

/// # Safety
/// The C contract of `posix_memalign`.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(
    out: *mut *mut c_void,
    align: usize,
    size: usize,
) -> libc::c_int {
    if !align.is_power_of_two() || align % std::mem::size_of::<*mut c_void>() != 0 {
        return libc::EINVAL;
    }
    let p = imp::aligned(align, size.max(1));
    if p.is_null() {
        return libc::ENOMEM;
    }
    *out = p;
    0
}

/// # Safety
/// The C contract of `aligned_alloc`.
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    memalign(align, size)
}

/// # Safety
/// The C contract of `memalign`.
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return std::ptr::null_mut();
    }
    let p = imp::aligned(align, size.max(1));
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// # Safety
/// The C contract of `valloc`.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    memalign(page_size(), size)
}

/// # Safety
/// The C contract of `pvalloc`.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = page_size();
    memalign(page, size.div_ceil(page).max(1) * page)
}

/// # Safety
/// The C contract of `malloc_usable_size`.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        0
    } else {
        imp::usable(ptr)
    }
}

/// The allocator's name and version, in the words `pybench list allocators` uses for the
/// in-process build, as a static NUL-terminated string: lets a test (or a curious user, via
/// `ctypes.CDLL(None).pybench_preload_version`) see which build serves the process.
#[no_mangle]
pub extern "C" fn pybench_preload_version() -> *const libc::c_char {
    static VERSION: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| std::ffi::CString::new(imp::version()).unwrap_or_default())
        .as_ptr()
}

/// Keeps this allocator to the one process pybench measures. When `exec` asks
/// (`PYBENCH_PRELOAD_SCOPE=process`), this constructor — run by the loader before the program's
/// own start-up — puts `LD_PRELOAD` back to what the user had (`PYBENCH_ORIG_LD_PRELOAD`, else
/// unset), so the programs it starts run as they would without pybench. Only in the
/// interpreter: a wrapper on the way to it (a pyenv shim is a shell script) passes it on. Why: pyperf's worker
/// runs `file` on the interpreter, and `file` under snmalloc faulted 2,455 pages against 191
/// under glibc, 10 – 20 ms that the real run charged to snmalloc and no trace of the
/// interpreter's calls can contain (README "Does the replay predict the real program?").
/// `PYTHONMALLOC` is left alone: the interpreter reads it after this runs.
#[used]
#[link_section = ".init_array"]
static SCOPE_TO_PROCESS: extern "C" fn() = scope_to_process;

extern "C" fn scope_to_process() {
    // SAFETY: getenv, setenv and unsetenv at load time, before the program has threads;
    // setenv copies the value before the variable holding it is removed.
    unsafe {
        if libc::getenv(c"PYBENCH_PRELOAD_SCOPE".as_ptr()).is_null() {
            return;
        }
        // Not the interpreter yet (a pyenv shim, `env`, a shell script on the way to it):
        // keep the preload for the process it starts. The interpreter exports its C API.
        if libc::dlsym(libc::RTLD_DEFAULT, c"Py_IsInitialized".as_ptr()).is_null() {
            return;
        }
        let orig = libc::getenv(c"PYBENCH_ORIG_LD_PRELOAD".as_ptr());
        if orig.is_null() {
            libc::unsetenv(c"LD_PRELOAD".as_ptr());
        } else {
            libc::setenv(c"LD_PRELOAD".as_ptr(), orig, 1);
        }
        libc::unsetenv(c"PYBENCH_ORIG_LD_PRELOAD".as_ptr());
        libc::unsetenv(c"PYBENCH_PRELOAD_SCOPE".as_ptr());
    }
}
