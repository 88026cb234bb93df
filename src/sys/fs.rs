//! Every file pybench writes goes through here, so that no output can be redirected by a
//! planted symlink, half-written, or left behind: [`AtomicFile`] (a nameless temporary
//! beside the target, given an unpredictable name only once complete, then `fsync` and
//! `rename`: `super::atomic_file`), [`create_unique_dir`] (a run folder made with `mkdir`,
//! never an existing one), and [`read_bounded`] (inputs read with a stated size limit, so
//! `/dev/zero` cannot grow the process without end).
//!
//! `O_EXCL` makes `open` fail if anything, a symlink included, already has the name
//! (open(2): "if pathname is a symbolic link, open() fails regardless of where the link
//! points"); `O_NOFOLLOW` says the same for the last component; `linkat` never replaces an
//! existing name either. `rename(2)` replaces the target's directory entry and never follows
//! a symlink there, so a link planted at the target is replaced, not written through.
//!
//! What cannot be replaced by a rename — a character device, a FIFO, a socket, one of the
//! process's own descriptors such as `/dev/stdout` — is written straight into instead, and a
//! directory is refused before anything is written: [`super::target::open_in_place`] decides,
//! for every command at once.

pub use super::atomic_file::{write_atomically, AtomicFile};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A name nobody can predict: the pid, the time in nanoseconds, a per-process counter, and
/// bits from the kernel's random source when available. Every temporary name pybench makes
/// (atomic outputs, spill files, private directories) ends with one.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 8];
    // SAFETY: getrandom writes at most `random.len()` bytes into the buffer.
    let got = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let r = if got == random.len() as isize {
        u64::from_le_bytes(random)
    } else {
        nanos.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15
    };
    format!(
        "{}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        r ^ nanos
    )
}

/// Creates a new directory `root/name` (or `root/name-2`, `-3`, … if the name is taken:
/// an existing directory or a planted link is never reused) with `mkdir`, and returns it.
/// `root` itself is created if missing.
pub fn create_unique_dir(root: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    for n in 1..=1000u32 {
        let dir = if n == 1 {
            root.join(name)
        } else {
            root.join(format!("{name}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "1000 directories named {name}* already exist in {}",
            root.display()
        ),
    ))
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // Transparent: `{0}` plus the `#[from]` cause printed the OS error twice.
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("larger than the limit of {limit} bytes ({what})")]
    TooLarge { limit: u64, what: &'static str },
    /// What [`read_regular_string`] found instead of a regular file ("FIFO", "directory"):
    /// a variant of its own so that a caller can say why it wants a file.
    #[error("a {kind}, not a regular file")]
    NotRegular { kind: &'static str },
    /// Read whole, but not text: `byte` is where the UTF-8 stops (a caller reading a spec can
    /// say the file is not one rather than that it could not be read).
    #[error("not UTF-8 text (byte {byte})")]
    NotText { byte: usize },
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// Reads a whole input file, refusing it once it exceeds `limit` bytes (a device like
/// `/dev/zero`, or a file far larger than any valid one), without reading further.
/// `what` names the kind of file in the message.
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    read_bounded_from(File::open(path)?, limit, what)
}

fn read_bounded_from(file: File, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, what });
    }
    Ok(buf)
}

/// The first `N` bytes of `path` if it is a regular file at least that long; `None` for
/// anything else. Opened with `O_NONBLOCK`, and the opened file's own type checked, so that
/// sniffing a FIFO with no writer (`mkfifo t.pbt`) returns at once instead of blocking in
/// `open` for ever.
pub fn regular_file_head<const N: usize>(path: &Path) -> Option<[u8; N]> {
    let mut file = open_regular(path).ok()?;
    let mut head = [0u8; N];
    file.read_exact(&mut head).ok()?;
    Some(head)
}

/// `path` opened for reading if it is a regular file (after links), else
/// [`ReadError::NotRegular`] naming what it is — at once: `O_NONBLOCK` keeps `open` from
/// waiting for the writer of a FIFO that has none, and the type checked is the opened
/// file's own (`fstat`), so nothing can be swapped in between a check and the open.
/// `O_NONBLOCK` stays set: it changes nothing in how a regular file reads.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular {
            kind: super::target::kind_name(kind),
        });
    }
    Ok(file)
}

/// A regular file opened for reading, to hand to a program as its standard input: as
/// `open_regular` (a FIFO or a directory refused at once), with blocking reads again, as a
/// program expects of its input.
pub fn regular_input(path: &Path) -> Result<File, ReadError> {
    let file = open_regular(path)?;
    blocking_again(&file);
    Ok(file)
}

/// `path` opened for appending, created if missing, without waiting: a FIFO that nothing
/// reads is an error at once (`ENXIO` under `O_NONBLOCK`) where a plain open waited for a
/// reader for ever — `GITHUB_STEP_SUMMARY` pointed at one hung `compare` after its report
/// (fuzzing, 2026-12-07). A FIFO or terminal with a reader (`/dev/stderr`) is written as
/// usual: the descriptor blocks again once open.
pub fn open_append(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::new(
                io::ErrorKind::WouldBlock,
                "it is a FIFO that nothing reads (pybench would wait for a reader for ever)",
            ),
            _ => e,
        })?;
    blocking_again(&file);
    Ok(file)
}

