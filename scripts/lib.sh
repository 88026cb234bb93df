# Shared by the scripts in this folder (sourced, not run): which interpreter, which pybench
# binary, and generated inputs, written once so the studies agree on them.

# pyenv's newest CPython 3.11, else python3 from PATH: the interpreter the studies default to.
default_python() {
    local py
    py="$(ls -d "$(pyenv root 2>/dev/null)"/versions/3.11*/bin/python3.11 2>/dev/null | tail -1)"
    echo "${py:-python3}"
}

# The interpreter a pyenv shim stands for, else $1 itself: a shim runs `-m pip` as a child
# process, which `pybench record` does not follow.
real_python() {
    case "$(command -v "$1")" in
    */shims/*) pyenv which "$(basename "$1")" ;;
    *) echo "$1" ;;
    esac
}

# The absolute path of the pybench binary to use: $1 if given, else a fresh release build.
pybench_bin() {
    local bin="${1:-}"
    if [ -z "$bin" ]; then
        cargo build --release --quiet
        bin="${CARGO_TARGET_DIR:-target}/release/pybench"
    fi
    realpath "$bin"
}

# A JSON document of $2 generated user records (seeded: the same file every time), written to
# $1 with the interpreter $PYTHON: the input of the `json.tool` recordings.
json_doc() {
    "$PYTHON" - "$1" "$2" <<'PY'
import json, random, sys
rng = random.Random(5)
doc = [{"id": i, "name": "user%d" % i, "email": "u%d@example.org" % i,
        "tags": ["t%d" % rng.randrange(40) for _ in range(rng.randrange(4))],
        "score": round(rng.random(), 6), "active": rng.random() < 0.5,
        "address": {"street": "%d Main St" % rng.randrange(999), "zip": "%05d" % rng.randrange(99999)}}
       for i in range(int(sys.argv[2]))]
with open(sys.argv[1], "w") as f:
    json.dump(doc, f)
PY
}
