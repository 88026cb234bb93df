//! Mutation fuzzing of the three file kinds pybench reads: traces, workload specs and results
//! files. Valid seeds are mutated (bit flips, extreme bytes and numbers, insertions,
//! deletions, truncation, duplicated and swapped trace blocks, blocks whose checksum is
//! recomputed after the damage so the decoder behind it is reached) and each mutant is
//! decoded, and used if it decodes. A finding is a panic: the test fails and saves the input
//! under `target/tmp/fuzz-findings/`. Near-hangs are a timing question, so only the long
//! campaign of `scripts/fuzz.sh` judges them, from the slowest input's time this test prints
//! (and saves the input); the test itself asserts no duration, and in CI a hang shows as
//! its own timeout.
//!
//! CI runs a fixed seed and a few thousand inputs in seconds; `scripts/fuzz.sh` runs as many
//! as asked with a fresh seed: `PYBENCH_FUZZ_INPUTS` (per kind) and `PYBENCH_FUZZ_SEED`.

use crate::common;

use pybench::compare::Settings;
use pybench::report::export::{Csv, Exporter, Json, Markdown};
use pybench::trace::format::{self, block_binding, crc, BLOCK_HEADER};
use pybench::trace::reader::TraceReader;
use pybench::trace::{Meta, TraceWriter};
use pybench::workload::{Overrides, Workload};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Where inputs worth a look are saved: panics always, and in a long campaign
/// (`PYBENCH_FUZZ_INPUTS` set, as `scripts/fuzz.sh` does) each kind's slowest input, so the
/// script — not this test — can judge a near-hang by its time.
fn save_input(name: &str, input: &[u8]) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(name);
    let _ = std::fs::write(&file, input);
    file
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const EXTREME_BYTES: [u8; 6] = [0, 0xff, 0x7f, 0x80, 0x01, 0xfe];
const EXTREME_NUMBERS: [&str; 10] = [
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "1e308",
    "-0.0",
    "NaN",
    "10000001",
    "999999999999999999999999",
];

/// One random byte-level mutation (1 – 4 of them, stacked).
fn mutate_bytes(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        if input.is_empty() {
            input.push(rng.next() as u8);
        }
        let at = rng.below(input.len());
        match rng.below(7) {
            0 => input[at] ^= 1 << rng.below(8),
            1 => input[at] = EXTREME_BYTES[rng.below(EXTREME_BYTES.len())],
            2 => input.insert(at, rng.next() as u8),
            3 => {
                input.remove(at);
            }
            4 => input.truncate(at),
            5 => {
                // Duplicate a chunk somewhere else.
                let len = 1 + rng.below(64.min(input.len() - at));
                let chunk = input[at..at + len].to_vec();
                let to = rng.below(input.len());
                input.splice(to..to, chunk);
            }
            _ => {
                let v = rng.next().to_le_bytes();
                let n = (1 + rng.below(8)).min(input.len() - at);
                input[at..at + n].copy_from_slice(&v[..n]);
            }
        }
    }
}

/// Replaces a number in a text input with an extreme one (specs and JSON are mostly
/// numbers, which byte flips rarely turn into interesting values).
fn mutate_number(rng: &mut Rng, input: &mut Vec<u8>) {
    let digits: Vec<usize> = (0..input.len())
        .filter(|&i| input[i].is_ascii_digit() && (i == 0 || !input[i - 1].is_ascii_digit()))
        .collect();
    if digits.is_empty() {
        return mutate_bytes(rng, input);
    }
    let start = digits[rng.below(digits.len())];
    let end = (start..input.len())
        .find(|&i| !input[i].is_ascii_digit() && input[i] != b'.')
        .unwrap_or(input.len());
    let with = EXTREME_NUMBERS[rng.below(EXTREME_NUMBERS.len())].as_bytes();
    input.splice(start..end, with.iter().copied());
}

/// The blocks of a trace as byte ranges, if the layout parses (header: 16 fixed bytes,
/// metadata, CRC; then blocks of `BLOCK_HEADER` bytes plus their stored length).
fn blocks(trace: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let l = layout(trace)?;
    let meta_len = u32::from_le_bytes(trace.get(12..16)?.try_into().ok()?) as usize;
    let mut at = l.fixed + meta_len + 4;
    let mut out = Vec::new();
    while at + l.block_header <= trace.len() {
        let stored = u32::from_le_bytes(trace[at + 9..at + 13].try_into().ok()?) as usize;
        let end = at + l.block_header + stored;
        if end > trace.len() {
            return None;
        }
        out.push(at..end);
        at = end;
    }
    (at == trace.len()).then_some(out)
}

/// Where a version's header and block fields are (format.rs): version 2 adds an 8-byte file
/// id to the header and binds each block's CRC to that id and the block's position.
struct Layout {
    /// Header bytes before the metadata.
    fixed: usize,
    block_header: usize,
    /// Offset of the CRC in a block header (what precedes it is covered).
    crc_at: usize,
    file_id: Option<u64>,
}

