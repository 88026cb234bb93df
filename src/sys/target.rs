//! What is at an output path, decided once for every command that writes a file.
//!
//! A regular file, or nothing, is written beside the target and renamed over it
//! ([`super::fs::AtomicFile`]). Renaming over a character device, a FIFO or a socket would
//! swap the node for a regular file (`-o /dev/null` as root would destroy `/dev/null`, and a
//! FIFO's reader would get nothing), so those are opened and written straight into, as a
//! shell's `>` does; nothing can be half-replaced there. A path that names one of this
//! process's own descriptors (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`, or a link to one
//! of those) is written through a duplicate of that descriptor, so the shell's redirection
//! is honoured and the link itself is never replaced. A directory or a block device is
//! refused. [`same_regular_file`] tells the commands, before they start, whether an output
//! is one of their inputs, [`why_not_a_directory`] what stands where a folder is to be
//! made, and [`portable_name`] what a label becomes as a file name.

use std::fs::{File, FileType};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The open file to write straight into when `target` is not to be replaced by a rename
/// (see the module's notes), `None` when it is (a regular file, or nothing yet), or the
/// reason it cannot be written at all. Errors carry no path: callers name it.
pub fn open_in_place(target: &Path) -> io::Result<Option<File>> {
    if let Some(fd) = own_descriptor(target) {
        // SAFETY: F_DUPFD_CLOEXEC takes no pointer; a failure returns -1 and sets errno.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is a descriptor this process just opened and owns alone.
        return Ok(Some(File::from(unsafe { OwnedFd::from_raw_fd(dup) })));
    }
    // Followed through links: what matters is what the data would land in.
    let Ok(meta) = std::fs::metadata(target) else {
        // Missing, a dangling link, or an unreachable path: the temporary's creation says
        // what is wrong, with the right error.
        return Ok(None);
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if kind.is_block_device() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a block device; pybench writes files, character devices, FIFOs and sockets only",
        ));
    }
    if kind.is_socket() {
        let stream = std::os::unix::net::UnixStream::connect(target)?;
        return Ok(Some(File::from(OwnedFd::from(stream))));
    }
    if !(kind.is_char_device() || kind.is_fifo()) {
        return Ok(None);
    }
    // No O_CREAT: only the node that is there is opened. A FIFO blocks here until it has a
    // reader, as with a shell's redirection.
    let file = match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(target)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Replaced by a regular file between the look and the open: never write into that in
    // place; the atomic path takes over.
    let opened = file.metadata()?.file_type();
    Ok((opened.is_char_device() || opened.is_fifo()).then_some(file))
}

/// Whether `path` names one of this process's own descriptors (`/dev/stdout` and the like),
/// which [`open_in_place`] writes through: what it names was opened by the shell's
/// redirection, so it is the user's chosen destination, never a file to keep from replacing.
pub fn names_own_descriptor(path: &Path) -> bool {
    own_descriptor(path).is_some()
}

/// The descriptor number when `path`, after any links, is `/proc/<this pid>/fd/N` (also
/// reached as `/proc/self/fd/N`, `/proc/thread-self/fd/N`, `/dev/fd/N` or `/dev/stdout`).
fn own_descriptor(path: &Path) -> Option<i32> {
    let own: Vec<PathBuf> = ["/proc/self/fd", "/proc/thread-self/fd"]
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect();
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let parent = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::fs::canonicalize(&parent).ok()?;
        if own.contains(&dir) {
            return at.file_name()?.to_str()?.parse().ok();
        }
        let link = std::fs::read_link(&at).ok()?;
        at = parent.join(link);
    }
    None
}

/// True when `path` ends in `/`: it names a folder, though `Path` calls `b` the file name of
/// `a/b/` (so the folder checks pass it, and a write fails with "Not a directory").
pub fn names_a_folder(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().ends_with(b"/")
}

