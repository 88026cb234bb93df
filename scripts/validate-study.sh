#!/usr/bin/env bash
# Runs `pybench validate` on three real programs that use only the standard library and
# prints, for each, the rank agreement between replay and real runs. The figures in README's
# "Does the replay predict the real program?" section come from this script.
#
# Usage: scripts/validate-study.sh [REPEATS]   (default 3; about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
python="${PYTHON:-python3}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/pybench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. json.tool on a generated ~8 MB document.
"$python" - "$work/doc.json" <<'PY'
import json, random, sys
random.seed(1)
doc = [{"id": i, "name": "user%d" % i, "tags": ["t%d" % random.randrange(50) for _ in range(5)],
        "score": random.random(), "nested": {"a": [i, i + 1], "b": None}} for i in range(60000)]
json.dump(doc, open(sys.argv[1], "w"))
PY
# 2. compileall on a fresh copy of a stdlib package (forced, so every module is compiled).
stdlib="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
cp -r "$stdlib/email" "$work/email"

programs=(
    "$python -m json.tool $work/doc.json $work/out.json"
    "$python -m compileall -q -f $work/email"
    "$python tests/fixtures/python/alloc_heavy.py"
)
for p in "${programs[@]}"; do
    echo "=== $p" | sed "s|$work|\$TMP|g"
    # shellcheck disable=SC2086
    "$bin" validate -r "$repeats" -q --no-plots --out "$work/results" -- $p \
        | sed -n '/^validation of/,$p' | sed "s|$work|\$TMP|g"
done