fn layout(trace: &[u8]) -> Option<Layout> {
    Some(
        match u16::from_le_bytes(trace.get(8..10)?.try_into().ok()?) {
            1 => Layout {
                fixed: 16,
                block_header: BLOCK_HEADER,
                crc_at: 13,
                file_id: None,
            },
            _ => Layout {
                fixed: 24,
                block_header: format::BLOCK_HEADER_V2,
                crc_at: 17,
                file_id: Some(u64::from_le_bytes(trace.get(16..24)?.try_into().ok()?)),
            },
        },
    )
}

/// Makes block number `seq` of `trace` checksum right again after damage, as its version
/// computes it, so the decoder behind the check is reached.
fn recompute_crc(trace: &[u8], block: &mut [u8], seq: usize) {
    let Some(l) = layout(trace) else { return };
    let stored = u32::from_le_bytes(block[9..13].try_into().unwrap()) as usize;
    if l.block_header + stored != block.len() {
        return;
    }
    let body = &block[l.block_header..];
    let c = match l.file_id {
        None => crc(&[&block[..l.crc_at], body]),
        Some(id) => crc(&[&block_binding(id, seq as u64), &block[..l.crc_at], body]),
    };
    block[l.crc_at..l.crc_at + 4].copy_from_slice(&c.to_le_bytes());
}

/// A structural mutation of a trace: blocks swapped, duplicated, dropped, or damaged with
/// their checksum recomputed; else a byte-level one.
fn mutate_trace(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut t = seed.to_vec();
    let Some(bl) = blocks(seed).filter(|b| !b.is_empty()) else {
        mutate_bytes(rng, &mut t);
        return t;
    };
    let pick = |rng: &mut Rng| bl[rng.below(bl.len())].clone();
    let header = layout(seed).map_or(BLOCK_HEADER, |l| l.block_header);
    match rng.below(6) {
        0 => {
            let (a, b) = (pick(rng), pick(rng));
            let (a, b) = if a.start <= b.start { (a, b) } else { (b, a) };
            if a.end <= b.start {
                let mut out = seed[..a.start].to_vec();
                out.extend_from_slice(&seed[b.clone()]);
                out.extend_from_slice(&seed[a.end..b.start]);
                out.extend_from_slice(&seed[a.clone()]);
                out.extend_from_slice(&seed[b.end..]);
                t = out;
            }
        }
        1 => {
            let a = pick(rng);
            t.splice(a.end..a.end, seed[a.clone()].iter().copied());
        }
        2 => {
            let a = pick(rng);
            t.drain(a);
        }
        3 => {
            // Damage a block's header fields or payload, then make its checksum right again.
            let seq = rng.below(bl.len());
            let a = bl[seq].clone();
            let mut block = seed[a.clone()].to_vec();
            let at = if rng.below(2) == 0 {
                rng.below(13)
            } else {
                header + rng.below(block.len() - header)
            };
            if at < block.len() {
                block[at] = match rng.below(3) {
                    0 => block[at] ^ (1 << rng.below(8)),
                    1 => EXTREME_BYTES[rng.below(EXTREME_BYTES.len())],
                    _ => rng.next() as u8,
                };
            }
            recompute_crc(seed, &mut block, seq);
            t.splice(a, block);
        }
        _ => mutate_bytes(rng, &mut t),
    }
    t
}

/// A trace of `dicts` at `scale`, in memory, in format version 2 or 1.
fn trace_seed(scale: u64, version1: bool) -> Vec<u8> {
    let w = Workload::builtin("dicts").unwrap().with(Overrides {
        scale: Some(scale),
        ..Overrides::default()
    });
    let meta = Meta {
        source: "generated".into(),
        name: "seed".into(),
        python: "3.11".into(),
        domains: vec!["raw".into(), "mem".into(), "obj".into()],
        ..Meta::default()
    };
    let mut wr = if version1 {
        TraceWriter::version1(Vec::new(), &meta).unwrap()
    } else {
        TraceWriter::new(Vec::new(), &meta).unwrap()
    };
    for e in w.stream() {
        wr.push(&e).unwrap();
    }
    wr.finish(BTreeMap::new()).unwrap()
}

/// Decodes a trace to its end; true if it was accepted whole.
fn decode_trace(bytes: &[u8]) -> bool {
    let Ok(mut r) = TraceReader::new(bytes) else {
        return false;
    };
    let mut events = 0u64;
    loop {
        match r.next_batch() {
            Ok(Some(batch)) => events += batch.len() as u64,
            Ok(None) => return true,
            Err(_) => return false,
        }
        assert!(events < 1 << 28, "a small input decoded to endless events");
    }
}

