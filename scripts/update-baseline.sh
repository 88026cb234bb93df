#!/usr/bin/env bash
# Re-records results/baseline/ with the quick suite of scripts/ci-suite.sh. Run it on the
# machine CI runs on (timing figures only compare well on the machine that recorded them),
# after a change that is meant to move the figures, and commit results/baseline/.
#
# Usage: scripts/update-baseline.sh   (no arguments; PYBENCH_BIN: a pybench binary instead of
# building one, a relative path read from the folder the script is started in)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/ci-suite.sh
no_arguments "$@"
paths_from_caller PYBENCH_BIN

bin="$(pybench_bin "${PYBENCH_BIN:-}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" run "${PYBENCH_SUITE[@]}" --label baseline --out "$tmp" --quiet --no-plots
run_dir="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)"

mkdir -p results/baseline
for f in results.json results.csv summary.md; do
    cp "$run_dir/$f" "results/baseline/$f"
done
echo "baseline recorded in results/baseline/ from $(basename "$run_dir");" \
    "commit it: git add results/baseline" >&2
