#!/usr/bin/env bash
# Installs what pybench needs beyond a Rust toolchain and a C compiler:
#   - the allocator libraries `pybench exec` preloads into real Python processes
#     (Debian packages libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4).
# Real CPython interpreters with shared libpython (pyenv's 3.8 – 3.13) are used where present;
# pybench reports clearly when one is missing. Takes no arguments (`--help` prints this).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"

packages=(libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: please install ${missing[*]} (pybench exec skips the allocators it cannot preload)" >&2
    exit 0
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
