"""Vectorised certified Chebyshev centres (relutopo.chebyshev) against HiGHS in batches of 32.

The inputs are the engine's own: ``decompose`` (vertex method) is run with a read-only wrapper
around ``relutopo.chebyshev._centres`` (the checked-input entry point the engine calls) that
records each cell's facet rows, its hint (the mean of its vertices plus ``scale`` times the mean
of its rays) and its recession direction. Each family's systems are then solved in one call as
the engine does, with less information (hint only, nothing), and in ``d <= 2`` without basis
enumeration, and compared with HiGHS.

    .venv/bin/python benchmarks/bench_chebyshev.py [--repeat 3] [--cases 0,1,2] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

CASES = [  # (name, layer sizes, domain box half-width or None for R^d)
    ("4-16-16-16-1 box", (4, 16, 16, 16, 1), 1.0),
    ("3-10-10-10-1 R^3", (3, 10, 10, 10, 1), None),
    ("7-8-2-1 R^7", (7, 8, 2, 1), None),
    ("3-10-10-10-1 box", (3, 10, 10, 10, 1), 1.0),
    ("7-5-5-1 R^7", (7, 5, 5, 1), None),
    ("2-32-32-1 R^2", (2, 32, 32, 1), None),  # d = 2: basis enumeration for cells with few rows
]


def seeded_net(sizes, seed=0):
    """U(-1, 1) weights, then biases, from ``default_rng(seed)``: the convention of
    ``bench_engine.seeded_weights`` (4-16-16-16-1 in [-1, 1]^4 has 33707 regions)."""
    from relutopo import ReluNet

    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(-1.0, 1.0, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-1.0, 1.0, b) for b in sizes[1:]]
    return ReluNet(Ws, bs)


def capture(net, domain):
    """Run ``decompose`` and return ``(systems, hints, directions, scale, dec, bounded)`` as the
    engine passes them to :func:`relutopo.chebyshev.chebyshev_centres` (facet rows per cell, the
    hint and the recession direction of each cell), by wrapping that function."""
    import relutopo.chebyshev as C
    from relutopo import decompose

    got = {"systems": [], "hints": [], "dirs": []}
    orig = C._centres  # the engine calls the checked-input entry point of chebyshev_centres

    def wrapped(A, c, ptr, radius_cap, hint, *rest):
        direction = rest[2]
        got["scale"] = radius_cap
        got["systems"] += [(A[a:b], c[a:b]) for a, b in zip(ptr[:-1], ptr[1:])]
        n, d = len(ptr) - 1, A.shape[1]
        got["dim"] = d
        got["hints"].append(hint)
        got["dirs"].append(direction if direction is not None else np.zeros((n, d)))
        return orig(A, c, ptr, radius_cap, hint, *rest)

    C._centres = wrapped
    try:
        dec = decompose(net, domain, method="vertex")
    finally:
        C._centres = orig
    hints = np.concatenate(got["hints"]).reshape(-1, got["dim"])
    dirs = np.concatenate(got["dirs"]).reshape(-1, got["dim"])
    assert len(hints) == len(got["systems"]), "capture out of step with the engine"
    # bounded cells: the engine passes no recession direction for them; a cell whose rays
    # cancel (a slab) is unbounded too, so boundedness is decided on the systems themselves
    from relutopo.polyhedra import LPSolver, is_bounded

    s = LPSolver()
    bounded = np.array([is_bounded(np.asarray(A), s) if not np.any(dv) else False
                        for (A, _), dv in zip(got["systems"], dirs)])
    return got["systems"], hints, dirs, got["scale"], dec, bounded


def ragged(systems, d):
    A = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1, d) for a, _ in systems])
    c = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1) for _, b in systems])
    ptr = np.concatenate([[0], np.cumsum([len(b) for _, b in systems])]).astype(np.int64)
    return A, c, ptr


def run_case(name, sizes, half, repeat):
    from relutopo import Box
    from relutopo.chebyshev import chebyshev_centres
    from relutopo.polyhedra import LPSolver

    net = seeded_net(sizes)
    d = sizes[0]
    domain = Box(-half, half, dim=d) if half is not None else None
    systems, hints, dirs, scale, dec, bounded = capture(net, domain)
    d = hints.shape[1]
    A, c, ptr = ragged(systems, d)
    n = len(systems)
    rows = np.diff(ptr)
    t_h = []
    for _ in range(repeat):
        s = LPSolver()
        Xh, Rh = np.full((n, d), np.nan), np.full(n, np.nan)
        t0 = time.perf_counter()
        for s0 in range(0, n, 32):
            sl = slice(s0, s0 + 32)
            Xh[sl], Rh[sl] = s.chebyshev_batch(systems[sl], scale)
        t_h.append(time.perf_counter() - t0)
    out = {"case": name, "n": n, "rows_mean": float(rows.mean()), "rows_max": int(rows.max()),
           "scale": scale, "bounded": int(dec.n_bounded), "regions": int(dec.n_regions),
           "highs_s": min(t_h), "n_bounded_cells": int(bounded.sum())}
    variants = [("hint+direction", hints, dirs, {}), ("hint", hints, None, {}), ("nohint", None, None, {})]
    if d <= 2:  # the engine's call, without basis enumeration (the simplex does every cell)
        variants.append(("simplex only", hints, dirs, {"enumerate_max": 0}))
    for label, hint, direction, kw in variants:
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            X, R, info = chebyshev_centres(A, c, ptr, scale, hint=hint, direction=direction,
                                           return_info=True, **kw)
            ts.append(time.perf_counter() - t0)
        fin = np.isfinite(Rh)
        err = np.abs(R[fin] - Rh[fin]) / scale
        out[label] = {"s": min(ts), "fallback": info["fallback"], "rounds": info["pivots"],
                      "enumerated": info["enumerated"],
                      "max_rel_err_vs_highs": float(err.max(initial=0.0)),
                      "worse_than_highs": int(np.sum(R[fin] < Rh[fin] - 1e-9 * scale)),
                      "same_infinite": bool(np.array_equal(np.isfinite(R), fin)),
                      "capped": int(np.sum(R >= scale * (1 - 1e-12)))}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default=",".join(str(i) for i in range(len(CASES))))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    res = []
    for i in (int(k) for k in args.cases.split(",")):
        r = run_case(*CASES[i], args.repeat)
        res.append(r)
        n = r["n"]
        print(f"{r['case']:>20}: n={n} rows mean {r['rows_mean']:.1f} max {r['rows_max']}  "
              f"HiGHS {r['highs_s']:.3f}s ({1e6 * r['highs_s'] / n:.1f} us/region)")
        for label in ("hint+direction", "hint", "nohint", "simplex only"):
            if label not in r:
                continue
            o = r[label]
            print(f"{'':>22}{label:>7}: {o['s']:.3f}s ({1e6 * o['s'] / n:.1f} us/region, "
                  f"x{r['highs_s'] / o['s']:.1f}) enumerated {o['enumerated']} fallback {o['fallback']}/{n} "
                  f"rounds {o['rounds']} "
                  f"max|R-Rh|/cap {o['max_rel_err_vs_highs']:.2e} worse {o['worse_than_highs']} "
                  f"capped {o['capped']}")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.write:
        path = Path(__file__).parent / "results" / "bench_chebyshev.json"
        path.write_text(json.dumps({"cases": res, "loadavg": load}, indent=1))


if __name__ == "__main__":
    main()
