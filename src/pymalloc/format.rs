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
        writeln!(
            f,
            "Small block threshold = {SMALL_REQUEST_THRESHOLD}, in {} size classes.",
            self.classes.len()
        )?;
        self.class_table(f)?;
        self.arena_lines(f)?;
        self.byte_lines(f)?;
        self.ownership_lines(f)?;
        line(f, "# requests served by raw allocator", self.raw_requests)?;
        // Not in CPython's layout, so only when it happened.
        if self.arena_failures > 0 {
            line(f, "# small: no arena could be mapped", self.arena_failures)?;
        }
        Ok(())
    }
}

impl Stats {
    /// The size classes that have pools, one row each.
    fn class_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\nclass   size   num pools   blocks in use  avail blocks\n")?;
        f.write_str("-----   ----   ---------   -------------  ------------\n")?;
        for (i, c) in self.classes.iter().enumerate().filter(|(_, c)| c.pools > 0) {
            writeln!(
                f,
                "{i:5} {:6} {:11} {:15} {:13}",
                c.size, c.pools, c.blocks_in_use, c.avail_blocks
            )?;
        }
        f.write_char('\n')
    }

    /// Arenas mapped over the run and now, and the bytes they span.
    fn arena_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        line(f, "# arenas allocated total", self.arenas_allocated_total)?;
        line(f, "# arenas reclaimed", self.arenas_reclaimed)?;
        line(f, "# arenas highwater mark", self.arenas_highwater)?;
        let current = self.arenas_allocated_current;
        line(f, "# arenas allocated current", current)?;
        let arena_size = self.geometry.arena_size();
        let arenas = format!("{current} arenas * {arena_size} bytes/arena");
        line(f, &arenas, self.arena_bytes())?;
        f.write_char('\n')
    }

    /// Where the arenas' bytes went; the lines add up to the arenas' bytes.
    fn byte_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allocated = self.bytes_in_allocated_blocks;
        line(f, "# bytes in allocated blocks", allocated)?;
        let available = self.bytes_in_available_blocks;
        line(f, "# bytes in available blocks", available)?;
        let pool_size = self.geometry.pool_size();
        let unused = format!("{} unused pools * {pool_size} bytes", self.unused_pools);
        line(f, &unused, self.bytes_in_unused_pools())?;
        let headers = self.bytes_lost_to_pool_headers;
        line(f, "# bytes lost to pool headers", headers)?;
        let quantization = self.bytes_lost_to_quantization;
        line(f, "# bytes lost to quantization", quantization)?;
        let alignment = self.bytes_lost_to_arena_alignment;
        line(f, "# bytes lost to arena alignment", alignment)?;
        line(f, "Total", self.byte_lines_total())
    }

    /// CPython 3.10+ reports its radix tree here; the engine reports its own ownership map,
    /// under its own names because the structure differs (see ownership.rs). The leaf count
    /// follows where `mmap` put the arenas (a leaf per region holding one, kept once made),
    /// so two runs of one workload may print different counts (README, `pybench engine`).
    fn ownership_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\nownership map counts\n")?;
        line(f, "# ownership map leaves", self.ownership_map_leaves)?;
        f.write_char('\n')?;
        let leaves = self.ownership_map_leaves * self.ownership_map_leaf_bytes;
        let root = self.ownership_map_root_bytes;
        line(f, "# bytes lost to ownership map root", root)?;
        // "leaf", as CPython says "arena map bot": the name fits the 35 columns.
        line(f, "# bytes lost to ownership map leaf", leaves)?;
        line(f, "Total", root + leaves)?;
        f.write_char('\n')
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
