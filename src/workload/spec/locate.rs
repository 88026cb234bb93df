//! Where in a spec's text an error lies: the line and the dotted key a TOML error or a
//! check points at, and the spec's own words for the TOML reader's messages. Everything
//! echoed from the file goes through [`crate::trace::printable`], since a key or value may
//! hold a line break or a terminal escape and the error must stay one line that cannot pass
//! for pybench's own output.

use super::{RawSpec, SpecError};
use serde::de::{DeserializeOwned, IgnoredAny};

/// Parses `src` with `params` left unparsed.
pub(crate) fn parse_header(file: &str, src: &str) -> Result<RawSpec<IgnoredAny>, SpecError> {
    parse(file, src)
}

/// Parses `src` fully with the parameter type `P`.
pub(crate) fn parse<T: DeserializeOwned>(file: &str, src: &str) -> Result<T, SpecError> {
    toml::from_str(src).map_err(|e| {
        // A field missing from the top level is reported over the whole document, so the
        // line-and-key form would name line 1 and whatever key stands there.
        let whole = e.span().map_or(true, |s| s.start == 0);
        match e.message().strip_prefix("missing field `") {
            Some(rest) if whole => SpecError::Missing {
                file: file.to_string(),
                key: rest.split('`').next().unwrap_or(rest).to_string(),
            },
            _ => not_toml_said(located(file, src, e.span(), e.message()), src),
        }
    })
}

/// `err` with a word on what the file is, when it is not TOML at all: `stats /etc/passwd`
/// read as a spec whose line 1 lacked an `=`, which said nothing of what was expected.
fn not_toml_said(err: SpecError, src: &str) -> SpecError {
    match err {
        SpecError::Invalid {
            file,
            line,
            key,
            message,
        } if src.parse::<toml::Table>().is_err() => SpecError::Invalid {
            file,
            line,
            key,
            message: format!(
                "{message} (not TOML, so neither a workload spec nor a trace, which starts \
                 with pybench's magic bytes)"
            ),
        },
        other => other,
    }
}

/// An error at byte offset range `span` of `src`, with the key found on that line.
pub(crate) fn located(
    file: &str,
    src: &str,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> SpecError {
    let start = span.map_or(0, |s| s.start.min(src.len()));
    let line = src[..start].matches('\n').count() + 1;
    let key = key_at(src, start);
    // The key is the line's own text and the message may quote a key or value of the file:
    // either can hold a line break or an escape sequence.
    let printable = crate::trace::printable;
    SpecError::Invalid {
        file: printable(file),
        line,
        message: printable(&plain(&key, message.trim())),
        key: printable(&key),
    }
}

/// The TOML reader's words for a wrong type in the spec's words: `expected i64`, `as
/// i128` and `expected u64` are Rust's type names, and `python = 3.11` (a number) was
/// answered "wanted string or table".
fn plain(key: &str, message: &str) -> String {
    if key == "python" && message.contains("wanted string or table") {
        return "python must be a string such as \"3.11\" (quoted: 3.10 as a number is 3.1)"
            .to_string();
    }
    message
        .replace(
            " as i128, expected i64",
            ", too large: expected an integer up to 2^63 - 1",
        )
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected an integer from 0 to 2^63 - 1")
        .replace("expected f64", "expected a number")
}

/// An error about top-level `key`, located at its first assignment in `src`.
pub(crate) fn located_key(file: &str, src: &str, key: &str, message: &str) -> SpecError {
    located(file, src, assignment(src, None, key).map(|o| o..o), message)
}

/// An error about `key` of the `params` table, located at its assignment — under `[params]`,
/// as a dotted `params.KEY = …` or inside an inline `params = { … }` — or, when the key is not
/// written (a default is at fault), at wherever the table is. Only `[params]` was looked for,
/// so a cross-field error in a dotted or inline table was blamed on line 1's `name`.
pub(crate) fn located_param(file: &str, src: &str, key: &str, message: &str) -> SpecError {
    let inline = assignment(src, None, "params");
    let at = assignment(src, Some("params"), key)
        .or_else(|| assignment(src, None, &format!("params.{key}")))
        .or_else(|| inline.and_then(|line| inline_key(src, line, key)))
        .or_else(|| src.find("[params]"))
        .or(inline)
        .or_else(|| first_dotted(src, "params."));
    located(file, src, at.map(|o| o..o), message)
}

/// Byte offset of `key`'s assignment inside the inline table on the line starting at `line`.
fn inline_key(src: &str, line: usize, key: &str) -> Option<usize> {
    let text = &src[line..src[line..].find('\n').map_or(src.len(), |e| line + e)];
    let mut from = text.find('{')?;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before = text[..at].trim_end_matches([' ', '\t', '"']).chars().last();
        let after = text[at + key.len()..].trim_start_matches([' ', '\t', '"']);
        if matches!(before, Some('{' | ',')) && after.starts_with('=') {
            return Some(line + at);
        }
        from = at + key.len();
    }
    None
}

/// Byte offset of the first top-level line whose key starts with `prefix` (`params.`).
fn first_dotted(src: &str, prefix: &str) -> Option<usize> {
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            return None;
        }
        if t.starts_with(prefix) {
            return Some(offset + (line.len() - t.len()));
        }
        offset += line.len();
    }
    None
}

/// Byte offset of the first line assigning `key` in `table` (`None`: the top level).
fn assignment(src: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut offset = 0;
    let mut current: Option<String> = None;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            let name = t.split(']').next().unwrap_or("").trim_matches(['[', ' ']);
            current = Some(name.trim().to_string());
        } else if current.as_deref() == table {
            if let Some((k, _)) = t.split_once('=') {
                if k.trim().trim_matches('"') == key {
                    return Some(offset + (line.len() - t.len()));
                }
            }
        }
        offset += line.len();
    }
    None
}

/// The dotted key written on the line holding `offset`: the text before `=` (inside the
/// table header in force there), or the header itself for a `[table]` line.
pub(super) fn key_at(src: &str, offset: usize) -> String {
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let raw = &src[line_start..line_end];
    let line = raw.trim();
    let header = |l: &str| l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
    if line.starts_with('[') {
        return header(line);
    }
    let table = src[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(header);
    let mut key = match line.split_once('=') {
        Some((k, _)) => k.trim().trim_matches('"').to_string(),
        None => line.to_string(),
    };
    // Inside an inline table `k = { a = 1 }`, name the inner key the offset points at.
    if let Some(brace) = raw.find('{') {
        if offset > line_start + brace {
            let inner = src[offset..line_end]
                .split(['=', ',', '}'])
                .next()
                .map(|s| s.trim().trim_matches('"'))
                .unwrap_or("");
            if !inner.is_empty() && !inner.contains(char::is_whitespace) {
                key = format!("{key}.{inner}");
            }
        }
    }
    match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
    }
}
