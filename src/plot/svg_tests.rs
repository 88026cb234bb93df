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
    // The largest finite ranges keep their ticks.
    assert_eq!(tick_count(Axis::linear_whole("pools", 1e308, plain)), 6);
    assert_eq!(tick_count(Axis::log("ns", 1e-300, 1e300, plain)), 601);
}
