//! CPython's small-object allocator (obmalloc), reproduced from `shared/docs/pymalloc.md`.

mod geometry;

pub use geometry::{
    class_size, size_class, Geometry, GeometryError, Preset, ALIGNMENT, NUM_CLASSES,
    POOL_HEADER_SIZE, SMALL_REQUEST_THRESHOLD,
};
