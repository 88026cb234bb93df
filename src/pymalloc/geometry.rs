//! Arena/pool geometry: the CPython presets of pymalloc.md §1 and custom what-if geometries.

use std::fmt;
use std::str::FromStr;

/// Every request is rounded up to a multiple of this (pymalloc.md §1: ALIGNMENT = 16 on 64-bit).
pub const ALIGNMENT: usize = 16;
/// log2 of [`ALIGNMENT`]; the size class of `n` bytes is `(n - 1) >> ALIGNMENT_SHIFT`.
pub const ALIGNMENT_SHIFT: u32 = 4;
/// Requests above this many bytes (and zero-byte requests) go to the raw allocator.
pub const SMALL_REQUEST_THRESHOLD: usize = 512;
/// Number of size classes: 16, 32, …, 512 bytes.
pub const NUM_CLASSES: usize = SMALL_REQUEST_THRESHOLD / ALIGNMENT;
/// Bytes at the start of every pool taken by its header (pymalloc.md §2: 48 on 64-bit builds).
pub const POOL_HEADER_SIZE: usize = 48;

/// Smallest pool: CPython's pool initialisation hands out the first block and threads the
/// second onto the free list, so a pool must hold two 512-byte blocks after its header.
const MIN_POOL: usize = 2048;
/// Largest pool: offsets inside a pool are stored as `u32`.
const MAX_POOL: usize = 1 << 30;
/// Below four pools per arena an unaligned arena would keep too few pools to be meaningful.
const MIN_POOLS_PER_ARENA: usize = 4;
/// Arenas come from `mmap`, so they are at least one page.
const MIN_ARENA: usize = 4096;
/// The ownership map stores in-arena offsets as `u32`, so arenas stay below 2 GiB.
const MAX_ARENA: usize = 1 << 31;

/// A named CPython version whose obmalloc geometry and policies the engine reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    Cpython38,
    Cpython39,
    Cpython310,
    Cpython311,
    Cpython312,
    Cpython313,
}

impl Preset {
    /// All presets, oldest first.
    pub const ALL: [Preset; 6] = [
        Preset::Cpython38,
        Preset::Cpython39,
        Preset::Cpython310,
        Preset::Cpython311,
        Preset::Cpython312,
        Preset::Cpython313,
    ];

    /// The name used on the command line, e.g. `cpython-3.11`.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::Cpython38 => "cpython-3.8",
            Preset::Cpython39 => "cpython-3.9",
            Preset::Cpython310 => "cpython-3.10",
            Preset::Cpython311 => "cpython-3.11",
            Preset::Cpython312 => "cpython-3.12",
            Preset::Cpython313 => "cpython-3.13",
        }
    }

    /// The geometry and policies of this CPython version (pymalloc.md §1).
    pub const fn geometry(self) -> Geometry {
        match self {
            // 3.8 returns every empty arena to the OS at once, which makes allocate/free-all
            // loops map and unmap arenas every round (bpo-37257).
            Preset::Cpython38 => Geometry::custom_unchecked(256 << 10, 4 << 10, false),
            // 3.9 keeps the last empty arena of usable_arenas as a spare to stop that thrash.
            Preset::Cpython39 => Geometry::custom_unchecked(256 << 10, 4 << 10, true),
            // 3.10 moved to 1 MiB arenas and 16 KiB pools, made possible by the radix-tree
            // ownership check (bpo-37448), which no longer needs pools to be OS pages.
            Preset::Cpython310 | Preset::Cpython311 | Preset::Cpython312 | Preset::Cpython313 => {
                Geometry::custom_unchecked(1 << 20, 16 << 10, true)
            }
        }
    }

    /// The preset for a Python version such as `"3.11"`, if there is one.
    pub fn for_python(version: &str) -> Option<Preset> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name().strip_prefix("cpython-") == Some(version))
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a preset name or geometry string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("unknown pymalloc preset `{0}`; valid presets: {list}, or a geometry such as `arena=512K,pool=8K`", list = preset_list())]
    UnknownPreset(String),
    #[error("bad geometry `{0}`: expected comma-separated keys `arena=SIZE`, `pool=SIZE` and optionally `keep_spare=true|false`, with sizes like 256K or 1M")]
    Syntax(String),
    #[error("bad geometry `{spec}`: `{key}` is given more than once")]
    Repeated { spec: String, key: &'static str },
    #[error("bad geometry: {what} {value} is not a power of two")]
    NotPowerOfTwo { what: &'static str, value: usize },
    #[error("bad geometry: {what} {value} is outside {min}..={max} bytes")]
    OutOfRange {
        what: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },
    #[error(
        "bad geometry: arena {arena} holds fewer than {MIN_POOLS_PER_ARENA} pools of {pool} bytes"
    )]
    TooFewPools { arena: usize, pool: usize },
}

