//! The text of CPython's `_PyObject_DebugMallocStats` (what `sys._debugmallocstats()` prints),
//! read back into numbers, so the real obmalloc's accounting can be compared field by field
//! with the engine's [`crate::pymalloc::Stats`] (pymalloc.md §6).
//!
//! Layout facts, read off real 3.8.18 – 3.13.0 output (fixtures in `tests/fixtures/`): a
//! `Small block threshold = 512, in 32 size classes.` line; a class table of five integer
//! columns (classes without pools are skipped); then `name = value` lines, values with
//! thousands separators. The arena and byte lines are the same on every version; 3.10+ adds
//! "arena map" lines and every version appends free-list lines, which are kept as-is in
//! [`DebugMallocStats::other`].

use crate::pymalloc::{class_size, ClassStats, Stats, NUM_CLASSES};

/// The figures of one `_PyObject_DebugMallocStats` report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DebugMallocStats {
    /// Per size class, indexed by class; classes the report skipped have zero pools.
    pub classes: [ClassStats; NUM_CLASSES],
    pub arenas_allocated_total: usize,
    pub arenas_reclaimed: usize,
    pub arenas_highwater: usize,
    pub arenas_allocated_current: usize,
    /// From the `N arenas * SIZE bytes/arena` line.
    pub arena_size: usize,
    /// From the `N unused pools * SIZE bytes` line.
    pub pool_size: usize,
    pub bytes_in_allocated_blocks: usize,
    pub bytes_in_available_blocks: usize,
    pub unused_pools: usize,
    pub bytes_lost_to_pool_headers: usize,
    pub bytes_lost_to_quantization: usize,
    pub bytes_lost_to_arena_alignment: usize,
    /// The first `Total` line: the sum of the byte lines.
    pub total: usize,
    /// Every other `name = value` line in order (arena map, free lists, a second `Total`).
    pub other: Vec<(String, usize)>,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: {message}: {text:?}")]
    BadLine {
        line: usize,
        message: &'static str,
        text: String,
    },
    #[error("no `{0}` line in the report")]
    Missing(&'static str),
}

impl DebugMallocStats {
    /// Reads a report. Unknown `name = value` lines go to [`Self::other`]; a malformed class
    /// row or value, or a missing arena/byte line, is an error.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut classes = [ClassStats::default(); NUM_CLASSES];
        for (c, s) in classes.iter_mut().enumerate() {
            s.size = class_size(c);
        }
        let mut fields: [Option<usize>; 13] = [None; 13];
        let mut other = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let bad = |message| ParseError::BadLine {
                line: i + 1,
                message,
                text: raw.to_string(),
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with("class") || line.starts_with("---") {
                continue;
            }
            if line.starts_with("Small block threshold") {
                continue;
            }
            let is_row = line.starts_with(|c: char| c.is_ascii_digit()) && !line.contains('=');
            if !is_row && !line.contains('=') {
                continue; // a section heading such as "arena map counts"
            }
            if let Some((name, value)) = line.split_once('=') {
                let value = parse_number(value.trim()).ok_or_else(|| bad("bad value"))?;
                let name = name.trim();
                match assignments(name, value) {
                    // The first occurrence wins: 3.10+ prints a second `Total` for its arena map.
                    Some(set) if set.iter().all(|&(k, _)| fields[k].is_none()) => {
                        for (k, v) in set {
                            fields[k] = Some(v);
                        }
                    }
                    _ => other.push((name.to_string(), value)),
                }
                continue;
            }
            let (class, stats) = class_row(line).map_err(bad)?;
            classes[class] = stats;
        }
        let get = |k: usize| fields[k].ok_or(ParseError::Missing(FIELD_NAMES[k]));
        Ok(DebugMallocStats {
            classes,
            arenas_allocated_total: get(0)?,
            arenas_reclaimed: get(1)?,
            arenas_highwater: get(2)?,
            arenas_allocated_current: get(3)?,
            arena_size: get(4)?,
            pool_size: get(5)?,
            bytes_in_allocated_blocks: get(6)?,
            bytes_in_available_blocks: get(7)?,
            unused_pools: get(8)?,
            bytes_lost_to_pool_headers: get(9)?,
            bytes_lost_to_quantization: get(10)?,
            bytes_lost_to_arena_alignment: get(11)?,
            total: get(12)?,
            other,
        })
    }

    /// The figures of size class `class`.
    ///
    /// # Panics
    /// When `class` is not below [`crate::pymalloc::NUM_CLASSES`] (32: classes of 16 B up
    /// to 512 B), as indexing the classes does; the engine's [`crate::pymalloc::Stats::class`]
    /// says the same.
    pub fn class(&self, class: usize) -> &ClassStats {
        &self.classes[class]
    }

    /// Blocks in use over all classes.
    pub fn blocks_in_use(&self) -> usize {
        self.classes.iter().map(|c| c.blocks_in_use).sum()
    }

    /// Pools serving some class.
    pub fn pools_in_use(&self) -> usize {
        self.classes.iter().map(|c| c.pools).sum()
    }
}

