//! Whether a file named as a shared library (`--libpython`, `--preload`) is one, judged
//! from the file system and its first bytes before the dynamic loader is asked: the loader's
//! own messages say little about what the file is instead.

use std::path::Path;

/// Why `path` cannot be a shared library, before the loader is asked (its messages for a
/// folder or a FIFO — "cannot read file data", or a wait — say less, and for a text file or
/// a static `.a` — "file too short", "invalid ELF header" after the path again — say neither
/// what the file is nor what to pass): one rule for every `--libpython` and `--preload`.
pub fn check_library_file(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(match std::fs::symlink_metadata(path) {
                Ok(_) => "a symbolic link to a file that does not exist".to_string(),
                Err(_) => "no such file".to_string(),
            })
        }
        Err(e) => return Err(e.to_string()),
        Ok(m) if m.is_dir() => return Err("a folder, not a shared library".to_string()),
        Ok(m) if !m.is_file() => {
            return Err("not a regular file (a shared library is one)".to_string())
        }
        Ok(_) => {}
    }
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| e.to_string())?;
    library_kind(&head[..n])
}

/// Whether a file starting with `head` is an ELF object (which the loader then judges).
fn library_kind(head: &[u8]) -> Result<(), String> {
    if head.starts_with(b"\x7fELF") {
        Ok(())
    } else if head.starts_with(b"!<arch>\n") {
        Err("a static library (an `ar` archive), not a shared library: pass the `.so`".to_string())
    } else {
        Err("not a shared library (no ELF header)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_no_shared_library_say_what_they_are() {
        assert_eq!(library_kind(b"\x7fELF\x02\x01\x01\0"), Ok(()));
        assert!(library_kind(b"!<arch>\n")
            .unwrap_err()
            .contains("static library"));
        assert!(library_kind(b"hello\n")
            .unwrap_err()
            .contains("no ELF header"));
        assert!(library_kind(b"").unwrap_err().contains("no ELF header"));
    }

    #[test]
    fn a_folder_a_missing_file_and_a_dangling_link_are_named_for_what_they_are() {
        let dir = std::env::temp_dir().join(format!("pybench-libfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(check_library_file(&dir).unwrap_err().contains("a folder"));
        assert_eq!(
            check_library_file(&dir.join("none")).unwrap_err(),
            "no such file"
        );
        let link = dir.join("dangling.so");
        std::os::unix::fs::symlink(dir.join("none"), &link).unwrap();
        assert!(check_library_file(&link)
            .unwrap_err()
            .contains("symbolic link to a file that does not exist"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
