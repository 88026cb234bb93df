//! Prints [`Stats`] in the layout of CPython's `sys._debugmallocstats()` (3.11), so engine and
//! interpreter output can be read side by side or diffed.
//!
//! Layout facts, read off real interpreters: the class table skips classes without pools;
//! every "name = value" line pads the name to 35 columns, then `=`, then the value
//! right-aligned in 21 columns with thousands separators.

use super::stats::Stats;
use super::SMALL_REQUEST_THRESHOLD;
use std::fmt::{self, Write};

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.geometry;
        writeln!(
            f,
            "Small block threshold = {SMALL_REQUEST_THRESHOLD}, in {} size classes.",
            self.classes.len()
        )?;
        f.write_str("\nclass   size   num pools   blocks in use  avail blocks\n")?;
        f.write_str("-----   ----   ---------   -------------  ------------\n")?;
        for (i, c) in self.classes.iter().enumerate().filter(|(_, c)| c.pools > 0) {
            writeln!(
                f,
                "{i:5} {:6} {:11} {:15} {:13}",
                c.size, c.pools, c.blocks_in_use, c.avail_blocks
            )?;
        }
        f.write_char('\n')?;
        line(f, "# arenas allocated total", self.arenas_allocated_total)?;
        line(f, "# arenas reclaimed", self.arenas_reclaimed)?;
        line(f, "# arenas highwater mark", self.arenas_highwater)?;
        line(
            f,
            "# arenas allocated current",
            self.arenas_allocated_current,
        )?;
        let arenas = format!(
            "{} arenas * {} bytes/arena",
            self.arenas_allocated_current,
            g.arena_size()
        );
        line(f, &arenas, self.arena_bytes())?;
        f.write_char('\n')?;
        line(
            f,
            "# bytes in allocated blocks",
            self.bytes_in_allocated_blocks,
        )?;
        line(
            f,
            "# bytes in available blocks",
            self.bytes_in_available_blocks,
        )?;
        let unused = format!(
            "{} unused pools * {} bytes",
            self.unused_pools,
            g.pool_size()
        );
        line(f, &unused, self.bytes_in_unused_pools())?;
        line(
            f,
            "# bytes lost to pool headers",
            self.bytes_lost_to_pool_headers,
        )?;
        line(
            f,
            "# bytes lost to quantization",
            self.bytes_lost_to_quantization,
        )?;
        line(
            f,
            "# bytes lost to arena alignment",
            self.bytes_lost_to_arena_alignment,
        )?;
        line(f, "Total", self.byte_lines_total())?;
        // CPython 3.10+ reports its radix tree here; the engine reports its own ownership map,
        // under its own names because the structure differs (see ownership.rs).
        f.write_str("\nownership map counts\n")?;
        line(f, "# ownership map leaves", self.ownership_map_leaves)?;
        f.write_char('\n')?;
        let leaves = self.ownership_map_leaves * self.ownership_map_leaf_bytes;
        line(
            f,
            "# bytes lost to ownership map root",
            self.ownership_map_root_bytes,
        )?;
        // "leaf", as CPython says "arena map bot": the name fits the 35 columns.
        line(f, "# bytes lost to ownership map leaf", leaves)?;
        line(f, "Total", self.ownership_map_root_bytes + leaves)?;
        f.write_char('\n')?;
        line(f, "# requests served by raw allocator", self.raw_requests)
    }
}

/// One `name = value` line: the name padded to 35 columns, the value right-aligned in 21.
fn line(f: &mut fmt::Formatter<'_>, name: &str, value: usize) -> fmt::Result {
    writeln!(f, "{name:<35}={:>21}", with_commas(value))
}

/// `1234567` → `"1,234,567"`.
pub(crate) fn with_commas(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(with_commas(0), "0");
        assert_eq!(with_commas(999), "999");
        assert_eq!(with_commas(1000), "1,000");
        assert_eq!(with_commas(4_194_304), "4,194,304");
    }
}