/// The engine's accounting in the same shape, so engine and interpreter compare with `==` on
/// any field. The engine's ownership-map lines go to `other`, as CPython's arena-map ones do.
impl From<&Stats> for DebugMallocStats {
    fn from(s: &Stats) -> Self {
        DebugMallocStats {
            classes: s.classes,
            arenas_allocated_total: s.arenas_allocated_total,
            arenas_reclaimed: s.arenas_reclaimed,
            arenas_highwater: s.arenas_highwater,
            arenas_allocated_current: s.arenas_allocated_current,
            arena_size: s.geometry.arena_size(),
            pool_size: s.geometry.pool_size(),
            bytes_in_allocated_blocks: s.bytes_in_allocated_blocks,
            bytes_in_available_blocks: s.bytes_in_available_blocks,
            unused_pools: s.unused_pools,
            bytes_lost_to_pool_headers: s.bytes_lost_to_pool_headers,
            bytes_lost_to_quantization: s.bytes_lost_to_quantization,
            bytes_lost_to_arena_alignment: s.bytes_lost_to_arena_alignment,
            total: s.byte_lines_total(),
            other: vec![
                ("# ownership map leaves".into(), s.ownership_map_leaves),
                ("# requests served by raw allocator".into(), s.raw_requests),
            ],
        }
    }
}

const FIELD_NAMES: [&str; 13] = [
    "# arenas allocated total",
    "# arenas reclaimed",
    "# arenas highwater mark",
    "# arenas allocated current",
    "N arenas * SIZE bytes/arena",
    "N unused pools * SIZE bytes",
    "# bytes in allocated blocks",
    "# bytes in available blocks",
    "(unused pools count)",
    "# bytes lost to pool headers",
    "# bytes lost to quantization",
    "# bytes lost to arena alignment",
    "Total",
];

