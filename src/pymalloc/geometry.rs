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
    #[error("unknown pymalloc preset `{0}`{hint}; valid presets: {list}, or a geometry such as `arena=512K,pool=8K`", hint = preset_hint(.0), list = preset_list())]
    UnknownPreset(String),
    /// `why` names the part at fault: the key that is missing or unknown, the value that
    /// is no size or no boolean. It used to be one sentence for every fault, so `arena=512K`
    /// never said that `pool` was missing.
    #[error("bad geometry `{spec}`: {why}; expected comma-separated keys `arena=SIZE`, `pool=SIZE` and optionally `keep_spare=true|false`, with sizes like 256K or 1M")]
    Syntax { spec: String, why: String },
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

/// ` (did you mean `cpython-3.11`?)` for a bare version (`3.11`, which `sweep --preset`
/// takes) or a preset name within a typo (`cpython3.11`), else nothing.
/// A version with no preset (`cpython-3.14`) gets no hint: the nearest spelling would be
/// another version.
fn preset_hint(typed: &str) -> String {
    let t = typed.trim();
    let version = t
        .trim_start_matches("cpython")
        .trim_start_matches(['-', '_', ' ']);
    let is_version = version.split_once('.').is_some_and(|(a, b)| {
        [a, b]
            .iter()
            .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
    });
    match Preset::for_python(version) {
        Some(p) => format!(" (did you mean `{}`?)", p.name()),
        None if is_version => String::new(),
        None => crate::suggest::did_you_mean(t, Preset::ALL.map(Preset::name)),
    }
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
        let mut keys = Keys::default();
        for part in s.split(',') {
            keys.take(s, part)?;
        }
        let bad = |why: &str| syntax(s, why.to_string());
        match (keys.arena, keys.pool) {
            (Some(a), Some(p)) => Geometry::custom(a, p, keys.keep_spare.unwrap_or(true)),
            (None, _) => Err(bad("`arena` is missing")),
            (_, None) => Err(bad("`pool` is missing")),
        }
    }
}

fn syntax(spec: &str, why: String) -> GeometryError {
    GeometryError::Syntax {
        spec: spec.to_string(),
        why,
    }
}

/// The keys of a custom geometry given so far.
#[derive(Default)]
struct Keys {
    arena: Option<usize>,
    pool: Option<usize>,
    keep_spare: Option<bool>,
}

impl Keys {
    /// Takes one `KEY=VALUE` part of `spec`. A key given twice is a typo, not a request for
    /// the last value: an error.
    fn take(&mut self, spec: &str, part: &str) -> Result<(), GeometryError> {
        let bad = |why: String| syntax(spec, why);
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("`{}` is not KEY=VALUE", part.trim())))?;
        let (key, value) = (key.trim(), value.trim());
        let size = || {
            parse_size(value).ok_or_else(|| {
                bad(format!(
                    "`{key}={value}`: `{value}` is not a size (bytes, or K, M, G: binary multiples)"
                ))
            })
        };
        let repeated = |key| GeometryError::Repeated {
            spec: spec.to_string(),
            key,
        };
        match key {
            "arena" => self
                .arena
                .replace(size()?)
                .map_or(Ok(()), |_| Err(repeated("arena"))),
            "pool" => self
                .pool
                .replace(size()?)
                .map_or(Ok(()), |_| Err(repeated("pool"))),
            "keep_spare" => {
                let v = value
                    .parse::<bool>()
                    .map_err(|_| bad(format!("keep_spare must be true or false, not `{value}`")))?;
                self.keep_spare
                    .replace(v)
                    .map_or(Ok(()), |_| Err(repeated("keep_spare")))
            }
            other => {
                let hint = if other.contains("spare") {
                    " (did you mean `keep_spare`?)".to_string()
                } else {
                    crate::suggest::did_you_mean(other, ["arena", "pool", "keep_spare"])
                };
                Err(bad(format!("unknown key `{other}`{hint}")))
            }
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

/// Writes a size the way [`parse_size`] reads it: `4G`, `1M`, `256K`, or plain bytes — the
/// largest unit that divides it, so a size is shown as the user would write it (`4G`, not
/// `4096M`).
pub fn format_size(n: usize) -> String {
    if n == 0 {
        // Not "0K": zero is no multiple of anything worth naming.
        "0".to_string()
    } else if n >= 1 << 30 && n % (1 << 30) == 0 {
        format!("{}G", n >> 30)
    } else if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{}M", n >> 20)
    } else if n % 1024 == 0 {
        format!("{}K", n >> 10)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
#[path = "geometry_tests.rs"]
mod tests;
