#!/usr/bin/env bash
# Records the reference set the built-in workloads are calibrated against (README.md,
# "Calibrated built-ins"): the shipped stdlib traces (workloads/traces/, re-recorded by
# scripts/record-traces.sh) plus a few pyperformance benchmarks, installed from PyPI into a
# virtual environment this script creates, each recorded in-process for one value.
#
#   scripts/record-reference.sh                 # pyenv's 3.11.7, or python3 from PATH
#   PYTHON=/path/to/python3.X scripts/record-reference.sh
#
# Writes target/reference/*.pbt (generated on demand, not committed: ~350 KB each), then
# prints the realism report of every built-in against the whole set.
# Settings are environment variables only: an argument is refused (`--help` prints this).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
commands_from_caller PYTHON

if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if command -v pyenv >/dev/null && [ -x "$(pyenv root)/versions/3.11.7/bin/python3" ]; then
        PYTHON="$(pyenv root)/versions/3.11.7/bin/python3"
    fi
fi
PYPERFORMANCE=${PYPERFORMANCE:-1.11.0}
BENCHMARKS=${BENCHMARKS:-"deltablue raytrace json_dumps gc_collect"}
OUT=target/reference
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
PYBENCH=$(realpath "$CARGO_TARGET_DIR/release/pybench")
mkdir -p "$OUT"
VENV="$OUT/venv"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q "pyperformance==$PYPERFORMANCE"
fi
BENCH_DIR=$("$VENV/bin/python" -c 'import os, pyperformance; print(os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks"))')

for b in $BENCHMARKS; do
    echo "== pyperf_$b" >&2
    # --debug-single-value: one value, no warm-up, in this process (pyperf spawns no
    # workers), so the recording holds the benchmark itself.
    "$PYBENCH" record -q --force --name "pyperf_$b" -o "$OUT/pyperf_$b.pbt" -- \
        "$VENV/bin/python" "$BENCH_DIR/bm_$b/run_benchmark.py" --debug-single-value >/dev/null
done

REFS=()
for t in workloads/traces/*.pbt "$OUT"/pyperf_*.pbt; do
    REFS+=("$t")
done
for w in $("$PYBENCH" list workloads 2>/dev/null | awk 'NR > 1 && $3 ~ /^[0-9]+$/ {print $1}'); do
    "$PYBENCH" stats --workload "$w" --compare "${REFS[@]}" --figures "${FIGURES:-}" | tail -1 |
        awk -v w="$w" '{print w, "mean score", $2}'
done
