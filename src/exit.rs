//! pybench's exit codes, in one place (design.md §5). Scripts and CI rely on them:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a check failed: `compare` found a regression, `fidelity` a figure that differs |
//! | 2 | bad input or usage (unknown name, bad flag, unreadable or incomparable file): nothing was measured, or the results were refused |
//! | 3 | one or more cells failed (the others are written) |
//! | 129 | stopped by SIGHUP (a closed terminal, a dropped ssh session); the finished cells are written |
//! | 130 | interrupted by Ctrl-C (128 + SIGINT); the finished cells are written |
//! | 143 | stopped by SIGTERM (a CI job's time limit or cancel); the finished cells are written |
//!
//! `pybench record` is the one exception: it exits with the recorded program's own status,
//! since it stands in for running that program.

use std::process::ExitCode;

/// An exit code of pybench (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// `compare` found a regression in a class of `--fail-on`; `fidelity` flagged a figure.
    Regressed = 1,
    /// Bad input or usage.
    Usage = 2,
    /// Some cells failed; the rest are saved.
    CellsFailed = 3,
    /// SIGHUP (the terminal went away); the finished cells are saved.
    HungUp = 129,
    /// Ctrl-C; the finished cells are saved.
    Interrupted = 130,
    /// SIGTERM (a CI job's time limit or cancel); the finished cells are saved.
    Terminated = 143,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = [
            Exit::Ok,
            Exit::Regressed,
            Exit::Usage,
            Exit::CellsFailed,
            Exit::HungUp,
            Exit::Interrupted,
            Exit::Terminated,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 129, 130, 143]);
        assert_eq!(ExitCode::from(Exit::Ok), ExitCode::SUCCESS);
    }
}
