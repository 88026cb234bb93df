//! The contract every allocator must keep, checked the same way for each (unit tests only).

use super::Allocator;

/// Sizes around every boundary that matters: pymalloc's classes and its 512-byte threshold,
/// C allocators' small/large split, and a multi-page block.
const SIZES: [usize; 12] = [1, 8, 15, 16, 17, 32, 64, 511, 512, 513, 4096, 300_000];

fn fill(p: *mut u8, n: usize, seed: u8) {
    for i in 0..n {
        // SAFETY: callers pass a live block of at least n bytes.
        unsafe { *p.add(i) = seed.wrapping_add(i as u8) };
    }
}

fn check(p: *const u8, n: usize, seed: u8) -> bool {
    // SAFETY: callers pass a live block of at least n bytes.
    (0..n).all(|i| unsafe { *p.add(i) } == seed.wrapping_add(i as u8))
}

/// C's alignment for a block of n bytes: 16, or the largest power of two ≤ n below 16.
fn required_alignment(n: usize) -> usize {
    if n >= 16 {
        16
    } else {
        1 << (usize::BITS - 1 - n.max(1).leading_zeros())
    }
}

/// malloc/calloc/realloc/free round trips with content checks, calloc zeroing, alignment,
/// realloc keeping contents when growing and shrinking, NULL handling, and many live blocks
/// at once keeping distinct contents.
pub fn check_contract(a: &mut impl Allocator) {
    for (k, &n) in SIZES.iter().enumerate() {
        check_round_trip(a, n, k as u8 * 17);
    }
    check_null_and_zero(a);
    check_many_live_blocks(a);
    a.trim();
}

/// One size `n`: malloc aligned and keeping its contents, realloc growing and shrinking
/// keeping them, calloc zeroed.
fn check_round_trip(a: &mut impl Allocator, n: usize, seed: u8) {
    let name = a.name();
    let p = a.malloc(n);
    assert!(!p.is_null(), "{name}: malloc({n}) returned NULL");
    let align = required_alignment(n);
    assert_eq!(
        p as usize % align,
        0,
        "{name}: malloc({n}) not {align}-aligned"
    );
    fill(p, n, seed);
    assert!(check(p, n, seed), "{name}: malloc({n}) lost its contents");

    // Grow: the old contents survive; shrink: the kept prefix survives.
    // SAFETY: p is a live block of this allocator.
    let q = unsafe { a.realloc(p, n * 3 + 5) };
    assert!(
        !q.is_null(),
        "{name}: realloc to {} returned NULL",
        n * 3 + 5
    );
    let align = required_alignment(n * 3 + 5);
    assert_eq!(
        q as usize % align,
        0,
        "{name}: realloc result not {align}-aligned"
    );
    assert!(
        check(q, n, seed),
        "{name}: realloc({n} → {}) lost contents",
        n * 3 + 5
    );
    // SAFETY: q is a live block of this allocator.
    let r = unsafe { a.realloc(q, n.div_ceil(2)) };
    assert!(!r.is_null());
    assert!(
        check(r, n.div_ceil(2), seed),
        "{name}: shrinking realloc lost contents"
    );
    // SAFETY: r is live and not used afterwards.
    unsafe { a.free(r) };

    let z = a.calloc(n, 3);
    assert!(!z.is_null(), "{name}: calloc({n}, 3) returned NULL");
    // SAFETY: z is a live block of n * 3 bytes.
    assert!(
        (0..n * 3).all(|i| unsafe { *z.add(i) } == 0),
        "{name}: calloc not zeroed"
    );
    // SAFETY: as above.
    unsafe { a.free(z) };
}

/// realloc(NULL, n) allocates; free(NULL) does nothing; malloc(0) is a usable pointer.
fn check_null_and_zero(a: &mut impl Allocator) {
    let name = a.name();
    // SAFETY: NULL is allowed for both.
    let p = unsafe { a.realloc(std::ptr::null_mut(), 40) };
    assert!(!p.is_null(), "{name}: realloc(NULL, 40) returned NULL");
    // SAFETY: p is live; NULL is allowed.
    unsafe {
        a.free(p);
        a.free(std::ptr::null_mut());
    }
    let z = a.malloc(0);
    assert!(!z.is_null(), "{name}: malloc(0) returned NULL");
    // SAFETY: z is live.
    unsafe { a.free(z) };
}

/// Many live blocks keep distinct contents (catches aliasing and free-list corruption).
fn check_many_live_blocks(a: &mut impl Allocator) {
    let name = a.name();
    let blocks: Vec<(*mut u8, usize)> = (0..2000)
        .map(|i| {
            let n = 16 + (i * 37) % 700;
            let p = a.malloc(n);
            assert!(!p.is_null());
            fill(p, n, i as u8);
            (p, n)
        })
        .collect();
    for (i, &(p, n)) in blocks.iter().enumerate() {
        assert!(
            check(p, n, i as u8),
            "{name}: live block {i} was overwritten"
        );
    }
    for (p, _) in blocks {
        // SAFETY: each block is live and freed once.
        unsafe { a.free(p) };
    }
}
