//! Per-version CPython object sizes and growth rules, from `cpython-patterns.md`
//! (requested bytes on 64-bit Linux). Every function states the fact it encodes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The CPython versions whose allocation behaviour the workloads model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PyVersion {
    #[serde(rename = "3.8")]
    V3_8,
    #[serde(rename = "3.9")]
    V3_9,
    #[serde(rename = "3.10")]
    V3_10,
    #[serde(rename = "3.11")]
    V3_11,
    #[serde(rename = "3.12")]
    V3_12,
    #[serde(rename = "3.13")]
    V3_13,
}

impl PyVersion {
    pub const ALL: [PyVersion; 6] = [
        PyVersion::V3_8,
        PyVersion::V3_9,
        PyVersion::V3_10,
        PyVersion::V3_11,
        PyVersion::V3_12,
        PyVersion::V3_13,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PyVersion::V3_8 => "3.8",
            PyVersion::V3_9 => "3.9",
            PyVersion::V3_10 => "3.10",
            PyVersion::V3_11 => "3.11",
            PyVersion::V3_12 => "3.12",
            PyVersion::V3_13 => "3.13",
        }
    }

    pub fn valid_list() -> String {
        PyVersion::ALL.map(PyVersion::name).join(", ")
    }

    /// The modelled version of a release as an interpreter or a trace writes it (`3.11.7`,
    /// `3.12.0rc1` → 3.12); `None` outside 3.8 – 3.13, or for no CPython 3 release at all.
    pub fn of_release(release: &str) -> Option<PyVersion> {
        let minor = cpython3_minor(release)?;
        PyVersion::ALL
            .into_iter()
            .find(|v| v.name().strip_prefix("3.") == Some(minor.to_string().as_str()))
    }
}

/// The minor number of a CPython 3 release string (`3.11.7` → 11, `3.14.0a1` → 14); `None`
/// for anything else (`2.7.18`, `junk`, empty). The one parser of such strings: a trace's
/// header, a libpython's `Py_GetVersion()`, a recorded accounting's version.
pub fn cpython3_minor(release: &str) -> Option<u32> {
    let rest = release.strip_prefix("3.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PyVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PyVersion::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown python version `{s}`; valid values: {}",
                    PyVersion::valid_list()
                )
            })
    }
}

use PyVersion::*;

/// Bytes of a list item array holding `cap` pointers.
pub const fn list_items_bytes(cap: u32) -> u32 {
    cap * 8
}

/// Capacity after an append makes a list `newsize` long and it no longer fits.
///
/// 3.9+: `(n + n/8 + 6)` rounded down to a multiple of 4, giving 4, 8, 16, 24, 32, 40, 52,
/// 64, 76, 92, …; 3.8 over-allocates `n/8 + (3 if n < 9 else 6)`, giving 4, 8, 16, 25, 35,
/// 46, 58, 72, 88, … (cpython-patterns.md, "list item array").
pub const fn list_grow(v: PyVersion, newsize: u32) -> u32 {
    match v {
        V3_8 => newsize + (newsize >> 3) + if newsize < 9 { 3 } else { 6 },
        _ => (newsize + (newsize >> 3) + 6) & !3,
    }
}

/// Capacity of a list built from a known length `n` (literal, `list(seq)`): exactly `n`,
/// rounded up to even `n` from 3.10 on (cpython-patterns.md, "list item array").
pub const fn list_exact_cap(v: PyVersion, n: u32) -> u32 {
    match v {
        V3_8 | V3_9 => n,
        _ => (n + 1) & !1,
    }
}

/// A dict object is 64 bytes in every version; `{}` allocates no keys object.
pub const DICT_BYTES: u32 = 64;
/// A list object is 56 bytes; its items are a separate PyMem block.
pub const LIST_BYTES: u32 = 56;
/// A float is 24 bytes.
pub const FLOAT_BYTES: u32 = 24;
/// A set or frozenset is 216 bytes.
pub const SET_BYTES: u32 = 216;

/// log2 of the smallest dict keys table (8 slots).
pub const DICT_MIN_LOG2: u8 = 3;

