//! Tests of a workload's stream as a whole: a mistyped name, streams cut at their limits
//! (their generators' work stopped too), and the spec flags named in a sentence.

use super::*;

#[test]
fn a_mistyped_workload_is_answered_with_the_nearest_one() {
    let msg = Workload::builtin("dict").unwrap_err().to_string();
    assert!(msg.contains("(did you mean `dicts`?)"), "{msg}");
    assert!(msg.contains("available workloads: dicts, lists"), "{msg}");
    let far = Workload::builtin("numpy").unwrap_err().to_string();
    assert!(!far.contains("did you mean"), "{far}");
}

fn spec(generator: &str, params: &str) -> Workload {
    let src = format!(
        "name = \"w\"\ndescription = \"d\"\ngenerator = \"{generator}\"\nscale = 1000\n[params]\n{params}\n"
    );
    Workload::from_toml("w.toml", &src).unwrap()
}

#[test]
fn a_cut_stream_stops_its_generators_work_too() {
    // One step of 100,000 dicts entries each holding a list of 100 new values: 10 M
    // objects, where the budget at scale 1000 is 12,000. Events past it were dropped,
    // but the step ran to its end (a wide enough spec aborted on memory or ran for ever).
    let w = spec(
        "dicts",
        "items = { \"100000\" = 1.0 }\nlist_value_share = 1.0\nlist_appends = { \"100\" = 1.0 }\nvalue_alloc_share = 1.0",
    );
    let mut s = w.stream();
    assert!(s.by_ref().count() > 0);
    assert!(s.cut());
    // A step's last few objects after its loops (a joined str) may still come.
    let bound = max_objects(1000) + 100;
    assert!(s.objects() <= bound, "{}", s.objects());
    for (g, p) in [
        (
            "json",
            "fanout = { \"100000\" = 1.0 }\nmax_depth = 64\nmax_nodes = 10000000",
        ),
        ("webapp", "models = { \"1000000\" = 1.0 }"),
        ("gc_cycles", "group_objects = { \"1000000\" = 1.0 }"),
        (
            "lists",
            "len = { \"1000000\" = 1.0 }\nitem_alloc_share = 1.0",
        ),
    ] {
        let mut s = spec(g, p).stream();
        s.by_ref().for_each(drop);
        assert!(s.objects() <= bound, "{g}: {}", s.objects());
    }
}

#[test]
fn reallocs_are_bounded_as_objects_are() {
    // Every step one str resized 100,000 times: no object budget is ever reached, so the
    // stream made 10^8 reallocs at scale 1000.
    let w = spec(
        "strings",
        "build_share = 1.0\nbuild_pieces = { \"100000\" = 1.0 }\npiece_len = { \"1-100\" = 1.0 }",
    );
    let mut s = w.stream();
    let reallocs = s.by_ref().filter(|e| e.op() == Op::Realloc).count() as u64;
    assert_eq!(reallocs, max_objects(1000) * heap::RESIZES_PER_OBJECT);
    let notes = s.notes();
    assert!(
        notes.len() == 1 && notes[0].contains("768000 reallocs"),
        "{notes:?}"
    );
}

#[test]
fn a_built_string_longer_than_the_limit_is_refused_at_its_key() {
    let src = "name = \"w\"\ndescription = \"d\"\ngenerator = \"strings\"\nscale = 10\n\
               [params]\nbuild_share = 1.0\nbuild_pieces = { \"10000000\" = 1.0 }\n\
               piece_len = { \"10-1000\" = 1.0 }\n";
    let e = Workload::from_toml("w.toml", src).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "w.toml:7: key `params.build_pieces`: a built string could reach 10000000000 chars"
        ),
        "{e}"
    );
}

#[test]
fn the_spec_flags_set_are_named_in_a_sentence() {
    assert!(Overrides::default().spec_flags().is_empty());
    let o = Overrides {
        python: Some(PyVersion::V3_8),
        seed: Some(1),
        allow_malformed: true,
        ..Overrides::default()
    };
    assert_eq!(o.spec_flags(), ["--python", "--seed"]);
    assert_eq!(and_list(&o.spec_flags()), "--python and --seed");
    assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    assert_eq!(and_list(&["a"]), "a");
}