/// True when `a` and `b` both exist and are the same regular file (device and inode, after
/// links): writing one would destroy the other. A shared device or FIFO is not such a case.
pub fn same_regular_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.is_file() && x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// The path to write when the output `out` is the input `input` itself (the same regular
/// file, after links): `out` with every link resolved. Rewriting in place renames the new
/// file over its target, and renaming over a link replaces the link: `convert a.pbt -o
/// link_to_a` left `a.pbt` as it was and turned the link into a copy. Through the resolved
/// path the input is replaced and the link still leads to it. `None` when `out` is not the
/// input, or is one of this process's descriptors (written through, see the module's notes).
/// A hard link is a name of its own: `out` is that name, and the input's other names keep
/// the old file, as with any rename.
pub fn in_place_target(input: &Path, out: &Path) -> Option<PathBuf> {
    if names_own_descriptor(out) || !same_regular_file(input, out) {
        return None;
    }
    std::fs::canonicalize(out).ok()
}

/// Why a directory cannot be created at `path` (`mkdir -p`): the part of the path in the
/// way and what it is ("is a regular file, not a directory"), or `None` when the nearest
/// part that exists is a directory or a link to one.
pub fn why_not_a_directory(path: &Path) -> Option<(PathBuf, String)> {
    // Without a trailing `/`: `file/` cannot be looked up (ENOTDIR) and has no parent to
    // step back to, so the file in the way went unnamed.
    let path: PathBuf = path.components().collect();
    let mut at = path.as_path();
    loop {
        if let Ok(m) = std::fs::symlink_metadata(at) {
            let kind = m.file_type();
            let why = if kind.is_dir() {
                return None;
            } else if kind.is_symlink() {
                let to = std::fs::read_link(at).unwrap_or_default();
                match std::fs::metadata(at) {
                    Ok(t) if t.is_dir() => return None,
                    Ok(t) => format!(
                        "is a link to {}, a {}, not a directory",
                        to.display(),
                        kind_name(t.file_type())
                    ),
                    Err(_) => format!("is a link to {}, which does not exist", to.display()),
                }
            } else {
                format!("is a {}, not a directory", kind_name(kind))
            };
            return Some((at.to_path_buf(), why));
        }
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => return None,
        }
    }
}

/// Whether a folder can be made at `path`, or, where one is, written in: a probe folder is
/// made and removed in the nearest part of the path that exists. [`why_not_a_directory`]
/// names a file in the way; only trying shows a folder that takes no new entry (read-only,
/// another user's, `/proc`, a read-only file system). `sweep --plot /proc/heatmaps` ran its
/// whole grid and wrote its `--csv` before failing to make the folder (found in review,
/// 2026-12-07).
pub fn probe_folder(path: &Path) -> std::io::Result<()> {
    let path: PathBuf = path.components().collect();
    let mut at = path.as_path();
    while std::fs::symlink_metadata(at).is_err() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    let probe = at.join(format!(
        "{PROBE_FOLDER_PREFIX}{}",
        super::fs::unique_suffix()
    ));
    // A Ctrl-C between the two calls is handled after both, never leaving the probe behind.
    super::signal::holding_stop_signals(|| {
        std::fs::create_dir(&probe)?;
        std::fs::remove_dir(&probe)
    })
}

/// How [`probe_folder`]'s folder is named (a suffix nobody can predict follows), for a test
/// that looks into a folder while a command starts.
pub const PROBE_FOLDER_PREFIX: &str = ".pybench-probe.";

