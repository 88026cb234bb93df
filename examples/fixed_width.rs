//! What a format with fixed-width value columns would buy and cost (issue 15: single-core
//! decode ≥ 200 M events/s against ≤ 0.4 bytes/event). Every block of a version-2 trace is
//! unpacked, and its varint columns (threads, refs, slots, sizes) rewritten as fixed-width
//! little-endian values — as whole values, and split into byte planes (every value's byte 0,
//! then every byte 1, …, which zstd compresses as runs where the high bytes are zero). It
//! prints each form's zstd-compressed bytes per event, then times the version-2 column
//! decoder against a decoder of the fixed-width columns (same tags, same checks, same
//! events: verified equal), and zstd unpacking of each form, alternating, best of `ROUNDS`.
//!
//! Run: `cargo run --release --example fixed_width -- FILE.pbt [ROUNDS]`

use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::columns::{self, AllocOrder};
use pybench::trace::decode::varint;
use pybench::trace::format::*;
use pybench::workload::{Domain, Event};

mod common;

/// One block's columns in the fixed-width form.
#[derive(Default, Clone)]
struct Fixed {
    tags: Vec<u8>,
    threads: Vec<u16>,
    refs: Vec<u8>,
    slots: Vec<u32>,
    sizes: Vec<u32>,
    args: Vec<u8>,
}

fn values(col: &[u8]) -> Vec<u64> {
    let (mut p, mut v) = (0, Vec::new());
    while p < col.len() {
        v.push(get_varint(col, &mut p).expect("a well-formed column"));
    }
    v
}

fn to_fixed(cols: &[Vec<u8>; COLUMNS]) -> Fixed {
    let narrow = |v: u64| u32::try_from(v).expect("a value of at most 32 bits");
    Fixed {
        tags: cols[COL_TAGS].clone(),
        threads: values(&cols[COL_THREADS])
            .into_iter()
            .map(|t| t as u16)
            .collect(),
        refs: values(&cols[COL_REFS])
            .into_iter()
            .map(|k| k as u8)
            .collect(),
        slots: values(&cols[COL_SLOTS]).into_iter().map(narrow).collect(),
        sizes: values(&cols[COL_SIZES]).into_iter().map(narrow).collect(),
        args: cols[COL_ARGS].clone(),
    }
}

fn le(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn planes(v: &[u32], width: usize) -> Vec<u8> {
    (0..width)
        .flat_map(|b| v.iter().map(move |x| (x >> (8 * b)) as u8))
        .collect()
}

/// A column's zstd frame at the writer's level and its raw length (no frame for an empty
/// column, as the writer stores none).
fn frame(z: &mut zstd::bulk::Compressor<'static>, raw: Vec<u8>) -> (Vec<u8>, usize) {
    if raw.is_empty() {
        (Vec::new(), 0)
    } else {
        (z.compress(&raw).expect("zstd"), raw.len())
    }
}

/// Thread CPU time to unpack every frame once.
fn unpack_ns(
    frames: &[(Vec<u8>, usize)],
    zd: &mut zstd::bulk::Decompressor<'static>,
    buf: &mut Vec<u8>,
) -> f64 {
    let t = thread_cpu_ns();
    for (f, raw) in frames.iter().filter(|f| f.1 > 0) {
        buf.clear();
        buf.reserve(*raw);
        zd.decompress_to_buffer(f, buf).expect("zstd");
    }
    (thread_cpu_ns() - t) as f64
}

/// Where the lean decoder reads its values from: fixed-width columns, or version 2's
/// varint columns (the control: the same lean loop without a format change).
trait Values {
    fn tags(&self) -> &[u8];
    fn args(&self) -> &[u8];
    fn thread(&self, at: &mut usize) -> Option<u16>;
    fn recent(&self, at: &mut usize) -> Option<usize>;
    fn slot(&self, at: &mut usize) -> Option<u64>;
    fn size(&self, at: &mut usize) -> Option<u32>;
}

impl Values for Fixed {
    fn tags(&self) -> &[u8] {
        &self.tags
    }
    fn args(&self) -> &[u8] {
        &self.args
    }
    #[inline(always)]
    fn thread(&self, at: &mut usize) -> Option<u16> {
        let v = *self.threads.get(*at)?;
        *at += 1;
        Some(v)
    }
    #[inline(always)]
    fn recent(&self, at: &mut usize) -> Option<usize> {
        let v = *self.refs.get(*at)?;
        *at += 1;
        Some(v as usize)
    }
    #[inline(always)]
    fn slot(&self, at: &mut usize) -> Option<u64> {
        let v = *self.slots.get(*at)?;
        *at += 1;
        Some(u64::from(v))
    }
    #[inline(always)]
    fn size(&self, at: &mut usize) -> Option<u32> {
        let v = *self.sizes.get(*at)?;
        *at += 1;
        Some(v)
    }
}

/// Version 2's unpacked columns, read with the crate's varint reader.
struct Varints<'a>(&'a [Vec<u8>; COLUMNS]);

