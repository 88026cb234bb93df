#!/usr/bin/env bash
# Mutation fuzzing at length: the same campaign CI runs with a fixed seed and a few thousand
# inputs (tests/hostile/fuzz.rs), here with a fresh seed and as many inputs per file kind as asked.
#   scripts/fuzz.sh [INPUTS_PER_KIND] [SEED]      (default 100000, a random seed)
# Prints inputs, rate, accepted share and findings per kind; a panic fails the run, and so
# does a kind whose slowest input took longer than SLOW_SECS (default 5 s: a near-hang). Panics
# and each kind's slowest input are saved under target/tmp/fuzz-findings/. INPUTS_PER_KIND and
# SEED must be whole numbers and SLOW_SECS a number (anything else is refused, exit 2: the test
# would fall back to CI's small campaign and seed without a word). When the tests do not build or end
# without a result, the log's last lines are shown.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
(($# <= 2)) || die "takes at most two arguments, INPUTS_PER_KIND and SEED, got '$*'"
inputs="$(whole_number INPUTS_PER_KIND "${1:-100000}")"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
# A u64: at most 20 digits, and below 2^64 when 20.
[[ "$seed" =~ ^[0-9]{1,20}$ ]] && { ((${#seed} < 20)) || [[ "$seed" < 18446744073709551616 ]]; } ||
    die "SEED=$seed is not a whole number below 2^64"
slow="${SLOW_SECS:-5}"
[[ "$slow" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SLOW_SECS=$slow is not a number of seconds"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
PYBENCH_FUZZ_INPUTS="$inputs" PYBENCH_FUZZ_SEED="$seed" \
    cargo test --release --test hostile -- --nocapture fuzz:: >"$log" 2>&1 || status=$?
grep -E '^(fuzz|finding)|test result' "$log" || true
if ! grep -q 'test result' "$log"; then
    # No campaign ran to its end (a build error, a crash): what the log says, not silence.
    tail -n 30 "$log" >&2
    die "the fuzz tests did not run to a result (exit $status)"
fi
# The near-hang check lives here, on the campaign's own figures, not in the test.
if awk -v limit="$slow" '/ slowest: / { if ($7 + 0 > limit) { bad = 1; print "slow: " $0 } } END { exit !bad }' "$log"; then
    echo "an input took longer than ${slow} s: a near-hang finding" >&2
    status=1
fi
exit "$status"