/// Usable entries of a keys table with 2^k index slots: two thirds of it (5, 10, 21, 42, 85).
pub const fn dict_usable(log2: u8) -> u32 {
    (2u32 << log2) / 3
}

/// Bytes of a dict keys object with 2^k index slots.
///
/// 3.11+: 32-byte header + index array (1/2/4/8 bytes per slot) + usable entries of 16 bytes
/// (all-str keys) or 24 bytes (other keys): str-key 120, 208, 400, 768; int-key 160, 288,
/// 568, 1104. 3.8–3.10 have one entry layout: 168, 296, 576, 1112
/// (cpython-patterns.md, "dict keys object").
pub const fn dict_keys_bytes(v: PyVersion, log2: u8, str_keys: bool) -> u32 {
    let slots = 1u32 << log2;
    let index_width = if slots <= 1 << 7 {
        1
    } else if slots <= 1 << 15 {
        2
    } else {
        4
    };
    let usable = dict_usable(log2);
    match v {
        V3_8 | V3_9 | V3_10 => 40 + slots * index_width + usable * 24,
        _ => 32 + slots * index_width + usable * if str_keys { 16 } else { 24 },
    }
}

/// log2 of the table a dict holding `used` items grows to: the smallest power of two of at
/// least `3 × used`, so resizes happen at the 6th, 11th, 22nd, 43rd and 86th insert.
pub const fn dict_grow_log2(used: u32) -> u8 {
    let want = used * 3;
    let mut k = DICT_MIN_LOG2;
    while (1u32 << k) < want {
        k += 1;
    }
    k
}

/// Bytes of an ASCII str of `n` chars: 49+n up to 3.11, 41+n from 3.12 (the `wstr` fields
/// were removed).
pub const fn str_ascii_bytes(v: PyVersion, n: u32) -> u32 {
    n + if matches!(v, V3_12 | V3_13) { 41 } else { 49 }
}

/// Bytes of a Latin-1 (non-ASCII, 1 byte per char) str: 73+n up to 3.11, 57+n from 3.12.
pub const fn str_latin1_bytes(v: PyVersion, n: u32) -> u32 {
    n + if matches!(v, V3_12 | V3_13) { 57 } else { 73 }
}

/// Bytes of a UCS-2 str: 74+2n up to 3.11, 58+2n from 3.12.
pub const fn str_ucs2_bytes(v: PyVersion, n: u32) -> u32 {
    2 * n + if matches!(v, V3_12 | V3_13) { 58 } else { 74 }
}

/// Bytes of a bytes object of `n`: 33+n in every version.
pub const fn bytes_bytes(n: u32) -> u32 {
    33 + n
}

/// Bytes of a tuple of `n` items, GC header included: 40+8n. The empty tuple is a singleton.
pub const fn tuple_bytes(n: u32) -> u32 {
    40 + 8 * n
}

/// How an int came to be, which changes its size from 3.11 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrigin {
    /// `int(str)` and similar exact constructors.
    Parsed,
    /// Produced by arithmetic such as `i + k`.
    Arithmetic,
}

/// Bytes of an int with `digits` 30-bit digits (1 or 2).
///
/// 1 digit: 28 parsed; 28 from arithmetic up to 3.10, 32 from 3.11. 2 digits: 32; 36 from
/// addition on 3.11+ (arithmetic results get one spare digit from 3.11).
pub const fn int_bytes(v: PyVersion, digits: u32, origin: IntOrigin) -> u32 {
    let base = 24 + 4 * digits;
    match (v, origin) {
        (V3_8 | V3_9 | V3_10, _) | (_, IntOrigin::Parsed) => base,
        (_, IntOrigin::Arithmetic) => base + 4,
    }
}

/// Ints −5..=256 are preallocated singletons and never allocate.
pub const fn int_is_singleton(value: i64) -> bool {
    value >= -5 && value <= 256
}

/// One block of an instance layout: bytes, and whether it is an `OBJ` (else `MEM`) block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub bytes: u32,
    pub obj_domain: bool,
}

