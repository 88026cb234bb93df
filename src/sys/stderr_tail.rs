//! The end of a program's standard error, kept while its output is otherwise discarded
//! (`exec -q`, `validate -q`): a pipe whose reader thread keeps the last few KiB, so that a
//! run that fails can say why (its traceback's last line) without its output being shown.
//! The program writes into a pipe read as it comes, never into a file that grows with what
//! it prints.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How much of the end of the stream is kept.
const KEEP: usize = 8 * 1024;

#[derive(Default)]
struct Shared {
    /// The last [`KEEP`] bytes (at most twice that between trims), and whether the stream
    /// ended (every writer closed it).
    state: Mutex<(Vec<u8>, bool)>,
    ended: Condvar,
}

/// The reading end's keeper; [`Self::bytes`] gives what it has.
pub struct StderrTail(Arc<Shared>);

/// A pipe for a child's standard error (give the [`Stdio`] to the command) and the keeper of
/// its end. The reader thread ends when every writer has closed the pipe; a descendant that
/// outlives the program and keeps it open only keeps that thread waiting.
pub fn capture() -> io::Result<(Stdio, StderrTail)> {
    let (read, write) = super::pipe::pipe()?;
    let shared = Arc::new(Shared::default());
    let keeper = shared.clone();
    std::thread::Builder::new()
        .name("stderr-tail".into())
        .spawn(move || keep_end(read, &keeper))?;
    Ok((Stdio::from(write), StderrTail(shared)))
}

fn keep_end(read: OwnedFd, shared: &Shared) {
    let mut file = std::fs::File::from(read);
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                state.0.extend_from_slice(&chunk[..n]);
                if state.0.len() > 2 * KEEP {
                    let cut = state.0.len() - KEEP;
                    state.0.drain(..cut);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    shared.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
    shared.ended.notify_all();
}

impl StderrTail {
    /// The last bytes written, once the stream has ended or `wait` has passed (what the
    /// program wrote before it exited is then in the pipe, read within microseconds).
    pub fn bytes(&self, wait: Duration) -> Vec<u8> {
        let deadline = Instant::now() + wait;
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        while !state.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = match self.0.ended.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
        let from = state.0.len().saturating_sub(KEEP);
        state.0[from..].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_end_of_what_a_child_wrote() {
        let (stdio, tail) = capture().unwrap();
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); done",
            ])
            .stderr(stdio)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = tail.bytes(Duration::from_secs(5));
        assert!(bytes.len() <= KEEP, "{}", bytes.len());
        assert!(bytes.ends_with(b"line 2999\n"));
    }

    #[test]
    fn a_silent_child_leaves_nothing() {
        let (stdio, tail) = capture().unwrap();
        std::process::Command::new("true")
            .stderr(stdio)
            .status()
            .unwrap();
        assert!(tail.bytes(Duration::from_secs(5)).is_empty());
    }
}
