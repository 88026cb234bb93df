#!/usr/bin/env bash
# Sweep wall time, serial (--jobs 1) against parallel (one thread per core): RUNS pairs, the
# two orders alternating so that a change in the machine's load hits both alike. Prints each
# pair's ratio, the median ratio with its min–max spread, and the load average before and
# after. Pure accounting, so parallel cells are sound; on a shared machine call the figures
# indicative when the load average is above the number of cores.
#
# Usage: scripts/bench-sweep.sh [pybench sweep arguments; default: the shipped traces with
#        the default grid]
# Environment: RUNS (default 5), PYBENCH_BIN (a pybench binary instead of building one; a
# relative path is read from the folder the script is started in).
# Needs: bc. A sweep that fails stops the script (exit 2) with its error: no time is printed
# for it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
need bc
runs="$(whole_number RUNS "${RUNS:-5}")"
paths_from_caller PYBENCH_BIN
bin="$(pybench_bin "${PYBENCH_BIN:-}")"
args=("$@")

# The wall time of one sweep; a sweep that fails stops the script (a command substitution
# does not inherit `set -e`, so its status is returned by hand).
secs() {
    local t0 t1 status=0
    t0=$(date +%s.%N)
    "$bin" sweep -q "${args[@]}" "$@" >/dev/null || status=$?
    t1=$(date +%s.%N)
    ((status == 0)) || die "pybench sweep $* failed (exit $status): no figures"
    echo "$t1 - $t0" | bc -l
}

echo "cores: $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for i in $(seq 1 "$runs"); do
    if (( i % 2 )); then
        s=$(secs --jobs 1); p=$(secs)
    else
        p=$(secs); s=$(secs --jobs 1)
    fi
    r=$(echo "$s / $p" | bc -l)
    ratios+=("$r")
    printf 'run %d: serial %.2f s, parallel %.2f s, serial/parallel %.2f\n' "$i" "$s" "$p" "$r"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -g)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
printf 'serial/parallel: median %.2f, min %.2f, max %.2f over %d runs\n' \
    "$median" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" "$runs"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
