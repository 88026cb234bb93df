#!/usr/bin/env python3
"""The validation-study tables (README's table of every run, docs/ground-truth.md's per
program) from the output of scripts/validate-study.sh.

    scripts/validate-study.sh 5 | tee study.log
    scripts/validate-study-table.py study.log [OUT]

With OUT (the study's results directory), also the predicted ÷ observed CPU difference
from pymalloc on every pair whose observed CPU difference is significant (its 95 % interval
excludes 0), per replay mode, from the warm passes and from the cold first passes.

Per program: tau over the pairs the real runs tell apart (time, memory; their number in
brackets), raw tau-b, and predicted/observed differences from pymalloc in % for the columns
docs/ground-truth.md shows. Then the study's totals — tau over all significant pairs, (agree −
disagree) / (agree + disagree) — and every disagreement, one line each.
"""
import glob
import json
import re
import sys

LABELS = {
    "deltablue": "deltablue `-n 2`", "richards": "richards `-n 1`", "go": "go `-n 1`",
    "json_dumps": "json_dumps `-n 2`", "chaos": "chaos `-n 1`", "raytrace": "raytrace `-n 1`",
    "float": "float `-n 1`", "deepcopy": "deepcopy `-n 2`", "nqueens": "nqueens `-n 1`",
    "json.tool": "`-m json.tool`, 8 MB", "compileall": "`-m compileall` `email/`",
    "alloc_heavy": "`alloc_heavy.py`",
}
# (section, allocator) pairs shown as columns, after the tau columns.
COLUMNS = [("time", "system"), ("time", "mimalloc"), ("time", "snmalloc"),
           ("rss", "jemalloc"), ("rss", "snmalloc")]
ROW = re.compile(r"(pymalloc|system|jemalloc|mimalloc|snmalloc)\s+.*?([+-]\d+\.\d) % \[[^\]]*\]"
                 r"\s+([+-]\d+\.\d) % \[")
TAU = re.compile(r"tell apart: time (\S+), memory (\S+)\s+\(all pairs, tau-b: time (\S+), "
                 r"memory (\S+)\)")
PAIRS = re.compile(r"pairs: time (\d+) agree, (\d+) disagree, (\d+) indistinguishable; "
                   r"memory (\d+) agree, (\d+) disagree, (\d+) indistinguishable")
# Which replay figure the headline used (logs before 2026-12-02: always the warm one), and
# the time agreement with the other figure (then: the cold one, in the older wording).
PREDICTION = re.compile(r"time predicted by the replay's (\w+) figure")
OTHER = re.compile(r"with the (\w+) figure \(.*?\) instead: time \S+ over the pairs the real "
                   r"runs tell apart \((\d+) agree, (\d+) disagree\)")
OLD_COLD = re.compile(r"(cold) first pass as the prediction .*?: time \S+ over the pairs the "
                      r"real runs tell apart \((\d+) agree, (\d+) disagree\)")


def minus(text):
    return text.replace("-", "−")


def deltas(section_text):
    """{(section, allocator): (predicted, observed)} of one program's output."""
    found, section = {}, None
    for line in section_text.splitlines():
        if line.startswith("time ") and "replay" in line:
            section = "time"
        elif line.startswith("peak RSS"):
            section = "rss"
        elif line.startswith("time difference"):
            section = None
        elif section and (m := ROW.match(line)):
            found[(section, m.group(1))] = (m.group(2), m.group(3))
    return found


def main(path):
    log = open(path).read()
    totals = {"time": [0, 0, 0], "memory": [0, 0, 0]}
    other_totals, other_programs, headline, other_name = [0, 0], 0, set(), set()
    rows, disagreements = [], []
    for part in re.split(r"^=== ", log, flags=re.M)[1:]:
        name = part.split(":")[0]
        label = LABELS.get(name, name)
        tau, pairs = TAU.search(part), PAIRS.search(part)
        if not (tau and pairs):
            rows.append(f"| {label} | (failed) |" + " |" * (len(COLUMNS) + 2))
            continue
        n = [int(x) for x in pairs.groups()]
        for i in range(3):
            totals["time"][i] += n[i]
            totals["memory"][i] += n[3 + i]
        used = PREDICTION.search(part)
        headline.add(used.group(1) if used else "warm")
        if other := OTHER.search(part) or OLD_COLD.search(part):
            other_programs += 1
            other_name.add(other.group(1))
            other_totals[0] += int(other.group(2))
            other_totals[1] += int(other.group(3))
        d = deltas(part)
        cells = ["/".join(minus(x) for x in d.get(k, ("?", "?"))) for k in COLUMNS]
        rows.append(f"| {label} | {minus(tau.group(1))} ({n[0] + n[1]}) | "
                    f"{minus(tau.group(2))} ({n[3] + n[4]}) | {minus(tau.group(3))} / "
                    f"{minus(tau.group(4))} | " + " | ".join(cells) + " |")
        for line in part.splitlines():
            line = line.strip()
            if line.startswith(("- time:", "- memory:")) and "the replay finds" in line:
                disagreements.append(f"{name}: {line[2:]}")
    print("| program | τ sig time | τ sig memory | raw τ-b time / memory | Δ time system "
          "| Δ time mimalloc | Δ time snmalloc | Δ RSS jemalloc | Δ RSS snmalloc |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for kind, (agree, disagree, alike) in totals.items():
        sig = agree + disagree
        tau = f"{(agree - disagree) / sig:+.2f}" if sig else "n/a"
        how = f" (predicted by the replay's {'/'.join(sorted(headline))} figure)" \
            if kind == "time" else ""
        print(f"{kind}{how}: tau {tau} over {sig} significant pairs ({agree} agree, "
              f"{disagree} disagree), {alike} indistinguishable")
    if other_programs:
        agree, disagree = other_totals
        sig = agree + disagree
        tau = f"{(agree - disagree) / sig:+.2f}" if sig else "n/a"
        print(f"time with the replay's {'/'.join(sorted(other_name))} figure instead "
              f"({other_programs} programs): tau {tau} over {sig} significant pairs ({agree} "
              f"agree, {disagree} disagree)")
    print("\n".join(f"- {d}" for d in disagreements))


MODES = [("plain", "plain_delta"), ("plain cold", "plain_cold_delta"),
         ("mutator", "mutator_delta"), ("mutator cold", "mutator_cold_delta")]


def ratios(out):
    """Predicted ÷ observed CPU per mode on the significant pairs of each program's run."""
    print("\n| program | allocator | observed CPU | " + " | ".join(m for m, _ in MODES) + " |")
    print("|---|---|---|" + "---|" * len(MODES))
    for path in sorted(glob.glob(out + "/*/*/results.json")):
        name = path.split("/")[-3]  # OUT/PROGRAM/RUN/results.json
        v = json.load(open(path)).get("validation") or {}
        for r in v.get("rows", []):
            o = r.get("observed_cpu_delta")
            # A run of one repetition a side saves its points alone ([point]): no interval.
            if not o or len(o) < 3 or not (o[1] > 0 or o[2] < 0):
                continue
            cells = ["%.2f" % (r[f][0] / o[0]) if r.get(f) else "–" for _, f in MODES]
            print("| %s | %s | %+.3f s [%+.3f, %+.3f] | %s |" % (
                LABELS.get(name, name), r["allocator"], *o, " | ".join(cells)))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: validate-study-table.py STUDY.LOG [OUT]")
    main(sys.argv[1])
    if len(sys.argv) == 3:
        ratios(sys.argv[2])
