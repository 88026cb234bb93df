#!/usr/bin/env bash
# Mutation fuzzing at length: the same campaign CI runs with a fixed seed and a few thousand
# inputs (tests/fuzz.rs), here with a fresh seed and as many inputs per file kind as asked.
#   scripts/fuzz.sh [INPUTS_PER_KIND] [SEED]      (default 100000, a random seed)
# Prints inputs, rate, accepted share and findings per kind; a finding (a panic or an input
# slower than 5 s) fails the run and is saved under target/tmp/fuzz-findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-100000}"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
PYBENCH_FUZZ_INPUTS="$inputs" PYBENCH_FUZZ_SEED="$seed" PYBENCH_FUZZ_SLOW_SECS=5 \
    cargo test --release --test fuzz -- --nocapture 2>&1 | grep -E '^(fuzz|finding)|test result'
