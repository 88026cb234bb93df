#!/usr/bin/env bash
# Measures `pybench fidelity --trace` (issue 14.3, README.md "Fidelity of recorded traces"):
# for each CPython version, records the programs of the shipped traces (scripts/record-traces.sh
# into target/fidelity/3.X/) and two arena-churning programs, replays each trace into the
# engine preset of its version from the recorded start-up state, and prints one table row per
# trace: arenas (engine / CPython at the end of the program), the largest difference in pools
# of one class and that class, and how many judged figures differ beyond their tolerance.
#
#   scripts/fidelity-traces.sh                    # pyenv's 3.8, 3.9 and 3.11
#   VERSIONS="3.10 3.12 3.13" scripts/fidelity-traces.sh
#
# Writes target/fidelity/ only (traces and the JSON of each comparison). Settings are
# environment variables only (`--help` prints this). Needs pyenv (its CPython interpreters)
# and python3, checked before anything is built; when none of VERSIONS is installed it says
# so and exits 2 instead of printing an empty table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
need pyenv python3

VERSIONS=${VERSIONS:-"3.8 3.9 3.11"}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
PYBENCH=$(realpath "$CARGO_TARGET_DIR/release/pybench")
ROOT=target/fidelity

# Lists of small objects built and dropped in a loop: every round maps arenas and frees them.
CHURN='
for _ in range(12):
    xs = [object() for _ in range(200000)]
    ys = [str(i) for i in range(60000)]
    del xs, ys
'
# The same, keeping one object in 500 of every round: survivors pin arenas.
CHURN_KEEP='
keep = []
for _ in range(12):
    xs = [object() for _ in range(200000)]
    ys = [str(i) for i in range(60000)]
    keep.extend(xs[::500])
    del xs, ys
'

measured=0
for v in $VERSIONS; do
    dir=$(ls -d "$(pyenv root)/versions/$v".* 2>/dev/null | grep -v 't$' | sort -V | tail -1 || true)
    if [ -z "$dir" ]; then
        echo "skipped: no pyenv CPython $v" >&2
        continue
    fi
    py="$dir/bin/python3"
    measured=$((measured + 1))
    out="$ROOT/$v"
    mkdir -p "$out"
    OUT="$out" PYTHON="$py" scripts/record-traces.sh >/dev/null
    "$PYBENCH" record -q --force --name churn -o "$out/churn.pbt" -- "$py" -c "$CHURN"
    "$PYBENCH" record -q --force --name churn_keep -o "$out/churn_keep.pbt" -- "$py" -c "$CHURN_KEEP"
    for t in "$out"/*.pbt; do
        "$PYBENCH" fidelity --json --trace "$t" >"${t%.pbt}.json" || true
    done
done
((measured > 0)) || die "none of VERSIONS ($VERSIONS) is a pyenv CPython here: nothing measured"

python3 - "$ROOT" $VERSIONS <<'PY'
import json, os, sys
root, versions = sys.argv[1], sys.argv[2:]
print("| Python | trace | events replayed | arenas engine / CPython | largest pool difference (class) | pre-hook frees (unknown class) | figures off |")
print("|---|---|---:|---:|---:|---:|---:|")
for v in versions:
    d = os.path.join(root, v)
    if not os.path.isdir(d):
        continue
    for name in sorted(f for f in os.listdir(d) if f.endswith(".json")):
        try:
            doc = json.load(open(os.path.join(d, name)))
        except ValueError:
            print(f"| {v} | {name[:-5]} | failed | | | | |")
            continue
        rows = doc["rows"]
        arenas = rows[0]
        pools = [r for r in rows if r["what"].startswith("pools")]
        worst = max(pools, key=lambda r: abs(r["engine"] - r["cpython"]))
        delta = worst["engine"] - worst["cpython"]
        cls = worst["what"].replace("pools", "").strip()
        p = doc["prehook"]
        print(f"| {doc['python']} | {name[:-5]} | {doc['events']:,} | {arenas['engine']} / {arenas['cpython']} "
              f"| {delta:+d} ({cls}) | {p['applied'] + p['unknown_class'] + p['no_phantom'] + p['dropped']} ({p['unknown_class']}) "
              f"| {doc['flagged']} of {sum(1 for r in rows if r['tolerance'] is not None)} |")
PY
