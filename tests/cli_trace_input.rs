//! Traces the commands cannot use: cut files, pipes, broken liveness and empty references.
//! Each is refused in one line that says what is wrong, where, and (only where the command has
//! one) which flag reads it anyway.

mod common;

use common::{pybench, tempdir};

/// The one line a refused command printed on stderr, after checking it exited with 2.
fn refusal(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.trim_end().to_string()
}

#[test]
fn a_cut_inside_an_events_block_names_that_block_at_its_offset() {
    let whole = std::fs::read("workloads/traces/compileall.pbt").unwrap();
    let (_, blocks) = common::blocks(&whole);
    let dir = tempdir("cut");
    let path = dir.join("cut.pbt");
    // Every block but the last (the end block), cut in the middle of its payload and one byte
    // short of its end.
    for (k, &(start, end)) in blocks[..blocks.len() - 1].iter().enumerate() {
        for len in [(start + end) / 2, end - 1] {
            std::fs::write(&path, &whole[..len]).unwrap();
            let err = refusal(pybench().arg("stats").arg(&path));
            assert_eq!(
                err,
                format!(
                    "pybench: error: {}: byte {start}: file ends inside block {k}'s payload",
                    path.display()
                ),
                "cut at {len} of {}",
                whole.len()
            );
            assert!(start < len);
        }
    }
}