/// Parses a spec and generates from it; true if it parsed.
fn use_spec(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(w) = Workload::from_toml("fuzz.toml", text) else {
        return false;
    };
    let scale = w.scale.min(3000);
    let w = w.with(Overrides {
        scale: Some(scale),
        ..Overrides::default()
    });
    let n = w.stream().take(200_000).count() as u64;
    assert!(n <= 4 * pybench::workload::max_objects(scale) + 16);
    true
}

/// Parses a results file, exports, summarises and compares it; true if it parsed.
fn use_results(bytes: &[u8], baseline: &pybench::report::model::RunResults) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(r) = pybench::compare::parse(text, Path::new("fuzz.json")) else {
        return false;
    };
    for e in [&Json as &dyn Exporter, &Csv, &Markdown] {
        let _ = e.write(&r, &mut Vec::new());
    }
    let _ = pybench::report::summary::summarize(&r);
    let settings = Settings {
        resamples: 100,
        allow_mismatch: true,
        ..Settings::default()
    };
    let _ = pybench::compare::compare(baseline, &r, &settings);
    true
}

/// Runs `inputs` mutants through `check`, returning the panics found; prints the figures,
/// including the slowest input's time (judged by `scripts/fuzz.sh`, never here: timing on a
/// shared machine is not a test's business).
fn campaign(
    kind: &str,
    inputs: u64,
    rng: &mut Rng,
    mut mutant: impl FnMut(&mut Rng) -> Vec<u8>,
    check: impl Fn(&[u8]) -> bool,
) -> u64 {
    let started = Instant::now();
    let (mut findings, mut accepted) = (0, 0u64);
    let mut slowest = (0u64, Duration::ZERO, Vec::new());
    for i in 0..inputs {
        let input = mutant(rng);
        let t = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let took = t.elapsed();
        accepted += u64::from(matches!(r, Ok(true)));
        if r.is_err() {
            findings += 1;
            let file = save_input(&format!("{kind}-{i}.bin"), &input);
            eprintln!(
                "finding: {kind} input {i} (panic) saved to {}",
                file.display()
            );
        }
        if took > slowest.1 {
            slowest = (i, took, input);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz {kind}: {inputs} inputs in {secs:.1} s ({:.0}/s), {accepted} accepted as valid, {findings} finding(s)",
        inputs as f64 / secs
    );
    let (i, took, input) = slowest;
    let saved = std::env::var_os("PYBENCH_FUZZ_INPUTS")
        .map(|_| {
            format!(
                ", saved to {}",
                save_input(&format!("{kind}-slowest.bin"), &input).display()
            )
        })
        .unwrap_or_default();
    println!(
        "fuzz {kind} slowest: input {i} took {:.3} s{saved}",
        took.as_secs_f64()
    );
    findings
}

#[test]
fn mutated_traces_specs_and_results_never_panic_or_hang() {
    let seed = env_u64("PYBENCH_FUZZ_SEED", 0x005e_ed16);
    let n = env_u64("PYBENCH_FUZZ_INPUTS", 0);
    println!("fuzz seed {seed:#x}");
    let mut rng = Rng(seed | 1);
    // Silence the default hook's message per caught panic; findings are reported above.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));

    let traces = [
        trace_seed(300, false),
        trace_seed(40_000, false),
        trace_seed(300, true),
        trace_seed(40_000, true),
    ];
    // Unmutated seeds must decode, or every mutant is refused at the door and the campaign
    // fuzzes nothing behind it.
    for t in &traces {
        assert!(decode_trace(t), "a seed trace does not decode");
    }
    let mut findings = campaign(
        "trace",
        if n > 0 { n } else { 2000 },
        &mut rng,
        |rng| {
            let s = &traces[rng.below(traces.len())];
            mutate_trace(rng, s)
        },
        decode_trace,
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let specs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert!(specs.len() >= 5, "the built-in specs are the seeds");
    findings += campaign(
        "spec",
        if n > 0 { n } else { 1500 },
        &mut rng,
        |rng| {
            let mut s = specs[rng.below(specs.len())].clone();
            if rng.below(2) == 0 {
                mutate_number(rng, &mut s)
            } else {
                mutate_bytes(rng, &mut s)
            }
            s
        },
        use_spec,
    );

    let baseline = common::run("base", 2, |_, _, _| 1e6);
    let seed_json = serde_json::to_vec_pretty(&baseline).unwrap();
    findings += campaign(
        "results",
        if n > 0 { n / 4 } else { 400 },
        &mut rng,
        |rng| {
            let mut s = seed_json.clone();
            if rng.below(2) == 0 {
                mutate_number(rng, &mut s)
            } else {
                mutate_bytes(rng, &mut s)
            }
            s
        },
        |b| use_results(b, &baseline),
    );
    std::panic::set_hook(hook);
    assert_eq!(findings, 0, "see the findings above");
}
