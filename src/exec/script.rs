//! The script a Python command line runs, so `record`, `exec` and `validate` can refuse one
//! that does not exist before starting anything: the interpreter would start, print "can't
//! open file", and exit with status 2 — after its start-up, whose allocations `record` kept
//! as a trace of the program, and whose few milliseconds `exec` would have timed.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Whether `program` names a CPython interpreter by its file name: `python`, `python3`,
/// `python3.11`, with an ABI suffix (`python3.13t`, `python3.11d`).
pub fn is_python(program: &OsStr) -> bool {
    let name = Path::new(program)
        .file_name()
        .unwrap_or_default()
        .as_bytes();
    let Some(version) = name.strip_prefix(b"python") else {
        return false;
    };
    let version = version
        .strip_suffix(b"t")
        .or_else(|| version.strip_suffix(b"d"))
        .unwrap_or(version);
    version.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

/// Options of CPython 3.8 – 3.13 that take a value (in the same argument or the next one).
const WITH_VALUE: &[u8] = b"WX";
/// Options that take none.
const FLAGS: &[u8] = b"bBdEiIOPqRsSuvx";
/// Options after which the interpreter runs no file: code (`-c`), a module (`-m`), or it only
/// prints (`-h`, `-?`, `-V`).
const NO_SCRIPT: &[u8] = b"cmh?V";

/// The script the interpreter's arguments `args` (after the interpreter itself) name: the first
/// argument that is neither an option nor an option's value. `None` when they run no file
/// (`-c`, `-m`, `-` for standard input, no argument: the prompt), or hold an option this does
/// not know, so what follows cannot be told.
pub fn script_of<S: AsRef<OsStr>>(args: &[S]) -> Option<&OsStr> {
    let mut args = args.iter().map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        match bytes {
            b"-" => return None,
            b"--" => return args.next().filter(|a| a.as_bytes() != b"-"),
            b"--check-hash-based-pycs" => {
                args.next()?;
                continue;
            }
            [b'-', b'-', ..] => return None,
            [b'-', short @ ..] => {
                for (i, c) in short.iter().enumerate() {
                    if NO_SCRIPT.contains(c) {
                        return None;
                    }
                    if WITH_VALUE.contains(c) {
                        if i + 1 == short.len() {
                            args.next()?;
                        }
                        break;
                    }
                    if !FLAGS.contains(c) {
                        return None;
                    }
                }
            }
            _ => return Some(arg),
        }
    }
    None
}

/// Why `program` would stop before running anything: it is a Python interpreter whose script
/// does not exist. `None` for any other command, and whenever it cannot be told.
pub fn missing_script<S: AsRef<OsStr>>(program: &[S]) -> Option<String> {
    let (interpreter, args) = program.split_first()?;
    let interpreter = interpreter.as_ref();
    if !is_python(interpreter) {
        return None;
    }
    let script = script_of(args)?;
    let missing =
        std::fs::metadata(script).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    missing.then(|| {
        format!(
            "the script {} does not exist, so {} would exit with status 2 before running anything",
            Path::new(script).display(),
            Path::new(interpreter).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreters_are_told_by_their_file_name() {
        for yes in [
            "python",
            "python3",
            "/usr/bin/python3.11",
            "python3.13t",
            "python3.11d",
        ] {
            assert!(is_python(OsStr::new(yes)), "{yes}");
        }
        for no in [
            "pypy3",
            "python-config",
            "sh",
            "/opt/python3/bin/env",
            "ipython",
        ] {
            assert!(!is_python(OsStr::new(no)), "{no}");
        }
    }

    #[test]
    fn the_script_is_the_first_argument_that_is_no_option() {
        let s = |args: &[&str]| script_of(args).map(|a| a.to_str().unwrap().to_string());
        assert_eq!(s(&["app.py", "-c", "x"]), Some("app.py".into()));
        assert_eq!(s(&["-u", "-O", "app.py"]), Some("app.py".into()));
        assert_eq!(s(&["-Bu", "app.py"]), Some("app.py".into()));
        // An option's value is not the script, in the same argument or the next.
        assert_eq!(s(&["-W", "ignore", "app.py"]), Some("app.py".into()));
        assert_eq!(
            s(&["-Wignore", "-X", "dev", "app.py"]),
            Some("app.py".into())
        );
        assert_eq!(
            s(&["--check-hash-based-pycs", "never", "app.py"]),
            Some("app.py".into())
        );
        assert_eq!(s(&["--", "-odd.py"]), Some("-odd.py".into()));
        // No file: code, a module, standard input, the prompt, help.
        for none in [
            &["-c", "pass"][..],
            &["-Ic", "pass"],
            &["-m", "json.tool", "x.py"],
            &["-", "x.py"],
            &[],
            &["-V", "x.py"],
            &["--help"],
            // Options it does not know: it cannot tell.
            &["-Z", "x.py"],
            &["--new-option", "x.py"],
        ] {
            assert_eq!(s(none), None, "{none:?}");
        }
    }

    #[test]
    fn only_a_missing_script_of_an_interpreter_is_reported() {
        let missing = "/nonexistent-pybench-dir/app.py";
        let why = missing_script(&["python3", "-u", missing]).unwrap();
        assert_eq!(
            why,
            format!(
                "the script {missing} does not exist, so python3 would exit with status 2 \
                 before running anything"
            )
        );
        // A script that exists, code, another program's arguments.
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(missing_script(&["python3", here]), None);
        assert_eq!(missing_script(&["python3", "-c", missing]), None);
        assert_eq!(missing_script(&["sh", missing]), None);
        assert_eq!(missing_script::<&str>(&[]), None);
    }
}
