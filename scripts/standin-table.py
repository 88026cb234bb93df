#!/usr/bin/env python3
"""The README table of scripts/standin-study.sh: stand-in vs trace rankings, with the noise floor.

Usage: standin-table.py DIR TRACE...   (DIR holds TRACE_A.json, TRACE_B.json, realism_TRACE.json)

Per allocator and side, one value per repetition: for throughput the median over the rounds of
that repetition's throughput process of net ns/event (allocator minus `null` of the same round;
lower is better), for memory the memory cell's peak RSS (lower is better). A ranking orders the
medians over repetitions. Two agreements between two sides:
  raw tau    Kendall's tau-b between the medians (every pair counts);
  sig tau    over the pairs that a two-sided Mann-Whitney test (exact, alpha 0.05) finds
             different, with medians more than 2 % apart (the harness's resolution, as in
             `run`'s "indistinguishable"), on BOTH sides: (agree - disagree) / those pairs. A pair either side cannot
             tell apart counts neither way ("indistinguishable"), as in `pybench validate`.
             "n/a" when no pair is significant on both sides; the count of such pairs is shown.
             Peak RSS has one value per memory cell, and `run` makes memory cells in its first
             three repetitions only, too few for the test (its smallest p with three a side is
             0.1); RSS repeats to a page, so for memory a pair differs when every value of one
             lies below every value of the other and the medians are more than 2 % apart.
Compared: the stand-in against the trace in the same run (A and B), and the noise floor, the
trace's run A against its run B.
"""
import itertools
import json
import os
import statistics
import sys

ALPHA = 0.05
MARGIN = 0.02
SHORT = {"pymalloc": "pym", "system": "sys", "jemalloc": "je", "mimalloc": "mi"}


def short(a):
    return SHORT.get(a.split(":")[0], a)


def per_rep(path, workload):
    """{allocator: ([net ns/event per rep], [peak RSS per rep])} for one workload."""
    doc = json.load(open(path))
    time, mem = {}, {}
    for c in doc["cells"]:
        if c["workload"] != workload or c.get("status") != "ok" or c["allocator"] == "null":
            continue
        t = c.get("throughput")
        if t:
            net = [a - n for a, n in zip(t["ns_per_op"], t["null_ns_per_op"])]
            time.setdefault(c["allocator"], []).append(statistics.median(net))
        rss = next((m["value"] for m in c["metrics"] if m["name"] == "peak_rss_bytes"), None)
        if rss is not None:
            mem.setdefault(c["allocator"], []).append(rss)
    return time, mem


def mann_whitney_p(a, b):
    """Exact two-sided p of the rank-sum statistic (midranks for ties), by enumeration."""
    pooled = sorted(a + b)
    rank = {}
    for v in set(pooled):
        idx = [i + 1 for i, x in enumerate(pooled) if x == v]
        rank[v] = sum(idx) / len(idx)
    ranks = [rank[v] for v in a + b]
    n = len(a)
    observed = sum(ranks[:n])
    mean = n * (len(ranks) + 1) / 2
    dev = abs(observed - mean) - 1e-9
    combos = list(itertools.combinations(ranks, n))
    return sum(1 for c in combos if abs(sum(c) - mean) >= dev) / len(combos)


def differ(a, b, figure):
    """Told apart: by more than the margin, and significantly (Mann-Whitney) for time or
    without overlap for peak RSS (see the module's doc)."""
    ma, mb = statistics.median(a), statistics.median(b)
    if abs(ma / mb - 1) <= MARGIN:
        return False
    if figure == "peak RSS":
        return max(a) < min(b) or max(b) < min(a)
    return mann_whitney_p(a, b) < ALPHA


def tau_b(x, y):
    conc = disc = tx = ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tx += 1
        elif dy == 0:
            ty += 1
        elif (dx > 0) == (dy > 0):
            conc += 1
        else:
            disc += 1
    denom = ((conc + disc + tx) * (conc + disc + ty)) ** 0.5
    return None if denom == 0 else (conc - disc) / denom


