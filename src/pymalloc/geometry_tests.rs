//! Tests of `geometry.rs`: presets, custom geometries and their refusals.

use super::*;

#[test]
fn presets_parse_by_name_and_geometry_round_trips() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>(), Ok(p));
        let g: Geometry = p.name().parse().unwrap();
        assert_eq!(g, p.geometry());
        assert_eq!(g.to_string().parse::<Geometry>(), Ok(g));
    }
}

#[test]
fn custom_geometry_parses_units() {
    let g: Geometry = "arena=512K,pool=8K".parse().unwrap();
    assert_eq!((g.arena_size(), g.pool_size()), (512 << 10, 8 << 10));
    assert!(g.keeps_spare_arena());
    let g: Geometry = "pool=4KiB, arena=1M, keep_spare=false".parse().unwrap();
    assert_eq!((g.arena_size(), g.pool_size()), (1 << 20, 4 << 10));
    assert!(!g.keeps_spare_arena());
}

#[test]
fn invalid_geometries_are_refused_with_the_reason() {
    let err = |s: &str| s.parse::<Geometry>().unwrap_err();
    assert!(matches!(
        err("arena=500K,pool=8K"),
        GeometryError::NotPowerOfTwo {
            what: "arena size",
            ..
        }
    ));
    assert!(matches!(
        err("arena=512K,pool=1K"),
        GeometryError::OutOfRange {
            what: "pool size",
            ..
        }
    ));
    assert!(matches!(
        err("arena=16K,pool=8K"),
        GeometryError::TooFewPools { .. }
    ));
    assert!(matches!(err("arena=512K"), GeometryError::Syntax { .. }));
    assert!(matches!(
        err("arena=512X,pool=8K"),
        GeometryError::Syntax { .. }
    ));
    let unknown = err("cpython-2.7").to_string();
    assert!(
        unknown.contains("cpython-3.8") && unknown.contains("cpython-3.13"),
        "{unknown}"
    );
}

#[test]
fn sizes_print_as_they_parse() {
    let cases = [
        (0, "0"),
        (4096, "4K"),
        (1 << 20, "1M"),
        (1000, "1000"),
        (3 << 30, "3G"),
        ((1 << 30) + (1 << 20), "1025M"),
    ];
    for (n, shown) in cases {
        assert_eq!(format_size(n), shown);
        assert_eq!(parse_size(shown), Some(n));
    }
}

#[test]
fn a_key_given_twice_is_refused() {
    for (spec, key) in [
        ("arena=256K,arena=1M,pool=4K", "arena"),
        ("arena=1M,pool=4K,pool=8K", "pool"),
        (
            "arena=1M,pool=4K,keep_spare=true,keep_spare=false",
            "keep_spare",
        ),
    ] {
        let e = spec.parse::<Geometry>().unwrap_err();
        assert_eq!(
            e,
            GeometryError::Repeated {
                spec: spec.to_string(),
                key
            }
        );
        assert_eq!(
            e.to_string(),
            format!("bad geometry `{spec}`: `{key}` is given more than once")
        );
    }
}

/// Each fault of a custom geometry is named: the generic sentence alone sent the user
/// comparing `arena=512K` with it to find that `pool` was missing.
#[test]
fn a_syntax_error_names_the_part_at_fault() {
    for (spec, why) in [
        ("arena=512K", "`pool` is missing"),
        ("pool=8K", "`arena` is missing"),
        ("arena=1T,pool=4K", "`arena=1T`: `1T` is not a size"),
        ("arena=-1,pool=4K", "`arena=-1`: `-1` is not a size"),
        (
            "arena=512K,pool=8K,keep_spare=maybe",
            "keep_spare must be true or false, not `maybe`",
        ),
        (
            "arena=512K,pool=8K,spare=false",
            "unknown key `spare` (did you mean `keep_spare`?)",
        ),
        ("arena=512K,,pool=8K", "`` is not KEY=VALUE"),
    ] {
        let e = spec.parse::<Geometry>().unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("bad geometry `{spec}`: {why}")),
            "{e}"
        );
        assert!(e.contains("; expected comma-separated keys"), "{e}");
    }
}

#[test]
fn a_mistyped_preset_is_answered_with_the_nearest() {
    for (typed, meant) in [
        ("3.11", "cpython-3.11"),
        ("cpython3.9", "cpython-3.9"),
        ("cpythn-3.12", "cpython-3.12"),
    ] {
        let e = typed.parse::<Geometry>().unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "unknown pymalloc preset `{typed}` (did you mean `{meant}`?)"
            )),
            "{e}"
        );
    }
    for far in ["numpy", "cpython-3.14", "3.7"] {
        let e = far.parse::<Geometry>().unwrap_err().to_string();
        assert!(!e.contains("did you mean"), "{e}");
    }
}

#[test]
fn python_versions_map_to_presets() {
    assert_eq!(Preset::for_python("3.9"), Some(Preset::Cpython39));
    assert_eq!(Preset::for_python("3.13"), Some(Preset::Cpython313));
    assert_eq!(Preset::for_python("3.7"), None);
}
