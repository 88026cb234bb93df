#!/usr/bin/env bash
# pybench's engine inside real programs (`pybench exec -a pymalloc:PRESET`):
#   1. fidelity and overhead: the engine preset of the interpreter's version against the
#      interpreter's own pymalloc, interleaved, on pyperformance benchmarks (wall time: target
#      within 5 %; peak RSS: target within ±2 %);
#   2. what-if: other geometries on the same programs (3.8's 256 KiB arenas / 4 KiB pools,
#      3.10's 1 MiB / 16 KiB, and larger).
# Uses the venv of scripts/validate-study.sh (created if missing). README's "The engine inside
# a real interpreter" tables come from this script; results stay in $OUT.
#
# Usage: scripts/engine-in-situ.sh [REPEATS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-7}"
out="$(realpath -m "${OUT:-target/engine-in-situ}")"
study="$(realpath -m "${STUDY_OUT:-target/validate-study}")"
mkdir -p "$out"
if [ -z "${PYBENCH:-}" ]; then
    cargo build --release --quiet
    PYBENCH="${CARGO_TARGET_DIR:-target}/release/pybench"
fi
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
echo "load average at start: $(cat /proc/loadavg)"
for b in deltablue:2 json_dumps:2 go:1; do
    name="${b%%:*}"; n="${b##*:}"
    prog=("$py" "$bm/bm_$name/run_benchmark.py" --worker -l 1 -n "$n" -w 0 -q)
    echo "=== fidelity: $name"
    "$PYBENCH" exec -r "$repeats" -q --no-plots --out "$out/fidelity-$name" \
        -a "pymalloc,$preset" -- "${prog[@]}" || true
    echo "=== what-if: $name"
    "$PYBENCH" exec -r "$repeats" -q --no-plots --out "$out/whatif-$name" \
        -a "pymalloc:cpython-3.8,pymalloc:cpython-3.10,pymalloc:arena=4M,pool=64K,pymalloc:arena=16M,pool=256K" \
        -- "${prog[@]}" || true
done
echo "load average at end: $(cat /proc/loadavg)"
python3 scripts/engine-in-situ-table.py "$out"/fidelity-* "$out"/whatif-*
