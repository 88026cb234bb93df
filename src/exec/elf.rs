//! Just enough ELF reading to tell whether a shared library *defines* `malloc` and `free`
//! (an allocator) rather than merely importing them from libc. Reading the dynamic symbol
//! table runs none of the library's code — `dlopen` would, and fails outright for libraries
//! built with initial-exec TLS such as Debian's libjemalloc.

/// True when the ELF64 little-endian shared object `bytes` exports defined functions named
/// by every entry of `names`.
pub fn defines_all(bytes: &[u8], names: &[&str]) -> bool {
    let Some(defined) = defined_dynamic_functions(bytes) else {
        return false;
    };
    names.iter().all(|n| defined.iter().any(|d| d == n))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Names of the defined functions in `.dynsym`, or `None` if this is not a readable ELF64 LE
/// file.
fn defined_dynamic_functions(b: &[u8]) -> Option<Vec<String>> {
    // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1).
    if b.get(0..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let shoff = u64_at(b, 0x28)? as usize;
    let shentsize = u16_at(b, 0x3A)? as usize;
    let shnum = u16_at(b, 0x3C)? as usize;
    const SHT_DYNSYM: u32 = 11;
    const SHN_UNDEF: u16 = 0;
    const STT_FUNC: u8 = 2;
    const STT_GNU_IFUNC: u8 = 10;
    let section = |i: usize| shoff.checked_add(i.checked_mul(shentsize)?);
    for i in 0..shnum {
        let sh = section(i)?;
        if u32_at(b, sh + 4)? != SHT_DYNSYM {
            continue;
        }
        let (sym_off, sym_size) = (
            u64_at(b, sh + 0x18)? as usize,
            u64_at(b, sh + 0x20)? as usize,
        );
        let link = u32_at(b, sh + 0x28)? as usize;
        let entsize = (u64_at(b, sh + 0x38)? as usize).max(24);
        let strtab = section(link)?;
        let (str_off, str_size) = (
            u64_at(b, strtab + 0x18)? as usize,
            u64_at(b, strtab + 0x20)? as usize,
        );
        let strings = b.get(str_off..str_off.checked_add(str_size)?)?;
        let mut out = Vec::new();
        for s in (sym_off..sym_off.checked_add(sym_size)?).step_by(entsize) {
            let name_off = u32_at(b, s)? as usize;
            let kind = *b.get(s + 4)? & 0xf;
            let shndx = u16_at(b, s + 6)?;
            if shndx == SHN_UNDEF || (kind != STT_FUNC && kind != STT_GNU_IFUNC) {
                continue;
            }
            let name = strings.get(name_off..)?;
            let end = name.iter().position(|&c| c == 0)?;
            out.push(String::from_utf8_lossy(&name[..end]).into_owned());
        }
        return Some(out);
    }
    Some(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_files_are_not_allocators() {
        assert!(!defines_all(b"", &["malloc"]));
        assert!(!defines_all(b"\x7fELF\x02\x01", &["malloc"]));
        assert!(!defines_all(&[0u8; 4096], &["malloc"]));
    }

    #[test]
    fn libc_defines_malloc_and_libm_does_not() {
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"] {
            let (libc, libm) = (format!("{dir}/libc.so.6"), format!("{dir}/libm.so.6"));
            if let (Ok(c), Ok(m)) = (std::fs::read(&libc), std::fs::read(&libm)) {
                assert!(defines_all(&c, &["malloc", "free"]));
                assert!(!defines_all(&m, &["malloc"]));
                assert!(defines_all(&m, &["sqrt"]));
            }
        }
    }
}
