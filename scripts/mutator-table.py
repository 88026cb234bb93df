#!/usr/bin/env python3
"""Predicted vs observed differences to pymalloc for one program of scripts/mutator-calibrate.sh.

Usage: mutator-table.py DIR PYVER ALLOCATOR...   (DIR holds exec/, plain/, mutator/ results,
and mutator-PARAMS/ for each further parameter set the script replayed)

Predicted per replay mode twice: from the warm samples, and from each process's cold first
pass (the program runs its stream once, from a fresh heap: its page faults and first-use
costs are in the cold pass only).

Observed: real CPU time (user + system: the replays measure CPU time, so this is the
like-for-like figure) and wall time, median per allocator minus pymalloc's, with a 95 %
bootstrap interval (repetitions resampled on each side). Predicted: the replay's time for the whole
trace (events x ns per event), from the throughput rounds paired with pymalloc's stand-in
round by round, median and 95 % bootstrap interval. A pair is significant when the observed
CPU interval excludes 0; ratio = predicted / observed CPU (target 0.75 - 1.25).
"""
import glob
import json
import os
import random
import statistics
import sys


def load(d):
    return json.load(open(glob.glob(d + "/*/results.json")[0]))


def metric(cell, name):
    return next((m["value"] for m in cell["metrics"] if m["name"] == name), None)


def boot(f, n=2000, seed=1):
    rng = random.Random(seed)
    vals = sorted(f(rng) for _ in range(n))
    return vals[int(0.025 * n)], vals[int(0.975 * n) - 1]


def observed(exec_results, a, ref="pymalloc", what="cpu_ns"):
    side = lambda name: [metric(c, what) / 1e9 for c in exec_results["cells"]
                         if c["allocator"] == name and c["status"] == "ok" and metric(c, what)]
    x, y = side(a), side(ref)
    if not x or not y:
        return None
    point = statistics.median(x) - statistics.median(y)
    lo, hi = boot(lambda r: statistics.median(r.choices(x, k=len(x)))
                  - statistics.median(r.choices(y, k=len(y))))
    return point, lo, hi


def predicted(run, a, ref, cold=False):
    """Predicted difference for the whole trace, from the warm samples paired round by round
    or, with `cold`, from each process's first pass on its fresh allocator (one per process:
    the real program also runs its allocation stream once, from a fresh heap)."""
    cells = {}
    for c in run["cells"]:
        if c["status"] == "ok" and c.get("throughput"):
            cells.setdefault(c["allocator"], []).append(c)
    if a not in cells or ref not in cells:
        return None
    diffs = []
    for ca, cr in zip(sorted(cells[a], key=lambda c: c["repetition"]),
                      sorted(cells[ref], key=lambda c: c["repetition"])):
        ev = ca["events"]
        ta, tr = ca["throughput"], cr["throughput"]
        pairs = [(ta["cold_ns_per_op"], tr["cold_ns_per_op"])] if cold else \
            zip(ta["ns_per_op"], tr["ns_per_op"])
        for xa, xr in pairs:
            diffs.append((xa - xr) * ev / 1e9)
    point = statistics.median(diffs)
    lo, hi = boot(lambda r: statistics.median(r.choices(diffs, k=len(diffs))))
    return point, lo, hi


def fmt(t):
    return "%+.3f [%+.3f, %+.3f]" % t if t else "–"


def main():
    d, pyver, allocators = sys.argv[1], sys.argv[2], sys.argv[3:]
    ex = load(d + "/exec")
    names = ["plain"] + sorted(os.path.basename(m) for m in glob.glob(d + "/mutator*"))
    modes = {m: load("%s/%s" % (d, m)) for m in names}
    stand_in = lambda a: "cpython:" + pyver if a == "pymalloc" else a
    ref = stand_in("pymalloc")
    print("  %-10s %-28s %-28s %s" % ("vs pymalloc", "observed cpu s [95 %]",
                                      "observed wall s [95 %]", "significant"))
    for a in allocators:
        if a == "pymalloc":
            continue
        o = observed(ex, a)
        sig = "yes" if o and (o[1] > 0 or o[2] < 0) else "no"
        print("  %-10s %-28s %-28s %s" % (a, fmt(o), fmt(observed(ex, a, what="wall_ns")), sig))
        for m in names:
            row = []
            for cold in (False, True):
                p = predicted(modes[m], stand_in(a), ref, cold)
                ratio = "%.2f" % (p[0] / o[0]) if p and o and o[0] != 0 else "–"
                row += [fmt(p), ratio]
            print("    %-20s warm %-28s ratio %-6s cold %-28s ratio %s" % (m, *row))


if __name__ == "__main__":
    main()
