//! [`AtomicFile`]: how every output file is written (see [`super::fs`]). The content goes
//! to a nameless temporary (`O_TMPFILE`) in the target's directory, which gets a fresh name
//! (`.NAME.<unique>.tmp`, made with `O_EXCL` semantics: `linkat` never replaces a name) only
//! once complete and synced, and is renamed over the target at once. A process killed while
//! writing — Ctrl-C during `gen` or `convert`, SIGKILL, a crash — leaves nothing behind;
//! where the file system lacks `O_TMPFILE`, the temporary is named from the start with
//! `O_EXCL | O_NOFOLLOW`, and removed on any error or panic (not on a kill).

use super::fs::unique_suffix;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The longest file name `dir`'s file system takes (`NAME_MAX`), 255 where it cannot say.
fn name_max(dir: &Path) -> usize {
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 255;
    };
    // SAFETY: `path` is a NUL-terminated string that outlives the call; pathconf only reads
    // it, and returns -1 on any error.
    let n = unsafe { libc::pathconf(path.as_ptr(), libc::_PC_NAME_MAX) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(255)
}

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
    /// Whether the commit may replace a file at the target ([`Self::never_replacing`]).
    replace: bool,
}

impl AtomicFile {
    /// Creates the temporary in the target's directory (so the final rename stays within
    /// one file system): a nameless file (`O_TMPFILE`), given the name
    /// `.NAME.<unique>.tmp` only at [`commit`](Self::commit), just before the rename, so a
    /// process killed while writing (Ctrl-C during `gen` or `convert`, SIGKILL) leaves
    /// nothing behind; where the file system lacks `O_TMPFILE`, that name from the start.
    /// Fails if the directory does not exist, or if the target is a directory. A device,
    /// FIFO or socket target is opened as it is.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        if let Some(file) = super::target::open_in_place(target)? {
            return Ok(AtomicFile {
                file: Some(file),
                tmp: PathBuf::new(),
                target: target.to_path_buf(),
                in_place: true,
                written: 0,
                replace: true,
            });
        }
        let (dir, name) = Self::split(target)?;
        if name.len() > name_max(&dir) {
            // The nameless temporary does not need the name, so only the commit would fail,
            // after the work: `record` ran the whole program and then lost its trace.
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        // Read-write, so that commit can copy it out should linking it fail.
        let nameless = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o666) // less the umask, as for any file the user creates
            .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
            .open(&dir);
        // Any failure (no O_TMPFILE here, a missing directory, …) takes the named route,
        // whose error is the one to report.
        let (file, tmp) = match nameless {
            Ok(f) => (f, PathBuf::new()),
            Err(_) => Self::create_named(target)?,
        };
        Ok(AtomicFile {
            file: Some(file),
            tmp,
            target: target.to_path_buf(),
            in_place: false,
            written: 0,
            replace: true,
        })
    }

    /// This file's commit will not replace a file that took the target's name while it was
    /// written (a second `record` into the same folder, the recorded program itself): it
    /// goes to the first free name of `STEM.1.EXT`, `STEM.2.EXT`, … instead, which
    /// [`commit_placed`](Self::commit_placed) returns. `record` checks at its start that its
    /// output does not exist, and until 2026-12-07 its final rename replaced whatever came
    /// there while the program ran (found in review).
    pub fn never_replacing(mut self) -> Self {
        self.replace = false;
        self
    }

    /// The target's directory (`.` for a bare name) and file name.
    fn split(target: &Path) -> io::Result<(PathBuf, &OsStr)> {
        if super::target::names_a_folder(target) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "names a folder (it ends in /): give a file name",
            ));
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
        Ok((dir, name))
    }

    /// A fresh temporary name beside `target`; `make` creates it (exclusively) and says
    /// whether the name was taken.
    fn fresh_name<T>(
        target: &Path,
        mut make: impl FnMut(&Path) -> io::Result<T>,
    ) -> io::Result<(T, PathBuf)> {
        let (dir, name) = Self::split(target)?;
        for _ in 0..16 {
            let mut tmp_name = OsString::from(".");
            // A long name keeps only its start, so the temporary's stays within NAME_MAX.
            tmp_name.push(OsStr::from_bytes(&name.as_bytes()[..name.len().min(128)]));
            tmp_name.push(format!(".{}.tmp", unique_suffix()));
            let tmp = dir.join(tmp_name);
            match make(&tmp) {
                Ok(made) => return Ok((made, tmp)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("cannot find a free temporary name in {}", dir.display()),
        ))
    }

    /// The named temporary `.NAME.<unique>.tmp`, created with `O_EXCL | O_NOFOLLOW`.
    fn create_named(target: &Path) -> io::Result<(File, PathBuf)> {
        Self::fresh_name(target, |tmp| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true) // O_CREAT | O_EXCL
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(0o666) // less the umask, as for any file the user creates
                .open(tmp)
        })
    }

    /// Gives the nameless `file` a fresh temporary name beside the target: linked through
    /// `/proc/self/fd` (what open(2) suggests for `O_TMPFILE`), else by `AT_EMPTY_PATH`
    /// (needs CAP_DAC_READ_SEARCH), else copied into a named temporary.
    fn name_it(&self, file: &mut File) -> io::Result<PathBuf> {
        use std::os::unix::io::AsRawFd as _;
        let fd = file.as_raw_fd();
        let linked = Self::fresh_name(&self.target, |tmp| {
            let to = std::ffi::CString::new(tmp.as_os_str().as_bytes())
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            let proc_path =
                std::ffi::CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in a number");
            // SAFETY: both paths are NUL-terminated strings that outlive the calls.
            let mut rc = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    proc_path.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            if rc != 0 && io::Error::last_os_error().kind() != io::ErrorKind::AlreadyExists {
                // SAFETY: as above; "" with AT_EMPTY_PATH names `fd` itself.
                rc = unsafe {
                    libc::linkat(
                        fd,
                        c"".as_ptr(),
                        libc::AT_FDCWD,
                        to.as_ptr(),
                        libc::AT_EMPTY_PATH,
                    )
                };
            }
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        });
        match linked {
            Ok(((), tmp)) => Ok(tmp),
            Err(_) => {
                use std::io::Seek as _;
                let (mut named, tmp) = Self::create_named(&self.target)?;
                let copied = file
                    .rewind()
                    .and_then(|()| io::copy(file, &mut named))
                    .and_then(|_| named.sync_all());
                match copied {
                    Ok(()) => Ok(tmp),
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        Err(e)
                    }
                }
            }
        }
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The named temporary being written (for messages and tests); empty when writing in
    /// place or into a nameless file.
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

    /// Makes the content durable (`fsync`), names a nameless temporary, renames it over
    /// the target, and syncs the directory so the rename survives a crash. On error the
    /// temporary is removed. Written in place, there is nothing to sync or rename (`fsync`
    /// on a pipe is an error).
    pub fn commit(self) -> io::Result<()> {
        self.commit_placed().map(drop)
    }

    /// [`commit`](Self::commit), returning where the file went: the target, or, for a file
    /// [never replacing](Self::never_replacing) one that appeared there, a numbered name.
    pub fn commit_placed(mut self) -> io::Result<PathBuf> {
        if !self.prepare_commit()? {
            return Ok(self.target.clone());
        }
        if self.replace {
            std::fs::rename(&self.tmp, &self.target)?;
            // The temporary no longer exists under its own name: nothing to remove.
            self.tmp = PathBuf::new();
            sync_parent(&self.target);
            return Ok(self.target.clone());
        }
        for n in 0..100u32 {
            let to = if n == 0 {
                self.target.clone()
            } else {
                numbered(&self.target, n)
            };
            match rename_no_replace(&self.tmp, &to) {
                Ok(()) => {
                    self.tmp = PathBuf::new();
                    sync_parent(&to);
                    return Ok(to);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} and 99 numbered names beside it are taken",
                self.target.display()
            ),
        ))
    }

    /// Makes the content durable and gives a nameless temporary its name; `false` when the
    /// target is written in place (nothing to rename).
    fn prepare_commit(&mut self) -> io::Result<bool> {
        let mut file = self.file.take().expect("present until commit or drop");
        if self.in_place {
            file.flush()?;
            return Ok(false);
        }
        file.sync_all()?;
        if self.tmp.as_os_str().is_empty() {
            // From here until the rename the temporary has a name, which drop removes.
            self.tmp = self.name_it(&mut file)?;
        }
        Ok(true)
    }
}

