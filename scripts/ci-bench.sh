#!/usr/bin/env bash
# CI performance gate: runs the quick suite (scripts/ci-suite.sh), compares it with the
# committed baseline in results/baseline/, prints the report (also appended to
# $GITHUB_STEP_SUMMARY when set) and exits with compare's code:
#   0 nothing regressed, 1 something regressed, 2 the runs cannot be compared.
#
# Usage: scripts/ci-bench.sh [pybench compare options, e.g. --threshold 10 --format csv]
# Environment: PYBENCH_BASELINE (default results/baseline), PYBENCH_CI_OUT (where the run is
# written, default target/ci-bench; emptied first, so it must be missing, empty or hold only
# runs this script wrote, folders named …-ci: any other is refused, exit 2), PYBENCH_BIN (a pybench binary
# instead of building one). Relative paths are read from the folder the script is started in.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/ci-suite.sh
help_if_asked "$@"
paths_from_caller PYBENCH_BASELINE PYBENCH_CI_OUT PYBENCH_BIN

baseline="${PYBENCH_BASELINE:-results/baseline}"
out="${PYBENCH_CI_OUT:-target/ci-bench}"
if [[ ! -f "$baseline/results.json" ]]; then
    echo "ci-bench: no baseline at $baseline/results.json (record one with scripts/update-baseline.sh)" >&2
    exit 2
fi
# The folder is emptied below: only when it holds nothing but earlier runs of this script.
if [[ -e "$out" ]] && { [[ ! -d "$out" ]] ||
    [[ -n "$(find "$out" -mindepth 1 -maxdepth 1 ! \( -type d -name '*-ci' \) -print -quit)" ]]; }; then
    die "PYBENCH_CI_OUT=$out holds more than earlier ci-bench runs, and would be emptied: give a new folder"
fi
bin="$(pybench_bin "${PYBENCH_BIN:-}")"
# The compare options, tried on the baseline against itself before the suite runs: a typo in
# them used to surface only after minutes of measuring. No step summary from the trial.
if ! trial="$(env -u GITHUB_STEP_SUMMARY "$bin" compare "$baseline" "$baseline" "$@" 2>&1 >/dev/null)"; then
    die "pybench compare refuses these options, so nothing was measured: $(tail -n 1 <<<"$trial")"
fi

rm -rf "$out"
mkdir -p "$out"
status=0
"$bin" run "${PYBENCH_SUITE[@]}" --label ci --out "$out" --quiet || status=$?
# 3 = some cells failed: compare lists them as missing (exit 2); anything else is fatal.
if [[ $status -ne 0 && $status -ne 3 ]]; then
    echo "ci-bench: pybench run failed (exit $status)" >&2
    exit 2
fi
run_dir="$(find "$out" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
echo "ci-bench: current run in $run_dir; plots: $run_dir/index.html" >&2

status=0
"$bin" compare "$baseline" "$run_dir" "$@" || status=$?
exit "$status"
