//! What a recording ends with ([`Recorded`]): the program's status, the events, and the
//! warnings for a recording that lacks its end or a program that failed.

use crate::sys::stderr_tail::StderrTail;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// Why a recording lacks its end marker: the hook sends its buffer every 8192 calls and the
/// rest at Python's normal shutdown, so these lose the calls since the last buffer (or all
/// of them). hook.c stops recording, without touching the descriptor, once the number no
/// longer names pybench's channel.
pub const INCOMPLETE_CAUSES: &str = "ended without Python's normal shutdown (os._exit, a \
     signal), replaced itself (exec), or closed pybench's channel (os.closerange)";

/// A finished recording.
pub struct Recorded {
    pub status: ExitStatus,
    pub wall: Duration,
    pub events: u64,
    /// False when the recording lacks its end marker ([`INCOMPLETE_CAUSES`]): up to one hook
    /// buffer (8192 calls) of the last events is missing.
    pub complete: bool,
    pub counters: BTreeMap<String, u64>,
    /// Ctrl-C (SIGINT) reached pybench while the program ran.
    pub interrupted: bool,
    /// The program ran past [`super::record::Options::timeout`] and was killed.
    pub timed_out: bool,
    /// The end of its standard error, when it was started quietly (`validate -q`).
    pub stderr_tail: Option<StderrTail>,
    /// Where the trace was written: the output asked for, or the numbered name beside it
    /// when a file appeared there while the program ran (without `--force`); `None` when no
    /// trace was written.
    pub out: Option<std::path::PathBuf>,
}

impl Recorded {
    /// The warning for a recording that lacks its end, or `None` when it has it (or when the
    /// program was killed for `--timeout`, which says so itself).
    pub fn incomplete_warning(&self) -> Option<String> {
        (!self.complete && !self.timed_out).then(|| {
            format!(
                "the program {INCOMPLETE_CAUSES}: the trace holds the {} events sent before \
                 that, and may lack up to 8192 calls made after them",
                self.events
            )
        })
    }

    /// The warning for a program that failed on its own (a non-zero exit status after a
    /// normal shutdown): the trace holds what it did until then, which may not be the work
    /// meant. `None` when it succeeded, or when its end is told otherwise (a stop pybench
    /// received, `--timeout`, a recording without its end: [`Self::incomplete_warning`]).
    pub fn failure_warning(&self) -> Option<String> {
        let code = exit_code(self.status);
        let told = self.interrupted || self.timed_out || !self.complete;
        (code != 0 && !told).then(|| {
            format!(
                "the program exited with status {code}: the trace holds the {} events it made \
                 until it failed",
                self.events
            )
        })
    }
}

/// The exit code a shell would report for `status` (128 + signal when killed).
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => 128u8.wrapping_add(s as u8),
        _ => 1,
    }
}

/// A warning when the environment replaces the allocator the trace should see: with
/// `PYTHONMALLOC` set to anything but `pymalloc`, the interpreter's start-up accounting, which
/// the trace stores and `fidelity --trace` holds the engine to, is another allocator's
/// (`debug` adds its own arenas, `malloc` has none), though the calls recorded are the same.
/// `validate` removes the variable for its recording, as for its real runs.
pub fn environment_warning(launch: &super::record::Launch) -> Option<String> {
    if *launch != super::record::Launch::Own {
        return None;
    }
    let value = std::env::var("PYTHONMALLOC").ok()?;
    if value.is_empty() || value == "pymalloc" {
        return None;
    }
    Some(format!(
        "PYTHONMALLOC={value} is set: the trace's recorded start-up accounting is that \
         allocator's, not pymalloc's (fidelity --trace refuses such a trace); unset it to record under \
         pymalloc"
    ))
}

