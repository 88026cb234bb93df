#!/usr/bin/env python3
"""Tables for docs/ground-truth.md's "The engine inside a real interpreter" from `pybench exec` results.

Usage: scripts/engine-in-situ-table.py RESULTS_DIR...   (each holding results.json, or a parent
of one). For every program: each allocator's median wall time and peak RSS, and two ratios
against the first allocator with 95 % percentile-bootstrap intervals (2000 resamples, fixed
seed): the ratio of medians, and the median of the per-round ratios (runs interleave A B A B …,
so round i of both ran back to back: pairing cancels slow drift of the machine's load), for
wall time, peak RSS and CPU time (user + system, less sensitive to a loaded machine). The
engine rows also show its arenas high-water mark from the accounting printed at exit.
"""
import glob
import json
import os
import random
import re
import statistics
import sys


def load(path):
    files = [path] if path.endswith(".json") else glob.glob(os.path.join(path, "**", "results.json"), recursive=True)
    for f in files:
        with open(f) as fh:
            yield json.load(fh)


def metric(cell, name):
    for m in cell.get("metrics", []):
        if m["name"] == name:
            return m["value"]
    return None


def arenas(cell):
    for note in cell.get("notes", []):
        m = re.search(r"# arenas highwater mark\s*=\s*(\d+)", note)
        if m:
            return int(m.group(1))
    return None


def ratio_of_medians(base, other, rng, n=2000):
    point = statistics.median(other) / statistics.median(base)
    boots = sorted(
        statistics.median([rng.choice(other) for _ in other]) / statistics.median([rng.choice(base) for _ in base])
        for _ in range(n)
    )
    return point, boots[int(0.025 * n)], boots[int(0.975 * n) - 1]


def paired(base, other, rng, n=2000):
    ratios = [o / b for b, o in zip(base, other)]
    point = statistics.median(ratios)
    boots = sorted(statistics.median([rng.choice(ratios) for _ in ratios]) for _ in range(n))
    return point, boots[int(0.025 * n)], boots[int(0.975 * n) - 1]


def fmt(r):
    return "%.3f× [%.3f, %.3f]" % r


def main(paths):
    for path in paths:
        for results in load(path):
            rng = random.Random(13)
            cells = [c for c in results["cells"] if c.get("kind") == "exec" and c.get("status") == "ok"]
            order = []
            for c in cells:
                if c["allocator"] not in order:
                    order.append(c["allocator"])
            by = {a: sorted((c for c in cells if c["allocator"] == a), key=lambda c: c["repetition"]) for a in order}
            if not cells:
                print("%s: no run succeeded, no figures" % path)
                continue
            program = cells[0]["workload"]
            print("%s (%s, %d runs each)" % (program, path, min(len(v) for v in by.values())))
            base = by[order[0]]
            for a in order:
                runs = by[a]
                wall = [metric(c, "wall_ns") / 1e9 for c in runs]
                rss = [metric(c, "peak_rss_bytes") / 2**20 for c in runs]
                line = "  %-28s wall %.3f s  RSS %.2f MiB" % (a, statistics.median(wall), statistics.median(rss))
                hw = [x for x in (arenas(c) for c in runs) if x is not None]
                if hw:
                    line += "  arenas %d" % statistics.median(hw)
                if a != order[0]:
                    bw = [metric(c, "wall_ns") for c in base]
                    br = [metric(c, "peak_rss_bytes") for c in base]
                    ow = [metric(c, "wall_ns") for c in runs]
                    orss = [metric(c, "peak_rss_bytes") for c in runs]
                    line += "\n    wall: ratio of medians %s, paired %s" % (fmt(ratio_of_medians(bw, ow, rng)), fmt(paired(bw, ow, rng)))
                    line += "\n    RSS:  ratio of medians %s, paired %s" % (fmt(ratio_of_medians(br, orss, rng)), fmt(paired(br, orss, rng)))
                    bc = [metric(c, "cpu_ns") for c in base]
                    oc = [metric(c, "cpu_ns") for c in runs]
                    line += "\n    CPU:  ratio of medians %s, paired %s" % (fmt(ratio_of_medians(bc, oc, rng)), fmt(paired(bc, oc, rng)))
                print(line)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