/// Clears `O_NONBLOCK` on `file`, set only so that opening it could not wait.
fn blocking_again(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor the caller owns, writing no memory.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Whether this process's standard input holds bytes waiting to be read (`FIONREAD`): a
/// file or pipe redirected to it with something in it. A terminal counts as none (what is
/// typed ahead is the user's, not input meant for a program).
///
/// A pipe is given [`PIPE_GRACE`] for its first bytes: the writer of `echo x | pybench …`
/// starts alongside pybench and may not have written yet when this is asked (CI saw the
/// warning missing under load). A pipe whose writer has gone without writing (`POLLHUP`
/// with nothing buffered) answers at once.
pub fn stdin_has_data() -> bool {
    let fd = libc::STDIN_FILENO;
    // SAFETY: isatty, fstat and poll on descriptor 0 write only to locals.
    unsafe {
        if libc::isatty(fd) != 0 {
            return false;
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return false;
        }
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFIFO || kind == libc::S_IFSOCK {
            let mut ready = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let grace = PIPE_GRACE.as_millis() as libc::c_int;
            if libc::poll(&mut ready, 1, grace) <= 0 {
                return false;
            }
        }
        bytes_waiting(fd) > 0
    }
}

/// How long [`stdin_has_data`] waits for a pipe's first bytes: far longer than a shell
/// takes to start `echo` or `cat file`, and nothing beside the seconds a program's runs take.
pub const PIPE_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Bytes buffered on `fd` (what is left of a regular file, or queued in a pipe); 0 when the
/// descriptor cannot say.
fn bytes_waiting(fd: libc::c_int) -> libc::c_int {
    let mut waiting: libc::c_int = 0;
    // SAFETY: ioctl(FIONREAD) writes only to `waiting`.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut waiting) } == 0 {
        waiting
    } else {
        0
    }
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_bounded_string(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<String, ReadError> {
    utf8(read_bounded(path, limit, what)?)
}

/// [`read_bounded_string`] of a file that must be a regular one: a file pybench looks up
/// inside a folder (a results folder's `results.json`, a shard's `shard.json`), where a
/// FIFO is nothing the user handed over on purpose and, without a writer, would be waited
/// on for ever. A path the user names directly is read with [`read_bounded_string`], so
/// that a pipe (`<(cat results.json)`, `/dev/fd/N`) still works.
pub fn read_regular_string(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<String, ReadError> {
    utf8(read_bounded_from(open_regular(path)?, limit, what)?)
}

fn utf8(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| ReadError::NotText {
        byte: e.utf8_error().valid_up_to(),
    })
}

/// True if `path`'s final component is a symbolic link (for tests and messages).
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// A nameless read-write file in `dir` (`O_TMPFILE`): it never appears in the directory, so
/// nothing is left behind however the process ends and no name can be raced or replaced by
/// a symlink. Where the filesystem lacks `O_TMPFILE`, a fresh name is created with
/// `O_EXCL | O_NOFOLLOW` and unlinked at once.
pub fn anonymous_file_in(dir: &Path) -> io::Result<File> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let nameless = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir);
    match nameless {
        Ok(f) => Ok(f),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {
            let path = dir.join(format!(".pybench-spill-{}", unique_suffix()));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            Ok(f)
        }
        Err(e) => Err(e),
    }
}

/// Scratch folders and listings for the unit tests of `sys`' file code.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    /// A fresh folder under the system's temporary directory; `tag` names it. Removed when
    /// dropped, so a test cannot forget to (one that did left a folder behind on every run).
    pub fn scratch(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("pybench-sys-{tag}-{}", super::unique_suffix()));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    /// A [`scratch`] folder: derefs to its path.
    #[derive(Debug)]
    pub struct Scratch(PathBuf);

    impl std::ops::Deref for Scratch {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl AsRef<Path> for Scratch {
        fn as_ref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The names in `dir`, sorted.
    pub fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{entries, scratch};
    use super::*;

    #[test]
    fn unique_dirs_never_reuse_an_existing_name_or_link() {
        let d = scratch("dirs");
        let elsewhere = scratch("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, d.join("run")).unwrap();
        let a = create_unique_dir(&d, "run").unwrap();
        let b = create_unique_dir(&d, "run").unwrap();
        assert_eq!(a, d.join("run-2"));
        assert_eq!(b, d.join("run-3"));
        assert!(!is_symlink(&a));
        assert!(entries(&elsewhere).is_empty());
    }

    #[test]
    fn bounded_reads_stop_at_the_limit() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20, "a test input").unwrap_err();
        assert!(e.to_string().contains("1048576"), "{e}");
        let d = scratch("bounded");
        std::fs::write(d.join("f"), [7u8; 100]).unwrap();
        assert_eq!(read_bounded(&d.join("f"), 100, "x").unwrap().len(), 100);
        assert!(read_bounded(&d.join("f"), 99, "x").is_err());
    }

    /// A FIFO without a writer is named, not waited on; a regular file reads as before.
    #[test]
    fn regular_reads_refuse_a_fifo_at_once() {
        let d = scratch("regular");
        std::fs::write(d.join("f"), "text").unwrap();
        assert_eq!(read_regular_string(&d.join("f"), 100, "x").unwrap(), "text");
        let fifo = d.join("p");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular_string(&fifo, 100, "x").unwrap_err();
        assert_eq!(e.to_string(), "a FIFO, not a regular file");
        let e = read_regular_string(&d, 100, "x").unwrap_err();
        assert_eq!(e.to_string(), "a directory, not a regular file");
    }
}
