//! JSON as people and diff tools read it: pretty-printed, one field a line, except that an
//! array of plain values (numbers, booleans, null, and strings when the line stays short)
//! sits on one line. A run's RSS
//! series and latency curves are thousands of `[time, bytes]` pairs, which serde_json's
//! pretty printer spreads over four lines each: two thirds of a 7 MB `results.json` for three
//! workloads (2026-12-06), rewritten at every save of a run.

use serde::Serialize;
use std::io::{self, Write};

/// Writes `value` as tidy JSON (see the module documentation), without a final newline.
pub fn to_writer_tidy<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let pretty = serde_json::to_string_pretty(value)?;
    out.write_all(collapse_plain_arrays(&pretty).as_bytes())
}

/// The longest line an array holding strings is joined into: a command line or a list of
/// names joins, a cell's notes (sentences) keep one a line.
const MAX_JOINED_TEXT: usize = 100;

/// An open container while reading pretty-printed lines.
enum Open {
    /// An array: the index of its opening line in the output, and whether every element so
    /// far was a plain value.
    Array {
        start: usize,
        plain: bool,
    },
    Object,
}

/// `pretty` (serde_json's pretty printer's output) with each array of plain values joined
/// onto its opening line. Only structure lines are recognised: the printer writes one value or
/// one `"key": value` a line, escapes line breaks inside strings, and a line opens a container
/// exactly when it ends in `[` or `{` (a string always ends in `"`, then maybe a comma).
fn collapse_plain_arrays(pretty: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for line in pretty.lines() {
        let t = line.trim_start();
        let closes = |c: char| t.starts_with(c) && t.len() <= 2;
        if closes(']') {
            match open.pop() {
                Some(Open::Array { start, plain: true }) if lines.len() > start + 1 => {
                    let items: Vec<&str> = (lines[start + 1..].iter())
                        .map(|l| l.trim_start())
                        .map(|l| l.strip_suffix(',').unwrap_or(l))
                        .collect();
                    let joined = format!("{}{}{t}", lines[start], items.join(", "));
                    // Sentences (a cell's notes) keep a line each; names and numbers join.
                    let prose = items.iter().any(|i| i.starts_with('"'))
                        && joined.chars().count() > MAX_JOINED_TEXT;
                    if prose {
                        lines.push(line.to_string());
                    } else {
                        lines.truncate(start);
                        lines.push(joined);
                    }
                }
                _ => lines.push(line.to_string()),
            }
            continue;
        }
        if closes('}') {
            open.pop();
            lines.push(line.to_string());
            continue;
        }
        // Anything but a plain value makes the enclosing array a multi-line one.
        let opens_array = t.ends_with('[');
        let opens_object = t.ends_with('{');
        if opens_array || opens_object {
            if let Some(Open::Array { plain, .. }) = open.last_mut() {
                *plain = false;
            }
        }
        if opens_array {
            open.push(Open::Array {
                start: lines.len(),
                plain: true,
            });
        } else if opens_object {
            open.push(Open::Object);
        }
        lines.push(line.to_string());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn tidy(v: &Value) -> String {
        let mut out = Vec::new();
        to_writer_tidy(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_arrays_sit_on_one_line_and_the_rest_stays_pretty() {
        let v = json!({
            "run": "r",
            "rss_series": [[0, 4096], [1, 8192]],
            "command_line": ["pybench", "run", "-w", "a, [b]"],
            "empty": [],
            "cells": [{"metrics": [1.5, null, true], "notes": {}}],
            "notes": ["a sentence long enough that two of them would not fit", "on one line of a hundred characters"],
        });
        let want = r#"{
  "cells": [
    {
      "metrics": [1.5, null, true],
      "notes": {}
    }
  ],
  "command_line": ["pybench", "run", "-w", "a, [b]"],
  "empty": [],
  "notes": [
    "a sentence long enough that two of them would not fit",
    "on one line of a hundred characters"
  ],
  "rss_series": [
    [0, 4096],
    [1, 8192]
  ],
  "run": "r"
}"#;
        assert_eq!(tidy(&v), want);
    }

    /// Any JSON value: strings with brackets, braces, commas, quotes and line breaks in them.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e12f64..1e12).prop_map(|x| json!(x)),
            "[\\[\\]{},\" \n\\\\a-z0-9:]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\\[\\]{} ]{0,5}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn tidy_json_reads_back_as_the_pretty_form_does(v in any_json()) {
            // The same value as the pretty form reads back as (serde_json's float parsing
            // without its `float_roundtrip` feature may move a float's last bit either way).
            let text = tidy(&v);
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            let want: Value = serde_json::from_str(&pretty).unwrap();
            prop_assert_eq!(&back, &want, "{}", text);
            // Never longer than the pretty form; as many lines or fewer.
            prop_assert!(text.len() <= pretty.len());
            prop_assert!(text.lines().count() <= pretty.lines().count());
        }
    }
}