/// The blocks allocated for an instance of a class without `__slots__` whose `__init__`
/// sets 3 attributes, in allocation order (cpython-patterns.md, object sizes table):
/// 3.8–3.10 object 48 + a `__dict__` 64 + its split values array 40; 3.11 object 56 (managed
/// dict pointer before it) + values 40; 3.12 48 + values 40; 3.13 one block of 96 (values
/// inline). Value arrays are PyMem blocks; the dict object comes from the dict freelist.
pub const fn instance_blocks(v: PyVersion) -> &'static [Block] {
    const fn obj(bytes: u32) -> Block {
        Block {
            bytes,
            obj_domain: true,
        }
    }
    const fn mem(bytes: u32) -> Block {
        Block {
            bytes,
            obj_domain: false,
        }
    }
    const SPLIT_DICT: &[Block] = &[obj(48), obj(DICT_BYTES), mem(40)];
    const MANAGED_311: &[Block] = &[obj(56), mem(40)];
    const MANAGED_312: &[Block] = &[obj(48), mem(40)];
    const INLINE: &[Block] = &[obj(96)];
    match v {
        V3_8 | V3_9 | V3_10 => SPLIT_DICT,
        V3_11 => MANAGED_311,
        V3_12 => MANAGED_312,
        V3_13 => INLINE,
    }
}

/// An instance of a class with 2 `__slots__` is one 48-byte object in every version.
pub const SLOTS_INSTANCE_BYTES: u32 = 48;

/// Generation-0 threshold of the cyclic GC: 700 up to 3.12, 2000 in 3.13. Generations 1
/// and 2 use 10 and 10 (cpython-patterns.md, "Garbage collection").
pub const fn gc_threshold0(v: PyVersion) -> u32 {
    match v {
        V3_13 => 2000,
        _ => 700,
    }
}

/// Generation 1 is collected every this many generation-0 collections, generation 2 every
/// this many generation-1 collections (when pending long-lived objects exceed a quarter).
pub const GC_THRESHOLD_OLDER: u32 = 10;

/// Freelist capacities (cpython-patterns.md, "Freelists", measured on 3.11; the same
/// freelists and sizes exist in 3.8–3.13, so they apply to every modelled version). Objects
/// kept on a freelist are never freed to the allocator; a full collection empties them.
pub const FLOAT_FREELIST: usize = 100;
pub const LIST_FREELIST: usize = 80;
pub const DICT_FREELIST: usize = 80;
/// Dict keys freelist, for the smallest keys size only (the smallest str-key table on 3.11+).
pub const DICT_KEYS_FREELIST: usize = 80;
/// Tuples of 1..=19 items have a freelist each of 2000.
pub const TUPLE_FREELIST: usize = 2000;
pub const TUPLE_FREELIST_MAX_LEN: u32 = 19;

