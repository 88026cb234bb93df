#!/usr/bin/env bash
# Re-records the traces shipped in workloads/traces/ from real standard-library programs.
#
#   scripts/record-traces.sh            # with python3 from PATH
#   PYTHON=/path/to/python3.X scripts/record-traces.sh
#   OUT=target/elsewhere scripts/record-traces.sh   # another directory (a relative one is read
#                                                   # from the folder the script is started in)
#
# Every input is generated here, deterministically, in a temporary directory; nothing
# outside it and workloads/traces/ (or $OUT) is written. Each trace must stay under 5 MB. Traces are
# written in format version 2; `PACE=1 scripts/record-traces.sh` stores each event's pace
# too (`record --pace`: 0.4 – 0.6 more bytes an event, so the shipped ones are without).
# Settings are environment variables only: an argument is refused (`--help` prints this).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
commands_from_caller PYTHON
paths_from_caller OUT

PYTHON=$(real_python "${PYTHON:-python3}")
command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON is not an interpreter found here"
OUT=$(realpath -m "${OUT:-workloads/traces}")
LIMIT=$((5 * 1024 * 1024))
PYBENCH=$(pybench_bin)
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

record() {
    local name=$1
    shift
    echo "== $name: $*" >&2
    # The program's output is not shown; a recording that fails shows the end of its errors.
    if ! (cd "$WORK" && "$PYBENCH" record -q --force ${PACE:+--pace} --name "$name" -o "$OUT/$name.pbt" -- "$@" >/dev/null 2>"$WORK/record.err"); then
        tail -n 5 "$WORK/record.err" >&2
        die "recording $name failed"
    fi
    local size
    size=$(stat -c %s "$OUT/$name.pbt")
    if [ "$size" -gt "$LIMIT" ]; then
        echo "error: $OUT/$name.pbt is $size bytes (limit $LIMIT)" >&2
        exit 1
    fi
    "$PYBENCH" stats "$OUT/$name.pbt" 2>/dev/null | sed -n '3p;/^peak live/p;/recording:/p' >&2
}

# A 3 MB JSON document of records, pretty-printed by the stdlib's json.tool.
json_doc "$WORK/doc.json" 20000
record json_tool "$PYTHON" -m json.tool doc.json

# Byte-compiling a copy of the stdlib's email package (parsing, AST, code objects).
"$PYTHON" -c 'import email, os, shutil, sys; shutil.copytree(os.path.dirname(email.__file__), sys.argv[1], ignore=shutil.ignore_patterns("__pycache__"))' "$WORK/email"
record compileall "$PYTHON" -m compileall -q -f email

# A stdlib test module: many small objects, dicts and exceptions.
record test_json "$PYTHON" -m unittest -q test.test_json

# pip's start-up and metadata scan: imports, regexes, file reads (no network).
record pip_list "$PYTHON" -m pip list --disable-pip-version-check --no-color

ls -l "$OUT"
