//! Every `pybench` command line README.md shows must parse with this build's grammar: a
//! renamed flag or a removed value otherwise leaves the README teaching a command that fails
//! (an audit found four such stale examples on 2026-12-05, by hand). Only parsing is
//! checked — what the command does with placeholders like `FILE` is for its own tests.
//! The same documents' links are checked too: every `(#anchor)` must name one of the
//! document's headings (README.md's table of contents is made of them) and every relative file
//! link must exist. Its Rust examples must be the crate root's doctests, which compile.

use super::{grammar, Cli};
use clap::FromArgMatches as _;

/// How the README's first line runs pybench from a checkout.
const CARGO_RUN: &str = "cargo run --release -- ";

/// The documents whose command lines are checked: README.md and the pages it sends readers to.
pub(super) const DOCUMENTS: [(&str, &str); 32] = [
    ("README.md", include_str!("../../README.md")),
    (
        "docs/allocators.md",
        include_str!("../../docs/allocators.md"),
    ),
    ("docs/compare.md", include_str!("../../docs/compare.md")),
    ("docs/engine.md", include_str!("../../docs/engine.md")),
    ("docs/fidelity.md", include_str!("../../docs/fidelity.md")),
    (
        "docs/ground-truth.md",
        include_str!("../../docs/ground-truth.md"),
    ),
    ("docs/layout.md", include_str!("../../docs/layout.md")),
    ("docs/measuring.md", include_str!("../../docs/measuring.md")),
    ("docs/mutator.md", include_str!("../../docs/mutator.md")),
    (
        "docs/performance.md",
        include_str!("../../docs/performance.md"),
    ),
    (
        "docs/readme-history.md",
        include_str!("../../docs/readme-history.md"),
    ),
    (
        "docs/reliability.md",
        include_str!("../../docs/reliability.md"),
    ),
    ("docs/stability.md", include_str!("../../docs/stability.md")),
    ("docs/stand-ins.md", include_str!("../../docs/stand-ins.md")),
    ("docs/streaming.md", include_str!("../../docs/streaming.md")),
    ("docs/sweep.md", include_str!("../../docs/sweep.md")),
    (
        "docs/trace-format.md",
        include_str!("../../docs/trace-format.md"),
    ),
    ("docs/tests.md", include_str!("../../docs/tests.md")),
    ("docs/traces.md", include_str!("../../docs/traces.md")),
    ("docs/tried.md", include_str!("../../docs/tried.md")),
    (
        "docs/validate-study.md",
        include_str!("../../docs/validate-study.md"),
    ),
    (
        "docs/validate-study/run-04.md",
        include_str!("../../docs/validate-study/run-04.md"),
    ),
    (
        "docs/validate-study/run-05.md",
        include_str!("../../docs/validate-study/run-05.md"),
    ),
    (
        "docs/validate-study/run-06.md",
        include_str!("../../docs/validate-study/run-06.md"),
    ),
    (
        "docs/validate-study/run-08.md",
        include_str!("../../docs/validate-study/run-08.md"),
    ),
    (
        "docs/validate-study/run-09.md",
        include_str!("../../docs/validate-study/run-09.md"),
    ),
    (
        "docs/validate-study/outside-amd-2026-12-02.md",
        include_str!("../../docs/validate-study/outside-amd-2026-12-02.md"),
    ),
    (
        "docs/validate-study/preregistered-2026-12-02.md",
        include_str!("../../docs/validate-study/preregistered-2026-12-02.md"),
    ),
    (
        "docs/validate-study/run-10.md",
        include_str!("../../docs/validate-study/run-10.md"),
    ),
    (
        "docs/validate-study/outside-intel-2026-12-02.md",
        include_str!("../../docs/validate-study/outside-intel-2026-12-02.md"),
    ),
    (
        "docs/validate-study/run-11.md",
        include_str!("../../docs/validate-study/run-11.md"),
    ),
    ("docs/workloads.md", include_str!("../../docs/workloads.md")),
];

/// A command line a document shows: its line number, its text, and whether it stands in a
/// fenced block (a whole command to copy) or in a sentence (which may leave out what the
/// sentence is not about, such as the program a `pybench exec -r 6` ran).
struct Shown {
    line: usize,
    text: String,
    whole: bool,
}

/// The command lines README.md shows: in fenced blocks, lines that start with `pybench ` or
/// `$ pybench `; in prose, code spans that start with `pybench ` and a subcommand. Shell
/// around them (a `# comment`, a pipe, a redirection) is cut off.
fn readme_command_lines(readme: &str) -> Vec<Shown> {
    let subcommands: Vec<String> = grammar()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let starts_command = |s: &str| {
        s.strip_prefix(CARGO_RUN)
            .map_or(s, |rest| rest)
            .strip_prefix("pybench ")
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|w| subcommands.iter().any(|c| c == w))
    };
    let mut lines = Vec::new();
    let mut fenced = false;
    for (i, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let command = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
            if starts_command(command) {
                lines.push((i + 1, command.to_string(), true));
            }
            continue;
        }
        for (k, span) in line.split('`').enumerate() {
            if k % 2 == 1 && starts_command(span) {
                lines.push((i + 1, span.to_string(), false));
            }
        }
    }
    lines
        .into_iter()
        .map(|(line, text, whole)| {
            let text = without_shell(&text);
            let text = match text.strip_prefix(CARGO_RUN) {
                Some(rest) => format!("pybench {rest}"),
                None => text,
            };
            Shown { line, text, whole }
        })
        .filter(|s| !is_synopsis(&s.text))
        .collect()
}