fn preset_list() -> String {
    Preset::ALL.map(Preset::name).join(", ")
}

/// Sizes and policies of one pymalloc configuration.
///
/// Build one from a [`Preset`], or parse a string: either a preset name (`cpython-3.9`) or a
/// custom geometry (`arena=512K,pool=8K[,keep_spare=false]`; custom geometries keep the 3.9+
/// spare-arena policy unless told otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    arena_size: usize,
    pool_size: usize,
    keep_spare_arena: bool,
}

impl Geometry {
    const fn custom_unchecked(arena_size: usize, pool_size: usize, keep_spare_arena: bool) -> Self {
        Geometry {
            arena_size,
            pool_size,
            keep_spare_arena,
        }
    }

    /// A validated custom geometry: both sizes powers of two, pools of 2 KiB – 1 GiB, arenas of
    /// 4 KiB – 2 GiB holding at least four pools.
    pub fn custom(
        arena_size: usize,
        pool_size: usize,
        keep_spare_arena: bool,
    ) -> Result<Self, GeometryError> {
        check_size("pool size", pool_size, MIN_POOL, MAX_POOL)?;
        check_size("arena size", arena_size, MIN_ARENA, MAX_ARENA)?;
        if arena_size / pool_size < MIN_POOLS_PER_ARENA {
            return Err(GeometryError::TooFewPools {
                arena: arena_size,
                pool: pool_size,
            });
        }
        Ok(Self::custom_unchecked(
            arena_size,
            pool_size,
            keep_spare_arena,
        ))
    }

    /// Bytes mapped per arena.
    pub const fn arena_size(&self) -> usize {
        self.arena_size
    }

    /// Bytes per pool.
    pub const fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Pools in an arena whose start is pool-aligned (one fewer otherwise).
    pub const fn pools_per_arena(&self) -> usize {
        self.arena_size / self.pool_size
    }

    /// Whether a fully free arena is kept when it is the last of `usable_arenas` (3.9+).
    pub const fn keeps_spare_arena(&self) -> bool {
        self.keep_spare_arena
    }

    /// Blocks of size class `class` (0-based) that fit in one pool.
    pub const fn blocks_per_pool(&self, class: usize) -> usize {
        (self.pool_size - POOL_HEADER_SIZE) / class_size(class)
    }

    /// Bytes at the end of a pool of `class` that no block can use (quantization loss).
    pub const fn pool_leftover(&self, class: usize) -> usize {
        (self.pool_size - POOL_HEADER_SIZE) % class_size(class)
    }

    /// The preset with exactly this geometry, if any (3.10–3.13 share one; the oldest wins).
    pub fn preset(&self) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.geometry() == *self)
    }
}

impl Default for Geometry {
    /// The geometry of CPython 3.11, the default interpreter of this project's machines.
    fn default() -> Self {
        Preset::Cpython311.geometry()
    }
}

impl From<Preset> for Geometry {
    fn from(p: Preset) -> Self {
        p.geometry()
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arena={},pool={}",
            format_size(self.arena_size),
            format_size(self.pool_size)
        )?;
        if !self.keep_spare_arena {
            f.write_str(",keep_spare=false")?;
        }
        Ok(())
    }
}

impl FromStr for Preset {
    type Err = GeometryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| GeometryError::UnknownPreset(s.to_string()))
    }
}

impl FromStr for Geometry {
    type Err = GeometryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.contains('=') {
            return s.parse::<Preset>().map(Preset::geometry);
        }
        let (mut arena, mut pool, mut keep_spare) = (None, None, None);
        let bad = || GeometryError::Syntax(s.to_string());
        for part in s.split(',') {
            let (key, value) = part.split_once('=').ok_or_else(bad)?;
            let (slot, parsed, key) = match key.trim() {
                "arena" => (&mut arena, parse_size(value), "arena"),
                "pool" => (&mut pool, parse_size(value), "pool"),
                "keep_spare" => {
                    let v = value.trim().parse::<bool>().map_err(|_| bad())?;
                    // A key given twice is a typo, not a request for the last value.
                    if keep_spare.replace(v).is_some() {
                        return Err(GeometryError::Repeated {
                            spec: s.to_string(),
                            key: "keep_spare",
                        });
                    }
                    continue;
                }
                _ => return Err(bad()),
            };
            if slot.replace(parsed.ok_or_else(bad)?).is_some() {
                return Err(GeometryError::Repeated {
                    spec: s.to_string(),
                    key,
                });
            }
        }
        let keep_spare = keep_spare.unwrap_or(true);
        match (arena, pool) {
            (Some(a), Some(p)) => Geometry::custom(a, p, keep_spare),
            _ => Err(GeometryError::Syntax(s.to_string())),
        }
    }
}

