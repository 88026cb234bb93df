#!/usr/bin/env bash
# Does the mutator replay (`run --mutator`, issue 14 item 2) predict the real differences
# between allocators better than the plain hot loop? For each program: record it with
# `record --pace`, run it for real under each allocator (`exec`), replay its trace in both
# modes (`run`, `run --mutator`), and print per allocator its difference to pymalloc: observed
# (real wall time) and predicted by each mode (events × ns per event), with 95 % bootstrap
# intervals, and predicted ÷ observed. The issue's target: within ±25 % (0.75 – 1.25) for the
# significant pairs, where the plain loop misses by 2 – 10×.
#
# Two sets: CALIBRATE (the parameters were tuned on these) and CHECK (held out).
#
# Usage: scripts/mutator-calibrate.sh [REPEATS]      (default 5)
# Environment: PYTHON (CPython 3.8+ with shared libpython; default pyenv's 3.11.7, else
# python3), OUT (default target/mutator-calibrate), PYBENCH (a built binary), ALLOCATORS
# (exec names, default "pymalloc system jemalloc mimalloc"), PARAMS (one or more
# --mutator-params sets separated by spaces, e.g. "default alu=0": each replays the trace once
# more into its own column of the table, all against the same real runs; "default" is the
# built-in "recent=0.9,ring=16,alu=8"; default "default"), ROUNDS (throughput rounds per
# repetition, default 5), CALIBRATE / CHECK (program names below), PROGRAMS (only these).
# Re-run on a quiet machine: every figure printed on a loaded one is indicative only.
# REPEATS and ROUNDS must be positive whole numbers (else one line, exit 2, before anything
# runs); relative paths are read from the folder the script is started in. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
(($# <= 1)) || die "takes at most one argument, REPEATS, got '$*'"
need python3
repeats="$(whole_number REPEATS "${1:-5}")"
rounds="$(whole_number ROUNDS "${ROUNDS:-5}")"
commands_from_caller PYTHON
paths_from_caller OUT PYBENCH
PYTHON="${PYTHON:-$(default_python)}"
out="$(realpath -m "${OUT:-target/mutator-calibrate}")"
PYBENCH="$(pybench_bin "${PYBENCH:-}")"
mkdir -p "$out"
allocators="${ALLOCATORS:-pymalloc system jemalloc mimalloc}"
calibrate="${CALIBRATE:-alloc_heavy json.tool}"
check="${CHECK:-compileall ast_parse}"
param_sets="${PARAMS:-default}"
work="$out/inputs"
mkdir -p "$work"
py="$PYTHON"
pyver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# Inputs: a ~2 MB JSON document; a copy of a stdlib package to compile.
"$py" - "$work/doc.json" <<'PY'
import json, random, sys
random.seed(1)
doc = [{"id": i, "name": "user%d" % i, "tags": ["t%d" % random.randrange(50) for _ in range(5)],
        "score": random.random(), "nested": {"a": [i, i + 1], "b": None}} for i in range(15000)]
json.dump(doc, open(sys.argv[1], "w"))
PY
cat >"$work/ast_parse.py" <<'PY'
import ast, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.py")):
    ast.parse(open(f).read())
PY
stdlib="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
rm -rf "$work/email" && cp -r "$stdlib/email" "$work/email"

declare -A programs=(
    [alloc_heavy]="$py tests/fixtures/python/alloc_heavy.py"
    [json.tool]="$py -m json.tool $work/doc.json $work/out.json"
    [compileall]="$py -m compileall -q -f $work/email"
    [ast_parse]="$py $work/ast_parse.py $work/email"
)

# The replay's stand-in for each exec allocator (as `validate` pairs them).
replay_of() {
    case "$1" in
        pymalloc) echo "cpython:$pyver" ;;
        *) echo "$1" ;;
    esac
}
replays=""
for a in $allocators; do replays="$replays,$(replay_of "$a")"; done
replays="${replays#,}"
execs="$(echo "$allocators" | tr ' ' ',')"

echo "load average at start: $(cat /proc/loadavg)"
for set in calibrate check; do
    names="${!set}"
    [ -n "${PROGRAMS:-}" ] && names="$(for n in $names; do case " $PROGRAMS " in *" $n "*) echo "$n" ;; esac; done)"
    for name in $names; do
        p="${programs[$name]}"
        d="$out/$name"
        rm -rf "$d" && mkdir -p "$d"
        echo "=== [$set] $name"
        # shellcheck disable=SC2086
        eval "\"$PYBENCH\" record -q --force --pace --name \"$name\" -o \"$d/trace.pbt\" -- $p" >/dev/null
        # shellcheck disable=SC2086
        eval "\"$PYBENCH\" exec -q --no-plots -r \"$repeats\" -a \"$execs\" --out \"$d/exec\" -- $p" >/dev/null
        "$PYBENCH" run -q --no-plots -r "$repeats" --rounds "$rounds" --timeout 7200 -a "$replays" \
            --trace "$d/trace.pbt" --out "$d/plain" >/dev/null
        for set_params in $param_sets; do
            params=(--mutator)
            dir="$d/mutator"
            if [ "$set_params" != default ]; then
                params=(--mutator-params "$set_params")
                dir="$d/mutator-$set_params"
            fi
            "$PYBENCH" run -q --no-plots -r "$repeats" --rounds "$rounds" --timeout 7200 \
                -a "$replays" "${params[@]}" --trace "$d/trace.pbt" --out "$dir" >/dev/null
        done
        python3 scripts/mutator-table.py "$d" "$pyver" $allocators
    done
done
echo "load average at end: $(cat /proc/loadavg)"
