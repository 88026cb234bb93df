//! Workload names made into the chart files' names (`rss-<slug>.svg`,
//! `sweep-<slug>-churn.svg`): one file per workload, whatever the names hold, and always
//! short enough to write.

use std::collections::HashMap;

/// Most characters of a slug: longer names keep their first [`KEPT`] characters and a hash
/// of the whole name. A file system takes 255 bytes a name; a trace's file name of 245 made
/// `latency-<slug>.svg` too long, and the run failed after measuring everything.
const MAX_CHARS: usize = 80;

/// The part of a long name a slug keeps, readable, before its hash.
const KEPT: usize = 60;

/// `name` usable in a file name: ASCII letters, digits, `-` and `_` kept, anything else
/// `_`; a name over [`MAX_CHARS`] cut to its first [`KEPT`] and a hash of the whole, so
/// that two long names that share a beginning still differ.
pub(crate) fn slug(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.len() <= MAX_CHARS {
        return safe;
    }
    format!("{}-{}", &safe[..KEPT], hash(name))
}

/// A slug for each of `names` that no other of them has. A name's own [`slug`] where no
/// other name gives it; where several do (`v1.0` and `v1 0`, which the characters a file
/// name can hold no longer tell apart), each gets its name's hash appended, which depends on
/// nothing but the name: the same charts get the same files in every run and order.
pub(crate) fn distinct<'a>(names: &[&'a str]) -> HashMap<&'a str, String> {
    distinct_by(names, slug)
}

/// [`distinct`] with the readable part of each name's slug made by `readable` (a sweep
/// drops a trace's folder and `.pbt`); the hash appended on a clash is still of the whole
/// name, so `a/x.pbt` and `b/x.pbt` differ.
pub(crate) fn distinct_by<'a>(
    names: &[&'a str],
    readable: impl Fn(&str) -> String,
) -> HashMap<&'a str, String> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for n in names {
        *count.entry(readable(n)).or_default() += 1;
    }
    names
        .iter()
        .map(|&n| {
            let s = readable(n);
            let s = if count[&s] > 1 {
                format!("{s}-{}", hash(n))
            } else {
                s
            };
            (n, s)
        })
        .collect()
}

/// Eight hex digits that stand for `name`, stable across runs and builds (FNV-1a).
fn hash(name: &str) -> String {
    format!("{:08x}", crate::stats::seed_for(name) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_names() {
        assert_eq!(slug("my spec"), "my_spec");
        assert_eq!(slug("trace:json_tool"), "trace_json_tool");
        // A spec's name is no path: its dots are not an extension.
        assert_eq!(slug("v1.0"), "v1_0");
        assert_eq!(slug("=1+2|<b>\u{1b}"), "_1_2__b__");
    }

    #[test]
    fn long_names_keep_a_readable_start_and_differ_by_their_hash() {
        let a = slug(&format!("trace:{}", "a".repeat(245)));
        let b = slug(&format!("trace:{}b", "a".repeat(244)));
        assert_eq!(a.len(), KEPT + 9);
        assert!(a.starts_with("trace_aaaa"), "{a}");
        assert_ne!(a, b);
        let wide = slug(&"é".repeat(300));
        assert!(wide.len() <= MAX_CHARS, "{wide}");
    }

    #[test]
    fn names_sharing_a_slug_each_get_their_own() {
        let s = distinct(&["v1.0", "v1 0", "dicts"]);
        assert_eq!(s["dicts"], "dicts");
        assert!(s["v1.0"].starts_with("v1_0-") && s["v1 0"].starts_with("v1_0-"));
        assert_ne!(s["v1.0"], s["v1 0"]);
        // The same in any order.
        assert_eq!(distinct(&["dicts", "v1 0", "v1.0"]), s);
    }
}
