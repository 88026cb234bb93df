//! Pipes for `pybench record`: the hook in the recorded program writes raw records into one,
//! and this process reads them while the program runs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A new pipe, (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Asks for a pipe buffer of `bytes` (Linux `F_SETPIPE_SZ`; the default is 64 KiB). Whether
/// it was granted only changes how far the writer can run ahead, so the result is ignored.
pub fn grow(fd: BorrowedFd<'_>, bytes: i32) {
    // SAFETY: plain fcntl on a descriptor the caller keeps open.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) };
}

/// Clears close-on-exec on `fd`, so the program about to be executed inherits it.
///
/// # Safety
/// Meant for `Command::pre_exec`: only async-signal-safe calls, and `fd` must be open.
pub unsafe fn inherit_across_exec(fd: RawFd) -> io::Result<()> {
    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits up to `timeout_ms` for data on `fd` and reads what is there into `buf`:
/// `Some(n)` bytes read (0 at end of file), or `None` when nothing arrived in time.
/// Interrupted calls (EINTR) are retried.
pub fn poll_read(fd: BorrowedFd<'_>, buf: &mut [u8], timeout_ms: i32) -> io::Result<Option<usize>> {
    loop {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(Some(n as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn poll_read_sees_data_then_times_out_then_end_of_file() {
        let (rd, wr) = pipe().unwrap();
        grow(rd.as_fd(), 1 << 20);
        let mut w = std::fs::File::from(wr);
        w.write_all(b"abc").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(poll_read(rd.as_fd(), &mut buf, 1000).unwrap(), Some(3));
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(poll_read(rd.as_fd(), &mut buf, 10).unwrap(), None);
        drop(w);
        assert_eq!(poll_read(rd.as_fd(), &mut buf, 1000).unwrap(), Some(0));
    }
}