/// Whether a keys table of this shape can go to the keys freelist: the minimum size only,
/// and on 3.11+ only the all-str-key kind (the layout the freelist is sized for).
pub const fn dict_keys_freelisted(v: PyVersion, log2: u8, str_keys: bool) -> bool {
    log2 == DICT_MIN_LOG2 && (str_keys || matches!(v, V3_8 | V3_9 | V3_10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings_name_their_minor_and_a_modelled_version_only_in_range() {
        assert_eq!(cpython3_minor("3.11.7"), Some(11));
        assert_eq!(cpython3_minor("3.14.0a1"), Some(14));
        assert_eq!(cpython3_minor("3.12"), Some(12));
        for not_3 in ["2.7.18", "junk", "", "3.", "3.x", "13.1"] {
            assert_eq!(cpython3_minor(not_3), None, "{not_3:?}");
        }
        assert_eq!(PyVersion::of_release("3.9.18"), Some(PyVersion::V3_9));
        assert_eq!(PyVersion::of_release("3.13.0rc1"), Some(PyVersion::V3_13));
        assert_eq!(PyVersion::of_release("3.1.2"), None);
        assert_eq!(PyVersion::of_release("3.14.1"), None);
        assert_eq!(PyVersion::of_release("3.7"), None);
    }

    fn caps(v: PyVersion, n: usize) -> Vec<u32> {
        let (mut len, mut cap, mut out) = (0u32, 0u32, vec![]);
        while out.len() < n {
            len += 1;
            if len > cap {
                cap = list_grow(v, len);
                out.push(cap);
            }
        }
        out
    }

    #[test]
    fn list_growth_39_plus() {
        for v in [V3_9, V3_10, V3_11, V3_12, V3_13] {
            assert_eq!(caps(v, 10), [4, 8, 16, 24, 32, 40, 52, 64, 76, 92]);
        }
    }

    #[test]
    fn list_growth_38() {
        assert_eq!(caps(V3_8, 9), [4, 8, 16, 25, 35, 46, 58, 72, 88]);
    }

    #[test]
    fn list_exact_rounds_to_even_from_310() {
        assert_eq!(list_items_bytes(list_exact_cap(V3_9, 3)), 24);
        assert_eq!(list_items_bytes(list_exact_cap(V3_10, 3)), 32);
        assert_eq!(list_items_bytes(list_exact_cap(V3_13, 4)), 32);
    }

    fn keys_series(v: PyVersion, str_keys: bool) -> Vec<u32> {
        (3..=6).map(|k| dict_keys_bytes(v, k, str_keys)).collect()
    }

    #[test]
    fn dict_keys_sizes() {
        for v in [V3_11, V3_12, V3_13] {
            assert_eq!(keys_series(v, true), [120, 208, 400, 768]);
            assert_eq!(keys_series(v, false), [160, 288, 568, 1104]);
        }
        for v in [V3_8, V3_9, V3_10] {
            assert_eq!(keys_series(v, true), [168, 296, 576, 1112]);
            assert_eq!(keys_series(v, false), [168, 296, 576, 1112]);
        }
    }

    #[test]
    fn dict_resizes_at_documented_inserts() {
        let mut log2 = DICT_MIN_LOG2;
        let mut resized_at = vec![];
        for insert in 1..=100u32 {
            let used = insert - 1;
            if used >= dict_usable(log2) {
                log2 = dict_grow_log2(used);
                resized_at.push(insert);
            }
        }
        assert_eq!(resized_at, [6, 11, 22, 43, 86]);
    }

    #[test]
    fn str_sizes() {
        assert_eq!(str_ascii_bytes(V3_11, 10), 59);
        assert_eq!(str_ascii_bytes(V3_12, 10), 51);
        assert_eq!(str_latin1_bytes(V3_8, 3), 76);
        assert_eq!(str_latin1_bytes(V3_13, 3), 60);
        assert_eq!(str_ucs2_bytes(V3_10, 5), 84);
        assert_eq!(str_ucs2_bytes(V3_12, 5), 68);
    }

    #[test]
    fn int_and_tuple_sizes() {
        assert_eq!(int_bytes(V3_10, 1, IntOrigin::Arithmetic), 28);
        assert_eq!(int_bytes(V3_11, 1, IntOrigin::Arithmetic), 32);
        assert_eq!(int_bytes(V3_11, 1, IntOrigin::Parsed), 28);
        assert_eq!(int_bytes(V3_8, 2, IntOrigin::Arithmetic), 32);
        assert_eq!(int_bytes(V3_11, 2, IntOrigin::Arithmetic), 36);
        assert!(int_is_singleton(256) && int_is_singleton(-5) && !int_is_singleton(257));
        assert_eq!(tuple_bytes(3), 64);
        assert_eq!(bytes_bytes(10), 43);
    }

    #[test]
    fn instance_layouts() {
        let total = |v| {
            instance_blocks(v)
                .iter()
                .map(|b| b.bytes)
                .collect::<Vec<_>>()
        };
        assert_eq!(total(V3_9), [48, 64, 40]);
        assert_eq!(total(V3_11), [56, 40]);
        assert_eq!(total(V3_12), [48, 40]);
        assert_eq!(total(V3_13), [96]);
    }

    #[test]
    fn gc_thresholds() {
        assert_eq!(gc_threshold0(V3_12), 700);
        assert_eq!(gc_threshold0(V3_8), 700);
        assert_eq!(gc_threshold0(V3_13), 2000);
    }

    #[test]
    fn version_parse() {
        assert_eq!("3.10".parse::<PyVersion>(), Ok(V3_10));
        let err = "3.7".parse::<PyVersion>().unwrap_err();
        assert!(err.contains("3.8, 3.9, 3.10, 3.11, 3.12, 3.13"), "{err}");
    }
}
