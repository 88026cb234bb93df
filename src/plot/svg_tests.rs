//! Tests of the chart writer (`svg.rs`).

use super::*;

fn plain(v: f64) -> String {
    format!("{v}")
}

#[test]
fn nice_steps_are_one_two_five() {
    assert_eq!(nice_step(0.9), 1.0);
    assert_eq!(nice_step(1.7), 2.0);
    assert_eq!(nice_step(3.0), 5.0);
    assert_eq!(nice_step(7.0), 10.0);
    assert_eq!(nice_step(2300.0), 5000.0);
    assert_eq!(nice_step(0.0), 1.0);
}

#[test]
fn log_axis_spans_whole_decades_and_maps_them_evenly() {
    let a = Axis::log("ns", 12.0, 4_000.0, plain);
    assert_eq!((a.min, a.max), (10.0, 10_000.0));
    let mid = a.map(100.0, 0.0, 300.0);
    assert!((mid - 100.0).abs() < 1e-9, "{mid}");
    let ticks: Vec<f64> = a.tick_values().iter().map(|t| t.0).collect();
    assert_eq!(ticks, vec![10.0, 100.0, 1000.0, 10_000.0]);
}

#[test]
fn linear_axis_rounds_outwards() {
    let a = Axis::linear("B", 0.0, 1_234.0, plain);
    assert_eq!((a.min, a.max), (0.0, 1_500.0));
    assert_eq!(a.map(750.0, 0.0, 100.0), 50.0);
}

#[test]
fn bytes_axis_steps_in_binary_units() {
    let a = Axis::linear_bytes("B", 200.0 * 1024.0, plain);
    assert_eq!(a.step, 50.0 * 1024.0);
    assert_eq!(a.max, 200.0 * 1024.0);
    let b = Axis::linear_bytes("B", 1.7 * 1024.0 * 1024.0, plain);
    assert_eq!(b.step, 0.5 * 1024.0 * 1024.0);
    assert_eq!(b.max, 2.0 * 1024.0 * 1024.0);
}

#[test]
fn text_is_escaped() {
    assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

/// XML 1.0 allows no C0 control character but tab, line feed and carriage return, not even
/// as a character reference: one in a workload's name left a chart no browser would open.
#[test]
fn control_characters_xml_forbids_are_written_as_escapes() {
    assert_eq!(
        escape("a\u{1b}[31mb\u{0}c\u{7f}"),
        "a\\u{1b}[31mb\\0c\u{7f}"
    );
    assert_eq!(escape("t\tl\nr\r"), "t\tl\nr\r");
    let chart = line_chart(
        "R\u{1b}[31mX\u{8}",
        &Axis::linear("x", 0.0, 1.0, plain),
        &Axis::linear("y", 0.0, 1.0, plain),
        &[Line {
            name: "s\u{1}".into(),
            color: 0,
            points: vec![(0.0, 0.0), (1.0, 1.0)],
        }],
    );
    assert!(
        !chart
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "{chart}"
    );
}

#[test]
fn whole_count_axes_have_whole_ticks() {
    for max in [1.0, 2.0, 3.0, 4.0, 7.0, 12.0] {
        let a = Axis::linear_whole("pools", max, |v| v.to_string());
        for (v, _) in a.tick_values() {
            assert_eq!(v.fract(), 0.0, "max {max}: tick {v}");
        }
        assert!(a.max >= max);
    }
}

#[test]
fn long_labels_of_many_groups_are_slanted() {
    let y = Axis::linear("ops", 0.0, 10.0, |v| v.to_string());
    let names = [
        "strings",
        "numbers",
        "instances",
        "gc_cycles",
        "arena_thrash",
    ];
    let groups: Vec<Group> = (0..11)
        .map(|i| Group {
            label: names[i % names.len()].to_string(),
            bars: vec![Bar {
                series: 0,
                value: 1.0,
                error: None,
            }],
        })
        .collect();
    let svg = bar_chart("t", "workload", &y, &[("a".into(), 0)], &groups, None);
    let labels = svg.matches("rotate(-50").count();
    assert_eq!(labels, 11, "{svg}");
    // Two short labels have room and stay horizontal.
    let svg = bar_chart("t", "workload", &y, &[("a".into(), 0)], &groups[..2], None);
    assert_eq!(svg.matches("rotate(-50").count(), 0);
}

/// The number of ticks `axis` gets, computed on a thread given 10 s: a tick loop that never
/// ends fails the test rather than hanging the whole suite.
fn tick_count(axis: Axis) -> usize {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(axis.tick_values().len()));
    let limit = std::time::Duration::from_secs(10);
    rx.recv_timeout(limit)
        .expect("the ticks were computed in time")
}

