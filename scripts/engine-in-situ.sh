#!/usr/bin/env bash
# pybench's engine inside real programs (`pybench exec -a pymalloc:PRESET`):
#   1. fidelity and overhead: the engine preset of the interpreter's version against the
#      interpreter's own pymalloc, interleaved, on pyperformance benchmarks (wall time: target
#      within 5 %; peak RSS: target within ±2 %);
#   2. what-if: other geometries on the same programs (3.8's 256 KiB arenas / 4 KiB pools,
#      3.10's 1 MiB / 16 KiB, and larger).
# Uses the venv of scripts/validate-study.sh (created if missing). docs/ground-truth.md's "The engine inside
# a real interpreter" tables (README keeps their figures) come from this script; results stay in $OUT.
#
# Usage: scripts/engine-in-situ.sh [REPEATS]   (default 7; a positive whole number)
# Environment: OUT (default target/engine-in-situ), STUDY_OUT (the validation study's folder,
# default target/validate-study), PYBENCH (a built binary), PYBENCH_LIB_DIR (a built engine
# library's folder), PYTHON (for a new venv); relative paths are read from the folder the
# script is started in. Needs python3. A program whose `exec` fails is named, and left out of
# the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
(($# <= 1)) || die "takes at most one argument, REPEATS, got '$*'"
need python3
repeats="$(whole_number REPEATS "${1:-7}")"
commands_from_caller PYTHON
paths_from_caller OUT STUDY_OUT PYBENCH PYBENCH_LIB_DIR
out="$(realpath -m "${OUT:-target/engine-in-situ}")"
study="$(realpath -m "${STUDY_OUT:-target/validate-study}")"
PYBENCH="$(pybench_bin "${PYBENCH:-}")"
mkdir -p "$out"
# The test command (`--features checked`) writes libpybench_engine.so with the engine's misuse
# checks to the same file as `cargo build --release`, and a later plain build may keep it: the
# library measured here is built on its own, without them.
if [ -z "${PYBENCH_LIB_DIR:-}" ]; then
    cargo build --release --quiet -p pybench-engine --target-dir target/engine-in-situ-build
    export PYBENCH_LIB_DIR="$PWD/target/engine-in-situ-build/release"
fi
venv="$study/venv"
if [ ! -x "$venv/bin/python" ]; then
    PYTHON="${PYTHON:-$(ls -d "$(pyenv root 2>/dev/null)"/versions/3.11*/bin/python3.11 2>/dev/null | tail -1)}"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q "pyperformance==1.14.0"
fi
py="$venv/bin/python"
bm="$("$py" -c 'import pyperformance, os; print(os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks"))')"
preset="pymalloc:cpython-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# This invocation's runs are the results newer than this mark: runs an earlier invocation
# left in the same folders are not tabled as this one's (when this one's exec fails, say).
started="$(mktemp)"
trap 'rm -f "$started"' EXIT
echo "load average at start: $(cat /proc/loadavg)"
for b in deltablue:2 json_dumps:2 go:1; do
    name="${b%%:*}"; n="${b##*:}"
    prog=("$py" "$bm/bm_$name/run_benchmark.py" --worker -l 1 -n "$n" -w 0 -q)
    echo "=== fidelity: $name"
    "$PYBENCH" exec -r "$repeats" -q --no-plots --out "$out/fidelity-$name" \
        -a "pymalloc,$preset" -- "${prog[@]}" || echo "(exec exited with $?: $name's fidelity is left out)"
    echo "=== what-if: $name"
    "$PYBENCH" exec -r "$repeats" -q --no-plots --out "$out/whatif-$name" \
        -a "pymalloc:cpython-3.8,pymalloc:cpython-3.10,pymalloc:arena=4M,pool=64K,pymalloc:arena=16M,pool=256K" \
        -- "${prog[@]}" || echo "(exec exited with $?: $name's what-if is left out)"
done
echo "load average at end: $(cat /proc/loadavg)"
mapfile -t runs < <(find "$out"/fidelity-* "$out"/whatif-* -name results.json -newer "$started" 2>/dev/null | LC_ALL=C sort)
((${#runs[@]} > 0)) || die "no exec run of this invocation wrote results: no tables"
python3 scripts/engine-in-situ-table.py "${runs[@]}"
