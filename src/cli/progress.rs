//! A progress line for commands that stream many events (`stats -w`, `gen`): default scales
//! take milliseconds, but a huge `--scale` runs for minutes or hours, and a terminal showing
//! nothing all that time looks hung. Shown on a terminal only (a log or a pipe gets none), and
//! only once a second has passed, so short runs print nothing.

use std::io::{IsTerminal as _, Write};
use std::time::{Duration, Instant};

/// Events between two looks at the clock: rare enough to cost nothing per event.
const STEP: u64 = 1 << 22;
/// How long a run goes before it shows progress.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// The events a stream has produced so far and their rate, rewritten in place on one line.
pub struct EventProgress<W: Write> {
    out: W,
    tty: bool,
    started: Instant,
    /// The next count at which the line may be rewritten.
    next: u64,
    shown: bool,
}

impl EventProgress<std::io::Stderr> {
    /// Progress on stderr, shown only when it is a terminal; the clock starts now.
    pub fn on_stderr() -> Self {
        let tty = std::io::stderr().is_terminal();
        EventProgress::new(std::io::stderr(), tty, Instant::now())
    }
}

impl<W: Write> EventProgress<W> {
    /// Progress written to `out` when `tty`, timed from `started`.
    pub fn new(out: W, tty: bool, started: Instant) -> Self {
        EventProgress {
            out,
            tty,
            started,
            next: STEP,
            shown: false,
        }
    }

    /// `seen` events so far (called per event or per batch: a batch may step over several
    /// multiples of the step, and the line is rewritten once for them).
    pub fn update(&mut self, seen: u64) {
        if !self.tty || seen < self.next {
            return;
        }
        self.next = (seen / STEP + 1) * STEP;
        let elapsed = self.started.elapsed();
        if elapsed < QUIET_FOR {
            return;
        }
        let rate = seen as f64 / elapsed.as_secs_f64();
        // A failed write to stderr has nowhere to be reported; the work goes on.
        let _ = write!(self.out, "\r{seen} events, {:.1} M events/s", rate / 1e6);
        let _ = self.out.flush();
        self.shown = true;
    }

    /// Ends the progress line, if one was shown, so what follows starts on a line of its own.
    pub fn finish(&mut self) {
        if self.shown {
            let _ = writeln!(self.out);
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &EventProgress<Vec<u8>>) -> String {
        String::from_utf8(p.out.clone()).unwrap()
    }

    #[test]
    fn a_long_run_on_a_terminal_shows_its_count_at_each_step() {
        let two_seconds_ago = Instant::now() - Duration::from_secs(2);
        let mut p = EventProgress::new(Vec::new(), true, two_seconds_ago);
        p.update(STEP - 1);
        assert_eq!(text(&p), "");
        p.update(STEP);
        p.update(STEP + 5);
        // One batch past several steps: one line.
        p.update(3 * STEP + 1);
        p.finish();
        let t = text(&p);
        let lines: Vec<&str> = t.split('\r').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2, "{t:?}");
        assert!(lines[0].starts_with(&format!("{STEP} events, ")), "{t:?}");
        assert!(
            lines[1].starts_with(&format!("{} events, ", 3 * STEP + 1)),
            "{t:?}"
        );
        assert!(t.ends_with(" M events/s\n"), "{t:?}");
    }

    #[test]
    fn nothing_off_a_terminal_or_in_the_first_second() {
        let long_ago = Instant::now() - Duration::from_secs(60);
        let mut p = EventProgress::new(Vec::new(), false, long_ago);
        p.update(10 * STEP);
        p.finish();
        assert_eq!(text(&p), "");
        let mut p = EventProgress::new(Vec::new(), true, Instant::now() + QUIET_FOR * 60);
        p.update(10 * STEP);
        p.finish();
        assert_eq!(text(&p), "", "a run younger than a second shows nothing");
    }
}
