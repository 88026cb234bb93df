//! Puts pybench's engine into one run of a real interpreter. `libpybench_engine.so`
//! (`preload/engine`) goes first in `LD_PRELOAD`: its constructor installs the engine before
//! the interpreter's start-up (`engine_module.rs`). A private directory holding a generated
//! `sitecustomize.py` (`engine_site.py`) goes first on `PYTHONPATH`; CPython's `site` module
//! imports it during start-up, before the program's first line, as for `pybench record`. It
//! imports the same library as an extension module, which checks that the engine is in
//! effect (installing it then if it was not preloaded), and at exit writes the engine's
//! accounting to `<dir>/<pid>.txt`, or `PBERR <reason>` there before exiting with code 2 when
//! the interpreter cannot be served (not CPython, older than 3.8, free-threaded, allocators
//! replaced by `-X dev`).

use crate::pymalloc::Geometry;
use crate::sys::private_dir::PrivateDir;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The file name of the engine built as a C shared library (`preload/engine`).
pub const ENGINE_LIBRARY: &str = super::engine_module::LIBRARY;

static SITECUSTOMIZE: &str = include_str!("engine_site.py");

/// What ends every `sitecustomize.py` pybench generates (`site_chain.py`): its folder taken
/// off `sys.path` again and the program's own `sitecustomize` run, which pybench's shadows.
static SITE_CHAIN: &str = include_str!("site_chain.py");

/// A generated `sitecustomize.py`: `own` (what it is for: `record`'s hook, `exec`'s engine),
/// then [`SITE_CHAIN`].
pub(crate) fn sitecustomize(own: &str) -> String {
    format!("{own}\n\n{SITE_CHAIN}")
}

/// A run's private directory; removed however the run ends.
pub struct EngineSite {
    /// Removed when the site is dropped (one a killed pybench left, by the next exec).
    dir: PrivateDir,
}

/// What the engine said about one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineReport {
    /// Its accounting at exit, in `sys._debugmallocstats()`'s layout.
    Stats(String),
    /// Why it could not serve the interpreter.
    Refused(String),
    /// It served the program, which ended without Python's normal shutdown (`os._exit`, a
    /// signal), so no accounting was written: how the program ended is its own outcome.
    Unreported,
}

impl EngineSite {
    /// Creates the directory and points `cmd` at it with the engine's geometry.
    pub fn prepare(cmd: &mut Command, geometry: Geometry) -> std::io::Result<EngineSite> {
        let lib = super::contender::built_library(ENGINE_LIBRARY)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e))?;
        let site = EngineSite {
            dir: PrivateDir::create("engine")?,
        };
        std::fs::write(
            site.dir.path().join("sitecustomize.py"),
            sitecustomize(SITECUSTOMIZE),
        )?;
        let mut pythonpath = OsString::from(site.dir.path());
        if let Some(orig) = std::env::var_os("PYTHONPATH") {
            pythonpath.push(":");
            pythonpath.push(&orig);
            cmd.env("PYBENCH_ORIG_PYTHONPATH", orig);
        }
        // Ours first; a preload the user already had stays after it.
        let mut preload = lib.as_os_str().to_os_string();
        if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
            preload.push(":");
            preload.push(existing);
        }
        cmd.env("PYTHONPATH", pythonpath)
            .env("LD_PRELOAD", preload)
            .env("PYBENCH_ENGINE_LIB", lib)
            .env(
                super::engine_module::GEOMETRY_VAR,
                format!(
                    "{},{},{}",
                    geometry.arena_size(),
                    geometry.pool_size(),
                    u8::from(geometry.keeps_spare_arena())
                ),
            )
            .env(super::engine_module::REPORT_DIR_VAR, site.dir.path());
        Ok(site)
    }

    /// What the engine said once the program has exited.
    ///
    /// Each Python process the engine serves writes `<its pid>.txt`. Only the report bearing
    /// the pid of the process pybench started used to be read, so behind a wrapper that
    /// forks the interpreter (`timeout 60 python3`, a shell script, a pyenv shim) the engine
    /// was called "not installed" although it had served the program. Every report in the
    /// run's private folder counts instead: several (a script running two interpreters, a
    /// `fork` whose child exits through Python's shutdown) are kept together in pid order,
    /// and a refusal by any of them fails the run, as the program must not run on another
    /// allocator than the one asked for.
    pub fn report(&self) -> EngineReport {
        combine(self.reports())
    }

    /// Every report in the folder, by pid.
    fn reports(&self) -> Vec<(u32, EngineReport)> {
        let Ok(dir) = std::fs::read_dir(self.dir.path()) else {
            return Vec::new();
        };
        let mut found: Vec<(u32, EngineReport)> = dir
            .filter_map(|e| {
                let path = e.ok()?.path();
                let pid = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".txt")?
                    .parse()
                    .ok()?;
                Some((pid, read_report(&path)))
            })
            .collect();
        found.sort_by_key(|(pid, _)| *pid);
        found
    }
}