/// A usage synopsis rather than a command line: optional parts in brackets, an ellipsis, a
/// table's escaped bar, or the command's name alone (`pybench plot` in a sentence).
fn is_synopsis(line: &str) -> bool {
    line.contains('[') || line.contains('…') || line.contains('\\') || words(line).len() == 2
}

/// `line` up to the first shell construct outside quotes: ` #`, `|`, `>`, `<`, `&&`, `;`.
fn without_shell(line: &str) -> String {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '|' | '>' | '<' | ';') => return line[..i].trim_end().to_string(),
            (None, '#') if line[..i].ends_with(' ') => return line[..i].trim_end().to_string(),
            (None, '&') if line[i..].starts_with("&&") => return line[..i].trim_end().to_string(),
            _ => {}
        }
    }
    line.trim_end().to_string()
}

/// Splits a command line into words as a shell would for the simple quoting README uses.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn shell_around_a_command_is_cut_and_quotes_are_kept_whole() {
    assert_eq!(
        without_shell("pybench engine -s thrash | grep 'a | b'"),
        "pybench engine -s thrash"
    );
    assert_eq!(
        without_shell("pybench run -w x   # a comment"),
        "pybench run -w x"
    );
    assert_eq!(
        without_shell("pybench stats 'a#b' > out"),
        "pybench stats 'a#b'"
    );
    assert_eq!(
        words("pybench exec -- python3 -c 'import sys; print(1)'"),
        [
            "pybench",
            "exec",
            "--",
            "python3",
            "-c",
            "import sys; print(1)"
        ]
    );
    let readme = "```console\n$ pybench list workloads\nnot a command\n```\n\
                  In prose `pybench stats -w dicts` and `pybench is a tool`.\n";
    let found: Vec<String> = readme_command_lines(readme)
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(found, ["pybench list workloads", "pybench stats -w dicts"]);
}

/// The command lines of `document` (named `name`) that this build's grammar refuses, each
/// with its place and clap's reason.
fn refused(name: &str, document: &str) -> Vec<String> {
    let lines = readme_command_lines(document);
    let parse = |words: Vec<String>| {
        let parsed = grammar()
            .try_get_matches_from(words)
            .and_then(|m| Cli::from_arg_matches(&m));
        parsed.err()
    };
    let refused = lines.iter().filter_map(|shown| {
        let (n, line) = (shown.line, &shown.text);
        // A sentence may leave out what it is not about (the program of `pybench exec -r 6`).
        let fine = |e: &clap::Error| {
            !shown.whole && e.kind() == clap::error::ErrorKind::MissingRequiredArgument
        };
        let e = parse(words(line)).filter(|e| !fine(e))?;
        // A sentence naming an option (`pybench sweep --csv`) leaves out its value: it is a
        // mention when any value makes it parse.
        let mut with_value = words(line);
        if !shown.whole && with_value.last().is_some_and(|w| w.starts_with('-')) {
            with_value.push("x".into());
            parse(with_value).filter(|e| !fine(e))?;
        }
        let help = matches!(
            e.kind(),
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
        );
        (!help).then(|| {
            format!(
                "{name}:{n}: {line}\n    {}",
                super::one_line(&e.to_string())
            )
        })
    });
    refused.collect()
}

#[test]
fn a_stale_command_line_is_caught() {
    let doc = "Run `pybench run -w dicts --no-such-flag` or `pybench sweep --csv`\n\
               ```\n$ pybench stats -w dicts\n```\n";
    let found = refused("doc.md", doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("doc.md:1: pybench run -w dicts --no-such-flag"),
        "{found:?}"
    );
}

