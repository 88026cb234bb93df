//! A measured program that replaces itself (`os.execv`, `os.execve`, by path or by
//! descriptor) keeps its allocator: the preload puts itself back for an exec by the measured
//! process (the same pid, which pybench goes on measuring), where until 2026-12-07 the new
//! image ran under glibc while the results named the allocator. Its children still run
//! without it.

use crate::common::{self, have_python, quick_exec, tempdir};

/// Writes `first-<preload>` from the first image, then re-execs itself the way `argv[2]`
/// says; the second image writes `<way>-<preload>` holding its `LD_PRELOAD` and, after a
/// `|`, the `LD_PRELOAD` a child of it sees.
const REEXEC: &str = r#"
import os, subprocess, sys
def serving():
    maps = [l.split()[-1] for l in open("/proc/self/maps") if "libpybench_preload_" in l]
    return maps[0].rsplit("libpybench_preload_", 1)[1].split(".so")[0] if maps else "none"
out, way = sys.argv[1], sys.argv[2]
again = [sys.executable, __file__, out, way, "again"]
if len(sys.argv) == 3:
    open("%s/first-%s" % (out, serving()), "w").close()
    if way == "execv":
        os.execv(sys.executable, again)
    elif way == "execve-empty-env":
        os.execve(sys.executable, again, {})
    else:
        fd = os.open(sys.executable, os.O_RDONLY)
        os.execve(fd, again, dict(os.environ))
child = subprocess.run(["sh", "-c", 'printf %s "$LD_PRELOAD"'], capture_output=True, text=True)
text = os.environ.get("LD_PRELOAD", "") + "|" + child.stdout
open("%s/%s-%s" % (out, way, serving()), "w").write(text)
"#;

#[test]
fn a_program_that_replaces_itself_keeps_its_allocator_and_its_children_do_not_get_it() {
    if !have_python() {
        return;
    }
    let tmp = tempdir("reexec");
    let script = tmp.join("reexec.py");
    std::fs::write(&script, REEXEC).unwrap();
    let ways = ["execv", "execve-empty-env", "execve-fd"];
    for way in ways {
        quick_exec("jemalloc,mimalloc", &tmp.join(format!("out-{way}")))
            .args(["--", "python3"])
            .arg(&script)
            .arg(&tmp)
            .arg(way)
            .env_remove("LD_PRELOAD")
            .assert()
            .success();
    }
    for name in ["jemalloc", "mimalloc"] {
        for way in ways {
            assert!(
                tmp.join(format!("first-{name}")).exists(),
                "{name} before the exec"
            );
            let after = tmp.join(format!("{way}-{name}"));
            let env = std::fs::read_to_string(&after).unwrap_or_else(|_| {
                panic!("{way}: the image after the exec was not served by {name}")
            });
            // Scoped again in the new image: its environment and its child's hold no preload.
            assert_eq!(env, "|", "{way} under {name}");
        }
    }
    let stray: Vec<_> = (common::entries(&tmp).into_iter())
        .filter(|n| n.ends_with("-none"))
        .collect();
    assert!(stray.is_empty(), "images served by no preload: {stray:?}");
}