/// [`defer_hint`] for this machine now: measured over 100 ms before the program starts
/// (nothing is measured when the recording is deferred already).
pub fn busy_machine_note(defer: bool) -> Option<String> {
    if defer {
        return None;
    }
    let (busy, cores) = crate::sys::procfs::busy_cores(Duration::from_millis(100))?;
    defer_hint(cores, busy)
}

/// Free cores below which [`defer_hint`] speaks: the live converter needs a core of its own
/// (40 – 50 ns an event) beside the program's, so once less than one and a half are free the
/// two compete.
const FREE_CORES_FOR_LIVE: f64 = 1.5;

/// A note before a live recording on a machine whose other cores are busy (`busy` cores'
/// worth of CPU in use out of the `cores` it may run on): there the converter competes with
/// the program, which
/// `--defer` avoids (README "Traces": 1.58 – 1.66× wall live against 1.16 – 1.20× deferred
/// with the second core busy). Not a switch made for the user: a deferred recording spills
/// 16 bytes an event to disk first, 40 – 440 times the shipped traces.
pub fn defer_hint(cores: usize, busy: f64) -> Option<String> {
    if !busy.is_finite() || busy < 0.0 || cores as f64 - busy >= FREE_CORES_FOR_LIVE {
        return None;
    }
    let why = if cores < 2 {
        "only one core is available here".to_string()
    } else {
        format!(
            "the machine is busy ({busy:.1} of {cores} cores in use before the program started)"
        )
    };
    Some(format!(
        "{why}: the live conversion competes with the program for a core and slows it; \
         `--defer` converts after it exits (16 bytes an event spilled to disk meanwhile)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(raw_status: i32, complete: bool) -> Recorded {
        Recorded {
            status: ExitStatus::from_raw(raw_status),
            wall: Duration::ZERO,
            events: 4404,
            complete,
            counters: BTreeMap::new(),
            interrupted: false,
            timed_out: false,
            stderr_tail: None,
            out: None,
        }
    }

    #[test]
    fn the_defer_hint_speaks_only_when_a_live_conversion_would_lack_a_core() {
        // Two cores, the second busy: one free, less than the program and converter need.
        let hint = defer_hint(2, 1.0).expect("a hint");
        assert!(hint.contains("1.0 of 2 cores"), "{hint}");
        assert!(hint.contains("--defer"), "{hint}");
        // Quiet enough, or a reading that is no figure: no hint.
        assert_eq!(defer_hint(2, 0.4), None);
        assert_eq!(defer_hint(2, f64::NAN), None);
        assert_eq!(defer_hint(2, -1.0), None);
        // Many cores: busy ones matter only once fewer than one and a half are left.
        assert_eq!(defer_hint(16, 12.0), None);
        assert!(defer_hint(16, 15.0).is_some());
        // One core: never enough for both, and said so, not as a busy machine.
        let one = defer_hint(1, 0.0).expect("a hint");
        assert!(
            one.starts_with("only one core is available here: "),
            "{one}"
        );
    }

    #[test]
    fn a_program_that_failed_on_its_own_is_warned_about_once() {
        // Exit status 1 (wait status 1 << 8) after Python's normal shutdown.
        let failed = recorded(1 << 8, true);
        assert_eq!(
            failed.failure_warning().as_deref(),
            Some("the program exited with status 1: the trace holds the 4404 events it made until it failed")
        );
        assert_eq!(failed.incomplete_warning(), None);
        assert_eq!(recorded(0, true).failure_warning(), None);
        // Its end told otherwise: the incomplete recording's warning, a stop, a timeout.
        let killed = recorded(libc::SIGSEGV, false);
        assert_eq!(killed.failure_warning(), None);
        assert!(killed.incomplete_warning().is_some());
        let stopped = Recorded {
            interrupted: true,
            ..recorded(1 << 8, true)
        };
        assert_eq!(stopped.failure_warning(), None);
        let timed_out = Recorded {
            timed_out: true,
            ..recorded(1 << 8, true)
        };
        assert_eq!(timed_out.failure_warning(), None);
    }
}