/// Block size of size class `class`: 16 × (class + 1).
pub const fn class_size(class: usize) -> usize {
    (class + 1) << ALIGNMENT_SHIFT
}

/// Size class serving a request of `n` bytes, for 1 ≤ n ≤ 512.
pub const fn size_class(n: usize) -> usize {
    (n - 1) >> ALIGNMENT_SHIFT
}

fn check_size(
    what: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<(), GeometryError> {
    if !value.is_power_of_two() {
        return Err(GeometryError::NotPowerOfTwo { what, value });
    }
    if value < min || value > max {
        return Err(GeometryError::OutOfRange {
            what,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Parses `4096`, `8K`, `8KiB`, `1M`, `1MiB`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let num: usize = num.parse().ok()?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return None,
    };
    num.checked_mul(1usize << shift)
}

/// Writes a size the way [`parse_size`] reads it: `1M`, `256K`, or plain bytes.
pub fn format_size(n: usize) -> String {
    if n == 0 {
        // Not "0K": zero is no multiple of anything worth naming.
        "0".to_string()
    } else if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{}M", n >> 20)
    } else if n % 1024 == 0 {
        format!("{}K", n >> 10)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_by_name_and_geometry_round_trips() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
            let g: Geometry = p.name().parse().unwrap();
            assert_eq!(g, p.geometry());
            assert_eq!(g.to_string().parse::<Geometry>(), Ok(g));
        }
    }

    #[test]
    fn custom_geometry_parses_units() {
        let g: Geometry = "arena=512K,pool=8K".parse().unwrap();
        assert_eq!((g.arena_size(), g.pool_size()), (512 << 10, 8 << 10));
        assert!(g.keeps_spare_arena());
        let g: Geometry = "pool=4KiB, arena=1M, keep_spare=false".parse().unwrap();
        assert_eq!((g.arena_size(), g.pool_size()), (1 << 20, 4 << 10));
        assert!(!g.keeps_spare_arena());
    }

    #[test]
    fn invalid_geometries_are_refused_with_the_reason() {
        let err = |s: &str| s.parse::<Geometry>().unwrap_err();
        assert!(matches!(
            err("arena=500K,pool=8K"),
            GeometryError::NotPowerOfTwo {
                what: "arena size",
                ..
            }
        ));
        assert!(matches!(
            err("arena=512K,pool=1K"),
            GeometryError::OutOfRange {
                what: "pool size",
                ..
            }
        ));
        assert!(matches!(
            err("arena=16K,pool=8K"),
            GeometryError::TooFewPools { .. }
        ));
        assert!(matches!(err("arena=512K"), GeometryError::Syntax(_)));
        assert!(matches!(
            err("arena=512X,pool=8K"),
            GeometryError::Syntax(_)
        ));
        let unknown = err("cpython-2.7").to_string();
        assert!(
            unknown.contains("cpython-3.8") && unknown.contains("cpython-3.13"),
            "{unknown}"
        );
    }

    #[test]
    fn sizes_print_as_they_parse() {
        for (n, shown) in [(0, "0"), (4096, "4K"), (1 << 20, "1M"), (1000, "1000")] {
            assert_eq!(format_size(n), shown);
            assert_eq!(parse_size(shown), Some(n));
        }
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        for (spec, key) in [
            ("arena=256K,arena=1M,pool=4K", "arena"),
            ("arena=1M,pool=4K,pool=8K", "pool"),
            (
                "arena=1M,pool=4K,keep_spare=true,keep_spare=false",
                "keep_spare",
            ),
        ] {
            let e = spec.parse::<Geometry>().unwrap_err();
            assert_eq!(
                e,
                GeometryError::Repeated {
                    spec: spec.to_string(),
                    key
                }
            );
            assert_eq!(
                e.to_string(),
                format!("bad geometry `{spec}`: `{key}` is given more than once")
            );
        }
    }

    #[test]
    fn python_versions_map_to_presets() {
        assert_eq!(Preset::for_python("3.9"), Some(Preset::Cpython39));
        assert_eq!(Preset::for_python("3.13"), Some(Preset::Cpython313));
        assert_eq!(Preset::for_python("3.7"), None);
    }
}
