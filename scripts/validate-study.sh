#!/usr/bin/env bash
# The validation study: `pybench validate` on real programs no one here wrote (benchmarks of
# pyperformance, installed from PyPI into a virtual environment this script creates) and on
# three programs that use only the standard library. Prints, per program, the rank agreement
# between replay and real runs; README's "Does the replay predict the real program?" table (and
# docs/ground-truth.md's per program) come from this script. Every run's results stay in $OUT (one directory per program), and at
# the end this study's results.json files are packed into $OUT/study-TIMESTAMP.tar.zst, small
# enough (~80 kB a program) to keep beside the README's table, so a later change of analysis
# can re-judge the study without measuring it again (examples/revalidate.rs).
#
# Usage: scripts/validate-study.sh [REPEATS]   (default 5: the 95 % intervals need five)
# Environment: PYTHON (a CPython 3.8+ with shared libpython; default pyenv's 3.11, else
# python3), OUT (default target/validate-study), PYBENCH (a built binary to use instead of
# building), PROGRAMS (space-separated subset of the names below).
# Relative paths are read from the folder the script is started in. REPEATS must be a positive
# whole number and PROGRAMS names from the list below (else one line, exit 2, before
# anything is installed). Needs python3 and zstd (to pack the results).
# Slow on a shared 2-core machine: ~2 – 4 minutes per program at 5 repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
help_if_asked "$@"
(($# <= 1)) || die "takes at most one argument, REPEATS, got '$*'"
need python3 zstd
repeats="$(whole_number REPEATS "${1:-5}")"
commands_from_caller PYTHON
paths_from_caller OUT PYBENCH
PYTHON="${PYTHON:-$(default_python)}"
out="$(realpath -m "${OUT:-target/validate-study}")"
PYBENCH="$(pybench_bin "${PYBENCH:-}")"
known=" deltablue richards go json_dumps chaos raytrace float deepcopy nqueens json.tool compileall alloc_heavy "
for name in ${PROGRAMS:-}; do
    [[ "$known" == *" $name "* ]] || die "PROGRAMS names $name, which is not one of:$known"
done
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
touch "$work/started"

# The benchmarks' own environment, as pyperformance makes it: a venv with pyperformance (and
# pyperf) from PyPI. Reused between runs of this script.
venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv with pyperformance from PyPI …" >&2
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q "pyperformance==1.14.0"
fi
py="$venv/bin/python"
bm="$("$py" -c 'import pyperformance, os; print(os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks"))')"

# Stdlib program inputs: json.tool on a generated ~8 MB document; compileall on a fresh copy
# of a stdlib package (forced, so every module is compiled).
"$py" - "$work/doc.json" <<'PY'
import json, random, sys
random.seed(1)
doc = [{"id": i, "name": "user%d" % i, "tags": ["t%d" % random.randrange(50) for _ in range(5)],
        "score": random.random(), "nested": {"a": [i, i + 1], "b": None}} for i in range(60000)]
json.dump(doc, open(sys.argv[1], "w"))
PY
stdlib="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
cp -r "$stdlib/email" "$work/email"

# One process, a fixed amount of work: pyperf's worker mode, one loop, N values, no warmup.
worker() { echo "$py $bm/bm_$1/run_benchmark.py --worker -l 1 -n $2 -w 0 -q"; }
declare -A programs=(
    [deltablue]="$(worker deltablue 2)"
    [richards]="$(worker richards 1)"
    [go]="$(worker go 1)"
    [json_dumps]="$(worker json_dumps 2)"
    [chaos]="$(worker chaos 1)"
    [raytrace]="$(worker raytrace 1)"
    [float]="$(worker float 1)"
    [deepcopy]="$(worker deepcopy 2)"
    [nqueens]="$(worker nqueens 1)"
    [json.tool]="$py -m json.tool $work/doc.json $work/out.json"
    [compileall]="$py -m compileall -q -f $work/email"
    [alloc_heavy]="$py tests/fixtures/python/alloc_heavy.py"
)
order="${PROGRAMS:-$known}"
echo "load average at start: $(cat /proc/loadavg)"
for name in $order; do
    p="${programs[$name]}"
    echo "=== $name: $p" | sed "s|$work|\$TMP|g; s|$bm|\$BENCHMARKS|g"
    # shellcheck disable=SC2086
    "$PYBENCH" validate -r "$repeats" -q --no-plots --out "$out/$name" -- $p \
        | sed -n '/^validation of/,$p' | sed "s|$work|\$TMP|g; s|$bm|\$BENCHMARKS|g" \
        || echo "(validate exited with $?)"
done
echo "load average at end: $(cat /proc/loadavg)"
archive="$out/study-$(date -u +%Y%m%dT%H%M%SZ).tar.zst"
if (cd "$out" && find . -path ./venv -prune -o -name results.json -newer "$work/started" -print \
    | LC_ALL=C sort | tar -cf - -T - | zstd -q -19 -o "$archive"); then
    echo "this study's results: $archive (re-judge: tar -xf it, then examples/revalidate.rs DIR…)"
else
    echo "could not pack this study's results (they stay in $out)" >&2
fi
