//! The liveness check's cost per allocator event as a pass of its own, in several layouts of
//! the live set (issue 15, docs/streaming.md "A byte a slot …"): a bit a slot (what the
//! readers use), a byte a slot read-modify-written, a bit with the last word kept in a
//! register, a byte with errors accumulated, a byte whose new state is stored without being
//! read back, and a loop that only reads the pairs. Also prints how often consecutive events
//! name the same slot or the same 64-slot word. Best of nine, thread CPU time.
//!
//! Run: `cargo run --release --example check_variants -- FILE.pbt`
use pybench::sys::procfs::thread_cpu_ns;
use pybench::trace::TraceReader;
use pybench::workload::Event;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap();
    let mut r = TraceReader::open(std::path::Path::new(&path))?;
    let mut ops: Vec<(u32, u8)> = Vec::new();
    while let Some(b) = r.next_batch()? {
        for e in b {
            match *e {
                Event::Alloc { slot, .. } | Event::Calloc { slot, .. } => ops.push((slot, 1)),
                Event::Free { slot, .. } => ops.push((slot, 2)),
                Event::Realloc { slot, .. } => ops.push((slot, 0)),
                _ => {}
            }
        }
    }
    let max = ops.iter().map(|o| o.0).max().unwrap() as usize + 1;
    let same_word = ops
        .windows(2)
        .filter(|w| w[0].0 >> 6 == w[1].0 >> 6)
        .count();
    let same_slot = ops.windows(2).filter(|w| w[0].0 == w[1].0).count();
    println!(
        "ops {} slots {} consecutive same word {:.3} same slot {:.3}",
        ops.len(),
        max,
        same_word as f64 / ops.len() as f64,
        same_slot as f64 / ops.len() as f64
    );
    let n = ops.len() as f64;
    let time = |name: &str, f: &dyn Fn() -> bool| {
        let mut best = u64::MAX;
        let mut ok = true;
        for _ in 0..9 {
            let t = thread_cpu_ns();
            ok &= f();
            best = best.min(thread_cpu_ns() - t);
        }
        println!("{name} {:.3} ns/op ok={ok}", best as f64 / n);
    };
    time("bits", &|| {
        let mut bits = vec![0u64; max / 64 + 1];
        for &(s, op) in &ops {
            let (w, b) = ((s >> 6) as usize, 1u64 << (s & 63));
            let word = &mut bits[w];
            if (*word & b != 0) == (op == 1) {
                return false;
            }
            *word ^= b * u64::from(op != 0);
        }
        std::hint::black_box(&bits);
        true
    });
    time("bytes", &|| {
        let mut st = vec![0u8; max];
        for &(s, op) in &ops {
            let v = &mut st[s as usize];
            if (*v != 0) == (op == 1) {
                return false;
            }
            *v ^= u8::from(op != 0);
        }
        std::hint::black_box(&st);
        true
    });
    time("bits-cached", &|| {
        let mut bits = vec![0u64; max / 64 + 1];
        let (mut cw, mut cur) = (0usize, bits[0]);
        for &(s, op) in &ops {
            let (w, b) = ((s >> 6) as usize, 1u64 << (s & 63));
            if w != cw {
                bits[cw] = cur;
                cw = w;
                cur = bits[w];
            }
            if (cur & b != 0) == (op == 1) {
                return false;
            }
            cur ^= b * u64::from(op != 0);
        }
        bits[cw] = cur;
        std::hint::black_box(&bits);
        true
    });
    time("bytes-acc", &|| {
        let mut st = vec![0u8; max];
        let mut bad = 0u8;
        for &(s, op) in &ops {
            let v = &mut st[s as usize];
            let alloc = u8::from(op == 1);
            bad |= !(*v ^ alloc) & 1; // live==alloc is bad
            *v ^= u8::from(op != 0);
        }
        std::hint::black_box(&st);
        bad == 0
    });
    time("bytes-const", &|| {
        let mut st = vec![0u8; max];
        let mut broken = None;
        for (i, &(s, op)) in ops.iter().enumerate() {
            let v = &mut st[s as usize];
            let alloc = op == 1;
            if (*v != 0) == alloc && broken.is_none() {
                broken = Some(i);
            }
            *v = u8::from(op != 2);
        }
        std::hint::black_box(&st);
        broken.is_none()
    });
    time("none", &|| {
        let mut x = 0u64;
        for &(s, op) in &ops {
            x = x.wrapping_add(u64::from(s) ^ u64::from(op));
        }
        std::hint::black_box(x);
        true
    });
    Ok(())
}
