#!/usr/bin/env bash
# Recording overhead (issue 15, item 5): wall time of a real program untraced, recorded
# (conversion while it runs) and recorded with --defer (conversion after it exits),
# alternated round by round so drift hits all three alike. Prints each round's ratios to the
# untraced run of the same round, then medians with their range, and the load average.
#
#   scripts/record-overhead.sh                 # 5 rounds, python3 from PATH
#   ROUNDS=7 PYTHON=/path/to/python3 scripts/record-overhead.sh
#   BUSY=1 scripts/record-overhead.sh          # with a busy loop on another core throughout
#   PYBENCH_BIN=/tmp/pb scripts/record-overhead.sh   # a copied binary (no build)
#
# The program is `python -m json.tool` on a generated 3.5 MB document (~4.4 M allocator
# events on 3.11). Wall time is the program's, as `record` reports it (conversion after exit
# is not in it; it is printed apart as the command's total).
# Settings are environment variables only (`--help` prints this); ROUNDS must be a positive
# whole number. Needs bc. A recording that fails stops the script with its error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
need bc
ROUNDS=$(whole_number ROUNDS "${ROUNDS:-5}")
commands_from_caller PYTHON
paths_from_caller PYBENCH_BIN
PYTHON=$(real_python "${PYTHON:-python3}")
command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON is not an interpreter found here"
PB=$(pybench_bin "${PYBENCH_BIN:-}")
WORK=$(mktemp -d)
BUSY_PID=
cleanup() {
    [ -n "$BUSY_PID" ] && kill "$BUSY_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

json_doc "$WORK/doc.json" 24000

if [ -n "${BUSY:-}" ]; then
    # A spinning process keeps one core busy, as another user's job would.
    "$PYTHON" -c 'while True: pass' &
    BUSY_PID=$!
fi

now() { date +%s.%N; }
# The program's wall time as `record` reports it (options in "$@"); a recording that fails, or
# whose report has no wall time, stops the script with its error instead of an empty figure.
recorded_secs() {
    local err="$WORK/record.err" secs
    if ! "$PB" record --force "$@" -- "$PYTHON" -m json.tool "$WORK/doc.json" >/dev/null 2>"$err"; then
        tail -n 5 "$err" >&2
        die "pybench record $* failed: no figures"
    fi
    secs=$(sed -n 's/.* events in \([0-9.]*\) s to .*/\1/p' "$err")
    [[ -n "$secs" ]] || { cat "$err" >&2; die "pybench record's report gives no wall time"; }
    echo "$secs"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  busy core: $([ -n "${BUSY:-}" ] && echo yes || echo no)  rounds: $ROUNDS"
printf '%-6s %10s %10s %10s %8s %8s %12s\n' round untraced recorded deferred rec/un def/un "def total"
: >"$WORK/rows"
for r in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    "$PYTHON" -m json.tool "$WORK/doc.json" >/dev/null
    t1=$(now)
    rec=$(recorded_secs -o "$WORK/a.pbt")
    t2=$(now)
    def=$(recorded_secs --defer -o "$WORK/b.pbt")
    t3=$(now)
    un=$(echo "$t1 - $t0" | bc -l)
    total=$(echo "$t3 - $t2" | bc -l)
    printf '%s %s %s %s\n' "$un" "$rec" "$def" "$total" >>"$WORK/rows"
    printf '%-6s %9.2fs %9.2fs %9.2fs %7.2fx %7.2fx %11.2fs\n' "$r" "$un" "$rec" "$def" \
        "$(echo "$rec / $un" | bc -l)" "$(echo "$def / $un" | bc -l)" "$total"
done
"$PYTHON" - "$WORK/rows" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def show(name, xs):
    print("%-22s median %.2fx  range %.2f - %.2fx" % (name, statistics.median(xs), min(xs), max(xs)))
show("recorded / untraced", [r[1] / r[0] for r in rows])
show("deferred / untraced", [r[2] / r[0] for r in rows])
show("deferred total / un.", [r[3] / r[0] for r in rows])
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
