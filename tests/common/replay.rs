//! A stream replayed into the engine by hand, the harness's accounting's independent twin.

/// The same stream replayed straight into an engine, without the harness's `Replayer`:
/// RAW-domain blocks go to libc as in a run cell, the rest to the engine. Returns the
/// engine's own figures at the end of the stream (peak, final, mapped, unmapped arenas,
/// unused-pool and quantization bytes, carved-pool bytes now and at the peak): an
/// accounting of the stream independent of the harness, for tests of the figures a sweep or
/// a run reports.
pub fn replay_by_hand(
    m: &pybench::harness::cell::Materialized,
    g: pybench::pymalloc::Geometry,
    placement: pybench::pymalloc::ArenaPlacement,
) -> [usize; 8] {
    use pybench::workload::{Domain, Event};
    let mut e = pybench::pymalloc::Pymalloc::with_placement(g, placement);
    let mut slots: Vec<(*mut u8, bool)> = vec![(std::ptr::null_mut(), false); m.slots];
    for ev in &m.events {
        // SAFETY: the stream is well formed (the generator checks it): frees and reallocs
        // name live slots, and each block goes back to the allocator it came from.
        unsafe {
            match *ev {
                Event::Alloc {
                    slot, size, domain, ..
                } => {
                    let raw = domain == Domain::Raw;
                    let p = if raw {
                        libc::malloc(size as usize).cast()
                    } else {
                        e.malloc(size as usize)
                    };
                    slots[slot as usize] = (p, raw);
                }
                Event::Calloc {
                    slot,
                    n,
                    size,
                    domain,
                    ..
                } => {
                    let raw = domain == Domain::Raw;
                    let p = if raw {
                        libc::calloc(n as usize, size as usize).cast()
                    } else {
                        e.calloc(n as usize, size as usize)
                    };
                    slots[slot as usize] = (p, raw);
                }
                Event::Realloc { slot, size, .. } => {
                    let (p, raw) = slots[slot as usize];
                    let q = if raw {
                        libc::realloc(p.cast(), size as usize).cast()
                    } else {
                        e.realloc(p, size as usize)
                    };
                    slots[slot as usize] = (q, raw);
                }
                Event::Free { slot, .. } => {
                    let (p, raw) =
                        std::mem::replace(&mut slots[slot as usize], (std::ptr::null_mut(), false));
                    if raw {
                        libc::free(p.cast())
                    } else {
                        e.free(p)
                    }
                }
                Event::Phase(_) | Event::Gc(_) => {}
            }
        }
    }
    e.check_invariants().unwrap();
    let s = e.stats();
    let (carved, carved_peak) = e.carved_pool_bytes();
    let figures = [
        s.arenas_highwater,
        s.arenas_allocated_current,
        s.arenas_allocated_total,
        s.arenas_reclaimed,
        s.bytes_in_unused_pools(),
        s.bytes_lost_to_quantization,
        carved,
        carved_peak,
    ];
    for (p, raw) in slots {
        if raw {
            unsafe { libc::free(p.cast()) }
        } else if !p.is_null() {
            unsafe { e.free(p) }
        }
    }
    figures
}
