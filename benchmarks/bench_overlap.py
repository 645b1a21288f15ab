"""Benchmark of the overlap decomposition: LPs solved, LPs saved by the prefilter, time per layer.

The spheres network of Beshkov's experiments (2 -> 25 x 4 -> 2, PyTorch initialisation) on 1000
points of two interleaved pairs of concentric circles, at initialisation and after training.
With ``--compare N`` the same network is also decomposed without the prefilter on the first N
points, to show the LPs the prefilter saves and that the overlaps are the same.

    .venv/bin/python benchmarks/bench_overlap.py [--dim 1] [--points 1000] [--epochs 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from relutopo.papers.beshkov.nested import concentric_spheres
from relutopo.overlap import overlap_decomposition
from relutopo.papers.beshkov.experiments import train_net


def table(dec, label):
    rows = []
    for d in dec.depths:
        rows.append(dict(net=label, depth=d.depth, regions=d.n_regions, pairs=d.n_pairs,
                         overlap_lps=d.n_overlap_lps, lps_saved=d.n_lps_saved,
                         by_data=d.n_decided_by_data, by_geometry=d.n_decided_by_geometry,
                         other_lps=d.n_other_lps, overlapping_pairs=int(len(d.overlapping_pairs)),
                         classes=d.n_classes, seconds=round(d.seconds, 3)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=1, help="sphere dimension (1: circles in R^2)")
    ap.add_argument("--points", type=int, default=1000, help="total number of points")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compare", type=int, default=0,
                    help="also run without prefilter on this many points (0: skip)")
    ap.add_argument("--json", type=str, default="", help="write the rows to this file")
    args = ap.parse_args()
    X, y = concentric_spheres(args.points // 4, args.dim, seed=args.seed)
    nets, hist = train_net(X, y, [25] * 4, seed=args.seed, epochs=args.epochs, lr=1e-2)
    rows = []
    for label, e in (("init", 0), ("trained", args.epochs)):
        t0 = time.perf_counter()
        dec = overlap_decomposition(nets[e], X, volumes=args.dim <= 2)
        total = time.perf_counter() - t0
        rows += table(dec, label)
        print(f"{label}: {total:.1f} s total, train acc {hist.train_acc[e]:.3f}")
    if args.compare:
        Xs = X[:args.compare]
        for pf in (True, False):
            t0 = time.perf_counter()
            dec = overlap_decomposition(nets[args.epochs], Xs, prefilter=pf)
            rows += table(dec, f"trained[{args.compare} pts, prefilter={pf}]")
            print(f"prefilter={pf}: {time.perf_counter() - t0:.1f} s on {args.compare} points")
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": platform.processor() or platform.machine(), "args": vars(args),
                       "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
