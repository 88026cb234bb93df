//! Every file pybench writes goes through here, so that no output can be redirected by a
//! planted symlink, half-written, or left behind: [`AtomicFile`] (a temporary created with
//! `O_EXCL | O_NOFOLLOW` under an unpredictable name beside the target, then `fsync` and
//! `rename`), [`create_unique_dir`] (a run folder made with `mkdir`, never an existing one),
//! and [`read_bounded`] (inputs read with a stated size limit, so `/dev/zero` cannot grow the
//! process without end).
//!
//! `O_EXCL` makes `open` fail if anything, a symlink included, already has the name
//! (open(2): "if pathname is a symbolic link, open() fails regardless of where the link
//! points"); `O_NOFOLLOW` says the same for the last component. `rename(2)` replaces the
//! target's directory entry and never follows a symlink there, so a link planted at the
//! target is replaced, not written through.
//!
//! What cannot be replaced by a rename — a character device, a FIFO, a socket, one of the
//! process's own descriptors such as `/dev/stdout` — is written straight into instead, and a
//! directory is refused before anything is written: [`super::target::open_in_place`] decides,
//! for every command at once.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An output file under construction: writes go to a fresh temporary beside the target,
/// which [`AtomicFile::commit`] makes durable and renames over the target. Dropped without
/// a commit (an error anywhere, a panic), the temporary is removed and the target untouched.
/// A target that is not a regular file is written in place (see the module's notes): then
/// there is no temporary.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    /// Empty when writing in place, or once committed.
    tmp: PathBuf,
    target: PathBuf,
    in_place: bool,
    written: u64,
}

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

impl AtomicFile {
    /// Creates the temporary `.NAME.<unique>.tmp` in the target's directory (so the final
    /// rename stays within one file system). Fails if that directory does not exist, or if
    /// the target is a directory. A device, FIFO or socket target is opened as it is.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        if let Some(file) = super::target::open_in_place(target)? {
            return Ok(AtomicFile {
                file: Some(file),
                tmp: PathBuf::new(),
                target: target.to_path_buf(),
                in_place: true,
                written: 0,
            });
        }
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a file name", target.display()),
            )
        })?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        for _ in 0..16 {
            let mut tmp_name = OsString::from(".");
            // A long name keeps only its start, so the temporary's stays within NAME_MAX.
            tmp_name.push(OsStr::from_bytes(&name.as_bytes()[..name.len().min(128)]));
            tmp_name.push(format!(".{}.tmp", unique_suffix()));
            let tmp = dir.join(tmp_name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true) // O_CREAT | O_EXCL
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(0o666) // less the umask, as for any file the user creates
                .open(&tmp)
            {
                Ok(file) => {
                    return Ok(AtomicFile {
                        file: Some(file),
                        tmp,
                        target: target.to_path_buf(),
                        in_place: false,
                        written: 0,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("cannot find a free temporary name in {}", dir.display()),
        ))
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary being written (for messages and tests); empty when writing in place.
    pub fn temporary(&self) -> &Path {
        &self.tmp
    }

    /// True when the target is written straight into (a device, FIFO or socket).
    pub fn in_place(&self) -> bool {
        self.in_place
    }

    /// Bytes written so far (the target's size once committed, for a regular file).
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("present until commit or drop")
    }

    /// Makes the content durable (`fsync`), renames it over the target, and syncs the
    /// directory so the rename survives a crash. On error the temporary is removed. Written
    /// in place, there is nothing to sync or rename (`fsync` on a pipe is an error).
    pub fn commit(mut self) -> io::Result<()> {
        let mut file = self.file.take().expect("present until commit or drop");
        if self.in_place {
            return file.flush();
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target)?;
        // The temporary no longer exists under its own name: nothing to remove.
        self.tmp = PathBuf::new();
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // Best effort: some file systems refuse fsync on a directory.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file().write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `target` through an [`AtomicFile`]: `fill` gets a buffered writer; the target is
/// replaced only if `fill` and every write succeed.
pub fn write_atomically(
    target: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(AtomicFile::create(target)?);
    fill(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.commit()
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
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Io(e) => e,
            too_large => io::Error::new(io::ErrorKind::InvalidData, too_large.to_string()),
        }
    }
}

/// Reads a whole input file, refusing it once it exceeds `limit` bytes (a device like
/// `/dev/zero`, or a file far larger than any valid one), without reading further.
/// `what` names the kind of file in the message.
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path)?;
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
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = [0u8; N];
    file.read_exact(&mut head).ok()?;
    Some(head)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_bounded_string(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pybench-fs-{tag}-{}", unique_suffix()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_a_planted_link_instead_of_writing_through_it() {
        let d = scratch("link");
        let victim = d.join("victim");
        std::fs::write(&victim, "secret").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("out.json")).unwrap();
        write_atomically(&d.join("out.json"), |w| w.write_all(b"{}")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
        assert!(!is_symlink(&d.join("out.json")));
        assert_eq!(std::fs::read_to_string(d.join("out.json")).unwrap(), "{}");
        assert_eq!(entries(&d), ["out.json", "victim"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_error_leaves_neither_temporary_nor_target_and_spares_unrelated_files() {
        let d = scratch("err");
        std::fs::write(d.join("report.tmp"), "unrelated").unwrap();
        let r = write_atomically(&d.join("report.csv"), |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert_eq!(entries(&d), ["report.tmp"]);
        assert_eq!(
            std::fs::read_to_string(d.join("report.tmp")).unwrap(),
            "unrelated"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

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
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&elsewhere);
    }

    #[test]
    fn bounded_reads_stop_at_the_limit() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20, "a test input").unwrap_err();
        assert!(e.to_string().contains("1048576"), "{e}");
        let d = scratch("bounded");
        std::fs::write(d.join("f"), [7u8; 100]).unwrap();
        assert_eq!(read_bounded(&d.join("f"), 100, "x").unwrap().len(), 100);
        assert!(read_bounded(&d.join("f"), 99, "x").is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
