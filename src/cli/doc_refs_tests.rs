//! Comments, scripts and user-facing messages send readers to a place in the documents by
//! quoting it: `README "Stability"`, `docs/streaming.md, "Timed (2026-11-30 08:50"`,
//! `docs/stand-ins.md, **What the swap is not**`. When a section moves (session 63 moved
//! ~80 kB of README.md into docs/) such a pointer goes stale silently: five did, found by a
//! script on 2026-12-07, and four in the documents themselves. This test reads every source
//! file, script and example, and README.md and its pages, and checks that each quoted name
//! still appears in the document it names.

use super::readme_tests::DOCUMENTS;
use std::path::{Path, PathBuf};

/// The folders whose files may quote the documents, and the kinds of file read there.
const ROOTS: [&str; 6] = ["src", "scripts", "examples", "benches", "tests", ".ci"];
const KINDS: [&str; 3] = ["rs", "sh", "py"];

/// A quoted pointer: the document it names and the text it quotes.
#[derive(Debug, PartialEq)]
struct Pointer {
    document: String,
    quoted: String,
}

/// Text as the reader meets it: comment markers at the start of continued lines joined away
/// (a quote may wrap in a `//!`, `///`, `//` or `#` comment, or in a script's two-column
/// `#   command   # text` comment), a Rust string's line continuation joined, whitespace runs as one space, and the Markdown marks
/// that a quote leaves out (backticks, bold) dropped.
fn flatten(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut rest = line.trim_start();
        for marker in ["//!", "///", "//", "#"] {
            if let Some(r) = rest.strip_prefix(marker) {
                rest = r.trim_start();
                break;
            }
        }
        // The second column of a script's usage comment.
        if let Some(r) = rest.strip_prefix('#') {
            rest = r;
        }
        // A Rust string continued on the next line.
        let rest = rest.strip_suffix('\\').unwrap_or(rest);
        out.push(' ');
        out.push_str(rest);
    }
    let cleaned: String = out.chars().filter(|c| !matches!(c, '`' | '*')).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The pointers in one file's text: a document's name (`README`, `README.md` or
/// `docs/NAME.md`), then a comma or a space, then a quote in double quotes (escaped or not)
/// or in bold. A quote holding code-like characters is not a pointer (`"README.md",
/// include_str!(…)` is a path, not a reference).
fn pointers(text: &str) -> Vec<Pointer> {
    let raw = text.replace("\\\"", "\"");
    let flat = flatten(&raw.replace("**", "\""));
    let mut found = Vec::new();
    let mut from = 0;
    while let Some((at, document)) = next_document(&flat[from..]) {
        let start = from + at + document.len();
        from = start;
        let after = &flat[start..];
        let Some(body) = after
            .strip_prefix(", \"")
            .or_else(|| after.strip_prefix(" \""))
        else {
            continue;
        };
        let Some(end) = body.find('"') else { continue };
        let quoted = &body[..end];
        let code_like =
            quoted.contains(['(', ')', ';', '{', '}', '!', '=']) && !quoted.contains(' ');
        if quoted.chars().count() < 3 || code_like || quoted.contains("include_str") {
            continue;
        }
        let document = match document {
            "README" => "README.md",
            d => d,
        };
        found.push(Pointer {
            document: document.to_string(),
            quoted: quoted.to_string(),
        });
    }
    found
}

/// Where the next document name starts in `text`, and the name.
fn next_document(text: &str) -> Option<(usize, &str)> {
    let readme = text.find("README").map(|at| {
        let md = text[at..].starts_with("README.md");
        (at, if md { "README.md" } else { "README" })
    });
    let docs = text.find("docs/").and_then(|at| {
        let name_end = text[at..].find(".md")? + 3;
        let name = &text[at..at + name_end];
        // A page in a folder of docs/ (`docs/validate-study/run-10.md`) counts too.
        let plain = name[5..name.len() - 3]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
        Some((at, if plain { name } else { "docs/" }))
    });
    match (readme, docs) {
        (Some(r), Some(d)) => Some(if r.0 <= d.0 { r } else { d }),
        (r, d) => r.or(d),
    }
}

/// Whether `document` (flattened) holds `quoted`: every piece of it between ellipses, in
/// order (a pointer may shorten a long heading: "Does the replay predict …").
fn holds(document: &str, quoted: &str) -> bool {
    let mut rest = document;
    for piece in quoted.split(['…']).map(str::trim).filter(|p| !p.is_empty()) {
        let piece = flatten(piece);
        match rest.find(&piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The stale pointers of one file, each as `file: document "quote"`.
fn stale(file: &str, text: &str, documents: &[(String, String)]) -> Vec<String> {
    pointers(text)
        .into_iter()
        .filter(|p| {
            let target = documents.iter().find(|(name, _)| *name == p.document);
            !target.is_some_and(|(_, body)| holds(body, &p.quoted))
        })
        .map(|p| format!("{file}: {} \"{}\"", p.document, p.quoted))
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| KINDS.contains(&e))
        {
            out.push(path);
        }
    }
}

fn flattened_documents() -> Vec<(String, String)> {
    DOCUMENTS
        .iter()
        .map(|(name, body)| (name.to_string(), flatten(body)))
        .collect()
}

#[test]
fn pointers_are_found_wrapped_escaped_or_bold_and_paths_are_not_pointers() {
    let text = "//! as measured (README, \"Where the\n//! two threads' time goes\").\n\
        #   cmd   # (docs/stability.md,\n#         # \"A ninth attempt\").\n\
        let m = \"see README \\\"Stability\\\"\";\n\
        // docs/stand-ins.md, **The order of sizes**\n\
        (\"README.md\", include_str!(\"../../README.md\")),";
    let quoted: Vec<(String, String)> = pointers(text)
        .into_iter()
        .map(|p| (p.document, p.quoted))
        .collect();
    let want = [
        ("README.md", "Where the two threads' time goes"),
        ("docs/stability.md", "A ninth attempt"),
        ("README.md", "Stability"),
        ("docs/stand-ins.md", "The order of sizes"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(d, q)| (d.to_string(), q.to_string()))
        .collect();
    assert_eq!(quoted, want);
}

#[test]
fn a_moved_section_is_a_stale_pointer_and_a_shortened_one_is_not() {
    let documents = vec![
        (
            "README.md".to_string(),
            flatten("## Does the replay predict the real\nprogram? `pybench validate`"),
        ),
        (
            "docs/x.md".to_string(),
            flatten("**Where the two threads' time goes**"),
        ),
    ];
    let text = "// README, \"Does the replay predict …\" and README \"Where the two threads' time goes\"\n\
        // docs/x.md \"Where the two threads' time goes\", docs/y.md \"Gone\"";
    assert_eq!(
        stale("f.rs", text, &documents),
        [
            "f.rs: README.md \"Where the two threads' time goes\"",
            "f.rs: docs/y.md \"Gone\"",
        ]
    );
}

#[test]
fn every_quoted_pointer_to_a_document_names_text_it_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let documents = flattened_documents();
    let mut files = Vec::new();
    for dir in ROOTS {
        files_under(&root.join(dir), &mut files);
    }
    files.sort();
    let mut checked = 0;
    let mut bad = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        // This file's own examples quote stale pointers on purpose.
        if name.ends_with("doc_refs_tests.rs") {
            continue;
        }
        checked += pointers(&text).len();
        bad.extend(stale(&name, &text, &documents));
    }
    // The tree quotes the documents some fifty times: far fewer means the scan broke.
    assert!(
        checked >= 40,
        "only {checked} pointers found in {} files",
        files.len()
    );
    assert!(bad.is_empty(), "stale pointers:\n{}", bad.join("\n"));
}