/// The fields a `name = value` line fills, as (field index, value) pairs. Most lines fill one
/// field with their value; the arena line names the arena size (its value is arenas × size)
/// and the unused-pools line names the pool count and size (its value is their product).
fn assignments(name: &str, value: usize) -> Option<Vec<(usize, usize)>> {
    if let Some(k) = FIELD_NAMES.iter().position(|f| *f == name) {
        return (![4, 5, 8].contains(&k)).then(|| vec![(k, value)]);
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    match words[..] {
        [n, "arenas", "*", size, "bytes/arena"] => {
            let (n, size): (usize, usize) = (n.parse().ok()?, size.parse().ok()?);
            (n.checked_mul(size) == Some(value)).then(|| vec![(4, size)])
        }
        [n, "unused", "pools", "*", size, "bytes"] => {
            let (n, size): (usize, usize) = (n.parse().ok()?, size.parse().ok()?);
            (n.checked_mul(size) == Some(value)).then(|| vec![(8, n), (5, size)])
        }
        _ => None,
    }
}

/// `"4,194,304"` → 4194304.
fn parse_number(s: &str) -> Option<usize> {
    let digits: String = s.chars().filter(|&c| c != ',').collect();
    digits.parse().ok()
}

/// One size-class row of the report, `class size pools blocks_in_use avail_blocks`, with its
/// size checked against the class's (a report of another geometry is refused here).
fn class_row(line: &str) -> Result<(usize, ClassStats), &'static str> {
    let row: Vec<usize> = line
        .split_whitespace()
        .map(|w| w.parse().map_err(|_| "not a class row"))
        .collect::<Result<_, _>>()?;
    let [class, size, pools, in_use, avail] = row[..] else {
        return Err("a class row has five columns");
    };
    if class >= NUM_CLASSES || size != class_size(class) {
        return Err("class index and size do not match");
    }
    let stats = ClassStats {
        size,
        pools,
        blocks_in_use: in_use,
        avail_blocks: avail,
    };
    Ok((class, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pymalloc::{Geometry, Preset, Pymalloc, POOL_HEADER_SIZE};

    /// Real reports captured with `pythonX.Y -c 'import sys; sys._debugmallocstats()'`.
    const FIXTURES: [(&str, Preset, &str); 5] = [
        (
            "3.8.18",
            Preset::Cpython38,
            include_str!("../../tests/fixtures/debugmallocstats-3.8.18.txt"),
        ),
        (
            "3.9.18",
            Preset::Cpython39,
            include_str!("../../tests/fixtures/debugmallocstats-3.9.18.txt"),
        ),
        (
            "3.11.7",
            Preset::Cpython311,
            include_str!("../../tests/fixtures/debugmallocstats-3.11.7.txt"),
        ),
        (
            "3.12.1",
            Preset::Cpython312,
            include_str!("../../tests/fixtures/debugmallocstats-3.12.1.txt"),
        ),
        (
            "3.13.0",
            Preset::Cpython313,
            include_str!("../../tests/fixtures/debugmallocstats-3.13.0.txt"),
        ),
    ];

    /// Every identity of pymalloc.md §6 holds on the parsed figures, with the geometry of the
    /// interpreter's version: a parser that misreads any column or line breaks one of them.
    #[test]
    fn real_reports_satisfy_the_accounting_identities() {
        for (version, preset, text) in FIXTURES {
            let s = DebugMallocStats::parse(text).unwrap_or_else(|e| panic!("{version}: {e}"));
            let g: Geometry = preset.geometry();
            assert_eq!(
                (s.arena_size, s.pool_size),
                (g.arena_size(), g.pool_size()),
                "{version}"
            );
            let mut in_use = 0;
            let mut avail = 0;
            let mut quantization = 0;
            for (c, k) in s.classes.iter().enumerate() {
                assert_eq!(
                    k.blocks_in_use + k.avail_blocks,
                    k.pools * g.blocks_per_pool(c),
                    "{version} class {c}"
                );
                in_use += k.blocks_in_use * k.size;
                avail += k.avail_blocks * k.size;
                quantization += k.pools * g.pool_leftover(c);
            }
            assert!(
                s.blocks_in_use() > 1000,
                "{version}: a started interpreter has live objects"
            );
            assert_eq!(s.bytes_in_allocated_blocks, in_use, "{version}");
            assert_eq!(s.bytes_in_available_blocks, avail, "{version}");
            assert_eq!(s.bytes_lost_to_quantization, quantization, "{version}");
            assert_eq!(
                s.bytes_lost_to_pool_headers,
                s.pools_in_use() * POOL_HEADER_SIZE,
                "{version}"
            );
            assert_eq!(
                s.arenas_reclaimed,
                s.arenas_allocated_total - s.arenas_allocated_current
            );
            let lines = in_use
                + avail
                + s.unused_pools * s.pool_size
                + s.bytes_lost_to_pool_headers
                + quantization
                + s.bytes_lost_to_arena_alignment;
            assert_eq!(lines, s.total, "{version}: byte lines add up");
            assert_eq!(
                s.total,
                s.arenas_allocated_current * s.arena_size,
                "{version}"
            );
            // 3.10+ arenas are not pool aligned: at most one pool lost per arena.
            assert!(s.bytes_lost_to_arena_alignment <= s.arenas_allocated_current * s.pool_size);
            assert!(!s.other.is_empty(), "{version}: free-list lines are kept");
        }
    }

    #[test]
    fn engine_stats_convert_to_the_same_shape() {
        let mut e = Pymalloc::new(Preset::Cpython311.geometry());
        let blocks: Vec<_> = (0..10).map(|_| e.malloc(64)).collect();
        let s = DebugMallocStats::from(&e.stats());
        assert_eq!(s.class(3).blocks_in_use, 10);
        assert_eq!(s.class(3).pools, 1);
        assert_eq!(s.total, s.arena_size * s.arenas_allocated_current);
        // Printing the engine's stats and parsing them back gives the same figures.
        let reparsed = DebugMallocStats::parse(&e.stats().to_string()).unwrap();
        assert_eq!(reparsed.classes, s.classes);
        assert_eq!(reparsed.total, s.total);
        for p in blocks {
            // SAFETY: each block is live and freed once.
            unsafe { e.free(p) };
        }
    }

    #[test]
    fn malformed_reports_are_errors_not_panics() {
        let text = FIXTURES[2].2;
        let broken = text.replace("# bytes lost to quantization", "# bytes lost to nothing");
        assert_eq!(
            DebugMallocStats::parse(&broken).unwrap_err(),
            ParseError::Missing("# bytes lost to quantization")
        );
        // Class 3's row, the report's eighth line, replaced.
        let row3 = text.lines().nth(7).unwrap();
        assert!(row3.trim_start().starts_with("3     64"), "{row3}");
        for (to, why) in [
            ("3 65 50 12566 184", "class index and size do not match"),
            ("40 64 50 12566 184", "class index and size do not match"),
            ("3 64 50 12566", "a class row has five columns"),
            ("3 64 50 12566 184 1", "a class row has five columns"),
            ("3 6x 50 12566 184", "not a class row"),
        ] {
            let bad_row = text.replacen(row3, to, 1);
            match DebugMallocStats::parse(&bad_row) {
                Err(ParseError::BadLine { line, message, .. }) => {
                    assert_eq!((line, message), (8, why), "{to}")
                }
                other => panic!("{to}: {other:?}"),
            }
        }
        assert!(DebugMallocStats::parse("Total = lots").is_err());
        assert!(DebugMallocStats::parse("").is_err());
    }

    /// A count × size that overflows is no product of the line's value, even where the
    /// wrapped product equals it ((2^44 + 4) × 1 MiB wraps to 4 MiB): it used to be taken
    /// in an optimised build and to panic in a debug one.
    #[test]
    fn a_product_that_overflows_is_refused() {
        let text = FIXTURES[2].2;
        let arenas = text.replacen("4 arenas * 1048576", "17592186044420 arenas * 1048576", 1);
        assert_eq!(
            DebugMallocStats::parse(&arenas).unwrap_err(),
            ParseError::Missing("N arenas * SIZE bytes/arena")
        );
        let pools = (1usize << 50) + 17;
        let unused = text.replacen("17 unused pools", &format!("{pools} unused pools"), 1);
        assert_eq!(
            DebugMallocStats::parse(&unused).unwrap_err(),
            ParseError::Missing("N unused pools * SIZE bytes")
        );
    }
}
