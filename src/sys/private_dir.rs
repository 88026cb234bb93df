//! Private working directories under the system's temporary directory (`$TMPDIR`, else
//! `/tmp`): `exec`'s engine site and `record`'s hook live in one while a program runs.
//!
//! Each is removed when its owner is dropped, which a killed pybench never reaches (SIGKILL
//! cannot be caught; a SIGTERM'd process runs no destructors either). So the next pybench to
//! make one of the same kind first removes those whose owner is gone. Whether it is gone is
//! told by a lock, not only by the process id in the name (`pybench-KIND-PID-…`): the owner
//! holds an exclusive `flock` on the directory for its whole life, which the kernel releases
//! when the process dies however it dies, and which another process sharing `/tmp` from
//! another pid namespace (a container) sees too, where its pid would name nobody. The
//! directory is locked before it gets its name, so no sweeper ever sees it unlocked. Only a
//! real directory owned by this user is removed: a symlink or someone else's folder planted
//! under such a name is left alone (and `remove_dir_all` does not follow links inside).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A mode-0700 directory `pybench-KIND-PID-SUFFIX`, removed with its contents when dropped.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    /// The directory, open and locked (`flock`) while this lives: it says the owner lives.
    _lock: File,
}

/// `e` with the temporary directory it happened in, and `TMPDIR` named when that chose it:
/// "No such file or directory" alone does not say which directory is missing.
fn naming_the_root(e: io::Error, root: &Path) -> io::Error {
    let whose = if std::env::var_os("TMPDIR").is_some() {
        " (TMPDIR)"
    } else {
        ""
    };
    io::Error::new(e.kind(), format!("in {}{whose}: {e}", root.display()))
}

impl PrivateDir {
    /// Makes a new one of `kind` under the system's temporary directory, after removing the
    /// ones of that kind that killed pybench processes left there.
    pub fn create(kind: &str) -> io::Result<PrivateDir> {
        let root = std::env::temp_dir();
        remove_orphans(&root, kind);
        let name = format!("pybench-{kind}-{}", super::fs::unique_suffix());
        // Made and locked under a name no sweeper looks at, then given its own.
        let hidden = root.join(format!(".{name}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&hidden)
            .map_err(|e| naming_the_root(e, &root))?;
        let locked = open_dir(&hidden).and_then(|d| {
            if try_lock(&d)? {
                Ok(d)
            } else {
                Err(io::Error::other(
                    "a new directory is locked by another process",
                ))
            }
        });
        let path = root.join(name);
        match locked.and_then(|d| std::fs::rename(&hidden, &path).map(|()| d)) {
            Ok(lock) => Ok(PrivateDir { path, _lock: lock }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&hidden);
                Err(e)
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Opens a directory itself (not a link to one) for locking; closed on exec, so a program
/// started meanwhile does not hold the lock after pybench dies.
fn open_dir(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Takes `f`'s exclusive lock without waiting: false when another open file holds it.
fn try_lock(f: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor this File owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

/// Removes `root/pybench-KIND-PID-…` directories of this user whose owner is gone: process
/// `PID` does not run here and nobody holds the directory's lock. Best effort: whatever
/// cannot be read, locked or removed is left as it is.
fn remove_orphans(root: &Path, kind: &str) {
    let prefix = format!("pybench-{kind}-");
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || super::process::is_running(pid) {
            continue;
        }
        // symlink_metadata: a link is itself, never what it points to.
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me {
            continue;
        }
        // Locked while removed, so a second sweeper waits its turn instead of racing.
        if let Ok(dir) = open_dir(&entry.path()) {
            if try_lock(&dir).unwrap_or(false) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::testing::{entries, scratch};

    /// A pid no process has now: one of a child that has exited and been waited for.
    fn gone_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn a_dead_processs_folders_go_and_the_living_and_the_planted_stay() {
        let root = scratch("orphans");
        let dead = gone_pid();
        let mine = std::process::id();
        let target = scratch("orphans-target");
        std::fs::write(target.join("keep"), b"x").unwrap();
        std::fs::create_dir(root.join(format!("pybench-engine-{dead}-1"))).unwrap();
        std::fs::write(root.join(format!("pybench-engine-{dead}-1/f")), b"x").unwrap();
        std::fs::create_dir(root.join(format!("pybench-engine-{mine}-2"))).unwrap();
        std::fs::create_dir(root.join(format!("pybench-record-{dead}-3"))).unwrap();
        std::fs::write(root.join(format!("pybench-engine-{dead}-4")), b"a file").unwrap();
        std::os::unix::fs::symlink(&target, root.join(format!("pybench-engine-{dead}-5"))).unwrap();
        std::fs::create_dir(root.join("pybench-engine-notapid")).unwrap();
        // A dead pid by this namespace's count, but locked: its owner lives elsewhere.
        let elsewhere = root.join(format!("pybench-engine-{dead}-6"));
        std::fs::create_dir(&elsewhere).unwrap();
        let held = open_dir(&elsewhere).unwrap();
        assert!(try_lock(&held).unwrap());
        remove_orphans(&root, "engine");
        let mut kept = vec![
            format!("pybench-engine-{dead}-4"),
            format!("pybench-engine-{dead}-5"),
            format!("pybench-engine-{dead}-6"),
            format!("pybench-engine-{mine}-2"),
            "pybench-engine-notapid".to_string(),
            format!("pybench-record-{dead}-3"),
        ];
        kept.sort();
        assert_eq!(
            entries(&root),
            kept,
            "only the dead process's unlocked engine folder is removed"
        );
        // Released explicitly, not only closed: a child another test forks at that moment
        // holds a duplicate of every descriptor until it execs or exits, and with it this
        // lock (flock belongs to the open file; CI saw the folder kept so, 2026-12-08).
        // LOCK_UN through any duplicate frees it for all of them.
        // SAFETY: flock on a descriptor this File owns.
        assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_UN) }, 0);
        drop(held);
        remove_orphans(&root, "engine");
        assert!(!elsewhere.exists(), "unlocked once its owner is gone");
        assert_eq!(entries(&target), vec!["keep"], "a link is not followed");
    }

    #[test]
    fn a_private_dir_is_the_users_alone_and_goes_when_dropped() {
        let d = PrivateDir::create("unit").unwrap();
        let path = d.path().to_path_buf();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            name.starts_with(&format!("pybench-unit-{}-", std::process::id())),
            "{name}"
        );
        // Held while it lives: a sweep by another pybench leaves it alone.
        remove_orphans(path.parent().unwrap(), "unit");
        assert!(path.exists());
        std::fs::write(path.join("f"), b"x").unwrap();
        drop(d);
        assert!(!path.exists());
    }
}
