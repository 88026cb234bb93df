//! Malformed traces streamed (part of `tests/trace/stream_replay.rs`): a feed repairs every pass
//! as materialising does, and a streamed run of such a trace behaves like a materialised one.

use super::*;

/// `stream(seed, n)` with three liveness faults spread over its blocks and chunks: a double
/// free, a realloc of a freed block, an allocation into a live slot.
fn malformed(seed: u64, n: usize) -> Vec<Event> {
    let mut events = stream(seed, n);
    let free_at = |events: &[Event], from: usize| {
        (from..events.len())
            .find(|&i| matches!(events[i], Event::Free { .. }))
            .unwrap()
    };
    let i = free_at(&events, n / 5);
    events.insert(i + 1, events[i]); // a double free
    let j = free_at(&events, n / 2);
    let Event::Free { slot, .. } = events[j] else {
        unreachable!()
    };
    events.insert(
        j + 1,
        Event::Realloc {
            slot,
            size: 99,
            thread: 0,
        },
    );
    let k = (4 * n / 5..events.len())
        .find(|&i| matches!(events[i], Event::Alloc { .. }))
        .unwrap();
    events.insert(k + 1, events[k]); // into the slot it just allocated
    events
}

/// With `--allow-malformed` a feed repairs every pass exactly as materialising does (same
/// events, same note); without it, it refuses the first fault with the materialised read's
/// words instead of handing the allocator a double free.
#[test]
fn a_feed_repairs_a_malformed_trace_exactly_as_materialising_does() {
    let dir = common::tempdir("feed-malformed");
    let path = write_trace(&dir, "bad", &malformed(21, 400_000));
    let origin = Origin::Trace(path.clone());
    let source = Source::load(&path.to_string_lossy()).unwrap();
    let allow = Overrides {
        allow_malformed: true,
        ..Overrides::default()
    };
    let m = source.materialize(allow).unwrap();
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(m.notes[0].contains("2 dropped") && m.notes[0].contains("1 allocations into live"));
    // The events feed (the memory and latency cell's) carries the repairs, then the stream's
    // op order (a generated stream in no loop's order) as the materialised cell adds it.
    let order = pybench::workload::op_order::note(&m.events).expect("a generated order");
    let want: Vec<String> = m.notes.iter().cloned().chain([order]).collect();

    let mut feed = Feed::open(&origin, allow, Content::Events).unwrap();
    for pass in 0..2 {
        let mut fed = Vec::new();
        feed.begin().unwrap();
        while let Some(c) = feed.next_chunk().unwrap() {
            fed.extend_from_slice(&c.events);
            feed.give_back(c);
        }
        assert!(fed == m.events, "pass {pass}: events differ");
        assert_eq!(feed.notes, want, "pass {pass}");
    }
    // The compiled form: the records of the repaired stream, pass after pass.
    let (want, live_at_end) = whole(&m.events, true, Touch::Header);
    let content = Content::Compact {
        raw_to_system: true,
        touch: Touch::Header,
    };
    let mut feed = Feed::open(&origin, allow, content).unwrap();
    for pass in 0..2 {
        let (ops, freed) = feed_pass(&mut feed);
        assert!(ops == want, "pass {pass}: records differ");
        assert_eq!(freed, live_at_end);
    }

    // Without the flag: refused, naming the event as the materialised read does.
    let refused = source
        .materialize(Overrides::default())
        .err()
        .expect("materialising refuses")
        .root_cause()
        .to_string();
    let what = refused.split(": block ").nth(1).expect(&refused);
    let what = &what[what.find(": ").unwrap() + 2..];
    assert!(
        what.starts_with("event ") && what.contains("a free of slot"),
        "{what}"
    );
    for content in [Content::Events, content] {
        let mut feed = Feed::open(&origin, Overrides::default(), content).unwrap();
        feed.begin().unwrap();
        let err = loop {
            match feed.next_chunk() {
                Ok(Some(c)) => feed.give_back(c),
                Ok(None) => panic!("a streamed pass of a malformed trace ended"),
                Err(e) => break e,
            }
        };
        assert_eq!(err, what);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The CLI with `--stream always` treats a malformed trace as the materialised run does:
/// refused in one identical line without `--allow-malformed`; repaired with it, with the
/// same warning and the same repair note in every memory cell, and no cell failing (glibc
/// aborts on a double free, so a fault reaching it would fail its cells).
#[test]
fn a_streamed_run_of_a_malformed_trace_behaves_like_a_materialised_one() {
    let dir = common::tempdir("cli-malformed");
    let path = write_trace(&dir, "bad", &malformed(5, 60_000));
    let run = |mode: &str, allow: bool, out: &Path| {
        let mut cmd = common::pybench();
        cmd.args(["run", "--trace"])
            .arg(&path)
            .args(["-a", "pymalloc,system", "-r", "1", "--rounds", "2"])
            .args(["--min-time", "0.001", "--no-plots", "--stream", mode])
            .arg("--out")
            .arg(out);
        if allow {
            cmd.arg("--allow-malformed");
        }
        cmd.assert()
    };
    let stderr = |a: &assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&a.get_output().stderr).to_string()
    };
    let (never, always) = (dir.join("never"), dir.join("always"));
    let refused_never = stderr(&run("never", false, &never).code(2));
    let refused_always = stderr(&run("always", false, &always).code(2));
    assert_eq!(refused_never.lines().count(), 1, "{refused_never}");
    assert!(refused_never.contains("a free of slot"), "{refused_never}");
    assert_eq!(refused_always, refused_never);

    let warning = |s: &str| {
        s.lines()
            .find(|l| l.contains("malformed events replayed anyway"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no warning in {s}"))
    };
    let notes = |out: &Path| {
        let r = results_in(out);
        let mut repairs = Vec::new();
        for c in r["cells"].as_array().unwrap() {
            assert_eq!(c["status"], "ok", "{c}");
            let notes: Vec<String> = c["notes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            if c["allocator"] != "null" {
                let how = if out.ends_with("always") {
                    "memory and latency: streamed"
                } else {
                    "memory and latency: materialised"
                };
                assert!(notes.iter().any(|n| n.starts_with(how)), "{notes:?}");
            }
            repairs.extend(notes.into_iter().filter(|n| n.contains("malformed events")));
        }
        repairs
    };
    let done_never = stderr(&run("never", true, &never).success());
    let done_always = stderr(&run("always", true, &always).success());
    assert_eq!(warning(&done_always), warning(&done_never));
    assert!(warning(&done_never).contains("2 dropped"));
    let (n, a) = (notes(&never), notes(&always));
    assert_eq!(n.len(), 2, "pymalloc's and system's memory cells: {n:?}");
    assert_eq!(a, n);
    // Both modes replayed the same repaired stream, which is not the file's.
    let prints = |out: &Path| {
        let r = results_in(out);
        let p: std::collections::BTreeSet<String> = r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["allocator"] != "null")
            .map(|c| c["stream_fingerprint"].as_str().unwrap().to_string())
            .collect();
        p
    };
    let repaired = prints(&never);
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(prints(&always), repaired);
    let raw = pybench::workload::stream_hash(malformed(5, 60_000));
    assert!(!repaired.contains(&pybench::workload::fingerprint_hex(raw)));
    let _ = std::fs::remove_dir_all(dir);
}
