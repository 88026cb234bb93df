#!/usr/bin/env python3
"""README's validation-study table from the output of scripts/validate-study.sh.

    scripts/validate-study.sh 5 | tee study.log
    scripts/validate-study-table.py study.log

Per program: tau over the pairs the real runs tell apart (time, memory; their number in
brackets), raw tau-b, and predicted/observed differences from pymalloc in % for the columns
the README shows. Then the study's totals — tau over all significant pairs, (agree −
disagree) / (agree + disagree) — and every disagreement, one line each.
"""
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
        print(f"{kind}: tau {tau} over {sig} significant pairs ({agree} agree, {disagree} "
              f"disagree), {alike} indistinguishable")
    print("\n".join(f"- {d}" for d in disagreements))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: validate-study-table.py STUDY.LOG")
    main(sys.argv[1])
