//! The read end of the recording channel: records from the recorded process alone, and an
//! end that a descendant holding the channel cannot delay for ever.

use crate::sys::channel;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// After the program exits, how long a descendant may keep the pipe open before the
/// recording stops waiting for it.
const LINGER: Duration = Duration::from_secs(2);

/// The read end of the hook's channel (`sys::channel`). Only bytes written by the recorded
/// process itself are passed on; a foreign writer's (a descendant that inherited the write
/// end) are dropped and counted. Reads return end-of-file once the program has exited and
/// nothing arrived for [`LINGER`], so a descendant holding the channel cannot hang us.
pub(in crate::trace) struct Pipe {
    pub(super) fd: OwnedFd,
    /// The recorded process: the only writer whose bytes are records.
    pub(super) writer: u32,
    pub(super) exited: Arc<AtomicBool>,
    pub(super) quiet_since: Option<Instant>,
    pub(in crate::trace) end: PipeEnd,
}

/// How the channel ended, beside the records.
#[derive(Debug, Default, Clone)]
pub(in crate::trace) struct PipeEnd {
    /// A descendant still held the channel open after the program exited.
    pub(super) abandoned: bool,
    /// Bytes refused because another process wrote them.
    pub(in crate::trace) foreign_bytes: u64,
    /// The processes that wrote them (the first few).
    pub(super) foreign_writers: Vec<u32>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if channel::readable(&self.fd, 100)? {
                let (n, pid) = channel::recv(&self.fd, buf)?;
                self.quiet_since = None;
                if n == 0 || pid == Some(self.writer) {
                    return Ok(n);
                }
                self.end.foreign_bytes += n as u64;
                if let Some(p) = pid {
                    if !self.end.foreign_writers.contains(&p) && self.end.foreign_writers.len() < 8
                    {
                        self.end.foreign_writers.push(p);
                    }
                }
                continue;
            }
            if self.exited.load(Ordering::Acquire) {
                let since = *self.quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= LINGER {
                    self.end.abandoned = true;
                    return Ok(0);
                }
            }
        }
    }
}
