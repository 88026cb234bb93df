//! The channel a recorded program's hook writes into: a Unix stream socket pair whose reading
//! end has `SO_PASSCRED` set, so every read says which process wrote the bytes.
//!
//! unix(7): with `SO_PASSCRED` enabled on the receiver, the kernel attaches the sender's
//! credentials to what it sends even if the sender supplies none, and a stream read never
//! joins data written by different senders into one read (Linux `unix_stream_read_generic`
//! stops at a change of credentials). So a descendant that inherited the write end (a shell
//! wrapper's other children) cannot slip records into the stream unnoticed: its bytes arrive
//! in reads of their own, tagged with its pid. The hook itself only calls `write(2)`, which
//! works on a socket exactly as on a pipe.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A connected pair: `(read end, write end)`, both close-on-exec.
pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors socketpair writes.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair returned two fresh descriptors that nothing else owns.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let one: libc::c_int = 1;
    set_opt(&rd, libc::SO_PASSCRED, one)?;
    // The writer never waits for a reader so one buffer of records can be in flight (the
    // kernel caps this at net.core.wmem_max); failure only costs speed.
    let _ = set_opt(&wr, libc::SO_SNDBUF, 1 << 20);
    let _ = set_opt(&rd, libc::SO_RCVBUF, 1 << 20);
    // Only the pybench side reads and only the program writes.
    // SAFETY: shutdown on owned sockets.
    unsafe {
        libc::shutdown(rd.as_raw_fd(), libc::SHUT_WR);
        libc::shutdown(wr.as_raw_fd(), libc::SHUT_RD);
    }
    Ok((rd, wr))
}

fn set_opt(fd: &OwnedFd, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: a c_int option value of the right size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The inode of a descriptor's file (a socket's inode identifies the channel to the hook).
pub fn inode(fd: &OwnedFd) -> io::Result<u64> {
    // SAFETY: fstat fills the zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.st_ino)
}

/// Waits up to `timeout_ms` for the read end to have data or reach end-of-file.
pub fn readable(fd: &OwnedFd, timeout_ms: i32) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One read from the read end: the bytes and the pid of the process that wrote them
/// (`None` at end-of-file or if the kernel attached no credentials).
pub fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<(usize, Option<u32>)> {
    // Room for one SCM_CREDENTIALS message, 8-byte aligned as cmsg headers require.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    loop {
        // SAFETY: msghdr is plain data; the fields set below point at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg writes at most iov_len bytes and msg_controllen control bytes.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut pid = None;
        // SAFETY: the CMSG macros walk the control buffer recvmsg filled.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_CREDENTIALS {
                    let cred: libc::ucred = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    pid = u32::try_from(cred.pid).ok().filter(|&p| p != 0);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        return Ok((n as usize, pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_names_its_writer_and_writers_are_never_joined() {
        let (rd, wr) = pair().unwrap();
        let me = std::process::id();
        // SAFETY: plain write on an owned socket.
        assert_eq!(
            unsafe { libc::write(wr.as_raw_fd(), b"ours".as_ptr().cast(), 4) },
            4
        );
        // A forked child stands in for a foreign writer.
        // SAFETY: the child only calls write and _exit.
        let child = unsafe { libc::fork() };
        if child == 0 {
            unsafe {
                libc::write(wr.as_raw_fd(), b"theirs".as_ptr().cast(), 6);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(child, &mut status, 0) };
        let mut buf = [0u8; 64];
        let (n, pid) = recv(&rd, &mut buf).unwrap();
        assert_eq!((&buf[..n], pid), (&b"ours"[..], Some(me)));
        let (n, pid) = recv(&rd, &mut buf).unwrap();
        assert_eq!((&buf[..n], pid), (&b"theirs"[..], Some(child as u32)));
        drop(wr);
        assert_eq!(recv(&rd, &mut buf).unwrap().0, 0, "end of file");
    }
}
