//! CPython's small-object allocator (obmalloc), reproduced from `shared/docs/pymalloc.md`.
//!
//! - [`Pymalloc`]: the single-threaded engine (`malloc`, `calloc`, `realloc`, `free`), with
//!   CPython's size classes, used-pool lists, LIFO empty pools, `usable_arenas` kept sorted in
//!   O(1), arena release (keeping one spare on 3.9+), the 25 % realloc shrink rule, and the
//!   raw-allocator fallback for 0-byte and > 512-byte requests.
//! - [`Geometry`] and [`Preset`]: CPython 3.8 – 3.13 geometries and custom what-if ones.
//! - [`Stats`]: the accounting of `sys._debugmallocstats()`, printed in its layout by
//!   `Display`.
//! - [`LockedPymalloc`]: the engine behind one lock (a GIL), usable as `#[global_allocator]`.
//! - [`Pymalloc::seed_from`]: an empty engine filled with phantom blocks up to a recorded
//!   interpreter's state ([`Seed`]), so a replay starts where the recording did.
//!
//! Module layout: `engine.rs` holds the fast paths, `slow.rs` the pool/arena management,
//! `ownership.rs` the "is this ours?" map; every mmap and system-allocator call goes through
//! `crate::sys::mem`.

mod engine;
mod format;
mod geometry;
mod invariants;
mod locked;
mod ownership;
mod placement;
mod pool;
mod seed;
mod slow;
mod stats;

pub use engine::Pymalloc;
pub use geometry::{
    class_size, format_size, parse_size, size_class, Geometry, GeometryError, Preset, ALIGNMENT,
    NUM_CLASSES, POOL_HEADER_SIZE, SMALL_REQUEST_THRESHOLD,
};
pub use invariants::InvariantError;
pub use locked::LockedPymalloc;
pub use placement::ArenaPlacement;
pub use seed::{seeding_bytes, Phantoms, Seed, SeedClass, SeedError};
pub use stats::{ArenaInfo, ClassStats, Stats};
