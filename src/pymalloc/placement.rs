//! Where an arena starts relative to pool boundaries, which decides whether it loses a pool.
//!
//! `mmap` promises page alignment only, so with pools larger than a page (3.10+'s 16 KiB) an
//! arena whose start is not pool aligned holds one pool fewer (pymalloc.md §2, "arena
//! alignment"). Which case a process gets depends on where the kernel's address-space layout
//! randomisation put its mappings: `pybench engine -p cpython-3.11` run six times here lost
//! 0 or 27 pools (all arenas of a process alike; before 2026-12-05, when each arena was its
//! own `mmap`). Accounting meant to be compared across runs and geometries (`pybench
//! sweep`) therefore fixes the placement; the default one, a span of address space
//! (`sys/arena_region.rs`), fixes it as well, at the common case.

use crate::sys::arena_region::ArenaRegion;
use crate::sys::mem as os;
use std::ptr::NonNull;

/// How the engine places a new arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ArenaPlacement {
    /// Side by side with the engine's other arenas, in a span of address space reserved
    /// wherever `mmap` puts it (`sys/arena_region.rs`), each arena one page past a pool
    /// boundary there, as most of a real interpreter's are (the accounting of `Unaligned`);
    /// a plain mapping, aligned as the kernel chooses, when the span cannot be had.
    #[default]
    Mmap,
    /// On a pool boundary: every arena keeps all its pools (the lucky process).
    Aligned,
    /// One page past a pool boundary: every arena loses its first, partial pool whenever a
    /// pool is larger than a page (the unlucky process); same as `Aligned` otherwise.
    Unaligned,
}

impl ArenaPlacement {
    /// Maps `arena_size` bytes placed as `self` says for pools of `pool_size` bytes (`Mmap`:
    /// in the engine's `region`).
    pub(crate) fn map(
        self,
        arena_size: usize,
        pool_size: usize,
        region: &mut ArenaRegion,
    ) -> Option<NonNull<u8>> {
        let page = os::page_size();
        match self {
            ArenaPlacement::Mmap => region.map(arena_size),
            _ if pool_size <= page => os::map(arena_size),
            ArenaPlacement::Aligned => os::map_at(arena_size, pool_size, 0),
            ArenaPlacement::Unaligned => os::map_at(arena_size, pool_size, page),
        }
    }

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            ArenaPlacement::Mmap => "mmap",
            ArenaPlacement::Aligned => "aligned",
            ArenaPlacement::Unaligned => "unaligned",
        }
    }
}

impl std::str::FromStr for ArenaPlacement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            ArenaPlacement::Mmap,
            ArenaPlacement::Aligned,
            ArenaPlacement::Unaligned,
        ]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| format!("unknown arena placement `{s}`; valid: unaligned, aligned, mmap"))
    }
}

impl std::fmt::Display for ArenaPlacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
