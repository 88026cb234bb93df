//! Tests of spec parsing: located errors, the spec's own words for wrong types, and the
//! text a spec gives for display.

use super::*;

#[test]
fn range_mix_parses_and_checks_sum() {
    let m: BTreeMap<String, f64> = [("1-5".to_string(), 0.5), ("9".to_string(), 0.5)].into();
    let mix = RangeMix::try_from(m).unwrap();
    assert_eq!((mix.min(), mix.max()), (1, 9));
    let m: BTreeMap<String, f64> = [("1-5".to_string(), 0.5)].into();
    assert!(RangeMix::try_from(m).unwrap_err().contains("sum to 0.5"));
    let m: BTreeMap<String, f64> = [("5-1".to_string(), 1.0)].into();
    assert!(RangeMix::try_from(m).unwrap_err().contains("valid keys"));
}

/// Rust's type names reached the user: `scale = "big"` said `expected i64`, `seed = -1`
/// `expected u64`, `python = 3.11` "wanted string or table".
#[test]
fn wrong_types_are_said_in_the_specs_words() {
    let head = "name = \"x\"\ndescription = \"d\"\ngenerator = \"dicts\"\n";
    for (body, said) in [
        (
            "scale = \"big\"",
            "key `scale`: invalid type: string \"big\", expected an integer",
        ),
        (
            "scale = 99999999999999999999",
            "too large: expected an integer up to 2^63 - 1",
        ),
        (
            "scale = 10\nseed = -1",
            "expected an integer from 0 to 2^63 - 1",
        ),
        (
            "scale = 10\n[params]\ntemp_share = \"0.5\"",
            "expected a number",
        ),
        (
            "scale = 10\npython = 3.11",
            "key `python`: python must be a string such as \"3.11\"",
        ),
    ] {
        let e = crate::workload::Workload::from_toml("s.toml", &format!("{head}{body}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(said), "{e}");
        assert!(!e.contains("64") || said.contains("2^63"), "{e}");
    }
}

#[test]
fn key_at_finds_table_and_key() {
    let src = "name = \"x\"\n[params]\nalpha = 3\nmix = { a = 1, b = 2 }\n";
    let off = src.find("alpha").unwrap();
    assert_eq!(key_at(src, off), "params.alpha");
    let off = src.find("b = 2").unwrap();
    assert_eq!(key_at(src, off), "params.mix.b");
    assert_eq!(key_at(src, 0), "name");
}

#[test]
fn display_text_is_one_line_of_visible_text() {
    let rest = "generator = \"dicts\"\nscale = 10\n";
    for (head, said) in [
        (
            "name = \"a\\nb\"\ndescription = \"d\"\n",
            "s.toml:1: key `name`: a control character ('\\n')",
        ),
        (
            "name = \" \"\ndescription = \"d\"\n",
            "s.toml:1: key `name`: the name is empty",
        ),
        (
            "name = \"x\"\ndescription = \"a\\u001b[31m\"\n",
            "s.toml:2: key `description`: a control character",
        ),
    ] {
        let e = crate::workload::Workload::from_toml("s.toml", &format!("{head}{rest}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(said), "{e}");
    }
    let long = "n".repeat(MAX_NAME_CHARS + 1);
    let e = crate::workload::Workload::from_toml(
        "s.toml",
        &format!("name = \"{long}\"\ndescription = \"d\"\n{rest}"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("the name is 201 characters long; the most is 200"),
        "{e}"
    );
    let ok = format!(
        "name = \"{}\"\ndescription = \"é — ok\"\n{rest}",
        "n".repeat(MAX_NAME_CHARS)
    );
    assert!(crate::workload::Workload::from_toml("s.toml", &ok).is_ok());
}

#[test]
fn a_range_past_the_limit_is_named_as_such_however_large() {
    for key in ["1-10000001", "1-99999999999", "99999999999999999999"] {
        let map: BTreeMap<String, f64> = [(key.to_string(), 1.0)].into();
        let e = RangeMix::try_from(map).unwrap_err();
        assert!(
            e.contains("values above 10000000 are not supported"),
            "{key}: {e}"
        );
    }
    let map: BTreeMap<String, f64> = [("9-3".to_string(), 1.0)].into();
    assert!(RangeMix::try_from(map)
        .unwrap_err()
        .starts_with("bad range `9-3`"));
}

/// A spec's error quoted the file's keys and values raw: a key, a range-mix or named-mix key,
/// the generator or the python version holding `\n` and an escape sequence printed a second
/// line that read as pybench's own and recoloured or cleared the terminal.
#[test]
fn errors_echo_no_line_break_or_escape_from_the_file() {
    let head = "name = \"t\"\ndescription = \"d\"\nscale = 1000\n";
    let dicts = "generator = \"dicts\"\n";
    let evil = "\\npybench: forged line\\u001b[31mRED\\u202e";
    for (body, said) in [
        (format!("{dicts}\"x{evil}\" = 1\n"), "unknown field"),
        (
            format!("{dicts}[params]\nkey_len = {{ \"2-{evil}\" = 1.0 }}\n"),
            "bad range",
        ),
        (
            "generator = \"churn\"\n[params]\nkinds = { \"in\\nt\\u001b[2J\" = 1.0 }\n".into(),
            "unknown key",
        ),
        (format!("generator = \"x{evil}\"\n"), "unknown generator"),
        (format!("{dicts}python = \"3{evil}\"\n"), "key `python`"),
        (format!("{dicts}\u{1b}[31mRED = 1\n"), "key with no value"),
        (format!("{dicts}[params]\nx\u{202e}y = 1\n"), ""),
    ] {
        let e = crate::workload::Workload::from_toml("s.toml", &format!("{head}{body}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(said), "{e}");
        assert!(!e.chars().any(crate::trace::hostile), "{body}: {e:?}");
    }
}

/// U+202E in a name reversed the rest of every line that printed it (a table row, a title).
#[test]
fn a_bidirectional_control_in_display_text_is_refused() {
    for c in ['\u{202e}', '\u{2066}'] {
        let src =
            format!("name = \"a{c}b\"\ndescription = \"d\"\ngenerator = \"dicts\"\nscale = 10\n");
        let e = crate::workload::Workload::from_toml("s.toml", &src)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("s.toml:1: key `name`: a bidirectional control character"),
            "{e}"
        );
        assert!(!e.contains(c), "{e:?}");
    }
}

/// `params = [0.9, 0.1]` was taken as the dicts generator's first two fields by position
/// (the same stream as `temp_share = 0.9, str_keys = 0.1`); any value but a table is refused.
#[test]
fn params_that_are_not_a_table_are_refused() {
    let head = "name = \"t\"\ndescription = \"d\"\ngenerator = \"dicts\"\nscale = 1000\n";
    for params in ["[0.9, 0.1]", "[]", "0.5", "\"temp_share\""] {
        let e =
            crate::workload::Workload::from_toml("s.toml", &format!("{head}params = {params}\n"))
                .unwrap_err()
                .to_string();
        assert!(
            e.starts_with("s.toml:5: key `params`: invalid type:")
                && e.contains("expected a table of the generator's parameters"),
            "{params}: {e}"
        );
    }
    for ok in [
        "params = { temp_share = 0.9 }",
        "params = {}",
        "[params]\ntemp_share = 0.9",
    ] {
        let w = crate::workload::Workload::from_toml("s.toml", &format!("{head}{ok}\n"));
        assert!(w.is_ok(), "{ok}: {:?}", w.err());
    }
}

/// A check across two parameters (a built str's `build_pieces` × `piece_len`) in a dotted or
/// inline `params` table was blamed on `line 1: key 'name'`: only `[params]` was looked for.
#[test]
fn a_cross_field_error_points_at_params_however_the_table_is_written() {
    let head = "name = \"t\"\ndescription = \"d\"\ngenerator = \"strings\"\nscale = 1000\n";
    let (pieces, len) = ("{ \"1000\" = 1.0 }", "{ \"100000\" = 1.0 }");
    for (params, at) in [
        (
            format!("[params]\npiece_len = {len}\nbuild_pieces = {pieces}\n"),
            "s.toml:7: key `params.build_pieces`",
        ),
        (
            format!("params.piece_len = {len}\nparams.build_pieces = {pieces}\n"),
            "s.toml:6: key `params.build_pieces`",
        ),
        (
            format!("params = {{ piece_len = {len}, build_pieces = {pieces} }}\n"),
            "s.toml:5: key `params.build_pieces`",
        ),
        // The key at fault left at its default: the table is pointed at.
        (
            "params.piece_len = { \"5000000\" = 1.0 }\n".to_string(),
            "s.toml:5: key `params.piece_len`",
        ),
        (
            "params = { piece_len = { \"5000000\" = 1.0 } }\n".to_string(),
            "s.toml:5: key `params`",
        ),
    ] {
        let e = crate::workload::Workload::from_toml("s.toml", &format!("{head}{params}"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("{at}: a built string could reach")),
            "{params}: {e}"
        );
    }
}
