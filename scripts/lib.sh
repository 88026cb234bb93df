# Shared by the scripts in this folder (sourced, not run, right after each script's `cd` to
# the checkout): which interpreter, which pybench binary, and generated inputs, written once so
# the studies agree on them; and what every script does alike with its command line and
# environment (usage, refusals in one line, paths given relative to where it was started).

# The script's name, for its messages.
script_name="$(basename "$0")"

# The folder the script was started from: the scripts `cd` to the checkout first, and bash
# keeps the folder before that `cd` in OLDPWD.
caller_dir="${OLDPWD:-$PWD}"

# Stops the script with one line on stderr, "NAME: MESSAGE", and exit 2 (bad usage or setup,
# found before anything is measured).
die() {
    echo "$script_name: $*" >&2
    exit 2
}

# With -h or --help as the first argument: the script's opening comment (its usage), exit 0.
help_if_asked() {
    case "${1:-}" in
    -h | --help)
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "scripts/$script_name"
        exit 0
        ;;
    esac
}

# For a script whose settings are environment variables: -h/--help, else no argument at all
# (an argument it would ignore reads as a setting it took).
no_arguments() {
    help_if_asked "$@"
    (($# == 0)) || die "takes no arguments, got '$*' (its settings are environment variables: $script_name --help)"
}

# Prints $2, read as the setting named $1, when it is a whole number of at least $3 (default
# 1), without leading zeros; else stops (RUNS=abc, SHARDS=0, ROUNDS=-1 are refused, not run).
whole_number() {
    local name="$1" value="$2" least="${3:-1}" what
    if [[ "$value" =~ ^[0-9]{1,9}$ ]] && ((10#$value >= least)); then
        echo "$((10#$value))"
        return
    fi
    case "$least" in
    0) what="a whole number" ;;
    1) what="a positive whole number" ;;
    *) what="a whole number of at least $least" ;;
    esac
    die "$name=$value is not $what"
}

# Stops unless every named command is on PATH: checked before any measuring, so a missing
# python3 or bc is one line at the start, not the end of a long study.
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || die "needs $c, which is not installed (not on PATH)"
    done
}

# Each named variable that holds a relative path is made absolute from the folder the script
# was started in (not the checkout it runs in): `OUT=runs ../pybench/scripts/ab.sh` keeps its
# runs in ./runs. Unset or empty variables are left alone.
paths_from_caller() {
    local v
    for v in "$@"; do
        if [[ -n "${!v:-}" && "${!v}" != /* ]]; then
            printf -v "$v" '%s/%s' "$caller_dir" "${!v}"
        fi
    done
}

# The same for commands: a value with a `/` is a path from the caller's folder, a bare name
# (PYTHON=python3) is looked up on PATH as it was.
commands_from_caller() {
    local v
    for v in "$@"; do
        if [[ "${!v:-}" == */* && "${!v}" != /* ]]; then
            printf -v "$v" '%s/%s' "$caller_dir" "${!v}"
        fi
    done
}

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

# The absolute path of the pybench binary to use: $1 if given (it must be an executable
# file), else a fresh release build (cargo's output on stderr). Called in `$(…)`, which does
# not inherit `set -e`: a failed build is checked here, or an older binary would be measured.
pybench_bin() {
    local bin="${1:-}"
    if [ -z "$bin" ]; then
        cargo build --release --quiet >&2 || die "cargo build --release failed: nothing measured"
        bin="${CARGO_TARGET_DIR:-target}/release/pybench"
    fi
    [[ -f "$bin" && -x "$bin" ]] || die "$bin is not an executable file (a pybench binary)"
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