/// One report for the run from those of its Python processes: none means the engine served
/// none; a refusal wins; a single one is itself; several are listed, each under its pid.
fn combine(reports: Vec<(u32, EngineReport)>) -> EngineReport {
    if let Some((_, refusal)) = reports
        .iter()
        .find(|(_, r)| matches!(r, EngineReport::Refused(_)))
    {
        return refusal.clone();
    }
    match reports.len() {
        0 => EngineReport::Refused(NOT_INSTALLED.to_string()),
        1 => reports.into_iter().next().expect("one").1,
        _ if reports.iter().all(|(_, r)| *r == EngineReport::Unreported) => {
            EngineReport::Unreported
        }
        n => {
            let parts: Vec<String> = reports
                .iter()
                .map(|(pid, r)| match r {
                    EngineReport::Stats(text) => format!("Python process {pid}:\n{text}"),
                    _ => format!("Python process {pid}: no accounting at exit"),
                })
                .collect();
            EngineReport::Stats(format!(
                "the engine served {n} Python processes\n{}",
                parts.join("\n")
            ))
        }
    }
}

/// Why a run's engine said nothing at all.
const NOT_INSTALLED: &str = "the pymalloc engine was not installed: the program is not a \
    CPython 3.8+ interpreter, or it did not import pybench's sitecustomize (-I, -E and -S \
    turn that off)";

/// What `engine_site.py` writes once the engine serves the process, before the program runs.
const UP: &str = "PBUP\n";

fn read_report(path: &Path) -> EngineReport {
    match std::fs::read_to_string(path) {
        Ok(text) if text == UP => EngineReport::Unreported,
        Ok(text) => match text.strip_prefix("PBERR ") {
            Some(reason) => EngineReport::Refused(format!(
                "the pymalloc engine cannot serve this interpreter: {}",
                reason.trim()
            )),
            None => match super::engine_raw::decode(&text) {
                Some((stats, counters)) => {
                    EngineReport::Stats(super::engine_raw::text(&stats, &counters))
                }
                None => EngineReport::Refused(format!(
                    "the pymalloc engine's report at exit is unreadable: {}",
                    text.lines().next().unwrap_or("empty")
                )),
            },
        },
        Err(_) => EngineReport::Refused(NOT_INSTALLED.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{combine, EngineReport};

    #[test]
    fn the_reports_of_several_python_processes_make_one() {
        let stats = |t: &str| EngineReport::Stats(t.to_string());
        let refused = EngineReport::Refused("no".to_string());
        assert!(matches!(combine(vec![]), EngineReport::Refused(r) if r.contains("not installed")));
        assert_eq!(combine(vec![(7, stats("a"))]), stats("a"));
        assert_eq!(
            combine(vec![(7, stats("a")), (9, refused.clone())]),
            refused
        );
        let both = vec![(7, stats("a")), (9, EngineReport::Unreported)];
        assert_eq!(
            combine(both),
            stats("the engine served 2 Python processes\nPython process 7:\na\nPython process 9: no accounting at exit")
        );
        let none = vec![(7, EngineReport::Unreported), (9, EngineReport::Unreported)];
        assert_eq!(combine(none), EngineReport::Unreported);
    }

    /// Python 2 refuses a source file with a non-ASCII byte and no coding line, so the
    /// "older than 3.8" message these files exist to give would never be printed there.
    #[test]
    fn the_generated_sitecustomize_files_are_ascii() {
        let hook = include_str!("../trace/hook/sitecustomize.py");
        for (name, text) in [
            ("exec's", super::sitecustomize(super::SITECUSTOMIZE)),
            ("record's", super::sitecustomize(hook)),
        ] {
            let bad = text.lines().position(|l| !l.is_ascii());
            assert_eq!(
                bad,
                None,
                "{name}: line {:?} is not ASCII",
                bad.map(|i| i + 1)
            );
            assert!(text.trim_end().ends_with("\n_pybench_chain()"), "{name}");
        }
    }
}