/// "regular file", "FIFO", … for messages.
pub fn kind_name(kind: FileType) -> &'static str {
    if kind.is_file() {
        "regular file"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symbolic link"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// A label as one portable file-name component: every character but ASCII letters, digits
/// and `-_+.` becomes `_` (so no path separator survives), and so does a leading `.` (so the
/// name is neither hidden nor `.` or `..`). Each character becomes one byte.
pub fn portable_name(label: &str) -> String {
    label
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let keep = c.is_ascii_alphanumeric() || "-_+".contains(c) || (c == '.' && i > 0);
            if keep {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::testing::{entries, scratch};
    use std::io::{Read, Write};

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_is_written_into_and_stays_a_fifo() {
        let d = scratch("fifo");
        let fifo = d.join("pipe");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut s = String::new();
                File::open(fifo).unwrap().read_to_string(&mut s).unwrap();
                s
            })
        };
        let mut f = open_in_place(&fifo).unwrap().expect("written in place");
        f.write_all(b"through").unwrap();
        drop(f);
        assert_eq!(reader.join().unwrap(), "through");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }

    #[test]
    fn a_socket_is_connected_to() {
        let d = scratch("socket");
        let listener = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
        let mut f = open_in_place(&d.join("sock"))
            .unwrap()
            .expect("written in place");
        f.write_all(b"hello").unwrap();
        drop(f);
        let mut got = String::new();
        listener
            .accept()
            .unwrap()
            .0
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "hello");
    }

    #[test]
    fn regular_missing_and_directory_targets() {
        let d = scratch("kinds");
        std::fs::write(d.join("file"), "x").unwrap();
        assert!(open_in_place(&d.join("file")).unwrap().is_none());
        assert!(open_in_place(&d.join("missing")).unwrap().is_none());
        let e = open_in_place(&d).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EISDIR));
    }

    #[test]
    fn own_descriptors_are_recognised_through_links() {
        let d = scratch("fd");
        std::os::unix::fs::symlink("/proc/self/fd/2", d.join("err")).unwrap();
        assert_eq!(own_descriptor(&d.join("err")), Some(2));
        assert_eq!(own_descriptor(Path::new("/proc/self/fd/1")), Some(1));
        assert_eq!(own_descriptor(&d.join("missing")), None);
    }

    #[test]
    fn the_same_regular_file_through_a_link_but_not_a_fifo() {
        let d = scratch("same");
        std::fs::write(d.join("a"), "x").unwrap();
        std::fs::write(d.join("b"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
        assert!(same_regular_file(&d.join("a"), &d.join("link")));
        assert!(!same_regular_file(&d.join("a"), &d.join("b")));
        assert!(!same_regular_file(&d.join("a"), &d.join("missing")));
        mkfifo(&d.join("fifo"));
        assert!(!same_regular_file(&d.join("fifo"), &d.join("fifo")));
    }

    #[test]
    fn an_output_that_is_the_input_through_a_link_resolves_to_the_input() {
        let d = scratch("in-place");
        std::fs::write(d.join("a"), "x").unwrap();
        std::fs::write(d.join("b"), "x").unwrap();
        std::os::unix::fs::symlink("a", d.join("link")).unwrap();
        std::os::unix::fs::symlink("link", d.join("chain")).unwrap();
        let real = std::fs::canonicalize(d.join("a")).unwrap();
        for out in ["a", "link", "chain"] {
            assert_eq!(
                in_place_target(&d.join("a"), &d.join(out)),
                Some(real.clone())
            );
            assert_eq!(
                in_place_target(&d.join("link"), &d.join(out)),
                Some(real.clone())
            );
        }
        assert_eq!(in_place_target(&d.join("a"), &d.join("b")), None);
        assert_eq!(in_place_target(&d.join("a"), &d.join("missing")), None);
    }

    #[test]
    fn portable_names_have_no_separator_and_no_leading_dot() {
        assert_eq!(portable_name("../escape"), "_._escape");
        assert_eq!(portable_name(".."), "_.");
        assert_eq!(portable_name("a b/c.d-é"), "a_b_c.d-_");
    }

    #[test]
    fn a_folder_is_probed_where_it_would_be_made_and_nothing_is_left() {
        let d = scratch("probe");
        probe_folder(&d.join("new/sub")).unwrap();
        probe_folder(&d).unwrap();
        assert!(entries(&d).is_empty(), "{:?}", entries(&d));
        // /proc takes no new folder, not even from root.
        assert!(probe_folder(Path::new("/proc/pybench-probe-test/sub")).is_err());
    }

    #[test]
    fn what_is_in_the_way_of_a_directory_is_named() {
        let d = scratch("dirs");
        std::fs::write(d.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        let (at, why) = why_not_a_directory(&d.join("file/sub/deeper")).unwrap();
        assert_eq!(
            (at, why.as_str()),
            (d.join("file"), "is a regular file, not a directory")
        );
        let (at, why) = why_not_a_directory(&d.join("dangling")).unwrap();
        assert_eq!(at, d.join("dangling"));
        assert!(why.ends_with("nowhere, which does not exist"), "{why}");
        assert_eq!(why_not_a_directory(&d.join("new/sub")), None);
        let trailing = PathBuf::from(format!("{}/", d.join("file").display()));
        assert_eq!(
            why_not_a_directory(&trailing).map(|w| w.0),
            Some(d.join("file"))
        );
    }
}
