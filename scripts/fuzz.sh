#!/usr/bin/env bash
# Mutation fuzzing at length: the same campaign CI runs with a fixed seed and a few thousand
# inputs (tests/hostile/fuzz.rs), here with a fresh seed and as many inputs per file kind as asked.
#   scripts/fuzz.sh [INPUTS_PER_KIND] [SEED]      (default 100000, a random seed)
# Prints inputs, rate, accepted share and findings per kind; a panic fails the run, and so
# does a kind whose slowest input took longer than SLOW_SECS (default 5 s: a near-hang). Panics
# and each kind's slowest input are saved under target/tmp/fuzz-findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-100000}"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
slow="${SLOW_SECS:-5}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
PYBENCH_FUZZ_INPUTS="$inputs" PYBENCH_FUZZ_SEED="$seed" \
    cargo test --release --test hostile -- --nocapture fuzz:: >"$log" 2>&1 || status=$?
grep -E '^(fuzz|finding)|test result' "$log" || true
# The near-hang check lives here, on the campaign's own figures, not in the test.
if awk -v limit="$slow" '/ slowest: / { if ($7 + 0 > limit) { bad = 1; print "slow: " $0 } } END { exit !bad }' "$log"; then
    echo "an input took longer than ${slow} s: a near-hang finding" >&2
    status=1
fi
exit "$status"
