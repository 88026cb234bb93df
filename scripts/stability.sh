#!/usr/bin/env bash
# Stability of `pybench run` (issue 12): the same run five times, each allocator's net
# throughput ratio to pymalloc per run and its spread, and the harness's own (null) cost.
#
#   scripts/stability.sh                 # five default runs (about a minute each here)
#   RUNS=3 EXTRA="-r 1 --rounds 10" scripts/stability.sh   # quicker, fewer samples
#   EXTRA="--fixed-layout" scripts/stability.sh            # one address layout (ASLR off)
#
# Besides the per-run ratios it prints, per allocator, the spread of the ratio between the
# throughput processes of all runs (each process has its own address layout): where that
# spread is bimodal the allocator's speed depends on the layout, and no number of rounds
# inside a process removes it.
# Target on a 2-core VM at load ≈ 1: every ratio within ±3 % of its mean over the runs, and
# null ≤ 2 ns/event. Prints the load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-5}"
bin="${PYBENCH_BIN:-target/release/pybench}"
[[ -x "$bin" ]] || cargo build --release --quiet
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "load before: $(cat /proc/loadavg)"
for i in $(seq 1 "$runs"); do
    # shellcheck disable=SC2086
    "$bin" run -w dicts,json,webapp -a pymalloc,cpython:3.11,jemalloc,mimalloc,system \
        --quiet --no-plots --out "$out" --label "s$i" ${EXTRA:-}
done
echo "load after:  $(cat /proc/loadavg)"
python3 - "$out" <<'PY'
import json, pathlib, statistics as st, sys
runs = sorted(pathlib.Path(sys.argv[1]).glob("*/results.json"))
ratios, nulls, per_process = {}, {}, {}
for i, path in enumerate(runs):
    doc = json.loads(path.read_text())
    by = {}
    for c in doc["cells"]:
        t = c.get("throughput")
        if c["status"] != "ok" or not t:
            continue
        by.setdefault((c["workload"], c["allocator"]), []).append(t)
    for (w, a), ts in by.items():
        if a == "null":
            nulls.setdefault(w, []).append(st.median([x for t in ts for x in t["ns_per_op"]]))
    for (w, a), ts in by.items():
        ref = next((k for k in by if k[0] == w and k[1].startswith("pymalloc")), None)
        if a == "null" or ref is None or (w, a) == ref:
            continue
        rs = []
        for t in ts:
            r = next(x for x in by[ref] if x["group"] == t["group"])
            one = []
            for a_ns, a_null, r_ns, r_null in zip(t["ns_per_op"], t["null_ns_per_op"], r["ns_per_op"], r["null_ns_per_op"]):
                if a_ns > a_null and r_ns > r_null:
                    one.append((r_ns - r_null) / (a_ns - a_null))
            rs.extend(one)
            if one:
                per_process.setdefault((w, a), []).append(st.median(one))
        ratios.setdefault((w, a), [None] * len(runs))[i] = st.median(rs)
print(f"\nnet throughput relative to pymalloc, per run ({len(runs)} runs), and spread (max |r/mean − 1|)")
worst = 0.0
for (w, a), rs in sorted(ratios.items()):
    vals = [r for r in rs if r is not None]
    mean = st.mean(vals)
    spread = max(abs(r / mean - 1) for r in vals)
    worst = max(worst, spread)
    cells = " ".join(f"{r:6.3f}" if r is not None else "     –" for r in rs)
    print(f"{w:8} {a:14} {cells}   ±{spread * 100:4.1f} %")
print(f"worst spread: ±{worst * 100:.1f} % (target ±3 %)")
print("\nratio per throughput process (all runs), sorted: min … max")
for (w, a), ps in sorted(per_process.items()):
    ps = sorted(ps)
    print(f"{w:8} {a:14} " + " ".join(f"{p:.2f}" for p in ps) + f"   ({ps[0]:.2f} … {ps[-1]:.2f})")
for w, v in sorted(nulls.items()):
    print(f"null on {w}: " + " ".join(f"{x:.2f}" for x in v) + " ns/event (target ≤ 2)")
PY