/// `a.pbt` → `a.1.pbt`, `trace` → `trace.1`.
fn numbered(target: &Path, n: u32) -> PathBuf {
    let stem = target.file_stem().unwrap_or_default().to_string_lossy();
    let name = match target.extension() {
        Some(ext) => format!("{stem}.{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{n}"),
    };
    target.with_file_name(name)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then): `renameat2` with
/// `RENAME_NOREPLACE`, or, on a file system without it, a hard link (which never replaces)
/// and the removal of `from`.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        return Err(e);
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// Syncs the folder of `target` so a rename into it survives a crash (best effort: some file
/// systems refuse fsync on a directory).
fn sync_parent(target: &Path) {
    if let Some(dir) = target.parent() {
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

/// Whether `target` could be written through an [`AtomicFile`] now: its temporary is created
/// in the target's folder and dropped (removed; a nameless one never had a name), the target
/// left untouched. Checked before a long run, whose export into a folder that takes no new
/// file (read-only, `/proc`, another user's) failed only after everything was measured. A
/// target that exists and is not a regular file (a FIFO, a device) is not opened: it is
/// written in place, and opening a FIFO would wait for its reader.
pub fn probe(target: &Path) -> io::Result<()> {
    if std::fs::metadata(target).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    AtomicFile::create(target).map(drop)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::is_symlink;
    use crate::sys::fs::testing::{entries, scratch};

    #[test]
    fn a_file_never_replacing_takes_the_next_free_number_when_the_name_was_taken() {
        let d = scratch("noreplace");
        let target = d.join("t.pbt");
        let write = |text: &str| {
            let mut f = AtomicFile::create(&target).unwrap().never_replacing();
            f.write_all(text.as_bytes()).unwrap();
            f
        };
        // Nothing there: the target itself.
        assert_eq!(write("first").commit_placed().unwrap(), target);
        // Taken while written (the file was created after the writer): the next numbers.
        let second = write("second");
        let third = write("third");
        assert_eq!(second.commit_placed().unwrap(), d.join("t.1.pbt"));
        assert_eq!(third.commit_placed().unwrap(), d.join("t.2.pbt"));
        let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
        assert_eq!(
            (read("t.pbt"), read("t.1.pbt"), read("t.2.pbt")),
            ("first".into(), "second".into(), "third".into())
        );
        assert_eq!(entries(&d).len(), 3, "no temporary left: {:?}", entries(&d));
        assert_eq!(
            numbered(Path::new("dir/trace"), 4),
            Path::new("dir/trace.4")
        );
    }

    #[test]
    fn a_target_ending_in_a_slash_is_refused_as_a_folder() {
        let d = scratch("slash");
        let err = AtomicFile::create(&d.join("new-folder/")).unwrap_err();
        assert!(err.to_string().contains("names a folder"), "{err}");
        assert!(entries(&d).is_empty(), "{:?}", entries(&d));
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
    }

    #[test]
    fn the_temporary_has_no_name_until_commit_so_a_kill_leaves_nothing() {
        let d = scratch("nameless");
        std::fs::write(d.join("out.pbt"), "previous").unwrap();
        let mut f = AtomicFile::create(&d.join("out.pbt")).unwrap();
        f.write_all(b"new content").unwrap();
        // What a process killed here (Ctrl-C in `gen`) leaves: the previous file alone.
        assert_eq!(entries(&d), ["out.pbt"]);
        assert_eq!(f.temporary(), Path::new(""));
        assert_eq!(
            std::fs::read_to_string(d.join("out.pbt")).unwrap(),
            "previous"
        );
        f.commit().unwrap();
        assert_eq!(entries(&d), ["out.pbt"]);
        assert_eq!(
            std::fs::read_to_string(d.join("out.pbt")).unwrap(),
            "new content"
        );
        // Dropped uncommitted: still nothing new, the target untouched.
        let mut g = AtomicFile::create(&d.join("other")).unwrap();
        g.write_all(b"x").unwrap();
        drop(g);
        assert_eq!(entries(&d), ["out.pbt"]);
    }
}
