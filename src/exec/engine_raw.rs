//! The engine's accounting at exit as plain numbers, formatted by pybench rather than inside
//! the measured interpreter.
//!
//! Why: every page of `libpybench_engine.so` the interpreter touches counts in its RSS, and
//! the kernel maps cached file pages in 64 KiB windows around each fault. The engine's code
//! lies in one window; Rust's formatting machinery (`core::fmt`, `std::fs`) lies in others.
//! Printing the `sys._debugmallocstats()` layout at exit — when the program's heap is usually
//! at its peak — added those windows to the peak RSS that `exec` compares against the
//! interpreter's own pymalloc. So the library writes `PBRAW` and the numbers of [`Stats`]
//! with a digit loop and `write(2)`, and `engine_site.rs` rebuilds [`Stats`] and formats it.

use super::engine_hook::Moment;
use crate::pymalloc::{ClassStats, Geometry, Stats, NUM_CLASSES};

/// The first word of a raw report.
pub const MAGIC: &[u8] = b"PBRAW";
/// Numbers before the per-class ones.
const HEAD: usize = 22;
/// Numbers in a raw report.
pub const LEN: usize = HEAD + 4 * NUM_CLASSES;

/// The hook's counters next to the engine's accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub moment: Moment,
    pub passed_on: u64,
    pub foreign: u64,
}

/// `stats` and `counters` as numbers, in a fixed order that [`decode`] reads back.
pub fn encode(stats: &Stats, c: &Counters) -> [usize; LEN] {
    let g = stats.geometry;
    let head: [usize; HEAD] = [
        g.arena_size(),
        g.pool_size(),
        usize::from(g.keeps_spare_arena()),
        usize::from(c.moment == Moment::BeforeStartup),
        c.passed_on as usize,
        c.foreign as usize,
        stats.arenas_allocated_total,
        stats.arenas_reclaimed,
        stats.arenas_highwater,
        stats.arenas_allocated_current,
        stats.bytes_in_allocated_blocks,
        stats.bytes_in_available_blocks,
        stats.unused_pools,
        stats.bytes_lost_to_pool_headers,
        stats.bytes_lost_to_quantization,
        stats.bytes_lost_to_arena_alignment,
        stats.unaligned_arenas,
        stats.ownership_map_root_bytes,
        stats.ownership_map_leaves,
        stats.ownership_map_leaf_bytes,
        stats.raw_requests,
        stats.arena_failures,
    ];
    let mut out = [0usize; LEN];
    out[..HEAD].copy_from_slice(&head);
    for (i, k) in stats.classes.iter().enumerate() {
        out[HEAD + 4 * i..HEAD + 4 * i + 4].copy_from_slice(&[
            k.size,
            k.pools,
            k.blocks_in_use,
            k.avail_blocks,
        ]);
    }
    out
}

/// Writes `PBRAW n1 n2 …\n` into `buf` with no formatting machinery; returns the length, or
/// `None` when `buf` is too small (21 bytes per number suffice).
pub fn render(numbers: &[usize], buf: &mut [u8]) -> Option<usize> {
    let mut at = 0;
    let mut put = |b: u8| -> Option<()> {
        *buf.get_mut(at)? = b;
        at += 1;
        Some(())
    };
    for &b in MAGIC {
        put(b)?;
    }
    for &n in numbers {
        put(b' ')?;
        for &d in decimal(n, &mut [0u8; 20]) {
            put(d)?;
        }
    }
    put(b'\n')?;
    Some(at)
}

/// `v` in decimal, written from the end of `out` with a digit loop (no formatting machinery,
/// see the module doc); returns the digits.
pub fn decimal(mut v: usize, out: &mut [u8; 20]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &out[at..];
        }
    }
}

