//! Text that results carry (workload and allocator names, a program's arguments, notes, a
//! failed cell's reason) placed into Markdown: `summary.md`, and `compare`'s report, which CI
//! appends to `$GITHUB_STEP_SUMMARY`. `index.html` escapes the same text as HTML; here a name
//! holding `<img onerror=…>`, a `|` or a line break would otherwise be rendered as HTML, an
//! extra column or a new row or heading. Every writer of those files uses these three.

/// `text` shown literally inside one line of Markdown (a heading, a table cell, a bullet):
/// what starts HTML, an entity, a code span, a link or another column (`< > & \` [ ] |`)
/// and the backslash itself are backslash-escaped; a line break, which would end the row or
/// the heading, becomes a space; any other control character is written as an escape
/// (`\u{1b}`), as the terminal shows it ([`crate::trace::printable`]).
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '|' | '<' | '>' | '&' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => push_one_line(&mut out, c),
        }
    }
    out
}

/// pybench's own sentences (a legend, a caveat, a note, a failure's reason) that may quote
/// the user's names: HTML is escaped (`< > &`), line breaks become spaces and other control
/// characters escapes, as [`inline`] does, but the backticks and brackets pybench writes
/// itself keep their meaning, so "`ulimit -v`" stays a code span rather than showing its
/// backticks. Each of `quoted`'s names found in the sentence is [`inline`]-escaped whole:
/// a workload named "a `b" or "[x](http://…)" opened a code span or made a live link in
/// `summary.md` and in compare's report (which CI renders as the step summary).
pub fn prose(text: &str, quoted: &Quoted) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(name) = quoted.names.iter().find(|n| rest.starts_with(n.as_str())) {
            out.push_str(&inline(name));
            rest = &rest[name.len()..];
            continue;
        }
        match c {
            '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => push_one_line(&mut out, c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The user's names (workloads, allocators, a run's folder, a CPU model) that
/// [`prose`] escapes where a sentence quotes them: only those holding a character that
/// means something in Markdown beyond what `prose` escapes anyway, longest first so that a
/// name holding another is escaped whole.
#[derive(Debug, Default)]
pub struct Quoted {
    names: Vec<String>,
}

impl Quoted {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = names
            .into_iter()
            .filter(|n| n.contains(['\\', '`', '|', '[', ']']))
            .map(str::to_string)
            .collect();
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        names.dedup();
        Quoted { names }
    }

    /// The names a run's sentences can quote: its folder, CPU model, and every cell's
    /// workload and allocator.
    pub fn of_run(r: &super::model::RunResults) -> Self {
        let cells = r.cells.iter().flat_map(|c| [&c.workload, &c.allocator]);
        let machine = [&r.run].into_iter().chain(&r.machine.cpu_model);
        Quoted::new(machine.chain(cells).map(String::as_str))
    }
}

/// `text` as an inline code span (an allocator's name, a run folder): fenced by more
/// backticks than its longest run of them, so none closes it early, and padded by a space
/// when it starts or ends with one. Inside a span nothing is HTML, so only a `|` (which GFM
/// tables split cells on even there), line breaks and control characters are changed, as
/// [`inline`] changes them.
pub fn code(text: &str) -> String {
    let mut body = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => body.push_str("\\|"),
            c => push_one_line(&mut body, c),
        }
    }
    let fence = "`".repeat(longest_backtick_run(&body) + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// `body` (starting and ending with a line break) as a fenced code block with `info` (`text`):
/// the fence is longer than any run of backticks in `body`, so a program's argument holding
/// a line of three backticks no longer closes the block and has what follows rendered as
/// Markdown (an injected heading or table).
pub fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(body) + 1).max(3));
    format!("{fence}{info}{body}{fence}")
}

/// Pushes `c` so that the text stays one visible line: a line break as a space, another
/// control character as its escape (`\u{1b}`), anything else as it is.
fn push_one_line(out: &mut String, c: char) {
    match c {
        '\r' | '\n' => out.push(' '),
        c if crate::trace::hostile(c) => out.extend(c.escape_debug()),
        c => out.push(c),
    }
}

/// The length of the longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_keeps_its_code_spans_and_stays_text() {
        assert_eq!(
            prose(
                "use `ulimit -v` on <b>x</b> & [y]\nnext\u{1b}",
                &Quoted::default()
            ),
            "use `ulimit -v` on \\<b\\>x\\</b\\> \\& [y] next\\u{1b}"
        );
    }

    #[test]
    fn quoted_names_are_escaped_whole_and_pybench_markup_kept() {
        let q = Quoted::new(["a `b", "[x](http://e)", "plain", "[x](http://e) 2"]);
        assert_eq!(
            prose(
                "`-r` on a `b and [x](http://e) 2 vs [x](http://e) & plain",
                &q
            ),
            "`-r` on a \\`b and \\[x\\](http://e) 2 vs \\[x\\](http://e) \\& plain"
        );
        // Names without Markdown in them change nothing: pybench's own spans stay spans.
        let q = Quoted::new(["system", "dicts"]);
        assert_eq!(prose("`system` on dicts", &q), "`system` on dicts");
    }

    #[test]
    fn inline_text_renders_literally_on_one_line() {
        assert_eq!(
            inline("=1+2|<img src=x onerror=alert(1)>\n# x `c` \\ [l](u) &amp;\u{1b}[31m"),
            "=1+2\\|\\<img src=x onerror=alert(1)\\> # x \\`c\\` \\\\ \\[l\\](u) \\&amp;\\u{1b}\\[31m"
        );
        assert_eq!(inline("trace:json_tool"), "trace:json_tool");
    }

    #[test]
    fn code_spans_outlast_the_backticks_inside() {
        assert_eq!(code("system"), "`system`");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x|y\n"), "`` `x\\|y  ``");
    }

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fenced("text", "\nplain\n"), "```text\nplain\n```");
        let body = "\nx\n```\n# INJECTED\n`````\n";
        let block = fenced("text", body);
        assert!(block.starts_with("``````text\n") && block.ends_with("\n``````"));
    }
}