def agreement(s, r, allocs, figure):
    """(raw tau, sig tau or None, significant pairs) between sides s and r."""
    ms = [statistics.median(s[a]) for a in allocs]
    mr = [statistics.median(r[a]) for a in allocs]
    agree = disagree = sig = 0
    for i, j in itertools.combinations(range(len(allocs)), 2):
        a, b = allocs[i], allocs[j]
        if len(s[a]) < 2 or len(r[a]) < 2:
            continue
        if not (differ(s[a], s[b], figure) and differ(r[a], r[b], figure)):
            continue
        sig += 1
        if (ms[i] < ms[j]) == (mr[i] < mr[j]):
            agree += 1
        else:
            disagree += 1
    return tau_b(ms, mr), (agree - disagree) / sig if sig else None, sig


def ranking(side, allocs):
    m = {a: statistics.median(side[a]) for a in allocs}
    return " > ".join(short(a) for a in sorted(allocs, key=lambda a: m[a]))


def fmt(t):
    return "n/a" if t is None else f"{t:.2f}"


def cell(s, r, allocs, figure):
    if not allocs:
        return "–"
    raw, sig, n = agreement(s, r, allocs, figure)
    return f"{fmt(raw)} / {fmt(sig)} ({n})"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: standin-table.py DIR TRACE...  (DIR as written by scripts/standin-study.sh)")
    d, traces = sys.argv[1], sys.argv[2:]
    print("| trace | score | figure | ranking: trace A / stand-in A | tau stand-in vs trace, run A | run B | noise floor: trace A vs trace B |")
    print("|---|---|---|---|---|---|---|")
    kinds = os.environ.get("KINDS", "like").split()
    for name in traces:
        for kind in kinds:
            realism = f"{d}/realism_{name}.json" if kind == "like" else f"{d}/realism_{kind}_{name}.json"
            score = json.load(open(realism))["comparisons"][0]["score"]
            real_w, like_w = f"trace:{name}", f"trace:{kind}_{name}"
            sides = {}
            for side in "AB":
                path = f"{d}/{name}_{side}.json"
                sides[side] = (per_rep(path, real_w), per_rep(path, like_w))
            label = name if kind == "like" else f"{name} ({kind})"
            for k, figure in enumerate(["time", "peak RSS"]):
                ra, la = sides["A"][0][k], sides["A"][1][k]
                rb, lb = sides["B"][0][k], sides["B"][1][k]
                both = sorted(set(ra) & set(rb))
                allocs = sorted(set(ra) & set(la))
                b_allocs = sorted(set(rb) & set(lb))
                print(f"| {label} | {score:.3f} | {figure} | {ranking(ra, allocs)} / {ranking(la, allocs)} "
                      f"| {cell(la, ra, allocs, figure)} | {cell(lb, rb, b_allocs, figure)} "
                      f"| {cell(rb, ra, both, figure)} |")
    print("\ntau: raw tau-b / tau over the pairs significant on both sides (how many of 6); best first")
    # The figures behind the rankings: medians over both runs' repetitions.
    print("\n| trace | replayed | net ns/event: " + " / ".join(SHORT.values())
          + " | peak RSS MB: " + " / ".join(SHORT.values()) + " |")
    print("|---|---|---|---|")
    for name in traces:
        for kind in ["trace"] + kinds:
            w = f"trace:{name}" if kind == "trace" else f"trace:{kind}_{name}"
            both = [per_rep(f"{d}/{name}_{side}.json", w) for side in "AB"]
            row = []
            for k, scale in [(0, 1.0), (1, 1e6)]:
                vals = {}
                for side in both:
                    for a, v in side[k].items():
                        vals.setdefault(short(a), []).extend(v)
                row.append(" / ".join(
                    f"{statistics.median(vals[a]) / scale:.2f}" if a in vals else "-"
                    for a in SHORT.values()))
            print(f"| {name} | {kind} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()