impl Values for Varints<'_> {
    fn tags(&self) -> &[u8] {
        &self.0[COL_TAGS]
    }
    fn args(&self) -> &[u8] {
        &self.0[COL_ARGS]
    }
    #[inline(always)]
    fn thread(&self, at: &mut usize) -> Option<u16> {
        u16::try_from(varint(&self.0[COL_THREADS], at)?).ok()
    }
    #[inline(always)]
    fn recent(&self, at: &mut usize) -> Option<usize> {
        Some(varint(&self.0[COL_REFS], at)? as usize)
    }
    #[inline(always)]
    fn slot(&self, at: &mut usize) -> Option<u64> {
        varint(&self.0[COL_SLOTS], at)
    }
    #[inline(always)]
    fn size(&self, at: &mut usize) -> Option<u32> {
        u32::try_from(varint(&self.0[COL_SIZES], at)?).ok()
    }
}

/// The version-2 decoder's logic, lean: errors without messages (this measures the common
/// path), cursors in locals.
fn decode_lean(
    f: &impl Values,
    mut table: u32,
    out: &mut Vec<Event>,
    placed: &mut Vec<u32>,
    freed: &mut Vec<u32>,
) -> Option<u32> {
    const DOMAINS: [Domain; 3] = [Domain::Raw, Domain::Mem, Domain::Obj];
    const STEP: [u32; 4] = [0, 0, 1, u32::MAX];
    let count = f.tags().len();
    out.clear();
    out.reserve(count);
    // Written into the reserved room, as the version-2 decoder does (no capacity test).
    let room = &mut out.spare_capacity_mut()[..count];
    placed.resize(count, 0);
    freed.resize(count, 0);
    let (mut th, mut rf, mut sl, mut sz, mut ar) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut slot_now, mut thread, mut head, mut top, mut last) = (0u32, 0u16, 0, 0, 0usize);
    for (&tag, dst) in f.tags().iter().zip(room) {
        if tag & TAG_THREAD != 0 {
            thread = f.thread(&mut th)?;
        }
        let op = tag & 7;
        let domain = (tag >> 3) & 3;
        if op > OP_FREE {
            let v = get_varint(f.args(), &mut ar)? as u32;
            dst.write(if op == OP_PHASE {
                Event::Phase(v as u16)
            } else {
                Event::Gc(v as u8)
            });
            continue;
        }
        let allocating = op <= OP_CALLOC;
        let mode = tag >> 6;
        let slot = if mode == SLOT_EXPLICIT {
            if !allocating && domain != 0 {
                last = match domain {
                    1 => {
                        let k = f.recent(&mut rf)?;
                        if k == 0 || k > head {
                            return None;
                        }
                        head - k
                    }
                    2 => {
                        let d = unzigzag(f.slot(&mut sl)?);
                        let place = (last as i64).wrapping_add(d);
                        if !(0..head as i64).contains(&place) {
                            return None;
                        }
                        place as usize
                    }
                    _ if last + 1 < head => last + 1,
                    _ => return None,
                };
                placed[last]
            } else {
                let d = unzigzag(f.slot(&mut sl)?);
                (i64::from(slot_now) + d) as u32
            }
        } else if allocating && mode == SLOT_PREDICTED {
            if top > 0 {
                freed[top - 1]
            } else {
                table
            }
        } else {
            slot_now.wrapping_add(STEP[mode as usize])
        };
        top -= usize::from(allocating && top > 0);
        if slot >= table + u32::from(allocating) {
            return None;
        }
        table += u32::from(slot == table);
        slot_now = slot;
        let e = match op {
            OP_ALLOC | OP_CALLOC => {
                let domain = *DOMAINS.get(domain as usize)?;
                placed[head] = slot;
                head += 1;
                let size = f.size(&mut sz)?;
                if op == OP_ALLOC {
                    Event::Alloc {
                        slot,
                        size,
                        domain,
                        thread,
                    }
                } else {
                    let n = get_varint(f.args(), &mut ar)? as u32;
                    Event::Calloc {
                        slot,
                        n,
                        size,
                        domain,
                        thread,
                    }
                }
            }
            OP_REALLOC => {
                let size = f.size(&mut sz)?;
                Event::Realloc { slot, size, thread }
            }
            _ => {
                freed[top] = slot;
                top += 1;
                Event::Free { slot, thread }
            }
        };
        dst.write(e);
    }
    // SAFETY: every one of the `count` reserved places was written above.
    unsafe { out.set_len(count) };
    Some(table)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: fixed_width FILE.pbt [ROUNDS [v2|lean|fixed]]");
    let rounds: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    // One decoder only (`v2`, `lean` or `fixed`), for callgrind's instruction counts.
    let only = args.next();
    let timed = |name: &str| only.as_deref().map_or(true, |o| o == name);
    let (index, raw_blocks, events) = common::read_v2_blocks(&path)?;
    let hlen = index.header.block_header_len();
    let mut zd = zstd::bulk::Decompressor::new()?;
    let mut blocks = Vec::new();
    for b in &raw_blocks {
        let mut cols: [Vec<u8>; COLUMNS] = Default::default();
        columns::unpack(&b.bytes[hlen..], b.head.raw_len, &mut cols, &mut zd)
            .map_err(anyhow::Error::msg)?;
        blocks.push((b.head.events, b.head.table_before.unwrap_or(0), cols));
    }
    drop(raw_blocks);
    let fixed: Vec<Fixed> = blocks.iter().map(|b| to_fixed(&b.2)).collect();

    // Sizes: every column's zstd frame at the writer's level, in each form; the frames of
    // version 2 and of the byte planes are kept to time their unpacking.
    let mut z = zstd::bulk::Compressor::new(ZSTD_LEVEL_V2)?;
    let (mut frames_v2, mut frames_planes) = (Vec::new(), Vec::new());
    let mut whole = 0;
    for ((_, _, cols), fx) in blocks.iter().zip(&fixed) {
        frames_v2.extend(cols.iter().map(|c| frame(&mut z, c.clone())));
        let threads: Vec<u32> = fx.threads.iter().map(|&t| u32::from(t)).collect();
        // Tags, markers' arguments and refs are bytes in every form: compressed once, their
        // frames counted in both fixed-width totals.
        let common: Vec<_> = [&fx.tags, &fx.args, &fx.refs]
            .into_iter()
            .map(|c| frame(&mut z, c.clone()))
            .collect();
        whole += common.iter().map(|f| f.0.len()).sum::<usize>()
            + [le(&threads), le(&fx.slots), le(&fx.sizes)]
                .into_iter()
                .map(|c| frame(&mut z, c).0.len())
                .sum::<usize>();
        frames_planes.extend(common);
        frames_planes.push(frame(&mut z, planes(&threads, 2)));
        frames_planes.push(frame(&mut z, planes(&fx.slots, 4)));
        frames_planes.push(frame(&mut z, planes(&fx.sizes, 4)));
    }
    let per = |b: usize| b as f64 / events as f64;
    let stored = |f: &[(Vec<u8>, usize)]| per(f.iter().map(|x| x.0.len()).sum());
    let raw = |f: &[(Vec<u8>, usize)]| per(f.iter().map(|x| x.1).sum());
    println!(
        "bytes/event: version 2 {:.3} (raw {:.2}), fixed whole values {:.3}, fixed byte planes {:.3} (raw {:.2})",
        stored(&frames_v2),
        raw(&frames_v2),
        per(whole),
        stored(&frames_planes),
        raw(&frames_planes)
    );
    let (mut unpack_v2, mut unpack_planes) = (f64::MAX, f64::MAX);
    let mut buf = Vec::new();
    for _ in 0..rounds {
        unpack_v2 = unpack_v2.min(unpack_ns(&frames_v2, &mut zd, &mut buf));
        unpack_planes = unpack_planes.min(unpack_ns(&frames_planes, &mut zd, &mut buf));
    }
    println!(
        "zstd unpacking ns/event: version 2 {:.2}, fixed byte planes {:.2}",
        unpack_v2 / events as f64,
        unpack_planes / events as f64
    );

    // Identical events from both decoders.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut order = AllocOrder::for_flags(index.header.flags);
    let (mut placed, mut freed) = (Vec::new(), Vec::new());
    for ((n, t, cols), fx) in blocks.iter().zip(&fixed) {
        a.clear();
        let ta = columns::decode_block(cols, *n, *t, &mut a, None, &mut order, &mut ())
            .map_err(anyhow::Error::msg)?;
        let tb = decode_lean(fx, *t, &mut b, &mut placed, &mut freed);
        anyhow::ensure!(
            a == b && Some(ta) == tb,
            "the fixed-width decoder disagrees"
        );
        let tc = decode_lean(&Varints(cols), *t, &mut b, &mut placed, &mut freed);
        anyhow::ensure!(
            a == b && Some(ta) == tc,
            "the lean varint decoder disagrees"
        );
    }

    // Time: alternate the two decoders, best of `rounds` each (thread CPU time).
    let (mut best_v2, mut best_fixed, mut best_lean) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let t = thread_cpu_ns();
        for (n, tb, cols) in blocks.iter().filter(|_| timed("v2")) {
            a.clear();
            columns::decode_block(cols, *n, *tb, &mut a, None, &mut order, &mut ()).unwrap();
        }
        best_v2 = best_v2.min((thread_cpu_ns() - t) as f64);
        let t = thread_cpu_ns();
        for ((_, tb, _), fx) in blocks.iter().zip(&fixed).filter(|_| timed("fixed")) {
            decode_lean(fx, *tb, &mut b, &mut placed, &mut freed).unwrap();
        }
        best_fixed = best_fixed.min((thread_cpu_ns() - t) as f64);
        let t = thread_cpu_ns();
        for (_, tb, cols) in blocks.iter().filter(|_| timed("lean")) {
            decode_lean(&Varints(cols), *tb, &mut b, &mut placed, &mut freed).unwrap();
        }
        best_lean = best_lean.min((thread_cpu_ns() - t) as f64);
    }
    let ns = |t: f64| t / events as f64;
    println!(
        "decode ns/event: version 2 {:.2}, lean on version 2's varints {:.2}, lean on fixed widths {:.2} ({} events, best of {rounds})",
        ns(best_v2),
        ns(best_lean),
        ns(best_fixed),
        events
    );
    Ok(())
}
