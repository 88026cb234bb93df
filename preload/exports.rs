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
    if !align.is_power_of_two() || !align.is_multiple_of(std::mem::size_of::<*mut c_void>()) {
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
    reexec::find_the_real_exec_functions();
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
        reexec::remember_the_scope();
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

/// The measured process replacing itself (`os.execv`, `os.execve`): the same pid, so still the
/// process pybench measures, but `scope_to_process` has taken the preload out of its
/// environment, and the new image ran under glibc while the results said "jemalloc" (noted
/// in session 67). These `execve`, `execv` and `fexecve` — the calls CPython's `os.exec*`
/// make — put the preload back for an exec by the measured process itself (its pid), so the
/// new image's constructor scopes it again; an exec in any other process (a forked child,
/// which has another pid) is passed on untouched, as before. The real functions are found
/// once, at load time: a forked child of a threaded program must not call `dlsym`.
mod reexec {
    use libc::{c_char, c_int};
    use std::ffi::CString;
    use std::sync::OnceLock;

    type Execve =
        unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;
    type Fexecve = unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int;

    static REAL_EXECVE: OnceLock<Option<Execve>> = OnceLock::new();
    static REAL_FEXECVE: OnceLock<Option<Fexecve>> = OnceLock::new();

    /// What an exec by the measured process adds to the environment it passes.
    struct Scope {
        pid: libc::pid_t,
        /// `LD_PRELOAD=…` as pybench set it (this library first, then the user's), plus
        /// `PYBENCH_PRELOAD_SCOPE=process` and, if the user had a preload,
        /// `PYBENCH_ORIG_LD_PRELOAD=…`.
        entries: Vec<CString>,
    }

    static SCOPE: OnceLock<Scope> = OnceLock::new();

    /// Environment variables the added entries replace.
    const REPLACED: [&[u8]; 3] = [
        b"LD_PRELOAD=",
        b"PYBENCH_PRELOAD_SCOPE=",
        b"PYBENCH_ORIG_LD_PRELOAD=",
    ];

    extern "C" {
        static environ: *const *const c_char;
    }

    /// The next `execve` and `fexecve` after this library's (libc's, or another preload's).
    /// Called by the constructor, so that no exec ever resolves them later: a forked child of
    /// a threaded program must not call `dlsym`.
    pub(super) fn find_the_real_exec_functions() {
        real_execve();
        real_fexecve();
    }

    fn real_execve() -> Option<Execve> {
        // SAFETY: a non-null result for this name is the function of this C signature.
        *REAL_EXECVE.get_or_init(|| unsafe {
            let f = libc::dlsym(libc::RTLD_NEXT, c"execve".as_ptr());
            (!f.is_null()).then(|| std::mem::transmute::<*mut libc::c_void, Execve>(f))
        })
    }

    fn real_fexecve() -> Option<Fexecve> {
        // SAFETY: as `real_execve`.
        *REAL_FEXECVE.get_or_init(|| unsafe {
            let f = libc::dlsym(libc::RTLD_NEXT, c"fexecve".as_ptr());
            (!f.is_null()).then(|| std::mem::transmute::<*mut libc::c_void, Fexecve>(f))
        })
    }

    /// Called by `scope_to_process` in the measured interpreter, before it changes the
    /// environment: the entries a re-exec needs, and whose pid may make one.
    pub(super) fn remember_the_scope() {
        let var = |name: &std::ffi::CStr| {
            // SAFETY: getenv at load time; the value is copied at once.
            let v = unsafe { libc::getenv(name.as_ptr()) };
            (!v.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(v) }.to_bytes().to_vec())
        };
        let entry = |name: &str, value: &[u8]| {
            CString::new([name.as_bytes(), b"=", value].concat()).ok()
        };
        let mut entries = Vec::new();
        entries.extend(var(c"LD_PRELOAD").and_then(|v| entry("LD_PRELOAD", &v)));
        entries.extend(entry("PYBENCH_PRELOAD_SCOPE", b"process"));
        if let Some(orig) = var(c"PYBENCH_ORIG_LD_PRELOAD") {
            entries.extend(entry("PYBENCH_ORIG_LD_PRELOAD", &orig));
        }
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let _ = SCOPE.set(Scope { pid, entries });
    }

    /// `envp` with the preload put back, when the calling process is the measured one;
    /// `None` otherwise (pass `envp` on as it is). Borrows `envp`'s strings.
    ///
    /// # Safety
    /// `envp` is null or a null-terminated array of C strings.
    unsafe fn kept(envp: *const *const c_char) -> Option<Vec<*const c_char>> {
        let scope = SCOPE.get()?;
        // A forked (or vforked) child has a pid of its own: getpid is a system call, safe
        // there, and nothing else runs before the real exec.
        if libc::getpid() != scope.pid {
            return None;
        }
        let mut out = Vec::new();
        let mut at = envp;
        while !at.is_null() && !(*at).is_null() {
            let text = std::ffi::CStr::from_ptr(*at).to_bytes();
            if !REPLACED.iter().any(|p| text.starts_with(p)) {
                out.push(*at);
            }
            at = at.add(1);
        }
        out.extend(scope.entries.iter().map(|e| e.as_ptr()));
        out.push(std::ptr::null());
        Some(out)
    }

    /// Runs `exec` with `envp`, or with the preload put back into it ([`kept`]); the new
    /// array lives until `exec` returns (an exec that returns failed).
    ///
    /// # Safety
    /// As [`kept`].
    unsafe fn with_scope(
        envp: *const *const c_char,
        exec: impl FnOnce(*const *const c_char) -> c_int,
    ) -> c_int {
        let kept = kept(envp);
        exec(kept.as_ref().map_or(envp, |e| e.as_ptr()))
    }

    /// # Safety
    /// The C contract of `execve`.
    #[no_mangle]
    pub unsafe extern "C" fn execve(
        path: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int {
        with_scope(envp, |envp| match real_execve() {
            Some(real) => real(path, argv, envp),
            // No execve after this library's (never seen): the system call itself.
            None => libc::syscall(libc::SYS_execve, path, argv, envp) as c_int,
        })
    }

    /// # Safety
    /// The C contract of `execv`: `execve` with the process's environment.
    #[no_mangle]
    pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
        execve(path, argv, environ)
    }

    /// # Safety
    /// The C contract of `fexecve`.
    #[no_mangle]
    pub unsafe extern "C" fn fexecve(
        fd: c_int,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int {
        with_scope(envp, |envp| match real_fexecve() {
            Some(real) => real(fd, argv, envp),
            // As the C library does it: the descriptor's file, by an empty path.
            None => libc::syscall(
                libc::SYS_execveat,
                fd,
                c"".as_ptr(),
                argv,
                envp,
                libc::AT_EMPTY_PATH,
            ) as c_int,
        })
    }
}
