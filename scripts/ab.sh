#!/usr/bin/env bash
# An A/B comparison of two pybench builds that holds still on a shared host (issue 12): the
# same `pybench run` measured with both binaries, interleaved in time shard by shard (shard k
# of the baseline and of the candidate, each first in every other pair, then shard k + 1),
# each side's shards merged, then `pybench compare` of the two. On a VM whose neighbours take the shared L3 from one minute
# to the next, two runs made back to back each sample their own minutes and spread ±4.6 –
# 11.1 %; interleaved, the same runs agreed within ±3.5 % (README "Stability", attempt 42).
#
#   BASE=/path/to/old/pybench scripts/ab.sh -w dicts,json -a pymalloc,system
#   BASE=old NEW=new SHARDS=10 OUT=/tmp/ab scripts/ab.sh -w dicts      # keep both runs
#   BASE=old scripts/ab.sh -w dicts -- --relative-to pymalloc          # options after -- go to compare
#
# BASE: the baseline binary (required). NEW: the candidate (default: a fresh plain release
# build of this checkout). SHARDS: how many slices each run is cut into (default 10; at most
# the run's (workload, repetition) groups). OUT: keep the runs in a new folder inside it
# (default: a temporary folder, removed). Paths are read from the folder the script is started
# in. Everything before `--` is given to both runs, the rest to compare. Exit status: compare's
# (0 nothing regressed, 1 a regression, 2 bad input), or 2 when a binary is missing or a run
# fails. `scripts/ab.sh --help` prints this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
paths_from_caller BASE NEW OUT

[[ -n "${BASE:-}" ]] || die "set BASE to the baseline pybench binary"
[[ -f "$BASE" && -x "$BASE" ]] || die "BASE=$BASE is not an executable file"
base="$(realpath "$BASE")"
if [[ -n "${NEW:-}" ]]; then
    [[ -f "$NEW" && -x "$NEW" ]] || die "NEW=$NEW is not an executable file"
fi
shards="$(whole_number SHARDS "${SHARDS:-10}")"
new="$(pybench_bin "${NEW:-}")"

run_args=() compare_args=()
while (( $# > 0 )); do
    if [[ "$1" == "--" ]]; then
        shift
        compare_args=("$@")
        break
    fi
    run_args+=("$1")
    shift
done

if [[ -n "${OUT:-}" ]]; then
    out="$OUT/ab-$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$out"
    echo "runs kept in $out" >&2
else
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
fi
echo "load before: $(cat /proc/loadavg)" >&2
mkdir -p "$out/.parts/logs"
for k in $(seq 1 "$shards"); do
    # A B, then B A: whichever side goes second in a pair (after the other's pages and cache)
    # goes first in the next, so an order effect cancels instead of favouring one build.
    sides=(base new)
    (( k % 2 == 0 )) && sides=(new base)
    for side in "${sides[@]}"; do
        bin="$base"
        [[ "$side" == new ]] && bin="$new"
        echo "shard $k/$shards: $side" >&2
        # Each shard's warnings (wide intervals over its few processes, the host's cache) would
        # repeat 2 × SHARDS times; they are kept in a log and shown when the shard fails.
        log="$out/.parts/logs/$side-k$k.txt"
        if ! "$bin" run "${run_args[@]}" --quiet --no-plots --out "$out/.parts/$side" \
            --label "$side-k$k" --shard "$k/$shards" 2>"$log"; then
            cat "$log" >&2
            die "the $side run's shard $k/$shards failed"
        fi
    done
done
for side in base new; do
    "$new" merge --quiet --no-plots -o "$out/$side" "$out/.parts/$side"/* \
        || die "cannot merge the $side run's shards"
done
echo "load after:  $(cat /proc/loadavg)" >&2
status=0
"$new" compare "$out/base" "$out/new" "${compare_args[@]}" || status=$?
exit "$status"
