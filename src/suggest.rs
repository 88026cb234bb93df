//! "Did you mean …?" for a mistyped name: the unknown-allocator and unknown-workload errors
//! name the closest valid name when it is within a typo of what was typed, so `-a jemaloc`
//! says `jemalloc` instead of leaving the user to find it in a list of twenty.

/// ` (did you mean `NAME`?)` for the candidate nearest to `typed` (edit distance, ignoring
/// case) when it is close enough to be a typo — at most one edit for a name of up to four
/// characters, two up to eight, three beyond — or an empty string. Ties go to the first.
pub fn did_you_mean<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let exact = typed.trim();
    let typed = exact.to_lowercase();
    if typed.is_empty() {
        return String::new();
    }
    let allowed = match typed.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == exact {
            // Not mistyped: whatever refused it, it was not the spelling.
            return String::new();
        }
        let d = distance(&typed, &c.to_lowercase());
        let nearer = match best {
            Some((b, _)) => d < b,
            None => true,
        };
        if d <= allowed && nearer {
            best = Some((d, c));
        }
    }
    best.map_or_else(String::new, |(_, c)| format!(" (did you mean `{c}`?)"))
}

/// Levenshtein distance over characters (one row of the table at a time).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 5] = ["system", "jemalloc", "mimalloc", "snmalloc", "null"];

    #[test]
    fn a_typo_names_the_closest_valid_name() {
        assert_eq!(
            did_you_mean("jemaloc", NAMES),
            " (did you mean `jemalloc`?)"
        );
        assert_eq!(did_you_mean("SYTEM", NAMES), " (did you mean `system`?)");
        assert_eq!(did_you_mean("nul", NAMES), " (did you mean `null`?)");
        assert_eq!(
            did_you_mean("snmaloc", NAMES),
            " (did you mean `snmalloc`?)"
        );
        assert_eq!(did_you_mean("Null", NAMES), " (did you mean `null`?)");
    }

    #[test]
    fn nothing_close_or_an_exact_name_suggests_nothing() {
        assert_eq!(did_you_mean("hoard", NAMES), "");
        assert_eq!(did_you_mean("tcmalloc-extra-long", NAMES), "");
        assert_eq!(did_you_mean("", NAMES), "");
        assert_eq!(did_you_mean("jemalloc", NAMES), "", "not unknown at all");
        // Two edits are too many for a four-letter name.
        assert_eq!(did_you_mean("nxlx", NAMES), "");
    }

    #[test]
    fn distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("dicts", "dict"), 1);
        assert_eq!(distance("ab", "ba"), 2);
    }
}