#[test]
fn axes_of_ranges_that_are_not_finite_get_no_ticks_instead_of_endless_ones() {
    // Each used to loop until memory ran out (linear) or over billions of decades (log).
    for a in [
        Axis::linear_whole("pools", f64::INFINITY, plain),
        Axis::linear("B", f64::NEG_INFINITY, 1.0, plain),
        Axis::log("ns", 1.0, f64::INFINITY, plain),
    ] {
        let range = format!("{} to {}", a.min, a.max);
        assert_eq!(tick_count(a), 0, "{range}");
    }
    // The largest finite ranges keep their ticks (a log axis's 600 decades labelled every
    // fiftieth).
    assert_eq!(tick_count(Axis::linear_whole("pools", 1e308, plain)), 6);
    assert_eq!(tick_count(Axis::log("ns", 1e-300, 1e300, plain)), 13);
}

/// An axis up to f64::MAX rounded its end up to 2e308, which is infinite: the chart was
/// left out ("it would plot inf"). Now it ends at the largest float, with round ticks.
#[test]
fn an_axis_near_the_largest_float_stays_finite() {
    let a = Axis::linear("ops", 0.0, f64::MAX, crate::plot::labels::fmt_count);
    assert_eq!((a.min, a.max), (0.0, f64::MAX));
    let labels: Vec<String> = a.tick_values().into_iter().map(|t| t.1).collect();
    assert_eq!(labels, ["0", "5e307", "1e308", "1.5e308"]);
    let log = Axis::log("ns", 1.0, f64::MAX, plain);
    assert_eq!(log.max, f64::MAX);
    assert!(log.map(f64::MAX, 0.0, 100.0) == 100.0);
    let both = Axis::linear("x", -f64::MAX, f64::MAX, plain);
    assert!(both.min.is_finite() && both.max.is_finite());
    assert_eq!(both.map(0.0, 0.0, 100.0), 50.0);
}

mod properties {
    use super::super::Axis;
    use crate::plot::labels::{fmt_bytes, fmt_count, fmt_ns, fmt_ratio};
    use proptest::prelude::*;

    /// Finite values of every magnitude, either sign, and zero.
    fn any_finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(f64::MIN_POSITIVE),
            (-1.0f64..1.0, -308i32..=308)
                .prop_map(|(m, e)| (m * 10f64.powi(e)).clamp(-f64::MAX, f64::MAX)),
        ]
    }

    fn positive() -> impl Strategy<Value = f64> {
        any_finite()
            .prop_map(f64::abs)
            .prop_filter("positive", |v| *v > 0.0)
    }

    /// Ticks of `a` that are finite, strictly increasing, inside the axis, which covers
    /// `lo`..`hi`; labels distinct and at most 12 characters.
    fn check(a: &Axis, lo: f64, hi: f64) -> Result<(), TestCaseError> {
        prop_assert!(
            a.min.is_finite() && a.max.is_finite(),
            "{} – {}",
            a.min,
            a.max
        );
        prop_assert!(
            a.min <= lo && a.max >= hi,
            "{} – {} for {lo} – {hi}",
            a.min,
            a.max
        );
        let ticks = a.tick_values();
        prop_assert!(ticks.len() >= 2, "{ticks:?}");
        for w in ticks.windows(2) {
            prop_assert!(w[0].0 < w[1].0, "{ticks:?}");
            prop_assert!(w[0].1 != w[1].1, "{ticks:?}");
        }
        for (v, label) in &ticks {
            prop_assert!(v.is_finite() && *v >= a.min && *v <= a.max, "{ticks:?}");
            prop_assert!(label.chars().count() <= 12, "{label}");
        }
        let labels: std::collections::HashSet<&String> = ticks.iter().map(|t| &t.1).collect();
        prop_assert_eq!(labels.len(), ticks.len(), "{:?}", ticks);
        Ok(())
    }

    proptest! {
        #[test]
        fn linear_axes_of_any_finite_range(min in any_finite(), max in any_finite()) {
            let a = Axis::linear("x", min, max, fmt_count);
            let lo = min.min(0.0);
            check(&a, lo, max.max(lo))?;
            // The ticks reach to within a step of both ends.
            let ticks = a.tick_values();
            prop_assert!(ticks[0].0 - a.min <= a.step * (1.0 + 1e-9));
            prop_assert!(a.max - ticks[ticks.len() - 1].0 <= a.step * (1.0 + 1e-9));
        }

        #[test]
        fn count_bytes_and_ratio_axes(max in positive()) {
            check(&Axis::linear_whole("pools", max, fmt_count), 0.0, max)?;
            check(&Axis::linear_bytes("B", max, fmt_bytes), 0.0, max)?;
            check(&Axis::linear("frag", 0.0, max.max(1.0), fmt_ratio), 0.0, max.max(1.0))?;
        }

        #[test]
        fn log_axes_of_any_positive_range(a in positive(), b in positive()) {
            let (lo, hi) = (a.min(b), a.max(b));
            let axis = Axis::log("ns", lo, hi, fmt_ns);
            check(&axis, lo.max(f64::MIN_POSITIVE), hi)?;
            prop_assert!(axis.tick_values().len() <= 14);
        }
    }
}
