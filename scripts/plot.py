#!/usr/bin/env python3
"""Plot pybench's tidy results.csv with pandas + matplotlib, for people who prefer their own
plots to the SVGs `pybench plot` writes. A starting point to copy and change.

    pip install pandas matplotlib
    python3 scripts/plot.py results/<run>/results.csv [--out DIR]

results.csv has one row per (run, workload, allocator, repetition, kind, metric, op, value,
unit); `op` is the operation kind for latency metrics (malloc, free, realloc, calloc, all)
and the size class for the engine's `class_pools`, empty otherwise. Writes ops_per_sec.png,
frag_ratio.png and latency.png to DIR (default: beside the CSV), and says which; a CSV with
none of their figures is an error (exit 1). Without pandas or matplotlib it says so in one
line (exit 2).
"""

from __future__ import annotations  # the pd/plt hints below are not evaluated

import argparse
import sys
from pathlib import Path


def import_plotting() -> None:
    """pandas and matplotlib, imported only once the arguments are read, so that `--help`
    works without them; without them, one line and exit 2."""
    global pd, plt
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
        import pandas as pd
    except ImportError as e:
        print(f"plot.py: needs pandas and matplotlib ({e}): pip install pandas matplotlib", file=sys.stderr)
        sys.exit(2)


def bars(df: pd.DataFrame, metric: str, ylabel: str, out: Path) -> list:
    """Median over repetitions per workload × allocator, error bars from min to max."""
    d = df[(df.metric == metric) & df.op.isna()]
    if d.empty:
        return []
    g = d.groupby(["workload", "allocator"], sort=False).value
    med, lo, hi = g.median().unstack(), g.min().unstack(), g.max().unstack()
    err = [[(med - lo)[a].values, (hi - med)[a].values] for a in med.columns]
    ax = med.plot.bar(yerr=err, capsize=4, rot=0, figsize=(8, 4.5))
    ax.set_ylabel(ylabel)
    ax.set_title(f"{metric}: median of the repetitions, error bars min–max")
    if metric == "frag_ratio":
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.figure.tight_layout()
    ax.figure.savefig(out / f"{metric}.png", dpi=120)
    plt.close(ax.figure)
    return [f"{metric}.png"]


def latency(df: pd.DataFrame, out: Path) -> list:
    """p50 … p99.9 of all ops, median over repetitions, log scale."""
    names = ["lat_p50", "lat_p90", "lat_p99", "lat_p999"]
    d = df[df.metric.isin(names) & (df.op == "all")]
    if d.empty:
        return []
    med = d.groupby(["workload", "allocator", "metric"], sort=False).value.median()
    workloads = med.index.get_level_values(0).unique()
    fig, axes = plt.subplots(1, len(workloads), figsize=(5 * len(workloads), 4), squeeze=False)
    for ax, w in zip(axes[0], workloads):
        table = med[w].unstack().reindex(columns=names)
        for allocator, row in table.iterrows():
            ax.plot(["p50", "p90", "p99", "p99.9"], row.values, marker="o", label=allocator)
        ax.set_yscale("log")
        ax.set_ylabel("latency (ns, timed pass)")
        ax.set_title(w)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=120)
    plt.close(fig)
    return ["latency.png"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", type=Path, help="a results.csv written by pybench run")
    p.add_argument("--out", type=Path, help="directory for the PNG files")
    args = p.parse_args()
    import_plotting()
    out = args.out or args.csv.parent
    out.mkdir(parents=True, exist_ok=True)

    # keep_default_na=False + na_values=[""]: an empty op is missing, "all" stays a string.
    df = pd.read_csv(args.csv, keep_default_na=False, na_values={"op": [""]})
    df = df[df.metric != "failed"].astype({"value": float})
    written = bars(df, "ops_per_sec", "events per second (untimed pass)", out)
    written += bars(df, "frag_ratio", "peak RSS / peak live bytes", out)
    written += latency(df, out)
    if not written:
        sys.exit(f"plot.py: {args.csv} has no ops_per_sec, frag_ratio or latency figures: nothing drawn")
    print(f"wrote {', '.join(written)} to {out}")


if __name__ == "__main__":
    main()
