//! `test-crash[:N]`: the system allocator, except that its N-th call (malloc, calloc, realloc
//! or free, counted together; default 1000) aborts the process with `abort()`. It exists so the
//! harness's tests can check that a crashing allocator loses only its own cell (design.md §1);
//! `pybench list allocators` hides it unless `--all` is given.

use super::{Allocator, SystemAllocator};

/// Aborts on its N-th call; forwards to [`SystemAllocator`] before that.
#[derive(Debug)]
pub struct CrashAllocator {
    calls: u64,
    abort_at: u64,
}

impl CrashAllocator {
    pub const DEFAULT_CALLS: u64 = 1000;

    /// An allocator that aborts on call number `abort_at` (1-based; 0 is taken as 1).
    pub fn new(abort_at: u64) -> Self {
        CrashAllocator {
            calls: 0,
            abort_at: abort_at.max(1),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    #[inline]
    fn count(&mut self) {
        self.calls += 1;
        if self.calls == self.abort_at {
            // Deliberate: this allocator's whole purpose is to die like a broken one would.
            std::process::abort();
        }
    }
}

impl Allocator for CrashAllocator {
    fn name(&self) -> String {
        format!("test-crash:{}", self.abort_at)
    }

    fn malloc(&mut self, n: usize) -> *mut u8 {
        self.count();
        SystemAllocator.malloc(n)
    }

    fn calloc(&mut self, nelem: usize, elsize: usize) -> *mut u8 {
        self.count();
        SystemAllocator.calloc(nelem, elsize)
    }

    unsafe fn realloc(&mut self, p: *mut u8, n: usize) -> *mut u8 {
        self.count();
        SystemAllocator.realloc(p, n)
    }

    unsafe fn free(&mut self, p: *mut u8) {
        self.count();
        SystemAllocator.free(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The abort itself is exercised in a child process by tests/cli_allocators.rs; here only
    /// the counting up to the last call before it.
    #[test]
    fn counts_every_kind_of_call() {
        let mut a = CrashAllocator::new(6);
        let p = a.malloc(10);
        let z = a.calloc(2, 3);
        // SAFETY: p and z are live system blocks.
        let p = unsafe { a.realloc(p, 100) };
        unsafe {
            a.free(p);
            a.free(z);
        }
        assert_eq!(a.calls(), 5);
        assert_eq!(a.name(), "test-crash:6");
    }
}
