//! How a jemalloc build names itself: shared, by path, by pybench's in-process allocator and
//! by its `LD_PRELOAD` library (`preload/jemalloc`), so `exec` and `run` record one string for
//! one build and `validate` can tell whether both sides measured the same jemalloc.

use tikv_jemalloc_sys as je;

/// The virtual-address width jemalloc was configured for, which sets the depth of the
/// radix tree every `free` consults: `.cargo/config.toml` pins it to 48 because jemalloc's
/// configure otherwise reads it from the build host's CPUID (57 on Intel parts with
/// 5-level paging), and the two builds differ in speed (see that file). "detected" when
/// the build ran without the pin, so results say which jemalloc they measured.
pub const LG_VADDR: &str = match option_env!("JEMALLOC_SYS_WITH_LG_VADDR") {
    Some(bits) => bits,
    None => "detected",
};

/// `jemalloc 5.3.1 (lg-vaddr 48)`: the release from `mallctl("version")` without its git
/// suffix, and [`LG_VADDR`].
pub fn version() -> String {
    let mut v: *const libc::c_char = std::ptr::null();
    let mut len = std::mem::size_of::<*const libc::c_char>();
    // SAFETY: "version" yields a `const char *` into the out-pointer of the given size.
    let rc = unsafe {
        je::mallctl(
            c"version".as_ptr(),
            (&mut v as *mut *const libc::c_char).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || v.is_null() {
        return "jemalloc (version unknown)".to_string();
    }
    // SAFETY: jemalloc returns a static NUL-terminated string.
    let full = unsafe { std::ffi::CStr::from_ptr(v) }.to_string_lossy();
    // "5.3.1-0-g81034ce…": keep the release, drop the git suffix.
    let release = full.split('-').next().unwrap_or(&full);
    format!("jemalloc {release} (lg-vaddr {LG_VADDR})")
}