#[test]
fn every_command_line_the_documents_show_parses() {
    let found: usize = (DOCUMENTS.iter())
        .map(|(_, d)| readme_command_lines(d).len())
        .sum();
    // 66 on 2026-12-05: a floor well under that catches an extractor that finds nothing.
    assert!(found > 40, "only {found} command lines found");
    let refused: Vec<String> = (DOCUMENTS.iter())
        .flat_map(|(name, d)| refused(name, d))
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

/// The anchor GitHub gives a heading: lower case, everything but letters, digits, `-`, `_`
/// and spaces dropped, spaces turned into `-` (a repeated heading gets `-1`, `-2`, …).
fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of `document`'s headings (those outside fenced blocks).
fn anchors(document: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in document.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let Some(text) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if fenced || !line.starts_with('#') {
            continue;
        }
        let base = heading_anchor(text);
        let repeats = found
            .iter()
            .filter(|a| {
                **a == base
                    || a.strip_prefix(&format!("{base}-"))
                        .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .count();
        found.push(match repeats {
            0 => base,
            n => format!("{base}-{n}"),
        });
    }
    found
}

/// The links of `document` that lead nowhere: `(#anchor)` with no such heading in it, and a
/// relative file link (`(docs/x.md)`) whose file does not exist beside it in the checkout.
fn dead_links(name: &str, document: &str) -> Vec<String> {
    let heads = anchors(document);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let dir = dir.parent().expect("a document's folder");
    let mut dead = Vec::new();
    for (n, line) in document.lines().enumerate() {
        for target in line.split("](").skip(1).filter_map(|t| t.split(')').next()) {
            let fine = match target.strip_prefix('#') {
                Some(anchor) => heads.iter().any(|h| h == anchor),
                None if target.contains("://") || target.starts_with("mailto:") => true,
                None => dir
                    .join(target.split('#').next().unwrap_or(target))
                    .exists(),
            };
            if !fine {
                dead.push(format!("{name}:{}: ({target})", n + 1));
            }
        }
    }
    dead
}

#[test]
fn anchors_follow_github_including_repeated_headings() {
    assert_eq!(
        heading_anchor("Running benchmarks: `pybench run`"),
        "running-benchmarks-pybench-run"
    );
    assert_eq!(
        heading_anchor("The mutator replay: `run --mutator` (issue 14 item 2)"),
        "the-mutator-replay-run---mutator-issue-14-item-2"
    );
    let doc = "# A\n## Commands\n```\n# not a heading\n```\n### Commands\n#nospace\n";
    assert_eq!(anchors(doc), ["a", "commands", "commands-1"]);
    let dead = dead_links(
        "doc.md",
        "[x](#a) [y](#commands-2) [z](README.md) [w](nope.md)\n# A\n",
    );
    assert_eq!(dead, ["doc.md:1: (#commands-2)", "doc.md:1: (nope.md)"]);
}

/// The Markdown pages under `dir`, recursively, as paths from the checkout's root.
fn markdown_pages(root: &std::path::Path, dir: &str, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(root.join(dir)).expect("a documents folder");
    for entry in entries.map(|e| e.expect("a folder entry")) {
        let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            markdown_pages(root, &name, out);
        } else if name.ends_with(".md") {
            out.push(name);
        }
    }
}

/// A page added under docs/ without a line in [`DOCUMENTS`] would have its command lines,
/// links and quoted pointers go unchecked (the study's runs moved into docs/validate-study/
/// on 2026-12-08, ten pages at once).
#[test]
fn every_page_under_docs_is_checked() {
    let mut pages = Vec::new();
    markdown_pages(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        "docs",
        &mut pages,
    );
    assert!(pages.len() > 20, "only {} pages found", pages.len());
    let unchecked: Vec<&String> = (pages.iter())
        .filter(|p| !DOCUMENTS.iter().any(|(name, _)| name == p))
        .collect();
    assert!(unchecked.is_empty(), "not in DOCUMENTS: {unchecked:?}");
}

#[test]
fn every_link_in_the_documents_leads_somewhere() {
    let dead: Vec<String> = (DOCUMENTS.iter())
        .flat_map(|(name, d)| dead_links(name, d))
        .collect();
    assert!(dead.is_empty(), "{}", dead.join("\n"));
}

/// The fenced `rust` blocks of `document`, each as its lines.
fn rust_blocks(document: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut open: Option<Vec<&str>> = None;
    for line in document.lines() {
        match (&mut open, line.trim_start().starts_with("```")) {
            (None, true) if line.trim() == "```rust" => open = Some(Vec::new()),
            (Some(_), true) => blocks.extend(open.take()),
            (Some(b), false) => b.push(line),
            _ => {}
        }
    }
    blocks
}

/// The crate root's documentation (`src/lib.rs`), its `//! ` prefixes removed.
fn crate_docs() -> Vec<&'static str> {
    include_str!("../lib.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect()
}

/// README.md's Rust examples are not compiled where they stand; the crate root's doctests
/// are. Each README example must be, line for line, a run of the crate docs' lines, so a
/// changed API that breaks one breaks a doctest (the README's first example was checked by
/// nothing before 2026-12-05).
#[test]
fn the_readmes_rust_examples_are_the_crate_docs_doctests() {
    let docs = crate_docs();
    let blocks = rust_blocks(DOCUMENTS[0].1);
    assert_eq!(blocks.len(), 3, "the library section's three examples");
    for b in blocks {
        assert!(
            docs.windows(b.len()).any(|w| w == b.as_slice()),
            "README.md example not in src/lib.rs's docs:\n{}",
            b.join("\n")
        );
    }
    let changed = [
        "use pybench::pymalloc::{Preset, Pymalloc};",
        "let gone = 1;",
    ];
    assert!(!docs.windows(2).any(|w| w == changed), "the check can fail");
}
