#!/usr/bin/env bash
# The stand-in study of README.md ("Synthetic stand-ins", issue 17): for every shipped trace,
# fit a stand-in (`gen --like`), score it with the realism report, and replay the trace and
# its stand-in in two independent `pybench run`s (A and B). The table compares the allocator
# rankings the stand-in gives with the trace's, next to the noise floor: the trace's run A
# against its own run B. Rankings by net throughput (ns/event net of `null`, per throughput
# process) and by peak RSS (per memory cell); raw Kendall tau-b over the medians, and tau
# over the pairs both sides find significant (scripts/standin-table.py says how).
#
#   scripts/standin-study.sh                   # 5 repetitions, seed 1, --fixed-layout
#   REPS=6 SEED=2 scripts/standin-study.sh
#   TRACES="compileall pip_list" EXTRA="" scripts/standin-study.sh   # a subset, ASLR on
#   ALSO="indep" scripts/standin-study.sh   # also replay OUT/indep_TRACE.pbt (e.g. stand-ins
#                                           # an older `gen --like` wrote) beside the trace
#
# Results and traces go to target/standin-study/ (OUT= to change); the table is printed
# and written to OUT/table.md. Prints the load average before and after each run: on a
# shared machine the figures are indicative. Settings are environment variables only (an
# argument is refused; `--help` prints this); REPS, SEED and ROUNDS must be whole numbers and
# TRACES names of shipped traces, else one line and exit 2 before anything runs. OUT and
# PYBENCH_BIN, relative, are read from the folder the script is started in. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
need python3
reps="$(whole_number REPS "${REPS:-5}")"
seed="$(whole_number SEED "${SEED:-1}" 0)"
rounds="$(whole_number ROUNDS "${ROUNDS:-10}")"
paths_from_caller OUT PYBENCH_BIN
also="${ALSO:-}"
extra="${EXTRA---fixed-layout}"
allocators="${ALLOCATORS:-pymalloc,system,jemalloc,mimalloc}"
traces="${TRACES:-$(ls workloads/traces/*.pbt | xargs -n1 basename | sed 's/\.pbt$//')}"
for name in $traces; do
    [[ -f "workloads/traces/$name.pbt" ]] || die "TRACES names $name, not a trace in workloads/traces/"
done
# A fresh plain release build unless told otherwise: the test command builds the same path
# with `--features checked`, whose engine verifies every free and slows pymalloc.
bin="$(pybench_bin "${PYBENCH_BIN:-}")"
out="${OUT:-target/standin-study}"
mkdir -p "$out"
(( reps >= 4 )) || echo "warning: with fewer than 4 repetitions no pair can be significant (Mann-Whitney, 0.05)" >&2
: > "$out/load.txt"
for name in $traces; do
    like="$out/like_$name.pbt"
    rm -f "$like"
    "$bin" gen --force --like "trace:$name" -o "$like" --seed "$seed" >/dev/null
    "$bin" stats "$like" --compare "trace:$name" --json > "$out/realism_$name.json"
    workloads="trace:$name,$like"
    for kind in $also; do
        "$bin" stats "$out/${kind}_$name.pbt" --compare "trace:$name" --json > "$out/realism_${kind}_$name.json"
        workloads="$workloads,$out/${kind}_$name.pbt"
    done
    for side in A B; do
        echo "$name $side before $(cat /proc/loadavg)" | tee -a "$out/load.txt" >&2
        rm -f "$out/${name}_$side.json"
        # shellcheck disable=SC2086
        "$bin" run -q --no-plots -a "$allocators" -r "$reps" --rounds "$rounds" --sample 16 $extra \
            -w "$workloads" --out "$out/runs" --label "${name}_$side" \
            --json "$out/${name}_$side.json"
        echo "$name $side after $(cat /proc/loadavg)" | tee -a "$out/load.txt" >&2
    done
done
KINDS="like $also" python3 scripts/standin-table.py "$out" $traces | tee "$out/table.md"