/// Reads a raw report back; `None` when it is not one or does not describe a geometry.
pub fn decode(text: &str) -> Option<(Stats, Counters)> {
    let mut words = text.split_whitespace();
    if words.next()?.as_bytes() != MAGIC {
        return None;
    }
    let n: Vec<usize> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
    if n.len() != LEN {
        return None;
    }
    let geometry = Geometry::custom(n[0], n[1], n[2] == 1).ok()?;
    let mut classes = [ClassStats::default(); NUM_CLASSES];
    for (i, k) in classes.iter_mut().enumerate() {
        let f = &n[HEAD + 4 * i..HEAD + 4 * i + 4];
        *k = ClassStats {
            size: f[0],
            pools: f[1],
            blocks_in_use: f[2],
            avail_blocks: f[3],
        };
    }
    let stats = Stats {
        geometry,
        classes,
        arenas_allocated_total: n[6],
        arenas_reclaimed: n[7],
        arenas_highwater: n[8],
        arenas_allocated_current: n[9],
        bytes_in_allocated_blocks: n[10],
        bytes_in_available_blocks: n[11],
        unused_pools: n[12],
        bytes_lost_to_pool_headers: n[13],
        bytes_lost_to_quantization: n[14],
        bytes_lost_to_arena_alignment: n[15],
        unaligned_arenas: n[16],
        ownership_map_root_bytes: n[17],
        ownership_map_leaves: n[18],
        ownership_map_leaf_bytes: n[19],
        raw_requests: n[20],
        arena_failures: n[21],
    };
    let counters = Counters {
        moment: if n[3] == 1 {
            Moment::BeforeStartup
        } else {
            Moment::AfterStartup
        },
        passed_on: n[4] as u64,
        foreign: n[5] as u64,
    };
    Some((stats, counters))
}

/// The accounting as `pybench exec` prints it: `sys._debugmallocstats()`'s layout, then the
/// hook's counters.
pub fn text(stats: &Stats, c: &Counters) -> String {
    format!(
        "{stats}\n# pybench engine hook: installed {}; {} requests passed to the interpreter's \
         allocator, {} frees/reallocs of blocks it does not own\n",
        match c.moment {
            Moment::BeforeStartup => "before start-up",
            Moment::AfterStartup => "after start-up",
        },
        c.passed_on,
        c.foreign
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pymalloc::{Preset, Pymalloc};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the engine holds, the numbers read back give the same text as formatting
        /// the accounting directly.
        #[test]
        fn raw_reports_read_back_as_the_same_accounting(
            sizes in proptest::collection::vec(1usize..=512, 0..400),
            keep_every in 1usize..5,
            before in any::<bool>(),
            passed_on in any::<u32>(),
            foreign in any::<u32>(),
        ) {
            let mut e = Pymalloc::new(Preset::Cpython38.geometry());
            let blocks: Vec<*mut u8> = sizes.iter().map(|&n| e.malloc(n)).collect();
            for (i, &p) in blocks.iter().enumerate() {
                if i % keep_every != 0 {
                    unsafe { e.free(p) };
                }
            }
            let stats = e.stats();
            let c = Counters {
                moment: if before { Moment::BeforeStartup } else { Moment::AfterStartup },
                passed_on: passed_on.into(),
                foreign: foreign.into(),
            };
            let mut buf = [0u8; 21 * LEN + 16];
            let len = render(&encode(&stats, &c), &mut buf).unwrap();
            let raw = std::str::from_utf8(&buf[..len]).unwrap();
            let (back, counters) = decode(raw).unwrap();
            prop_assert_eq!(back, stats);
            prop_assert_eq!(counters, c);
            prop_assert_eq!(text(&back, &counters), text(&stats, &c));
        }
    }

    #[test]
    fn decimal_writes_what_display_writes() {
        for v in [0, 7, 10, 4242, u32::MAX as usize, usize::MAX] {
            assert_eq!(decimal(v, &mut [0u8; 20]), v.to_string().as_bytes());
        }
    }

    #[test]
    fn what_is_not_a_raw_report_is_refused() {
        let mut buf = [0u8; 21 * LEN + 16];
        assert_eq!(
            render(&[1, 2, 3], &mut buf[..8]),
            None,
            "too small a buffer"
        );
        let len = render(&[7; LEN], &mut buf).unwrap();
        let good = std::str::from_utf8(&buf[..len]).unwrap();
        // 7-byte arenas are no geometry.
        assert!(decode(good).is_none());
        assert!(decode("PBERR the interpreter is pypy").is_none());
        assert!(decode("PBRAW 1 2 3").is_none());
        assert!(decode(&good.replace(" 7", " x")).is_none());
    }
}
